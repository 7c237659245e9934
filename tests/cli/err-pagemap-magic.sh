# pagemap-<pid>.img whose second magic word (PAGEMAP_MAGIC 0x56084025, bytes
# 4-7) has its first byte flipped: the error gives the offset of the word,
# what was found and what was expected; the output directory stays empty.
# fixtures: sleep
. "$CLI_LIB"
copy_images sleep in
printf '\332' | dd of=in/pagemap-19715.img bs=1 seek=4 conv=notrunc 2>/dev/null ||
	fail "patch"
mkdir out
c2c -o "$TMP/out" "$TMP/in"
expect_listing out
finish
