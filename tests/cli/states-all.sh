# The whole states fixture: cores for 1, 3 and 4, a note for the zombie 2.
# fixtures: states
. "$CLI_LIB"
c2c -o "$TMP/out" "$FIX/states/images"
expect_listing out core.1 core.3 core.4
for p in 1 3 4; do
	expect_core out/core.$p
	expect_mode out/core.$p 600
done
finish
