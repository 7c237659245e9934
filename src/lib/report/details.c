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

#include "arcsource.h"
#include "network.h"
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

/* A string value: paths and memory are bytes, so not-UTF-8 becomes U+FFFD (report.c). */
static json_t *str(const char *s)
{
	json_t *j = c2c_report_text(s);

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
			json_array_append_new(a, c2c_report_text_n(res->env + i, n) ?: json_null());
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

/* IFF_* bits (include/uapi/linux/if.h), named as ip-link(8) shows them. */
static json_t *ifflags_json(uint32_t flags)
{
	static const char *const names[] = { "UP",	  "BROADCAST", "DEBUG",	   "LOOPBACK",
					     "POINTOPOINT", "NOTRAILERS", "RUNNING", "NOARP",
					     "PROMISC",	  "ALLMULTI",  "MASTER",   "SLAVE",
					     "MULTICAST",   "PORTSEL",	  "AUTOMEDIA", "DYNAMIC",
					     "LOWER_UP",    "DORMANT",	  "ECHO" };
	json_t *a = json_array();

	for (size_t i = 0; a && i < C2C_ARRAY_SIZE(names); i++)
		if (flags & (1U << i))
			json_array_append_new(a, json_string(names[i]));
	return a;
}

/* RT_SCOPE_* (include/uapi/linux/rtnetlink.h), as ip-address(8) names them. */
static json_t *scope_json(uint8_t scope)
{
	char buf[8];

	if (scope == 0)
		return json_string("global");
	if (scope == 200)
		return json_string("site");
	if (scope == 253)
		return json_string("link");
	if (scope == 254)
		return json_string("host");
	if (scope == 255)
		return json_string("nowhere");
	snprintf(buf, sizeof(buf), "%u", scope);
	return json_string(buf);
}

static json_t *addr_json(const struct c2c_ifaddr *a)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:o, s:I}", "family",
			      a->family == 10 ? "inet6" : "inet", "address", a->address,
			      "prefixlen", (json_int_t)a->prefixlen, "scope", scope_json(a->scope),
			      "flags", (json_int_t)a->flags);

	if (!o)
		return NULL;
	json_object_set_new(o, "peer", a->peer[0] ? json_string(a->peer) : json_null());
	json_object_set_new(o, "broadcast",
			    a->broadcast[0] ? json_string(a->broadcast) : json_null());
	json_object_set_new(o, "label", a->label[0] ? str(a->label) : json_null());
	return o;
}

static json_t *netdev_json(const struct c2c_netns *ns, const struct c2c_netdev *d)
{
	char mac[3 * sizeof(d->mac)] = "";
	json_t *o, *addrs = json_array();

	/* "aa:bb:..": 3 bytes per byte of the address, the last ':' becomes the NUL */
	for (size_t i = 0; i < d->mac_len; i++)
		snprintf(mac + 3 * i, sizeof(mac) - 3 * i, "%02x%s", d->mac[i],
			 i + 1 < d->mac_len ? ":" : "");
	for (size_t i = 0; addrs && i < ns->naddrs; i++)
		if (ns->addrs[i].ifindex == d->ifindex)
			json_array_append_new(addrs, addr_json(&ns->addrs[i]));
	o = json_pack("{s:o, s:I, s:s, s:I, s:o, s:o}", "name", str(d->name), "ifindex",
		      (json_int_t)d->ifindex, "type", c2c_netdev_type_name(d->type), "mtu",
		      (json_int_t)d->mtu, "flags", ifflags_json(d->flags), "addresses",
		      addrs ? addrs : json_array());
	if (!o)
		return NULL;
	/* d->mac_len 0: no address recorded (tun, sit): null */
	json_object_set_new(o, "mac", d->mac_len ? json_string(mac) : json_null());
	json_object_set_new(o, "peer", d->has_peer ? json_pack("{s:I, s:I}", "ifindex",
							      (json_int_t)d->peer_ifindex, "nsid",
							      (json_int_t)d->peer_nsid)
						   : json_null());
	json_object_set_new(o, "master", d->master ? json_integer(d->master) : json_null());
	return o;
}

/*
 * The network namespace of the process: its interfaces with their
 * addresses, and addresses of an ifindex no netdev entry has (an ifaddr
 * image without netdev) under "addresses". in_checkpoint false: CRIU
 * wrote neither netdev nor ifaddr (an external namespace, as CRI-O and
 * Podman give it).
 */
static json_t *network_json(const struct c2c_task_res *res)
{
	const struct c2c_netns *ns = res->netns;
	json_t *devs = json_array(), *other = json_array(), *o;

	if (!ns) {
		json_decref(devs);
		json_decref(other);
		return json_null();
	}
	for (size_t i = 0; devs && i < ns->ndevs; i++)
		json_array_append_new(devs, netdev_json(ns, &ns->devs[i]));
	for (size_t i = 0; other && i < ns->naddrs; i++) {
		bool known = false;

		for (size_t k = 0; !known && k < ns->ndevs; k++)
			known = ns->devs[k].ifindex == ns->addrs[i].ifindex;
		if (!known) {
			json_t *a = addr_json(&ns->addrs[i]);

			if (a)
				json_object_set_new(a, "ifindex",
						    json_integer(ns->addrs[i].ifindex));
			json_array_append_new(other, a);
		}
	}
	o = json_pack("{s:I, s:b, s:o, s:b, s:o, s:o, s:{s:o, s:o}}", "net_ns",
		      (json_int_t)ns->id, "in_checkpoint", ns->has_netdev || ns->has_ifaddr,
		      "external", ns->ext_key ? str(ns->ext_key) : json_null(), "criu_namespace",
		      ns->criu_ns, "interfaces", devs ? devs : json_array(), "addresses",
		      other ? other : json_array(), "routes", "ipv4",
		      ns->has_routes4 ? json_integer((json_int_t)ns->nroutes4) : json_null(),
		      "ipv6",
		      ns->has_routes6 ? json_integer((json_int_t)ns->nroutes6) : json_null());
	return o ? o : json_null();
}

/* The process's cgroup in each hierarchy (cgroup.img's set of its cg_set). */
static json_t *cgroup_json(const struct c2c_task_res *res)
{
	json_t *a = json_array(), *o;

	for (size_t i = 0; a && res->cgset && i < res->cgset->nmembers; i++) {
		const struct c2c_cg_member *m = &res->cgset->members[i];

		json_array_append_new(a, json_pack("{s:o, s:o, s:I}", "controllers", str(m->name),
						   "path", str(m->path), "cgns_prefix",
						   (json_int_t)m->cgns_prefix));
	}
	o = json_pack("{s:o, s:b, s:o}", "set",
		      res->has_cg_set ? json_integer(res->cg_set) : json_null(), "in_checkpoint",
		      res->cgroups && res->cgroups->present, "paths", a ? a : json_array());
	return o ? o : json_null();
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
	if (flags & C2C_FLAG_INSPECT_NETWORK)
		json_object_set_new(d, "network", network_json(res));
	if (flags & C2C_FLAG_INSPECT_CGROUP)
		json_object_set_new(d, "cgroup", cgroup_json(res));
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

static void addr_text(FILE *f, const json_t *a, const char *dev)
{
	const char *peer = json_string_value(json_object_get(a, "peer"));
	const char *brd = json_string_value(json_object_get(a, "broadcast"));
	const char *label = json_string_value(json_object_get(a, "label"));

	fprintf(f, "        %-5s %s%s%s/%lld%s%s scope %s %s\n", s_or_dash(a, "family"),
		s_or_dash(a, "address"), peer ? " peer " : "", peer ? peer : "",
		(long long)json_integer_value(json_object_get(a, "prefixlen")), brd ? " brd " : "",
		brd ? brd : "", s_or_dash(a, "scope"), label ? label : dev);
}

/* ip-address(8)-like lines: each interface, then its addresses. */
static void network_text(FILE *f, const json_t *n)
{
	const json_t *e, *a, *r = json_object_get(n, "routes");
	size_t i, k;

	if (!json_is_object(n)) {
		fprintf(f, "      network unknown (no ids image: namespace not known)\n");
		return;
	}
	if (!json_is_true(json_object_get(n, "in_checkpoint"))) {
		const char *ext = json_string_value(json_object_get(n, "external"));

		const char *why = ext ? " (external namespace '"
				  : json_is_true(json_object_get(n, "criu_namespace"))
					  ? " (the namespace CRIU ran in, never dumped)"
					  : " (not dumped: external, as CRI-O and Podman give it)";

		fprintf(f, "      network net ns %lld: interfaces not in the checkpoint%s%s%s\n",
			(long long)json_integer_value(json_object_get(n, "net_ns")), why,
			ext ? ext : "", ext ? "')" : "");
		return;
	}
	json_array_foreach(json_object_get(n, "interfaces"), i, e) {
		const json_t *fl;
		const char *mac = json_string_value(json_object_get(e, "mac"));
		json_t *peer = json_object_get(e, "peer");
		char flags[256] = "";
		size_t at = 0;

		json_array_foreach((fl = json_object_get(e, "flags")), k, a)
			if (at < sizeof(flags))
				at += (size_t)snprintf(flags + at, sizeof(flags) - at, "%s%s",
						       k ? "," : "", json_string_value(a));
		fprintf(f, "      netdev  %lld: %s %s mtu %lld <%s>%s%s",
			(long long)json_integer_value(json_object_get(e, "ifindex")),
			s_or_dash(e, "name"), s_or_dash(e, "type"),
			(long long)json_integer_value(json_object_get(e, "mtu")), flags,
			mac ? " link " : "", mac ? mac : "");
		if (json_is_object(peer))
			fprintf(f, " peer if%lld nsid %lld",
				(long long)json_integer_value(json_object_get(peer, "ifindex")),
				(long long)json_integer_value(json_object_get(peer, "nsid")));
		if (json_is_integer(json_object_get(e, "master")))
			fprintf(f, " master if%lld",
				(long long)json_integer_value(json_object_get(e, "master")));
		fputc('\n', f);
		json_array_foreach(json_object_get(e, "addresses"), k, a)
			addr_text(f, a, s_or_dash(e, "name"));
	}
	json_array_foreach(json_object_get(n, "addresses"), k, a) {
		char dev[32];

		snprintf(dev, sizeof(dev), "if%lld",
			 (long long)json_integer_value(json_object_get(a, "ifindex")));
		addr_text(f, a, dev);
	}
	if (json_is_integer(json_object_get(r, "ipv4")) ||
	    json_is_integer(json_object_get(r, "ipv6")))
		fprintf(f, "      routes  ipv4 %lld, ipv6 %lld\n",
			(long long)json_integer_value(json_object_get(r, "ipv4")),
			(long long)json_integer_value(json_object_get(r, "ipv6")));
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
	if ((e = json_object_get(d, "network")))
		network_text(f, e);
	if ((e = json_object_get(d, "cgroup")) && json_is_object(e)) {
		json_t *m;
		size_t k;

		if (!json_is_true(json_object_get(e, "in_checkpoint")))
			fprintf(f, "      cgroup  not in the checkpoint (no cgroup.img)\n");
		else if (!json_array_size(json_object_get(e, "paths")))
			fprintf(f, "      cgroup  %s\n",
				json_is_integer(json_object_get(e, "set"))
					? "the task's set is not in cgroup.img"
					: "the core image records no cgroup set");
		json_array_foreach(json_object_get(e, "paths"), k, m)
			fprintf(f, "      cgroup  %s:%s\n", s_or_dash(m, "controllers"),
				s_or_dash(m, "path"));
	}
	json_array_foreach((a = json_object_get(d, "environment")), i, e)
		fprintf(f, "      env %s\n", json_string_value(e) ? json_string_value(e) : "?");
	json_array_foreach((a = json_object_get(d, "maps")), i, e)
		fprintf(f, "      %s-%s %s %s %s\n", s_or_dash(e, "start"), s_or_dash(e, "end"),
			s_or_dash(e, "perms"), s_or_dash(e, "offset"), s_or_dash(e, "name"));
}

/* ------------------------------------------------------- the container */

/* Most entries of rootfs-diff.tar listed (a diff of a whole distribution has ~10^5). */
#define FS_DIFF_MAX 100000

/* The IP addresses the engine annotated: CRI-O's io.kubernetes.cri-o.IP.N. */
static json_t *ips_json(const json_t *ann)
{
	json_t *a = json_array();

	for (int i = 0; a && i < 16; i++) {
		char key[48];
		const char *v;

		snprintf(key, sizeof(key), "io.kubernetes.cri-o.IP.%d", i);
		v = json_string_value(json_object_get(ann, key));
		if (!v)
			break;
		json_array_append_new(a, str(v));
	}
	return a;
}

/* The OCI mounts (runtime-spec config.md "mounts"), only their string fields. */
static json_t *mounts_json(const json_t *spec)
{
	const json_t *m = json_object_get(spec, "mounts"), *e;
	json_t *a = json_array();
	size_t i;

	json_array_foreach(m, i, e) {
		json_t *opts = json_array(), *o;
		const json_t *v;
		size_t k;

		if (!json_is_object(e))
			continue;
		json_array_foreach(json_object_get(e, "options"), k, v)
			if (json_is_string(v))
				json_array_append_new(opts, str(json_string_value(v)));
		o = json_pack("{s:o, s:o, s:o, s:o}", "destination",
			      str(json_string_value(json_object_get(e, "destination"))), "type",
			      str(json_string_value(json_object_get(e, "type"))), "source",
			      str(json_string_value(json_object_get(e, "source"))), "options",
			      opts ? opts : json_array());
		if (o)
			json_array_append_new(a, o);
	}
	return a;
}

/* rootfs-diff.tar's files and deleted.files' paths (container-archives.md §2.5-§2.6). */
static json_t *fs_diff_json(struct c2c_ctx *ctx, struct c2c_source *src, uint64_t *diff_bytes)
{
	json_t *changed = json_array(), *deleted = NULL, *o;
	struct c2c_blob tar = C2C_BLOB_INIT, del = C2C_BLOB_INIT;
	struct c2c_blob_reader *br = NULL;
	struct archive *a = NULL;
	char *path = NULL;
	uint64_t size;
	int r;

	c2c_try_begin(ctx); /* optional: what is missing or broken is left out */
	if (c2c_source_open_meta_data(ctx, src, "rootfs-diff.tar", &tar) == 0 &&
	    (br = calloc(1, sizeof(*br)))) {
		struct c2c_archive_in in = { .display = tar.path, .fd = -1, .reader = br };

		*diff_bytes = tar.size;
		*br = (struct c2c_blob_reader){ .ctx = ctx, .blob = &tar };
		r = c2c_archive_open(ctx, &in, "not a readable tar, ignored", true, &a);
		while (r == 0 && json_array_size(changed) < FS_DIFF_MAX &&
		       c2c_archive_next_file(ctx, a, tar.path, &path, &size) == 1) {
			json_array_append_new(changed, json_pack("{s:o, s:I}", "path", str(path),
								 "size", (json_int_t)size));
			free(path);
		}
	}
	if (c2c_source_load_meta(ctx, src, "deleted.files", &del) == 0)
		deleted = json_loadb((const char *)del.data, (size_t)del.size, 0, NULL);
	c2c_try_end(ctx);
	c2c_archive_close(a);
	free(br);
	c2c_blob_release(&tar);
	c2c_blob_release(&del);
	if (!json_is_array(deleted)) {
		json_decref(deleted);
		deleted = json_array();
	}
	o = json_pack("{s:o, s:o}", "changed", changed ? changed : json_array(), "deleted", deleted);
	return o;
}

void c2c_report_container_details(struct c2c_ctx *ctx, struct c2c_report *rep,
				  struct c2c_source *src, const json_t *spec)
{
	unsigned int flags = ctx->opts.flags;
	const json_t *ann = json_object_get(spec, "annotations");
	uint64_t diff_bytes = 0;
	json_t *d;

	if (flags & C2C_FLAG_INSPECT_FS_DIFF)
		rep->fs_diff = fs_diff_json(ctx, src, &diff_bytes);
	if (!(flags & (C2C_FLAG_INSPECT_METADATA | C2C_FLAG_INSPECT_MOUNTS |
		       C2C_FLAG_INSPECT_NETWORK)))
		return;
	if (!(rep->container_details = d = json_object()))
		return;
	/*
	 * The engine's record of the container's addresses: with an external
	 * network namespace (CRI-O, Podman) the only one the checkpoint has.
	 */
	if (flags & (C2C_FLAG_INSPECT_METADATA | C2C_FLAG_INSPECT_NETWORK))
		json_object_set_new(d, "ip", ips_json(ann));
	if (flags & C2C_FLAG_INSPECT_METADATA) {
		struct c2c_blob tar = C2C_BLOB_INIT;

		if (!(flags & C2C_FLAG_INSPECT_FS_DIFF)) {
			c2c_try_begin(ctx);
			if (c2c_source_open_meta_data(ctx, src, "rootfs-diff.tar", &tar) == 0)
				diff_bytes = tar.size;
			c2c_try_end(ctx);
			c2c_blob_release(&tar);
		}
		json_object_set_new(d, "hostname", str(json_string_value(json_object_get(spec, "hostname"))));
		json_object_set_new(d, "annotations",
				    json_is_object(ann) ? json_deep_copy(ann) : json_object());
		json_object_set_new(d, "sizes",
				    json_pack("{s:n, s:n, s:I}", "checkpoint", "pages", "rootfs_diff",
					      (json_int_t)diff_bytes));
	}
	if (flags & C2C_FLAG_INSPECT_MOUNTS)
		json_object_set_new(d, "mounts", mounts_json(spec));
}

void c2c_report_set_sizes(struct c2c_report *rep, uint64_t checkpoint_bytes, uint64_t pages_bytes)
{
	json_t *sizes = json_object_get(rep->container_details, "sizes");

	if (!sizes)
		return;
	json_object_set_new(sizes, "checkpoint", json_integer((json_int_t)checkpoint_bytes));
	json_object_set_new(sizes, "pages", json_integer((json_int_t)pages_bytes));
}

void c2c_report_container_text(FILE *f, const struct c2c_report *rep)
{
	const json_t *d = rep->container_details, *e, *sz;
	size_t i;

	if (d && (sz = json_object_get(d, "sizes")))
		fprintf(f, "  sizes      checkpoint %lld, pages %lld, root-FS diff %lld bytes\n",
			(long long)json_integer_value(json_object_get(sz, "checkpoint")),
			(long long)json_integer_value(json_object_get(sz, "pages")),
			(long long)json_integer_value(json_object_get(sz, "rootfs_diff")));
	json_array_foreach(json_object_get(d, "ip"), i, e)
		fprintf(f, "  ip         %s\n", json_string_value(e) ? json_string_value(e) : "?");
	json_array_foreach(json_object_get(d, "mounts"), i, e)
		fprintf(f, "  mount      %s %s %s\n", s_or_dash(e, "destination"), s_or_dash(e, "type"),
			s_or_dash(e, "source"));
	json_array_foreach(json_object_get(rep->fs_diff, "changed"), i, e)
		fprintf(f, "  changed    %s (%lld bytes)\n", s_or_dash(e, "path"),
			(long long)json_integer_value(json_object_get(e, "size")));
	json_array_foreach(json_object_get(rep->fs_diff, "deleted"), i, e)
		fprintf(f, "  deleted    %s\n", json_string_value(e) ? json_string_value(e) : "?");
}
