# A dangling symlink at OUTDIR/core.N: following it would create the target;
# without -f it must be refused like an existing file, and nothing created.
# fixtures: sleep
. "$CLI_LIB"
mkdir out
ln -s ../planted out/core.19715
c2c -o "$TMP/out" "$FIX/sleep/images"
expect_symlink out/core.19715 ../planted
expect_absent planted
expect_listing out core.19715
finish
