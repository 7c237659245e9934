/*
 * Stage 4, process model: what a process holds besides its memory, for
 * `inspect`: open file descriptors (files, pipes, sockets), working and root
 * directory, namespaces, host name, environment.
 *
 * Consumes ids-<pid>.img (TaskKobjIdsEntry, doc §2.3), fdinfo-<files_id>.img
 * and fs-<pid>.img (§2.8), the socket and pipe entries of files.img,
 * utsns-<id>.img, and the environment strings from memory (MmEntry
 * mm_env_start/end). Loaded only when asked: conversion never reads these
 * images, so a broken one can only make `inspect` fail, never a core.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.pb-c.h"
#include "image.h"
#include "model.h"
#include "task.pb-c.h"
#include "util.h"

/* fd_types (CRIU images/fdinfo.proto; doc §2.8). */
static const char *const fd_type_names[] = {
	"UND",	    "REG",   "PIPE",	 "FIFO", "INETSK",   "UNIXSK", "EVENTFD",
	"EVENTPOLL", "INOTIFY", "SIGNALFD", "PACKETSK", "TTY", "FANOTIFY", "NETLINKSK",
	"NS",	    "TUNF",  "EXT",	 "TIMERFD", "MEMFD", "BPFMAP", "PIDFD",
};

#define FD_TYPE_PIPE 2
#define FD_TYPE_INETSK 4
#define FD_TYPE_UNIXSK 5

/* Most fds one process may list (the kernel's default nr_open is 1 << 20). */
#define C2C_MAX_FDS (1U << 20)
/* Environment bytes read from memory at most. */
#define C2C_MAX_ENV (1U << 20)

const char *c2c_fd_type_name(uint32_t type)
{
	return type < C2C_ARRAY_SIZE(fd_type_names) ? fd_type_names[type] : "unknown";
}

/* TCP states (include/net/tcp_states.h), as ss(8) names them. */
const char *c2c_sk_state_name(uint32_t state)
{
	static const char *const names[] = { "UNKNOWN",	   "ESTABLISHED", "SYN-SENT",
					     "SYN-RECV",   "FIN-WAIT-1",  "FIN-WAIT-2",
					     "TIME-WAIT",  "CLOSE",	  "CLOSE-WAIT",
					     "LAST-ACK",   "LISTEN",	  "CLOSING",
					     "NEW-SYN-RECV" };

	return state < C2C_ARRAY_SIZE(names) ? names[state] : "UNKNOWN";
}

/* An address of InetSkEntry: one word for AF_INET, four for AF_INET6, network order. */
static void format_addr(uint32_t family, const uint32_t *w, size_t n, char *out, size_t size)
{
	uint8_t b[16] = { 0 };

	for (size_t i = 0; i < n && i < 4; i++)
		memcpy(b + 4 * i, &w[i], 4);
	if (!inet_ntop(family == 10 ? AF_INET6 : AF_INET, b, out, (socklen_t)size))
		snprintf(out, size, "?");
}

/* A pipe or socket entry of files.img into the descriptor fd that refers to it. */
static int fill_special(struct c2c_ctx *ctx, const PbTaskFileEntry *e, struct c2c_fd_info *fd)
{
	if (e->pipe) {
		fd->pipe_id = e->pipe->pipe_id;
	} else if (e->isk) {
		const PbInetSkEntry *k = e->isk;

		fd->is_inet = true;
		fd->family = k->family;
		fd->sotype = k->type;
		fd->proto = k->proto;
		fd->state = k->state;
		fd->ino = k->ino;
		fd->src_port = k->src_port;
		fd->dst_port = k->dst_port;
		format_addr(k->family, k->src_addr, k->n_src_addr, fd->src, sizeof(fd->src));
		format_addr(k->family, k->dst_addr, k->n_dst_addr, fd->dst, sizeof(fd->dst));
	} else if (e->usk) {
		const PbUnixSkEntry *k = e->usk;
		size_t n = k->has_name ? k->name.len : 0;

		fd->is_unix = true;
		fd->sotype = k->type;
		fd->state = k->state;
		fd->ino = k->ino;
		fd->peer = k->peer;
		/* Abstract names start with NUL: shown with '@' as ss(8) does. */
		if (n && !(fd->unix_name = malloc(n + 1)))
			return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		for (size_t i = 0; i < n; i++)
			fd->unix_name[i] = k->name.data[i] ? (char)k->name.data[i] : '@';
		if (n)
			fd->unix_name[n] = '\0';
	}
	return 0;
}

/* One pass over files.img: every descriptor of res whose file is a pipe or socket. */
static int special_entry(struct c2c_ctx *ctx, void *data, const ProtobufCMessage *msg,
			 const struct c2c_loc *loc)
{
	const PbTaskFileEntry *e = (const PbTaskFileEntry *)msg;
	struct c2c_task_res *res = data;
	int r = 0;

	(void)loc;
	if (!e->pipe && !e->isk && !e->usk)
		return 0;
	/* Several descriptors may share one file (dup, inherited): all get it. */
	for (size_t i = 0; r == 0 && i < res->nfds; i++)
		if (res->fds[i].file_id == e->id && !res->fds[i].path)
			r = fill_special(ctx, e, &res->fds[i]);
	return r;
}

/* fdinfo's walk: one descriptor per record. */
struct fd_walk {
	struct c2c_checkpoint *ck;
	struct c2c_task_res *res;
	size_t cap;
	size_t nspecial; /* pipes and sockets, described from files.img afterwards */
};

static int fd_entry(struct c2c_ctx *ctx, void *data, const ProtobufCMessage *msg,
		    const struct c2c_loc *loc)
{
	const PbFdinfoEntry *e = (const PbFdinfoEntry *)msg;
	struct fd_walk *w = data;
	struct c2c_task_res *res = w->res;
	const struct c2c_file *f;
	struct c2c_fd_info *fd;
	int r;

	if (res->nfds >= C2C_MAX_FDS)
		return c2c_fail(ctx, loc, C2C_E_LIMIT, "more than %u file descriptors", C2C_MAX_FDS);
	r = c2c_array_grow(ctx, &res->fds, &w->cap, res->nfds + 1, sizeof(*res->fds));
	if (r < 0)
		return r;
	fd = &res->fds[res->nfds++];
	*fd = (struct c2c_fd_info){ .fd = (int32_t)e->fd, .type = e->type, .cloexec = e->flags & 1,
				    .file_id = e->id };
	f = c2c_files_find(w->ck, e->id);
	if (f && f->path) {
		fd->path = f->path;
	} else if (e->type == FD_TYPE_PIPE || e->type == FD_TYPE_INETSK ||
		   e->type == FD_TYPE_UNIXSK) {
		w->nspecial++;
	}
	return 0;
}

void c2c_task_res_release(struct c2c_task_res *res)
{
	for (size_t i = 0; i < res->nfds; i++)
		free(res->fds[i].unix_name);
	free(res->fds);
	free(res->hostname);
	free(res->domainname);
	free(res->env);
	*res = (struct c2c_task_res){ 0 };
}

/* The single entry of image kind id (0 when absent) into *msg; 1 when absent. */
static int load_one(struct c2c_ctx *ctx, struct c2c_source *src, enum c2c_image_kind kind,
		    uint64_t id, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **msg)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	struct c2c_image img;
	int r = c2c_image_load_one(ctx, src, kind, id, desc, true, &b, msg, &img);

	c2c_blob_release(&b);
	return r;
}

int c2c_task_res_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, const struct c2c_process *p,
		      struct c2c_task_res *ret)
{
	struct c2c_task_res res = { 0 };
	ProtobufCMessage *msg = NULL;
	int r;

	r = c2c_files_load(ctx, ck);
	if (r == 0)
		r = load_one(ctx, ck->src, C2C_IMG_IDS, p->pid, &pb_task_kobj_ids_entry__descriptor,
			     &msg);
	if (r == 0) {
		const PbTaskKobjIdsEntry *ids = (const PbTaskKobjIdsEntry *)msg;
		struct fd_walk w = { .ck = ck, .res = &res };

		res.has_ids = true;
		res.ns.pid = ids->pid_ns_id, res.ns.net = ids->net_ns_id;
		res.ns.ipc = ids->ipc_ns_id, res.ns.uts = ids->uts_ns_id;
		res.ns.mnt = ids->mnt_ns_id, res.ns.user = ids->user_ns_id;
		res.ns.cgroup = ids->cgroup_ns_id, res.ns.time = ids->time_ns_id;
		res.files_id = ids->files_id;
		protobuf_c_message_free_unpacked(msg, NULL);
		msg = NULL;
		r = c2c_image_load_each(ctx, ck->src, C2C_IMG_FDINFO, res.files_id, true,
					&pb_fdinfo_entry__descriptor, fd_entry, &w);
		if (r == 0 && w.nspecial)
			r = c2c_image_load_each(ctx, ck->src, C2C_IMG_FILES, 0, true,
						&pb_task_file_entry__descriptor, special_entry, &res);
	}
	if (r == 1)
		r = 0; /* no ids or fdinfo image: nothing to name */
	if (r == 0 && res.has_ids && res.ns.uts) {
		r = load_one(ctx, ck->src, C2C_IMG_UTSNS, res.ns.uts, &pb_utsns_entry__descriptor,
			     &msg);
		if (r == 0) {
			const PbUtsnsEntry *u = (const PbUtsnsEntry *)msg;

			res.hostname = u->nodename ? c2c_strdup(u->nodename) : NULL;
			res.domainname = u->domainname ? c2c_strdup(u->domainname) : NULL;
			if ((u->nodename && !res.hostname) || (u->domainname && !res.domainname))
				r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			protobuf_c_message_free_unpacked(msg, NULL);
			msg = NULL;
		}
		if (r == 1)
			r = 0;
	}
	if (r == 0) {
		r = load_one(ctx, ck->src, C2C_IMG_FS, p->pid, &pb_fs_entry__descriptor, &msg);
		if (r == 0) {
			const PbFsEntry *fs = (const PbFsEntry *)msg;
			const struct c2c_file *cwd = c2c_files_find(ck, fs->cwd_id);
			const struct c2c_file *root = c2c_files_find(ck, fs->root_id);

			res.cwd = cwd ? cwd->path : NULL;
			res.root = root ? root->path : NULL;
			protobuf_c_message_free_unpacked(msg, NULL);
			msg = NULL;
		}
		if (r == 1)
			r = 0;
	}
	if (r == 0 && p->has_mm && p->env_end > p->env_start) {
		uint64_t len = p->env_end - p->env_start;

		if (len > C2C_MAX_ENV)
			len = C2C_MAX_ENV;
		if (!(res.env = malloc(len + 1)))
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		else
			r = c2c_process_read_mem(ctx, p, p->env_start, res.env, len);
		if (r == 0) {
			res.env[len] = '\0';
			res.env_len = len;
		}
	}
	if (r < 0) {
		c2c_task_res_release(&res);
		return r;
	}
	*ret = res;
	return 0;
}
