/*
 * Stage 4, process model: functions shared by the model's own files, not
 * used by later stages (they include process.h only).
 */
#ifndef C2C_MODEL_H
#define C2C_MODEL_H

#include "image.h"
#include "process.h"

struct PbSignalQueueEntry;

/* A memfd inode of memfd.img: the shared memory object holding its pages. */
struct c2c_memfd {
	uint64_t inode_id;
	uint32_t shmid;
	char *path; /* "/memfd:NAME (deleted)" or "/dev/zero (deleted)" */
};

/* files.c: load the file table, remaps and memfds once (later calls return 0). */
int c2c_files_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck);
/* The file of id, or NULL (binary search; c2c_files_load first). */
struct c2c_file *c2c_files_find(const struct c2c_checkpoint *ck, uint64_t id);
/* The memfd inode inode_id, or NULL. */
const struct c2c_memfd *c2c_files_memfd(const struct c2c_checkpoint *ck, uint64_t inode_id);
bool c2c_file_is_memfd(const struct c2c_file *f);

/* threads.c: the CoreEntry of thread tid (free with protobuf_c_message_free_unpacked). */
int c2c_thread_core_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, uint32_t pid,
			 uint32_t tid, struct c2c_blob *b, struct c2c_image *img,
			 struct PbCoreEntry **ret);
/* Registers, name and signal masks of thread t from ce. */
int c2c_thread_decode(struct c2c_ctx *ctx, struct c2c_process *p, struct c2c_thread *t,
		      const struct PbCoreEntry *ce, const struct c2c_loc *loc);
/* Bit mask of the signals queued in a signal_queue_entry. */
uint64_t c2c_signals_pending(const struct PbSignalQueueEntry *q);
void c2c_comm_set(char comm[16], const char *s);

/* memory.c: mm-<pid>.img: VMAs (resolved), auxv, arguments, executable. */
int c2c_mm_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_process *p);

#endif /* C2C_MODEL_H */
