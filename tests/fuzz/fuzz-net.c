/*
 * Fuzz target: the readers of inspect --network --cgroup (image/nldump.c,
 * model/network.c). The first input byte picks the image the rest of the
 * input becomes, in an in-memory image set:
 *   0 ifaddr-2.img (raw `ip addr save`)   3 netns-2.img
 *   1 route-2.img (raw `ip route save`)    4 cgroup.img
 *   2 netdev-2.img                          5 core-1.img (its cg_set)
 * and the namespace, cgroup.img and cg_set loaders run over it. They must
 * never fail on damage (a warning says what is wrong), never read past the
 * input, and everything they keep must be printable.
 *
 * Seeds: the images tests/inspect/network.py generates, and the real
 * capture tests/inspect/ifaddr-real.img (tests/fuzz/corpus/net/).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "network.h"
#include "util.h"

#include "fuzz-util.h"

static const char *const names[] = { "ifaddr-2.img", "route-2.img", "netdev-2.img",
				     "netns-2.img",  "cgroup.img",  "core-1.img" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct c2c_ctx *ctx = NULL;
	struct c2c_memtab *tab = NULL;
	struct c2c_source *src = NULL;
	struct c2c_member m = { .fd = -1 };
	struct c2c_netns ns = { 0 };
	struct c2c_cgroups cg = { 0 };
	uint32_t set = 0;
	bool found = false;
	int r;

	if (size < 1 || !(ctx = c2c_ctx_new()) || !(tab = c2c_memtab_new("fuzz")))
		goto out;
	m.name = strdup(names[data[0] % C2C_ARRAY_SIZE(names)]);
	m.size = size - 1;
	m.data = malloc(size > 1 ? size - 1 : 1);
	if (!m.name || !m.data) {
		free(m.name);
		free(m.data);
		goto out;
	}
	memcpy(m.data, data + 1, size - 1);
	if (c2c_memtab_add(tab, m) < 0 || c2c_memtab_sort(tab) ||
	    c2c_source_open_tab(ctx, tab, "", &src) < 0)
		goto out;

	r = c2c_netns_load(ctx, src, 2, &ns);
	FUZZ_CHECK(r == 0 || r == C2C_E_NOMEM);
	for (size_t i = 0; i < ns.naddrs; i++) {
		const struct c2c_ifaddr *a = &ns.addrs[i];

		FUZZ_CHECK(a->family == 2 || a->family == 10);
		FUZZ_CHECK(memchr(a->address, 0, sizeof(a->address)) && a->address[0]);
		FUZZ_CHECK(memchr(a->label, 0, sizeof(a->label)));
	}
	for (size_t i = 0; i < ns.ndevs; i++)
		FUZZ_CHECK(ns.devs[i].name && ns.devs[i].mac_len <= sizeof(ns.devs[i].mac));
	r = c2c_cgroups_load(ctx, src, &cg);
	FUZZ_CHECK(r == 0 || r == C2C_E_NOMEM);
	for (size_t i = 0; i < cg.nsets; i++)
		for (size_t k = 0; k < cg.sets[i].nmembers; k++)
			FUZZ_CHECK(cg.sets[i].members[k].name && cg.sets[i].members[k].path);
	r = c2c_task_cg_set(ctx, src, 1, &set, &found);
	FUZZ_CHECK(r == 0 || r == C2C_E_NOMEM);
	fuzz_report(ctx, "net", r);
	/* Damage is a warning, never the operation's error. */
	FUZZ_CHECK(c2c_errcode(ctx) == 0 || c2c_errcode(ctx) == C2C_E_NOMEM);
out:
	c2c_netns_release(&ns);
	c2c_cgroups_release(&cg);
	c2c_source_free(src);
	if (tab)
		c2c_memtab_put(tab);
	c2c_ctx_free(ctx);
	return 0;
}
