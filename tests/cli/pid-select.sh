# --pid 3 on the states fixture (pids 1..4, 2 a zombie): only core.3.
# fixtures: states
. "$CLI_LIB"
c2c --pid 3 -o "$TMP/out" "$FIX/states/images"
expect_listing out core.3
expect_core out/core.3
expect_mode out/core.3 600
finish
