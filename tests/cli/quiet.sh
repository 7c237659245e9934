# -q: a successful conversion prints nothing at all.
# fixtures: states
. "$CLI_LIB"
c2c -q -o "$TMP/out" "$FIX/states/images"
expect_listing out core.1 core.3 core.4
finish
