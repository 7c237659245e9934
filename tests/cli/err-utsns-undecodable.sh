# inspect --task reads utsns-<id>.img: a record whose protobuf does not decode
# (its first field's length runs past the record) is an error naming the file
# and the record's offset; a conversion, which does not read utsns, succeeds.
# fixtures: counter
. "$CLI_LIB"
copy_images counter in
# magic words, then a 4-byte record "0a 7f 41 41": field 1, length 127, 2 bytes.
printf '\031\103\126\124\003\062\107\124\004\000\000\000\012\177\101\101' >in/utsns-11.img ||
	fail "write"
c2c_setup -o "$TMP/out" "$TMP/in"
c2c inspect --task "$TMP/in" >/dev/null
finish
