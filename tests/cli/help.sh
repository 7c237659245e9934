# --help: the usage on stdout (not stderr), with the options and the exit
# status section; nothing is converted.
. "$CLI_LIB"
c2c --help >"$TMP/help.out"
grep -q '^Usage: ckpt2core \[OPTIONS\] INPUT\.\.\.$' help.out || fail "no usage line"
grep -q '^       ckpt2core inspect ' help.out || fail "no inspect usage line"
for opt in '-o, --output OUTDIR' '-p, --pid N' '-f, --force' '--include-dontdump' \
	'-r, --root DIR' '--file-pages MODE' '--parent INPUT' '-j, --jobs N' '--json FILE' \
	'--format FMT' \
	'-v, --verbose' '-q, --quiet' '-h, --help' '-V, --version'; do
	grep -qF -- "$opt" help.out || fail "option '$opt' not in --help"
done
grep -q '^Exit status:$' help.out || fail "no exit status section"
grep -q '^  0   every core written, no warnings$' help.out || fail "exit 0 undocumented"
grep -q '^  1   cores written, with warnings' help.out || fail "exit 1 undocumented"
grep -q '^  2   conversion failed' help.out || fail "exit 2 undocumented"
grep -q '^  3   several inputs: some failed' help.out || fail "exit 3 undocumented"
grep -q '^  64  usage error$' help.out || fail "exit 64 undocumented"
expect_listing . help.out
finish
