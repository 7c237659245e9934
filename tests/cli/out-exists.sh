# A second run into the same OUTDIR without -f: refused, and the existing
# core is left byte for byte as it was.
# fixtures: sleep
. "$CLI_LIB"
c2c_setup -o "$TMP/out" "$FIX/sleep/images"
cp out/core.19715 ref.core
c2c -o "$TMP/out" "$FIX/sleep/images"
expect_same out/core.19715 ref.core
expect_listing out core.19715
finish
