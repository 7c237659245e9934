/*
 * Stage 4, model: a checkpoint's network namespaces and cgroups as plain C
 * structs, for `inspect --network --cgroup` (network.c). Nothing from
 * protobuf-c is visible here.
 */
#ifndef C2C_NETWORK_H
#define C2C_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "process.h"
#include "source.h"

/* An address of ifaddr-<id>.img (one RTM_NEWADDR message). */
struct c2c_ifaddr {
	uint32_t ifindex;
	uint8_t family;	   /* AF_INET 2, AF_INET6 10 (others are skipped) */
	uint8_t prefixlen;
	uint8_t scope;	   /* RT_SCOPE_*: 0 global, 200 site, 253 link, 254 host */
	uint32_t flags;	   /* IFA_F_* (IFA_FLAGS when present, else ifa_flags) */
	char address[48];  /* IFA_LOCAL, else IFA_ADDRESS, printable */
	char peer[48];	   /* IFA_ADDRESS when it differs from IFA_LOCAL (point to point), or "" */
	char broadcast[48]; /* IFA_BROADCAST, or "" */
	char label[16];	   /* IFA_LABEL (IFNAMSIZ), or "" */
};

/* A link of netdev-<id>.img (NetDeviceEntry). */
struct c2c_netdev {
	uint32_t ifindex, type, mtu, flags; /* nd_type; IFF_* */
	char *name;
	uint8_t mac[32]; /* NetDeviceEntry.address (MAX_ADDR_LEN 32) */
	size_t mac_len;
	bool has_peer;
	uint32_t peer_ifindex, peer_nsid;
	uint32_t master; /* 0: none */
};

/* One network namespace (CRIU's net_ns_id). */
struct c2c_netns {
	uint32_t id;
	bool has_netdev, has_ifaddr; /* the images exist and were read */
	char *ext_key; /* netns-<id>.img: external namespace's key, or NULL */
	bool criu_ns;  /* the namespace CRIU ran in (inventory root_ids): never dumped */
	struct c2c_netdev *devs;
	size_t ndevs, devs_cap;
	struct c2c_ifaddr *addrs; /* in image order */
	size_t naddrs, addrs_cap;
	bool has_routes4, has_routes6; /* route-/route6-<id>.img read */
	size_t nroutes4, nroutes6;     /* their RTM_NEWROUTE messages */
};

/*
 * Read namespace id's netdev-, ifaddr-, route-, route6- and netns-<id>.img
 * into *ret, and whether it is CRIU's own (inventory.img root_ids). Every one is optional: an absent image leaves its part empty,
 * a damaged one is a warning naming the file and byte offset and leaves
 * what was read before the damage. Returns 0, or C2C_E_NOMEM.
 */
int c2c_netns_load(struct c2c_ctx *ctx, struct c2c_source *src, uint32_t id,
		   struct c2c_netns *ret);
void c2c_netns_release(struct c2c_netns *ns);

/* nd_type's name (CRIU images/netdev.proto), lower case: "loopback", "veth", ... */
const char *c2c_netdev_type_name(uint32_t type);

/* One controller hierarchy of a cgroup set (CgMemberEntry). */
struct c2c_cg_member {
	char *name; /* "cpu,cpuacct", "name=systemd", "" for the v2 hierarchy */
	char *path; /* the task's cgroup in it */
	uint32_t cgns_prefix;
};

struct c2c_cg_set {
	uint32_t id;
	struct c2c_cg_member *members;
	size_t nmembers;
};

/* cgroup.img (CgroupEntry): the sets of the checkpoint. */
struct c2c_cgroups {
	bool present; /* cgroup.img was read */
	struct c2c_cg_set *sets;
	size_t nsets;
	char **controllers; /* each hierarchy's controllers joined by ',' */
	size_t ncontrollers;
};

/*
 * Read cgroup.img (optional, as c2c_netns_load: absent or damaged leaves
 * ret->present false or the sets read before the damage). 0 or C2C_E_NOMEM.
 */
int c2c_cgroups_load(struct c2c_ctx *ctx, struct c2c_source *src, struct c2c_cgroups *ret);
void c2c_cgroups_release(struct c2c_cgroups *cg);
const struct c2c_cg_set *c2c_cgroups_find(const struct c2c_cgroups *cg, uint32_t id);

/*
 * The cgroup set of task tid from its core-<tid>.img: ThreadCoreEntry.cg_set,
 * else the older TaskCoreEntry.cg_set. Returns 0 with *ret set and *found
 * true, 0 with *found false when the image records none (or is damaged: a
 * warning), or C2C_E_NOMEM.
 */
int c2c_task_cg_set(struct c2c_ctx *ctx, struct c2c_source *src, uint32_t tid, uint32_t *ret,
		    bool *found);

/*
 * For inspect: add to res (of c2c_task_res_load) the network namespace of
 * p (network, when res has its ids) and p's cgroup set (cgroup), each read
 * once per checkpoint and kept in ck. 0 or C2C_E_NOMEM; damaged images are
 * warnings.
 */
int c2c_task_res_add_net(struct c2c_ctx *ctx, struct c2c_checkpoint *ck,
			 const struct c2c_process *p, bool network, bool cgroup,
			 struct c2c_task_res *res);

/* Free what c2c_task_res_add_net kept in ck (c2c_checkpoint_free calls it). */
void c2c_checkpoint_net_free(struct c2c_checkpoint *ck);

#endif /* C2C_NETWORK_H */
