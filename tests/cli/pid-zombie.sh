# --pid 2, the zombie of the states fixture: it has no memory, so it gets no
# core; this is not a failure and not a warning (exit 0).
# fixtures: states
. "$CLI_LIB"
c2c --pid 2 -o "$TMP/out" "$FIX/states/images"
expect_absent out/core.2
expect_listing out
finish
