/*
 * Stage 7, report: the per-process details of `inspect` (the flags
 * C2C_FLAG_INSPECT_*): open files, sockets, environment, memory map,
 * namespaces, host name, directories and credentials, as one JSON object
 * built with jansson while the checkpoint is loaded (the model's strings
 * die with it), and its text rendering for the tree output.
 *
 * Socket states and kinds are named as ss(8) names them; capability sets as
 * /proc/PID/status shows them (16 hex digits).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

/* AF_*, SOCK_* and IPPROTO_* values (include/linux/socket.h, net.h, in.h). */
static const char *family_name(uint32_t f)
{
	return f == 1 ? "unix" : f == 2 ? "inet" : f == 10 ? "inet6" : "other";
}

static const char *sotype_name(uint32_t t)
{
	static const char *const names[] = { "?", "stream", "dgram", "raw", "rdm", "seqpacket" };

	return t < C2C_ARRAY_SIZE(names) ? names[t] : "?";
}

static const char *proto_name(uint32_t p, uint32_t sotype)
{
	if (p == 6)
		return "tcp";
	if (p == 17)
		return "udp";
	if (p == 132)
		return "sctp";
	if (p == 0)
		return sotype == 1 ? "tcp" : sotype == 2 ? "udp" : "raw";
	return "other";
}

/* UNIX socket states (include/uapi/linux/net.h socket_state, as CRIU saves sk_state: TCP_*). */
static const char *unix_state_name(uint32_t s)
{
	return s == 1 ? "ESTABLISHED" : s == 7 ? "UNCONN" : s == 10 ? "LISTEN" : "UNKNOWN";
}

/* A string value; invalid UTF-8 (paths are bytes) becomes null rather than failing. */
static json_t *str(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

static json_t *hex64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)v);
	return json_string(buf);
}

static json_t *socket_json(const struct c2c_fd_info *fd)
{
	if (fd->is_unix)
		return json_pack("{s:s, s:s, s:s, s:o, s:I, s:I}", "family", "unix", "type",
				 sotype_name(fd->sotype), "state", unix_state_name(fd->state),
				 "path", str(fd->unix_name), "inode", (json_int_t)fd->ino, "peer",
				 (json_int_t)fd->peer);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I}", "family",
			 family_name(fd->family), "type", sotype_name(fd->sotype), "protocol",
			 proto_name(fd->proto, fd->sotype), "state", c2c_sk_state_name(fd->state),
			 "local_address", fd->src, "local_port", (json_int_t)fd->src_port,
			 "remote_address", fd->dst, "remote_port", (json_int_t)fd->dst_port, "inode",
			 (json_int_t)fd->ino);
}

static json_t *fds_json(const struct c2c_task_res *res, bool files, bool sockets)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < res->nfds; i++) {
		const struct c2c_fd_info *fd = &res->fds[i];
		bool sk = fd->is_inet || fd->is_unix;
		json_t *o;

		if ((sk && !sockets) || (!sk && !files))
			continue;
		o = json_pack("{s:I, s:s, s:b}", "fd", (json_int_t)fd->fd, "type",
			      c2c_fd_type_name(fd->type), "cloexec", fd->cloexec);
		if (!o)
			break;
		if (fd->path)
			json_object_set_new(o, "path", str(fd->path));
		if (fd->type == 2) /* PIPE */
			json_object_set_new(o, "pipe", json_integer(fd->pipe_id));
		if (sk)
			json_object_set_new(o, "socket", socket_json(fd));
		json_array_append_new(a, o);
	}
	return a;
}

/* The environment strings (NUL-separated) as an array. */
static json_t *env_json(const struct c2c_task_res *res)
{
	json_t *a = json_array();
	size_t i = 0;

	while (a && res->env && i < res->env_len) {
		size_t n = strnlen(res->env + i, res->env_len - i);

		if (n)
			json_array_append_new(a, json_stringn(res->env + i, n) ?: json_null());
		i += n + 1;
	}
	return a;
}

static json_t *maps_json(const struct c2c_process *p)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < p->nvmas; i++) {
		const struct c2c_vma *v = &p->vmas[i];
		char perms[5];

		char start[24], end[24], off[24];

		c2c_vma_perms(v, perms);
		/* Hex strings: addresses like vsyscall's do not fit a JSON integer. */
		snprintf(start, sizeof(start), "0x%llx", (unsigned long long)v->start);
		snprintf(end, sizeof(end), "0x%llx", (unsigned long long)v->end);
		snprintf(off, sizeof(off), "0x%llx", (unsigned long long)v->pgoff);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:o}", "start", start,
						   "end", end, "perms", perms, "offset", off,
						   "name", str(c2c_vma_name(v))));
	}
	return a;
}

static json_t *creds_json(const struct c2c_creds *c)
{
	json_t *groups = json_array();

	for (size_t i = 0; groups && i < c->ngroups; i++)
		json_array_append_new(groups, json_integer(c->groups[i]));
	return json_pack("{s:[I,I,I,I], s:[I,I,I,I], s:o, s:{s:o, s:o, s:o, s:o, s:o}, s:b, s:o}",
			 "uid", (json_int_t)c->uid, (json_int_t)c->euid, (json_int_t)c->suid,
			 (json_int_t)c->fsuid, "gid", (json_int_t)c->gid, (json_int_t)c->egid,
			 (json_int_t)c->sgid, (json_int_t)c->fsgid, "groups", groups, "capabilities",
			 "inheritable", hex64(c->cap_inh), "permitted", hex64(c->cap_prm),
			 "effective", hex64(c->cap_eff), "bounding", hex64(c->cap_bnd), "ambient",
			 hex64(c->cap_amb), "no_new_privs", c->no_new_privs, "lsm_profile",
			 str(c->lsm_profile[0] ? c->lsm_profile : NULL));
}

json_t *c2c_report_details(const struct c2c_process *p, const struct c2c_task_res *res,
			   unsigned int flags)
{
	json_t *d = json_object();

	if (!d)
		return NULL;
	if (flags & (C2C_FLAG_INSPECT_FILES | C2C_FLAG_INSPECT_SOCKETS))
		json_object_set_new(d, "fds", fds_json(res, flags & C2C_FLAG_INSPECT_FILES,
						       flags & C2C_FLAG_INSPECT_SOCKETS));
	if (flags & C2C_FLAG_INSPECT_ENV)
		json_object_set_new(d, "environment", env_json(res));
	if (flags & C2C_FLAG_INSPECT_MAPS)
		json_object_set_new(d, "maps", maps_json(p));
	if (flags & C2C_FLAG_INSPECT_TASK) {
		json_object_set_new(d, "hostname", str(res->hostname));
		json_object_set_new(d, "domainname", str(res->domainname));
		json_object_set_new(d, "cwd", str(res->cwd));
		json_object_set_new(d, "root", str(res->root));
		json_object_set_new(d, "namespaces",
				    res->has_ids ?
					    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
						      "pid", (json_int_t)res->ns.pid, "net",
						      (json_int_t)res->ns.net, "ipc",
						      (json_int_t)res->ns.ipc, "uts",
						      (json_int_t)res->ns.uts, "mnt",
						      (json_int_t)res->ns.mnt, "user",
						      (json_int_t)res->ns.user, "cgroup",
						      (json_int_t)res->ns.cgroup, "time",
						      (json_int_t)res->ns.time) :
					    json_null());
		json_object_set_new(d, "credentials",
				    p->creds.known ? creds_json(&p->creds) : json_null());
	}
	return d;
}

static const char *s_or_dash(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

void c2c_report_details_text(FILE *f, const json_t *d)
{
	json_t *a, *e;
	size_t i;

	if (!d)
		return;
	if (json_object_get(d, "hostname"))
		fprintf(f, "      hostname %s, cwd %s, root %s\n", s_or_dash(d, "hostname"),
			s_or_dash(d, "cwd"), s_or_dash(d, "root"));
	if ((e = json_object_get(d, "credentials")) && json_is_object(e)) {
		json_t *caps = json_object_get(e, "capabilities");

		fprintf(f, "      uid %lld gid %lld, CapEff %s CapBnd %s%s\n",
			(long long)json_integer_value(json_array_get(json_object_get(e, "uid"), 0)),
			(long long)json_integer_value(json_array_get(json_object_get(e, "gid"), 0)),
			s_or_dash(caps, "effective"), s_or_dash(caps, "bounding"),
			json_is_true(json_object_get(e, "no_new_privs")) ? ", no_new_privs" : "");
	}
	json_array_foreach((a = json_object_get(d, "fds")), i, e) {
		json_t *sk = json_object_get(e, "socket");

		fprintf(f, "      fd %-3lld %-7s", (long long)json_integer_value(json_object_get(e, "fd")),
			s_or_dash(e, "type"));
		if (json_object_get(e, "path"))
			fprintf(f, " %s", s_or_dash(e, "path"));
		if (json_object_get(e, "pipe"))
			fprintf(f, " pipe:[%lld]", (long long)json_integer_value(json_object_get(e, "pipe")));
		if (sk && !strcmp(s_or_dash(sk, "family"), "unix"))
			fprintf(f, " unix %s %s %s", s_or_dash(sk, "type"), s_or_dash(sk, "state"),
				s_or_dash(sk, "path"));
		else if (sk)
			fprintf(f, " %s %s %s:%lld -> %s:%lld", s_or_dash(sk, "protocol"),
				s_or_dash(sk, "state"), s_or_dash(sk, "local_address"),
				(long long)json_integer_value(json_object_get(sk, "local_port")),
				s_or_dash(sk, "remote_address"),
				(long long)json_integer_value(json_object_get(sk, "remote_port")));
		fputc('\n', f);
	}
	json_array_foreach((a = json_object_get(d, "environment")), i, e)
		fprintf(f, "      env %s\n", json_string_value(e) ? json_string_value(e) : "?");
	json_array_foreach((a = json_object_get(d, "maps")), i, e)
		fprintf(f, "      %s-%s %s %s %s\n", s_or_dash(e, "start"), s_or_dash(e, "end"),
			s_or_dash(e, "perms"), s_or_dash(e, "offset"), s_or_dash(e, "name"));
}
