# Under umask 000 the cores are still mode 0600, and the output directory
# the converter creates is 0700 (it holds the processes' memory).
# fixtures: sleep
. "$CLI_LIB"
umask 000
c2c -o "$TMP/out" "$FIX/sleep/images"
expect_listing out core.19715
expect_core out/core.19715
expect_mode out/core.19715 600
_m=$(stat -c %a out)
[ "$_m" = 700 ] || fail "created output directory has mode $_m, expected 700"
finish
