// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_maglev.c - the Maglev table builder (user/ctl/maglev.c): coverage,
 * determinism, shares and disruption, as measured numbers with bounds.
 * Run the binary directly to see the measured figures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/maglev.h"

#define M    CIDLB_MAGLEV_SIZE
#define SEED 0x5eed1234U

/* ---- fixtures ------------------------------------------------------------ */

/* n backends "be-<i>", index i, weight w[i] (all 1 when w is NULL). */
struct set {
	struct cidlb_maglev_backend *b;
	char (*names)[24];
	size_t n;
};

static struct set set_new(size_t n, const uint32_t *w)
{
	struct set s = { .n = n };

	s.b = calloc(n ? n : 1, sizeof(*s.b));
	s.names = calloc(n ? n : 1, sizeof(*s.names));
	assert_non_null(s.b);
	assert_non_null(s.names);
	for (size_t i = 0; i < n; i++) {
		snprintf(s.names[i], sizeof(s.names[i]), "be-%zu", i);
		s.b[i].name = s.names[i];
		s.b[i].index = (uint32_t)i;
		s.b[i].weight = w ? w[i] : 1;
	}
	return s;
}

static void set_free(struct set *s)
{
	free(s->b);
	free(s->names);
}

/* Deterministic PRNG for shuffles and weight mixes (xorshift32). */
static uint32_t rnd(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

static uint32_t *table_new(void)
{
	uint32_t *t = malloc(M * sizeof(*t));

	assert_non_null(t);
	return t;
}

static void build(const struct set *s, uint32_t seed, uint32_t *t)
{
	assert_int_equal(cidlb_maglev_build(s->b, s->n, seed, t), 0);
}

/* Slots per index; indexes are < n. Fails on a slot outside 0..n-1. */
static size_t *count_slots(const uint32_t *t, size_t n)
{
	size_t *c = calloc(n, sizeof(*c));

	assert_non_null(c);
	for (size_t i = 0; i < M; i++) {
		if (t[i] >= n)
			fail_msg("slot %zu holds %u, not an index < %zu", i, t[i], n);
		c[t[i]]++;
	}
	return c;
}

/* ---- coverage and determinism ------------------------------------------ */

static void test_every_slot_filled(void **state)
{
	static const uint32_t w[] = { 1, 0, 3, 1, 0, 2, 1 };
	struct set s = set_new(7, w);
	uint32_t *t = table_new();
	size_t *c;

	(void)state;
	build(&s, SEED, t);
	c = count_slots(t, s.n); /* every slot a passed index */
	for (size_t i = 0; i < s.n; i++) {
		if (w[i])
			assert_true(c[i] > 0);
		else
			assert_int_equal(c[i], 0);
	}
	free(c);
	free(t);
	set_free(&s);
}

static void test_empty_set(void **state)
{
	static const uint32_t zero[3] = { 0, 0, 0 };
	struct set s = set_new(3, zero);
	uint32_t *t = table_new();

	(void)state;
	memset(t, 0, M * sizeof(*t));
	assert_int_equal(cidlb_maglev_build(NULL, 0, SEED, t), 0);
	for (size_t i = 0; i < M; i++)
		assert_int_equal(t[i], CIDLB_BACKEND_NONE);

	memset(t, 0, M * sizeof(*t));
	build(&s, SEED, t); /* all weights 0 */
	for (size_t i = 0; i < M; i++)
		assert_int_equal(t[i], CIDLB_BACKEND_NONE);
	free(t);
	set_free(&s);
}

static void test_deterministic(void **state)
{
	struct set s = set_new(100, NULL);
	uint32_t *a = table_new(), *b = table_new(), r = 42;
	size_t moved;

	(void)state;
	build(&s, SEED, a);
	build(&s, SEED, b);
	assert_memory_equal(a, b, M * sizeof(*a));

	/* Fisher-Yates: the array's order must not matter. */
	for (size_t i = s.n - 1; i > 0; i--) {
		size_t j = rnd(&r) % (i + 1);
		struct cidlb_maglev_backend x = s.b[i];

		s.b[i] = s.b[j];
		s.b[j] = x;
	}
	build(&s, SEED, b);
	assert_memory_equal(a, b, M * sizeof(*a));

	/* Another seed: another, unrelated table (about 99 % of slots differ
	 * for 100 backends; demand more than half). */
	build(&s, SEED + 1, b);
	moved = cidlb_maglev_moved(a, b);
	print_message("    seed change, 100 backends: %zu of %d slots differ\n", moved, M);
	assert_true(moved > M / 2);
	free(a);
	free(b);
	set_free(&s);
}

/* ---- shares ------------------------------------------------------------- */

/*
 * Checks every backend's slot count against its exact share M * w / sum.
 * The builder apportions by largest remainder, so each count is the exact
 * share rounded down or up: |count - ideal| < 1 slot, always asserted.
 * Relative to the ideal, 1 % is asserted for backends whose ideal is at
 * least rel_from slots. Equal weights and 1:2:3 meet it for every backend
 * (rel_from 0; N=1000: ideal 65.5, worst 0.54 slot = 0.82 %). A weight mix
 * holds backends whose ideal is a few dozen slots: there 1 % is under half
 * a slot and no integer count can meet it, so they get the slot bound
 * only (rel_from 100, where 1 slot = 1 %).
 */
static void check_shares(const char *what, const struct set *s, uint32_t seed, double rel_from)
{
	uint32_t *t = table_new();
	uint64_t wsum = 0;
	double worst_abs = 0, worst_rel = 0, small_rel = 0;
	size_t *c, small = 0;

	build(s, seed, t);
	c = count_slots(t, s->n);
	for (size_t i = 0; i < s->n; i++)
		wsum += s->b[i].weight;
	for (size_t i = 0; i < s->n; i++) {
		double ideal = (double)M * s->b[i].weight / (double)wsum;
		double err = c[i] > ideal ? c[i] - ideal : ideal - c[i];

		if (!s->b[i].weight) {
			assert_int_equal(c[i], 0);
			continue;
		}
		if (err > worst_abs)
			worst_abs = err;
		if (ideal < rel_from) {
			small++;
			if (err / ideal > small_rel)
				small_rel = err / ideal;
			continue;
		}
		if (err / ideal > worst_rel)
			worst_rel = err / ideal;
	}
	print_message("    %-18s worst |count-ideal| %.3f slot, %.4f %% of "
		      "ideal\n",
		      what, worst_abs, 100 * worst_rel);
	if (small)
		print_message("    %-18s   (%zu backends under %.0f slots: slot "
			      "bound only, worst %.4f %%)\n",
			      "", small, rel_from, 100 * small_rel);
	if (worst_abs >= 1.0)
		fail_msg("%s: a count is %.3f slots from its share (bound < 1)", what, worst_abs);
	if (worst_rel > 0.01)
		fail_msg("%s: a count is %.4f %% from its share (bound 1 %%)", what,
			 100 * worst_rel);
	free(c);
	free(t);
}

static void test_equal_shares(void **state)
{
	static const size_t ns[] = { 1, 2, 3, 7, 10, 100, 1000 };

	(void)state;
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		struct set s = set_new(ns[k], NULL);
		uint32_t *t = table_new();
		size_t *c, lo = SIZE_MAX, hi = 0;
		char what[32];

		snprintf(what, sizeof(what), "equal, N=%zu", ns[k]);
		check_shares(what, &s, SEED, 0);

		/* Round-robin: counts differ by at most one slot. */
		build(&s, SEED, t);
		c = count_slots(t, s.n);
		for (size_t i = 0; i < s.n; i++) {
			lo = c[i] < lo ? c[i] : lo;
			hi = c[i] > hi ? c[i] : hi;
		}
		if (lo != M / ns[k] || hi - lo > 1)
			fail_msg("N=%zu: counts %zu..%zu, want %zu..%zu", ns[k], lo, hi,
				 (size_t)M / ns[k], (size_t)(M + ns[k] - 1) / ns[k]);
		free(c);
		free(t);
		set_free(&s);
	}
}

static void test_weighted_shares(void **state)
{
	static const uint32_t w123[] = { 1, 2, 3 };
	uint32_t w[50], r = 7;
	struct set s;

	(void)state;
	s = set_new(3, w123);
	check_shares("weights 1:2:3", &s, SEED, 0);
	set_free(&s);

	/* 50 backends, weights 1..100 and a few 0 (draining). */
	for (size_t i = 0; i < 50; i++)
		w[i] = i % 17 == 3 ? 0 : 1 + rnd(&r) % 100;
	s = set_new(50, w);
	check_shares("random mix of 50", &s, SEED, 100);
	set_free(&s);

	/* Skewed: one huge weight among tiny ones (exercises turn ordering). */
	for (size_t i = 0; i < 50; i++)
		w[i] = i == 25 ? UINT32_MAX : 1 + i;
	s = set_new(50, w);
	check_shares("one weight 2^32-1", &s, SEED, 100);
	set_free(&s);
}

/* ---- disruption ---------------------------------------------------------- */

/*
 * Removing one of N backends must move its own slots (1/N of the table)
 * and few others. As in classic Maglev some extra slots move between
 * survivors, because every later turn shifts (the paper reports a few
 * percent for small tables). Measured extra moved fraction, over the
 * 3 seeds x 3 removed backends below: 0.0040 (N=10), 0.0060 (N=100),
 * 0.0061 (N=1000); over 40 seeds at most 0.0035 / 0.0062 / 0.0064 for a
 * removal and 0.0036 / 0.0071 / 0.0064 for an addition. Bound: 0.01.
 */
#define DISRUPT_EPS 0.01
#define ALL_SEEDS \
	{ \
		SEED, 1, 0xdeadbeef \
	}
static void test_remove_one(void **state)
{
	static const size_t ns[] = { 10, 100, 1000 };
	static const uint32_t seeds[] = ALL_SEEDS;

	(void)state;
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k], victims[3] = { 0, n / 2, n - 1 };
		uint32_t *before = table_new(), *after = table_new();
		double worst = 0;

		for (size_t si = 0; si < 3; si++) {
			for (size_t vi = 0; vi < 3; vi++) {
				struct set s = set_new(n, NULL);
				uint32_t gone = (uint32_t)victims[vi];
				size_t own = 0, moved;
				double extra;

				build(&s, seeds[si], before);
				/* Remove by passing the others (the last one
				 * fills the hole: order must not matter). */
				s.b[gone] = s.b[n - 1];
				s.n--;
				build(&s, seeds[si], after);
				for (size_t i = 0; i < M; i++) {
					if (before[i] != gone)
						continue;
					own++;
					if (after[i] == gone || after[i] >= n)
						fail_msg("slot %zu still %u", i, after[i]);
				}
				moved = cidlb_maglev_moved(before, after);
				extra = (double)(moved - own) / M;
				if (extra > worst)
					worst = extra;
				set_free(&s);
			}
		}
		print_message("    remove 1 of N=%-4zu moved <= 1/N + %.4f "
			      "(1/N = %.4f)\n",
			      n, worst, 1.0 / n);
		if (worst > DISRUPT_EPS)
			fail_msg("N=%zu: extra moved fraction %.4f > %.4f", n, worst, DISRUPT_EPS);
		free(before);
		free(after);
	}
}

/*
 * Adding one backend to N: it takes its share, M/(N+1) rounded, from the
 * others (every slot it holds moved); beyond that few slots move. Same
 * bound, over the same 3 seeds.
 */
static void test_add_one(void **state)
{
	static const size_t ns[] = { 10, 100, 1000 };
	static const uint32_t seeds[] = ALL_SEEDS;

	(void)state;
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k];
		struct set s = set_new(n + 1, NULL);
		uint32_t *before = table_new(), *after = table_new();
		double worst = 0, ideal = 1.0 / (n + 1);

		for (size_t si = 0; si < 3; si++) {
			size_t moved, gained = 0;
			double extra;

			s.n = n;
			build(&s, seeds[si], before);
			s.n = n + 1;
			build(&s, seeds[si], after);
			for (size_t i = 0; i < M; i++)
				gained += after[i] == n;
			/* Its share, to the slot. */
			assert_in_range(gained, M / (n + 1), M / (n + 1) + 1);
			moved = cidlb_maglev_moved(before, after);
			assert_true(moved >= gained);
			extra = (double)(moved - gained) / M;
			if (extra > worst)
				worst = extra;
		}
		print_message("    add 1 to N=%-4zu moved <= 1/(N+1) + %.4f "
			      "(1/(N+1) = %.4f)\n",
			      n, worst, ideal);
		if (worst > DISRUPT_EPS)
			fail_msg("N=%zu: extra moved fraction %.4f > %.4f", n, worst, DISRUPT_EPS);
		free(before);
		free(after);
		set_free(&s);
	}
}

/* ---- scale and errors ---------------------------------------------------- */

static void test_ten_thousand(void **state)
{
	struct set s = set_new(10000, NULL);
	uint32_t *t = table_new();
	size_t *c;

	(void)state;
	build(&s, SEED, t);
	c = count_slots(t, s.n);
	for (size_t i = 0; i < s.n; i++) /* 65537 / 10000 = 6.55 */
		assert_in_range(c[i], 6, 7);
	free(c);
	free(t);
	set_free(&s);
}

static void test_errors(void **state)
{
	struct set s = set_new(5, NULL);
	uint32_t *t = table_new();
	char dup[24] = "be-1"; /* same bytes as s.b[1].name, other pointer */

	(void)state;
	memset(t, 0xab, M * sizeof(*t));
	assert_int_equal(cidlb_maglev_build(s.b, s.n, SEED, NULL), -EINVAL);
	assert_int_equal(cidlb_maglev_build(NULL, 3, SEED, t), -EINVAL);

	s.b[4].name = dup; /* duplicate, not adjacent */
	assert_int_equal(cidlb_maglev_build(s.b, s.n, SEED, t), -EINVAL);
	s.b[4].weight = 0; /* even with weight 0 */
	assert_int_equal(cidlb_maglev_build(s.b, s.n, SEED, t), -EINVAL);
	s.b[4].name = NULL;
	assert_int_equal(cidlb_maglev_build(s.b, s.n, SEED, t), -EINVAL);
	s.b[4].name = s.names[4];
	s.b[4].index = CIDLB_BACKEND_NONE; /* would read as an empty slot */
	assert_int_equal(cidlb_maglev_build(s.b, s.n, SEED, t), -EINVAL);

	for (size_t i = 0; i < M; i++) /* untouched on error */
		assert_int_equal(t[i], 0xabababab);
	free(t);
	set_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_slot_filled),
		cmocka_unit_test(test_empty_set),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_equal_shares),
		cmocka_unit_test(test_weighted_shares),
		cmocka_unit_test(test_remove_one),
		cmocka_unit_test(test_add_one),
		cmocka_unit_test(test_ten_thousand),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests_name("maglev", tests, NULL, NULL);
}
