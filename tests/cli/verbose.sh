# -v: one line of detail per process (threads, segments, page data) before
# the files are named.
# The golden is a glob (.stderr.glob): the wording of the byte counts at the
# end of the detail line is still changing; counts of threads and segments
# are exact.
# fixtures: states
. "$CLI_LIB"
c2c -v -o "$TMP/out" "$FIX/states/images"
expect_listing out core.1 core.3 core.4
finish
