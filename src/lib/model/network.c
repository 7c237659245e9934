/*
 * Stage 4, model: network namespaces and cgroups for `inspect` (network.h).
 *
 * Consumes netdev-<id>.img (NetDeviceEntry array), netns-<id>.img
 * (NetnsEntry), the raw ifaddr-/route-/route6-<id>.img iproute2 wrote
 * (framing in image/nldump.c; CRIU criu/net.c dump_ifaddr, dump_route),
 * cgroup.img (CgroupEntry) and the cg_set of core-<tid>.img; magics in
 * doc §1.3, fields in proto/net.proto. All of these are optional for a
 * core and for inspect: each is read between c2c_warn_begin and
 * c2c_warn_end, so damage is told as a warning with the file and offset
 * and what was read before it stays; only running out of memory fails.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "inventory.pb-c.h"
#include "net.pb-c.h"
#include "network.h"
#include "nldump.h"
#include "util.h"

/* Most links, addresses and cgroup sets kept (a namespace with more is not a container's). */
#define C2C_MAX_NETDEVS (1U << 20)
#define C2C_MAX_IFADDRS (1U << 20)
#define C2C_MAX_CG_SETS (1U << 20)

/* struct ifaddrmsg {u8 family, prefixlen, flags, scope; u32 index} (uapi if_addr.h). */
#define IFADDRMSG_LEN 8U
/* IFA_* attribute types (include/uapi/linux/if_addr.h). */
#define IFA_ADDRESS 1
#define IFA_LOCAL 2
#define IFA_LABEL 3
#define IFA_BROADCAST 4
#define IFA_FLAGS 8
/* Address families (include/linux/socket.h). */
#define FAMILY_INET 2
#define FAMILY_INET6 10

const char *c2c_netdev_type_name(uint32_t type)
{
	/* nd_type (CRIU images/netdev.proto) */
	static const char *const names[] = { "unknown", "loopback", "veth",   "tun",    "extlink",
					     "venet",   "bridge",   "macvlan", "sit" };

	return type < C2C_ARRAY_SIZE(names) ? names[type] : "unknown";
}

static int dev_entry(struct c2c_ctx *ctx, void *data, const ProtobufCMessage *msg,
		     const struct c2c_loc *loc)
{
	const PbNetDeviceEntry *e = (const PbNetDeviceEntry *)msg;
	struct c2c_netns *ns = data;
	struct c2c_netdev *d;
	int r;

	if (ns->ndevs >= C2C_MAX_NETDEVS)
		return c2c_fail(ctx, loc, C2C_E_LIMIT, "more than %u network devices",
				C2C_MAX_NETDEVS);
	r = c2c_array_grow(ctx, &ns->devs, &ns->devs_cap, ns->ndevs + 1, sizeof(*ns->devs));
	if (r < 0)
		return r;
	d = &ns->devs[ns->ndevs];
	*d = (struct c2c_netdev){ .ifindex = e->ifindex, .type = e->type, .mtu = e->mtu,
				  .flags = e->flags, .has_peer = e->has_peer_ifindex,
				  .peer_ifindex = e->peer_ifindex, .peer_nsid = e->peer_nsid,
				  .master = e->master };
	if (e->has_address) {
		/* MAX_ADDR_LEN (include/linux/netdevice.h): the kernel has no longer ones */
		if (e->address.len > sizeof(d->mac))
			return c2c_fail(ctx, loc, C2C_E_LIMIT,
					"link-layer address of %zu bytes, at most %zu",
					e->address.len, sizeof(d->mac));
		/* an empty bytes field has no data pointer at all (protobuf-c) */
		if (e->address.len)
			memcpy(d->mac, e->address.data, e->address.len);
		d->mac_len = e->address.len;
	}
	if (!(d->name = c2c_strdup(e->name ? e->name : "")))
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	ns->ndevs++;
	return 0;
}

static void ntop(uint8_t family, const uint8_t *b, char *out, size_t size)
{
	if (!inet_ntop(family == FAMILY_INET6 ? AF_INET6 : AF_INET, b, out, (socklen_t)size))
		snprintf(out, size, "?");
}

/* One RTM_NEWADDR message into ns->addrs. */
static int addr_msg(struct c2c_ctx *ctx, const struct c2c_nldump *d, const struct c2c_nlmsg *m,
		    struct c2c_netns *ns)
{
	struct c2c_ifaddr a = { 0 };
	const uint8_t *local = NULL, *addr = NULL;
	struct c2c_nlattr at;
	size_t pos = 0, alen;
	int r;

	if (m->type != C2C_RTM_NEWADDR)
		return 0; /* NLMSG_DONE or anything else a dump may hold: not an address */
	if (m->len < IFADDRMSG_LEN)
		return c2c_fail(ctx, &C2C_NLDUMP_LOC(d), C2C_E_TRUNCATED,
				"RTM_NEWADDR of %zu payload bytes, shorter than struct ifaddrmsg "
				"(%u)", m->len, IFADDRMSG_LEN);
	a.family = m->data[0];
	a.prefixlen = m->data[1];
	a.flags = m->data[2];
	a.scope = m->data[3];
	a.ifindex = (uint32_t)m->data[4] | (uint32_t)m->data[5] << 8 |
		    (uint32_t)m->data[6] << 16 | (uint32_t)m->data[7] << 24;
	if (a.family != FAMILY_INET && a.family != FAMILY_INET6)
		return 0; /* `ip addr save` dumps only these two; ignore what we cannot print */
	alen = a.family == FAMILY_INET ? 4 : 16;
	while ((r = c2c_nldump_attr(ctx, d, m, IFADDRMSG_LEN, &pos, &at)) == 1) {
		switch (at.type) {
		case IFA_ADDRESS:
		case IFA_LOCAL:
		case IFA_BROADCAST:
			if (at.len != alen)
				return c2c_fail(ctx, &C2C_LOC_AT(d->blob->path, at.off),
						C2C_E_INCONSISTENT,
						"address attribute %u of %zu bytes in an AF_INET%s "
						"message, expected %zu",
						at.type, at.len, alen == 4 ? "" : "6", alen);
			if (at.type == IFA_ADDRESS)
				addr = at.data;
			else if (at.type == IFA_LOCAL)
				local = at.data;
			else
				ntop(a.family, at.data, a.broadcast, sizeof(a.broadcast));
			break;
		case IFA_LABEL: {
			size_t n = strnlen((const char *)at.data, at.len);

			if (n >= sizeof(a.label))
				n = sizeof(a.label) - 1; /* IFNAMSIZ: no longer label exists */
			memcpy(a.label, at.data, n);
			a.label[n] = '\0';
			break;
		}
		case IFA_FLAGS:
			/* 32-bit flags since Linux 3.14; ifa_flags holds only the low 8 */
			if (at.len >= 4)
				a.flags = (uint32_t)at.data[0] | (uint32_t)at.data[1] << 8 |
					  (uint32_t)at.data[2] << 16 | (uint32_t)at.data[3] << 24;
			break;
		default:
			break;
		}
	}
	if (r < 0)
		return r;
	/* As ip(8) shows it: IFA_LOCAL is the address, a different IFA_ADDRESS the peer. */
	if (local)
		ntop(a.family, local, a.address, sizeof(a.address));
	else if (addr)
		ntop(a.family, addr, a.address, sizeof(a.address));
	else
		return 0; /* no address at all: nothing to show */
	if (local && addr && memcmp(local, addr, alen))
		ntop(a.family, addr, a.peer, sizeof(a.peer));
	if (ns->naddrs >= C2C_MAX_IFADDRS)
		return c2c_fail(ctx, &C2C_NLDUMP_LOC(d), C2C_E_LIMIT, "more than %u addresses",
				C2C_MAX_IFADDRS);
	r = c2c_array_grow(ctx, &ns->addrs, &ns->addrs_cap, ns->naddrs + 1, sizeof(*ns->addrs));
	if (r < 0)
		return r;
	ns->addrs[ns->naddrs++] = a;
	return 0;
}

/*
 * Walk raw image kind/id: addresses into ns (IFADDR), or a count of
 * RTM_NEWROUTE messages into *nroutes. 0, 1 when absent, or an error.
 */
static int load_nldump(struct c2c_ctx *ctx, struct c2c_source *src, enum c2c_image_kind kind,
		       struct c2c_netns *ns, size_t *nroutes)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	struct c2c_nldump d;
	struct c2c_nlmsg m;
	int r = c2c_image_load_raw(ctx, src, kind, ns->id, true, &b);

	if (r != 0)
		return r;
	r = c2c_nldump_open(ctx, &b, kind == C2C_IMG_IFADDR ? C2C_NLDUMP_IFADDR_MAGIC
							  : C2C_NLDUMP_ROUTE_MAGIC, &d);
	while (r == 0 && (r = c2c_nldump_next(ctx, &d, &m)) == 1) {
		if (kind == C2C_IMG_IFADDR)
			r = addr_msg(ctx, &d, &m, ns);
		else
			r = 0, *nroutes += m.type == C2C_RTM_NEWROUTE;
	}
	c2c_blob_release(&b);
	return r;
}

int c2c_netns_load(struct c2c_ctx *ctx, struct c2c_source *src, uint32_t id,
		   struct c2c_netns *ret)
{
	struct c2c_netns ns = { .id = id };
	struct c2c_blob b = C2C_BLOB_INIT;
	struct c2c_image img;
	ProtobufCMessage *msg = NULL;
	int r;

	c2c_warn_begin(ctx);
	/*
	 * CRIU dumps a namespace only when it is not the one CRIU itself runs in
	 * (root_ids, doc §1.9): a process in the host's namespace has none.
	 */
	r = c2c_image_load_one(ctx, src, C2C_IMG_INVENTORY, 0, &pb_inventory_entry__descriptor,
			       true, &b, &msg, &img);
	if (r == 0) {
		const PbInventoryEntry *inv = (const PbInventoryEntry *)msg;

		ns.criu_ns = inv->root_ids && inv->root_ids->has_net_ns_id &&
			     inv->root_ids->net_ns_id == id;
		protobuf_c_message_free_unpacked(msg, NULL);
		c2c_blob_release(&b);
	}
	r = c2c_image_load_one(ctx, src, C2C_IMG_NETNS, id, &pb_netns_entry__descriptor, true, &b,
			       &msg, &img);
	if (r == 0) {
		const PbNetnsEntry *e = (const PbNetnsEntry *)msg;

		if (e->ext_key && !(ns.ext_key = c2c_strdup(e->ext_key)))
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		protobuf_c_message_free_unpacked(msg, NULL);
		c2c_blob_release(&b);
	}
	if (r != C2C_E_NOMEM) {
		r = c2c_image_load_each(ctx, src, C2C_IMG_NETDEV, id, true,
					&pb_net_device_entry__descriptor, dev_entry, &ns);
		ns.has_netdev = r == 0 || ns.ndevs;
	}
	if (r != C2C_E_NOMEM) {
		r = load_nldump(ctx, src, C2C_IMG_IFADDR, &ns, NULL);
		ns.has_ifaddr = r == 0 || ns.naddrs;
	}
	if (r != C2C_E_NOMEM) {
		r = load_nldump(ctx, src, C2C_IMG_ROUTE, &ns, &ns.nroutes4);
		ns.has_routes4 = r == 0;
	}
	if (r != C2C_E_NOMEM) {
		r = load_nldump(ctx, src, C2C_IMG_ROUTE6, &ns, &ns.nroutes6);
		ns.has_routes6 = r == 0;
	}
	c2c_warn_end(ctx);
	if (r == C2C_E_NOMEM) {
		c2c_netns_release(&ns);
		return r;
	}
	*ret = ns;
	return 0;
}

void c2c_netns_release(struct c2c_netns *ns)
{
	for (size_t i = 0; i < ns->ndevs; i++)
		free(ns->devs[i].name);
	free(ns->devs);
	free(ns->addrs);
	free(ns->ext_key);
	*ns = (struct c2c_netns){ 0 };
}

/* The sets and controllers of a decoded CgroupEntry into cg. */
static int copy_cgroups(struct c2c_ctx *ctx, const struct c2c_loc *loc, const PbCgroupEntry *e,
			struct c2c_cgroups *cg)
{
	if (e->n_sets > C2C_MAX_CG_SETS || e->n_controllers > C2C_MAX_CG_SETS)
		return c2c_fail(ctx, loc, C2C_E_LIMIT, "more than %u cgroup sets or controllers",
				C2C_MAX_CG_SETS);
	if (e->n_sets && !(cg->sets = calloc(e->n_sets, sizeof(*cg->sets))))
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	for (size_t i = 0; i < e->n_sets; i++) {
		const PbCgSetEntry *s = e->sets[i];
		struct c2c_cg_set *set = &cg->sets[cg->nsets++];

		set->id = s->id;
		if (s->n_ctls && !(set->members = calloc(s->n_ctls, sizeof(*set->members))))
			return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		for (size_t k = 0; k < s->n_ctls; k++) {
			struct c2c_cg_member *mb = &set->members[set->nmembers++];

			mb->name = c2c_strdup(s->ctls[k]->name ? s->ctls[k]->name : "");
			mb->path = c2c_strdup(s->ctls[k]->path ? s->ctls[k]->path : "");
			mb->cgns_prefix = s->ctls[k]->cgns_prefix;
			if (!mb->name || !mb->path)
				return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		}
	}
	if (e->n_controllers && !(cg->controllers = calloc(e->n_controllers, sizeof(char *))))
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	for (size_t i = 0; i < e->n_controllers; i++) {
		const PbCgControllerEntry *c = e->controllers[i];
		size_t len = 1, at = 0;
		char *s;

		for (size_t k = 0; k < c->n_cnames; k++)
			len += strlen(c->cnames[k]) + 1; /* bounded by the record's size */
		if (!(s = cg->controllers[cg->ncontrollers++] = calloc(1, len)))
			return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		for (size_t k = 0; k < c->n_cnames; k++) {
			size_t n = strlen(c->cnames[k]);

			if (k)
				s[at++] = ',';
			memcpy(s + at, c->cnames[k], n);
			at += n;
		}
	}
	return 0;
}

int c2c_cgroups_load(struct c2c_ctx *ctx, struct c2c_source *src, struct c2c_cgroups *ret)
{
	struct c2c_cgroups cg = { 0 };
	struct c2c_blob b = C2C_BLOB_INIT;
	struct c2c_image img;
	ProtobufCMessage *msg = NULL;
	int r;

	c2c_warn_begin(ctx);
	r = c2c_image_load_one(ctx, src, C2C_IMG_CGROUP, 0, &pb_cgroup_entry__descriptor, true, &b,
			       &msg, &img);
	if (r == 0) {
		r = copy_cgroups(ctx, &C2C_IMAGE_LOC(&img), (const PbCgroupEntry *)msg, &cg);
		cg.present = r == 0;
		protobuf_c_message_free_unpacked(msg, NULL);
		c2c_blob_release(&b);
	}
	c2c_warn_end(ctx);
	if (r == C2C_E_NOMEM) {
		c2c_cgroups_release(&cg);
		return r;
	}
	*ret = cg;
	return 0;
}

void c2c_cgroups_release(struct c2c_cgroups *cg)
{
	for (size_t i = 0; i < cg->nsets; i++) {
		for (size_t k = 0; k < cg->sets[i].nmembers; k++) {
			free(cg->sets[i].members[k].name);
			free(cg->sets[i].members[k].path);
		}
		free(cg->sets[i].members);
	}
	free(cg->sets);
	for (size_t i = 0; i < cg->ncontrollers; i++)
		free(cg->controllers[i]);
	free(cg->controllers);
	*cg = (struct c2c_cgroups){ 0 };
}

const struct c2c_cg_set *c2c_cgroups_find(const struct c2c_cgroups *cg, uint32_t id)
{
	for (size_t i = 0; i < cg->nsets; i++)
		if (cg->sets[i].id == id)
			return &cg->sets[i];
	return NULL;
}

int c2c_task_cg_set(struct c2c_ctx *ctx, struct c2c_source *src, uint32_t tid, uint32_t *ret,
		    bool *found)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	struct c2c_image img;
	ProtobufCMessage *msg = NULL;
	int r;

	*found = false;
	c2c_warn_begin(ctx);
	r = c2c_image_load_one(ctx, src, C2C_IMG_CORE, tid, &pb_cg_core_view__descriptor, true, &b,
			       &msg, &img);
	c2c_warn_end(ctx);
	if (r == 0) {
		const PbCgCoreView *v = (const PbCgCoreView *)msg;

		/* Since CRIU 3.18 every thread has its own; the leader's is the process's. */
		if (v->thread_core && v->thread_core->has_cg_set)
			*ret = v->thread_core->cg_set, *found = true;
		else if (v->tc && v->tc->has_cg_set)
			*ret = v->tc->cg_set, *found = true;
		protobuf_c_message_free_unpacked(msg, NULL);
		c2c_blob_release(&b);
	}
	return r == C2C_E_NOMEM ? r : 0;
}

int c2c_task_res_add_net(struct c2c_ctx *ctx, struct c2c_checkpoint *ck,
			 const struct c2c_process *p, bool network, bool cgroup,
			 struct c2c_task_res *res)
{
	int r = 0;

	if (network && res->has_ids) {
		struct c2c_netns *ns = NULL;

		for (size_t i = 0; !ns && i < ck->nnetns; i++)
			if (ck->netns[i]->id == res->ns.net)
				ns = ck->netns[i];
		if (!ns) {
			r = c2c_array_grow(ctx, &ck->netns, &ck->netns_cap, ck->nnetns + 1,
					   sizeof(*ck->netns));
			if (r == 0 && !(ns = calloc(1, sizeof(*ns))))
				r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			if (r == 0)
				r = c2c_netns_load(ctx, ck->src, res->ns.net, ns);
			if (r < 0) {
				free(ns);
				return r;
			}
			ck->netns[ck->nnetns++] = ns;
		}
		res->netns = ns;
	}
	if (cgroup) {
		if (!ck->cgroups) {
			if (!(ck->cgroups = calloc(1, sizeof(*ck->cgroups))))
				return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			r = c2c_cgroups_load(ctx, ck->src, ck->cgroups);
			if (r < 0)
				return r;
		}
		res->cgroups = ck->cgroups;
		r = c2c_task_cg_set(ctx, ck->src, p->pid, &res->cg_set, &res->has_cg_set);
		if (r == 0 && res->has_cg_set)
			res->cgset = c2c_cgroups_find(ck->cgroups, res->cg_set);
	}
	return r;
}

void c2c_checkpoint_net_free(struct c2c_checkpoint *ck)
{
	for (size_t i = 0; i < ck->nnetns; i++) {
		c2c_netns_release(ck->netns[i]);
		free(ck->netns[i]);
	}
	free(ck->netns);
	ck->netns = NULL;
	ck->nnetns = ck->netns_cap = 0;
	if (ck->cgroups)
		c2c_cgroups_release(ck->cgroups);
	free(ck->cgroups);
	ck->cgroups = NULL;
}
