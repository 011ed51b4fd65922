// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_maps.c - the maps of the built objects are the ones of the lists in
 * include/cidlb_maps.h: cidlb.bpf.o has exactly the maps of CIDLB_MAPS,
 * cidlb_decap.bpf.o those of CIDLB_DECAP_MAPS, each with the key and value
 * size the list gives (where it gives one). The maps are written by hand
 * in bpf/; this is what catches a map added, renamed or resized on one
 * side only. The objects are opened, not loaded: no root needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "ctl/lb.h"
#include "tlb.h"

struct map_want {
	const char *name;
	__u32 key, value; /* 0: not compared */
};

static const struct map_want main_maps[] = {
#define X(id, name, ksz, vsz, flags) { CIDLB_MAP_##id, ksz, vsz },
	CIDLB_MAPS(X)
#undef X
};

static const struct map_want decap_maps[] = {
#define X(id, name, ksz, vsz, flags) { CIDLB_MAP_##id, ksz, vsz },
	CIDLB_DECAP_MAPS(X)
#undef X
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int quiet(enum libbpf_print_level l, const char *f, va_list a)
{
	(void)l;
	(void)f;
	(void)a;
	return 0;
}

/* The object's maps (libbpf's own .rodata/.bss/... left out) equal want[]:
 * every map of the object is listed once with its sizes, every listed map
 * is in the object. */
static void check_object(const char *file, const struct map_want *want, size_t n)
{
	struct bpf_object *obj;
	struct bpf_map *m;
	size_t i, seen = 0;

	libbpf_set_print(quiet);
	obj = bpf_object__open_file(tobj(file), NULL);
	if (!obj)
		fail_msg("cannot open %s: %s (run make first)", tobj(file), strerror(errno));
	bpf_object__for_each_map (m, obj) {
		const char *name = bpf_map__name(m);
		const struct map_want *w = NULL;

		if (bpf_map__is_internal(m))
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(want[i].name, name))
				w = &want[i];
		if (!w)
			fail_msg("%s has map %s, which include/cidlb_maps.h does not list", file,
				 name);
		if (w->key && bpf_map__key_size(m) != w->key)
			fail_msg("%s: map %s has key size %u, the list says %u", file, name,
				 bpf_map__key_size(m), w->key);
		if (w->value && bpf_map__value_size(m) != w->value)
			fail_msg("%s: map %s has value size %u, the list says %u", file, name,
				 bpf_map__value_size(m), w->value);
		seen++;
	}
	for (i = 0; i < n; i++)
		if (!bpf_object__find_map_by_name(obj, want[i].name))
			fail_msg("include/cidlb_maps.h lists map %s, which %s does not have",
				 want[i].name, file);
	/* names are unique in an object: equal counts, equal sets */
	assert_int_equal(seen, n);
	bpf_object__close(obj);
}

static void test_main_object(void **state)
{
	(void)state;
	check_object("cidlb.bpf.o", main_maps, N(main_maps));
}

static void test_decap_object(void **state)
{
	(void)state;
	check_object("cidlb_decap.bpf.o", decap_maps, N(decap_maps));
}

/* The table lb.c works with follows the enum and the list; no name twice
 * (a pin would be overwritten). */
static void test_names(void **state)
{
	size_t i, j;

	(void)state;
	assert_int_equal(CIDLB_M_COUNT, N(main_maps));
	for (i = 0; i < N(main_maps); i++) {
		assert_string_equal(cidlb_map_names[i], main_maps[i].name);
		for (j = 0; j < i; j++)
			assert_string_not_equal(main_maps[j].name, main_maps[i].name);
		for (j = 0; j < N(decap_maps); j++)
			assert_string_not_equal(decap_maps[j].name, main_maps[i].name);
	}
	assert_string_equal(cidlb_map_names[CIDLB_M_VIPS], "cidlb_vips");
	assert_string_equal(cidlb_map_names[CIDLB_M_NEIGH], "cidlb_neigh");
	assert_string_equal(CIDLB_MAP_DECAP_CNT, "decap_counters");
}

/*
 * The layout of the pins: a signature of the names and key and value sizes
 * of CIDLB_MAPS, one per CIDLB_LAYOUT (index). A change of any size (a
 * structure that grows, a map added) fails here until it has its own
 * layout: bump CIDLB_LAYOUT in include/cidlb_maps.h and add the signature
 * this test prints as the next line. cidlbd then migrates the pins of the
 * layouts before it (user/daemon/upgrade.c).
 */
static const uint64_t layout_sigs[] = {
	[1] = 0x603a28a021232659ULL, /* 4dd5d79: cidlb_global of 72 octets, no layout */
	/* cidlb_global.layout; GUE in cidlb_backend (88 octets); pools:
	 * cidlb_pools, the pool in VIP slots, server-ID and CID keys and
	 * backends, configs, config statistics and Maglev tables per pool;
	 * the token counters, unroutable_len */
	[2] = 0xe755d3a51d203a7fULL,
	/* cidlb_fcache (the 4-tuple cache), cidlb_nhcache (the next-hop
	 * cache), cidlb_global.flow_gen and nh_gen (84 octets),
	 * route_lru_cached, fib_cached */
	[3] = 0x91911dc83e3e139fULL,
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

static uint64_t layout_sig(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < N(main_maps); i++) {
		h = fnv(h, main_maps[i].name, strlen(main_maps[i].name) + 1);
		h = fnv(h, &main_maps[i].key, sizeof(main_maps[i].key));
		h = fnv(h, &main_maps[i].value, sizeof(main_maps[i].value));
	}
	return h;
}

static void test_layout(void **state)
{
	uint64_t sig = layout_sig();

	(void)state;
	if (N(layout_sigs) != CIDLB_LAYOUT + 1)
		fail_msg(
			"CIDLB_LAYOUT is %d, this test knows the signatures of layouts 1..%zu: add the signature %#llx of layout %d",
			CIDLB_LAYOUT, N(layout_sigs) - 1, (unsigned long long)sig, CIDLB_LAYOUT);
	if (layout_sigs[CIDLB_LAYOUT] != sig)
		fail_msg(
			"the key or value sizes of CIDLB_MAPS changed (signature %#llx, layout %d has %#llx): pins of the previous cidlbd would be taken as this layout; bump CIDLB_LAYOUT in include/cidlb_maps.h and add %#llx to layout_sigs[]",
			(unsigned long long)sig, CIDLB_LAYOUT,
			(unsigned long long)layout_sigs[CIDLB_LAYOUT], (unsigned long long)sig);
}

/*
 * The counters of the pins: an upgrade adds the old pins' counters into
 * the new program's by position (user/daemon/upgrade.c, copy_percpu()),
 * so the counters a layout shipped with keep their places for good: today's
 * CIDLB_COUNTERS starts with the newest shipped layout's names, in their
 * order, and a new counter goes at its end. added_by_L[] holds the names
 * layout L added at the end of layout L-1's (layout 1: all of its own);
 * when a layout ships, list the names it added the same way and make them
 * the next entry of counters_added[].
 */
static const char *const added_by_1[] = {
	/* 4dd5d79 */
	"rx_packets",
	"pass_not_ip",
	"pass_bad_l3",
	"pass_not_udp",
	"pass_not_vip",
	"pass_frag_tail",
	"drop_fragment",
	"drop_bad_udp",
	"quic_short",
	"quic_initial",
	"quic_0rtt",
	"quic_handshake",
	"quic_retry",
	"quic_unknown_version",
	"drop_version_neg",
	"drop_cid_too_long",
	"drop_truncated",
	"cid_plaintext",
	"cid_single_pass",
	"cid_four_pass",
	"dcache_hit",
	"dcache_miss",
	"drop_retired",
	"route_cid",
	"unroutable_cr7",
	"unroutable_config",
	"unroutable_short_cid",
	"unroutable_sid",
	"route_lru",
	"route_maglev",
	"drop_no_backend",
	"tx",
	"redirect",
	"drop_mtu",
	"drop_no_route",
	"drop_encap",
	"retired_past_ttl",
	"drop_not_local",
	"nh_cached",
	"drop_no_neigh",
	"drop_no_port",
	"reset_sent",
	"reset_rate_limited",
	"reset_unsent",
	"drop_reset",
	"drop_small_initial",
	"lru_no_admit",
	"lru_rate_limited",
	"lru_idle",
	"route_icmp_cid",
	"route_icmp_flow",
	"pass_icmp",
	"tx_too_big",
	"too_big_limited",
	NULL,
};
static const char *const added_by_2[] = {
	"route_token",
	"token_unroutable",
	"unroutable_len",
	NULL,
};
static const char *const added_by_3[] = {
	"route_lru_cached",
	"fib_cached",
	NULL,
};
static const char *const *const counters_added[] = {
	[1] = added_by_1, [2] = added_by_2, [3] = added_by_3
};

static void test_counters_grow_at_end(void **state)
{
	static const char *const today[] = {
#define X(kind, name, help) #name,
		CIDLB_COUNTERS(X)
#undef X
	};
	int l, newest = (int)N(counters_added) - 1;
	const char *const *a;
	size_t i = 0;

	(void)state;
	if (newest < CIDLB_LAYOUT - 1)
		fail_msg(
			"CIDLB_LAYOUT is %d, this test knows the counters of layouts 1..%d: add the names of the counters layout %d added (its CIDLB_COUNTERS as it shipped, past layout %d's) as added_by_%d[], counters_added[%d]",
			CIDLB_LAYOUT, newest, newest + 1, newest, newest + 1, newest + 1);
	for (l = 1; l <= newest; l++) {
		if (!counters_added[l])
			fail_msg("counters_added[%d] is missing: the names layout %d added", l, l);
		for (a = counters_added[l]; *a; a++, i++) {
			if (i >= N(today))
				fail_msg(
					"CIDLB_COUNTERS has %zu counters, layout %d shipped %s as counter %zu: an upgrade adds the old pins' counters into the new program's by position (user/daemon/upgrade.c); keep every shipped counter, a new one goes at the end of CIDLB_COUNTERS (include/cidlb_maps.h)",
					N(today), l, *a, i);
			if (strcmp(today[i], *a))
				fail_msg(
					"counter %zu of CIDLB_COUNTERS is %s, layout %d shipped %s there: an upgrade adds the old pins' counters into the new program's by position (user/daemon/upgrade.c), so %s would go on from %s's count; keep the shipped counters as they are, in their order, and put a new counter at the end of CIDLB_COUNTERS (include/cidlb_maps.h)",
					i, today[i], l, *a, today[i], *a);
		}
	}
	assert_int_equal(N(today), CIDLB_N_COUNTERS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_main_object),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_counters_grow_at_end),
		cmocka_unit_test(test_decap_object),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
