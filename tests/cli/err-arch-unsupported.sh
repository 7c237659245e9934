# core-19715.img of an x86_64 dump with CoreEntry.mtype 1 (the bytes 08 01
# after the record length at offset 8) changed to 6, MIPS: the error names the
# architecture, its mtype and those ckpt2core converts; exit 2, no core.
# fixtures: sleep
. "$CLI_LIB"
copy_images sleep in
printf '\006' | dd of=in/core-19715.img bs=1 seek=13 conv=notrunc status=none || fail "dd"
mkdir out
c2c -o "$TMP/out" "$TMP/in"
expect_listing out
finish
