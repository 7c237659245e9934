# checkpointctl runs `checkpointctl-<name> --plugin-description` to list its
# plugins: one line on stdout and exit status 42 (checkpointctl's plugin
# protocol); the installed checkpointctl-coredump link is this binary.
. "$CLI_LIB"
c2c --plugin-description >"$TMP/descr.out"
[ "$(wc -l <descr.out)" -eq 1 ] || fail "--plugin-description printed $(wc -l <descr.out) lines"
grep -q 'ELF core files' descr.out || fail "unexpected description: $(cat descr.out)"
finish
