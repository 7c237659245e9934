# inspect --files reads fdinfo-<files_id>.img, which a conversion never needs:
# cut inside its second record, the error names the file, the record's offset
# and how much is missing.
# fixtures: counter
. "$CLI_LIB"
copy_images counter in
truncate -s 26 in/fdinfo-3.img || fail "truncate"
c2c inspect --files "$TMP/in" >/dev/null
finish
