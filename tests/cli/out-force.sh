# With -f an existing core is replaced: a stale file becomes the same core a
# fresh conversion writes, mode 0600.
# fixtures: sleep
. "$CLI_LIB"
c2c_setup -o "$TMP/ref" "$FIX/sleep/images"
mkdir out
echo stale >out/core.19715
chmod 644 out/core.19715
c2c -f -o "$TMP/out" "$FIX/sleep/images"
expect_listing out core.19715
expect_same out/core.19715 ref/core.19715
expect_mode out/core.19715 600
finish
