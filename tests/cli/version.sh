# --version: "ckpt2core X.Y.Z" on stdout, nothing on stderr.
. "$CLI_LIB"
c2c --version >"$TMP/version.out"
_v=$(cat version.out)
case $_v in
"ckpt2core "[0-9]*.[0-9]*.[0-9]*) ;;
*) fail "--version printed '$_v'" ;;
esac
[ "$(wc -l <version.out)" -eq 1 ] || fail "--version printed more than one line"
finish
