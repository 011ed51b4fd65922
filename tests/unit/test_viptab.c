// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_viptab.c - the VIP table builder (user/ctl/viptab.c): every VIP is
 * found where packets search, nothing else is, up to CIDLB_MAX_VIPS; bad
 * sets are refused. Packets through the table: tests/bpf/test_datapath.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "ctl/viptab.h"

static struct cidlb_vip_slot slots[CIDLB_VIP_SLOTS];

/* VIP i: 198.18.(i / 200).(i % 200) or fd00::i, port 443 + i % 3. */
static void vip(struct cidlb_vip_key *k, int i, int family)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->port = (uint16_t)(443 + i % 3);
	if (family == CIDLB_FAMILY_V4) {
		k->addr[0] = 198;
		k->addr[1] = 18;
		k->addr[2] = (uint8_t)(i / 200);
		k->addr[3] = (uint8_t)(i % 200);
	} else {
		k->addr[0] = 0xfd;
		k->addr[14] = (uint8_t)(i >> 8);
		k->addr[15] = (uint8_t)i;
	}
}

/* Full tables, both families mixed: each VIP found with its value, the
 * same addresses on another port or family not found. */
static void test_full(void **state)
{
	struct cidlb_vip_key keys[CIDLB_MAX_VIPS], other;
	struct cidlb_vip vals[CIDLB_MAX_VIPS];
	uint32_t seed, used = 0;
	int i, s, round;

	(void)state;
	for (round = 0; round < 20; round++) {
		for (i = 0; i < CIDLB_MAX_VIPS; i++) {
			vip(&keys[i], i + round * 1000, i % 2 ? CIDLB_FAMILY_V6 : CIDLB_FAMILY_V4);
			vals[i].id = (uint32_t)i;
			vals[i].flags = 0;
		}
		seed = (uint32_t)round;
		assert_int_equal(cidlb_vip_table_build(keys, vals, CIDLB_MAX_VIPS, slots, &seed),
				 0);
		assert_true(seed >= (uint32_t)round);
		used += seed - (uint32_t)round + 1;
		for (i = 0; i < CIDLB_MAX_VIPS; i++) {
			s = cidlb_vip_table_find(slots, seed, &keys[i]);
			assert_true(s >= 0);
			assert_int_equal(slots[s].vip.id, i);
			other = keys[i];
			other.port ^= 0x100;
			assert_int_equal(cidlb_vip_table_find(slots, seed, &other), -1);
			other = keys[i];
			other.family ^= CIDLB_FAMILY_V4 ^ CIDLB_FAMILY_V6;
			assert_int_equal(cidlb_vip_table_find(slots, seed, &other), -1);
		}
		for (i = 0, s = 0; i < CIDLB_VIP_SLOTS; i++)
			s += slots[i].key.family != 0;
		assert_int_equal(s, CIDLB_MAX_VIPS);
	}
	print_message("seeds tried for 20 full tables: %u\n", used);
	assert_true(used < 20 * 50);
}

static void test_empty_and_one(void **state)
{
	struct cidlb_vip_key k;
	struct cidlb_vip v = { .id = 7 };
	uint32_t seed = 0;

	(void)state;
	assert_int_equal(cidlb_vip_table_build(NULL, NULL, 0, slots, &seed), 0);
	vip(&k, 1, CIDLB_FAMILY_V4);
	assert_int_equal(cidlb_vip_table_find(slots, seed, &k), -1);
	assert_int_equal(cidlb_vip_table_build(&k, &v, 1, slots, &seed), 0);
	assert_true(cidlb_vip_table_find(slots, seed, &k) >= 0);
}

static void test_refused(void **state)
{
	struct cidlb_vip_key keys[CIDLB_MAX_VIPS + 1];
	struct cidlb_vip vals[CIDLB_MAX_VIPS + 1] = { 0 };
	uint32_t seed = 0;
	int i;

	(void)state;
	for (i = 0; i <= CIDLB_MAX_VIPS; i++)
		vip(&keys[i], i, CIDLB_FAMILY_V4);
	assert_int_equal(cidlb_vip_table_build(keys, vals, CIDLB_MAX_VIPS + 1, slots, &seed),
			 -E2BIG);
	keys[1] = keys[0];
	assert_int_equal(cidlb_vip_table_build(keys, vals, 2, slots, &seed), -EINVAL);
	vip(&keys[1], 1, 0);
	assert_int_equal(cidlb_vip_table_build(keys, vals, 2, slots, &seed), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_empty_and_one),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests_name("viptab", tests, NULL, NULL);
}
