# No checkpoint directory on the command line.
. "$CLI_LIB"
c2c
expect_listing .
finish
