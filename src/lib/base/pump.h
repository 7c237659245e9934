/*
 * Stage 0, base: a worker thread that consumes chunks while the caller
 * produces the next one (two buffers in flight): decompression or reading
 * overlaps with writing or searching. Used by the archive reader
 * (arcsource.c) and grep (grep.c).
 */
#ifndef C2C_PUMP_H
#define C2C_PUMP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Consume one chunk; false when it failed (the callback keeps the reason). */
typedef bool (*c2c_pump_work)(void *arg, const uint8_t *buf, size_t len);

struct c2c_pump {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	c2c_pump_work work;
	void *arg;
	const uint8_t *job;
	size_t len;
	bool busy, quit, failed;
};

/* Start the worker: 0, or -1 when no thread could be started (then work inline). */
int c2c_pump_start(struct c2c_pump *p, c2c_pump_work work, void *arg);

/*
 * Wait until the previous chunk is consumed, then hand buf (len bytes, left
 * untouched until the next call returns) to the worker. False once a chunk
 * failed: buf is then not taken.
 */
bool c2c_pump_hand(struct c2c_pump *p, const uint8_t *buf, size_t len);

/* Wait until the last chunk handed over is consumed. Returns false if any chunk failed. */
bool c2c_pump_wait(struct c2c_pump *p);

/* Wait for the last chunk and end the thread. Returns false if any chunk failed. */
bool c2c_pump_finish(struct c2c_pump *p);

#endif /* C2C_PUMP_H */
