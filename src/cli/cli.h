/*
 * The ckpt2core command line's subcommands (one file each) and what they share.
 */
#ifndef C2C_CLI_H
#define C2C_CLI_H

#include "ckpt2core/ckpt2core.h"

/* "ckpt2core: error: MSG" and the hint to --help on stderr; returns 64 (EX_USAGE). */
int c2c_cli_usage_error(const char *msg);

/* The value of --file-pages (none, headers or all) into *ret; -1 if ARG is none of them. */
int c2c_cli_file_pages(const char *arg, enum c2c_file_pages *ret);

/* ckpt2core grep ARGS (argv[0] is "grep"); returns the exit status. */
int c2c_cli_grep(int argc, char **argv);

/* ckpt2core gdb|lldb|bt ARGS (argv[0] names which); returns the exit status. */
int c2c_cli_debug(int argc, char **argv);

#endif /* C2C_CLI_H */
