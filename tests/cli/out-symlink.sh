# A symlink planted at OUTDIR/core.N pointing at another file: without -f it
# counts as an existing core; it is neither followed nor replaced.
# fixtures: sleep
. "$CLI_LIB"
echo victim >victim
mkdir out
ln -s ../victim out/core.19715
c2c -o "$TMP/out" "$FIX/sleep/images"
expect_symlink out/core.19715 ../victim
expect_text victim victim
expect_listing out core.19715
finish
