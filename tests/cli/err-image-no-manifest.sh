# An OCI layout whose index.json lists no manifest for linux/amd64: the error
# names index.json; nothing is left in the output directory.
# fixtures: sleep
. "$CLI_LIB"
mkdir layout out
echo '{"imageLayoutVersion":"1.0.0"}' >layout/oci-layout
echo '{"schemaVersion":2,"manifests":[{"digest":"sha256:../../etc","platform":{"architecture":"arm64","os":"linux"}}]}' >layout/index.json
c2c --image "$TMP/layout" -o "$TMP/out" "$FIX/sleep/images"
expect_listing out
finish
