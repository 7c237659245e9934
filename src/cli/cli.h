/*
 * The ckpt2core command line's subcommands (one file each) and what they share.
 */
#ifndef C2C_CLI_H
#define C2C_CLI_H

/* "ckpt2core: error: MSG" and the hint to --help on stderr; returns 64 (EX_USAGE). */
int c2c_cli_usage_error(const char *msg);

/* ckpt2core grep ARGS (argv[0] is "grep"); returns the exit status. */
int c2c_cli_grep(int argc, char **argv);

/* ckpt2core gdb|lldb|bt ARGS (argv[0] names which); returns the exit status. */
int c2c_cli_debug(int argc, char **argv);

#endif /* C2C_CLI_H */
