// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_twin.c - the userspace build of the data path (the fuzzer's) and
 * the real BPF program decide alike: same maps (the shared fixture),
 * the seed packets and thousands of mutations of them through both; the
 * verdict, the output frame and the counters that say why must agree.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "tlb.h"
#include "twin.h"

static struct tlb *t;

static int write_bpf(void *ctx, const char *map, const void *key, const void *value)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < CIDLB_M_COUNT; i++)
		if (!strcmp(cidlb_map_names[i], map))
			return bpf_map_update_elem(cidlb_lb_map_fd(t->lb, i), key, value, BPF_ANY) ?
				       -errno :
				       0;
	return -ENOENT;
}

static int write_twin(void *ctx, const char *map, const void *key, const void *value)
{
	(void)ctx;
	return twin_map_write(map, key, value);
}

static int setup(void **state)
{
	(void)state;
	t = tlb_new();
	assert_int_equal(cidlb_fixture(write_bpf, NULL), 0);
	twin_reset();
	assert_int_equal(cidlb_fixture(write_twin, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tlb_free(t);
	return 0;
}

/* Counters whose value depends on per-CPU state (the decode cache, the
 * kernel's LRU eviction) are compared as sums; lru_no_admit (a packet that
 * may not insert and missed the LRU) not at all: an eviction turns a hit
 * into one; nor route_lru_cached (the 4-tuple cache is per CPU and per
 * tick). */
static void check_counters(const struct cidlb_counters *b, const struct cidlb_counters *w)
{
	size_t i;

	for (i = 0; i < cidlb_counter_count; i++) {
		const char *n = cidlb_counter_descs[i].name;
		uint64_t vb, vw;

		if (!strcmp(n, "dcache_hit") || !strcmp(n, "dcache_miss") ||
		    !strcmp(n, "cid_single_pass") || !strcmp(n, "cid_four_pass") ||
		    !strcmp(n, "route_lru") || !strcmp(n, "route_maglev") ||
		    !strcmp(n, "lru_no_admit") || !strcmp(n, "route_lru_cached"))
			continue;
		memcpy(&vb, (const char *)b + cidlb_counter_descs[i].offset, 8);
		memcpy(&vw, (const char *)w + cidlb_counter_descs[i].offset, 8);
		if (vb != vw) {
			print_error("counter %s: BPF %llu, twin %llu\n", n, (unsigned long long)vb,
				    (unsigned long long)vw);
			fail();
		}
	}
	assert_int_equal(b->route_lru + b->route_maglev, w->route_lru + w->route_maglev);
}

static void one(const uint8_t *in, size_t len)
{
	uint8_t ob[TPKT_MAX], ow[TPKT_MAX];
	size_t lb, lw;
	int rb, rw;

	rb = tlb_run(t, in, len, ob, &lb);
	rw = twin_run(in, len, ow, &lw);
	assert_int_equal(rb, rw);
	assert_int_equal(lb, lw);
	t_assert_bytes(ow, ob, lb, "twin output = BPF output");
}

static void test_seeds_and_mutations(void **state)
{
	unsigned int seed = getenv("TEST_SEED") ? atoi(getenv("TEST_SEED")) : time(NULL);
	struct cidlb_counters cb, cw;
	uint8_t in[TPKT_MAX];
	int i, k, nseeds = 0;
	size_t len;

	(void)state;
	while ((len = cidlb_fixture_seed(nseeds, in))) {
		const char *dir = getenv("CIDLB_WRITE_SEEDS"); /* fuzz corpus seeds */

		if (dir) {
			char path[512];
			FILE *f;

			snprintf(path, sizeof(path), "%s/seed-%02d", dir, nseeds);
			f = fopen(path, "w");
			assert_non_null(f);
			assert_int_equal(fwrite(in, 1, len, f), len);
			fclose(f);
		}
		nseeds++;
	}
	for (k = 0; k < nseeds; k++)
		one(in, cidlb_fixture_seed(k, in));
	srandom(seed);
	print_message("  seed %u (TEST_SEED to repeat)\n", seed);
	for (i = 0; i < 20000; i++) {
		int e, edits = 1 + random() % 3;

		len = cidlb_fixture_seed(random() % nseeds, in);
		for (e = 0; e < edits; e++) {
			size_t at = random() % (random() % 2 ? 90 : len);

			if (at < len)
				in[at] = random() % 3 ? random() : in[at] ^ 0x80;
		}
		if (random() % 8 == 0)
			len = 14 + random() % (len - 14);
		one(in, len);
	}
	cb = tlb_counters(t);
	twin_counters(&cw);
	check_counters(&cb, &cw);
	assert_true(cb.tx > 0 && cb.drop_truncated > 0 && cb.pass_not_vip > 0);
	assert_true(cb.route_icmp_cid > 0 && cb.route_icmp_flow > 0 && cb.pass_icmp > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seeds_and_mutations),
	};

	return cmocka_run_group_tests_name("twin", tests, setup, teardown);
}
