# -v on the five-thread fixture.
# The golden is a glob (.stderr.glob): the wording of the byte counts at the
# end of the detail line is still changing; counts of threads and segments
# are exact.
# fixtures: threads
. "$CLI_LIB"
c2c -v -o "$TMP/out" "$FIX/threads/images"
expect_listing out core.19753
expect_core out/core.19753
finish
