#!/bin/sh
# Two inputs are a batch: each one's cores go to OUTDIR/<input name>, made
# unique when two inputs have the same name (here both are "images").
# fixtures: sleep
. "$CLI_LIB"
c2c -o "$TMP/out" "$FIX/sleep/images" "$FIX/sleep/images"
expect_listing out images images-2
expect_listing out/images core.19715
expect_listing out/images-2 core.19715
cmp -s out/images/core.19715 out/images-2/core.19715 || fail "the two cores differ"
finish
