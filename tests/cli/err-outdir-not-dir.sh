# -o names a regular file: the error names it with the system's reason, and
# the file is left alone.
# fixtures: sleep
. "$CLI_LIB"
echo keep >afile
c2c -o "$TMP/afile" "$FIX/sleep/images"
expect_text afile keep
expect_listing . afile
finish
