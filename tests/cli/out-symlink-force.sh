# With -f a symlink at OUTDIR/core.N is replaced by the core itself; the file
# it pointed to is not written through.
# fixtures: sleep
. "$CLI_LIB"
echo victim >victim
mkdir out
ln -s ../victim out/core.19715
c2c -f -o "$TMP/out" "$FIX/sleep/images"
expect_core out/core.19715
expect_mode out/core.19715 600
expect_text victim victim
expect_listing out core.19715
finish
