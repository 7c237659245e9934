# mm-<pid>.img with the first 8 payload bytes of its record (offset 12 on)
# overwritten by 0xff: the length is intact but protobuf-c cannot decode the
# message. The error names the record by offset and size (no pointers).
# fixtures: sleep
. "$CLI_LIB"
copy_images sleep in
printf '\377\377\377\377\377\377\377\377' |
	dd of=in/mm-19715.img bs=1 seek=12 conv=notrunc 2>/dev/null || fail "patch"
mkdir out
c2c -o "$TMP/out" "$TMP/in"
expect_listing out
finish
