/*
 * ckpt2core watch: convert each checkpoint archive that appears in a
 * directory (src/cli/watch.c). Built on the public API only.
 */
#ifndef C2C_CLI_WATCH_H
#define C2C_CLI_WATCH_H

/*
 * Run "ckpt2core watch ..."; argv[0] is "watch". Returns the exit status:
 * 0 (stopped by SIGTERM/SIGINT, or --once with every archive converted),
 * 1 (--once: some archive failed), 2 (cannot watch or write OUTDIR),
 * 64 (usage error).
 */
int c2c_watch_main(int argc, char **argv);

#endif
