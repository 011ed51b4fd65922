// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_pools.c - several pools on one LB, through the real cidlb.bpf.o:
 * two pools use the same config IDs and the same server ID with different
 * modes and keys, and each CID reaches its own pool's backend (frames
 * compared whole, counters exact); a CID of one pool sent to the other's
 * VIP is decoded with that pool's config, never with the first's (nor
 * from the decode cache); Maglev, retired CIDs and the 4-tuple table are
 * per pool, and a VIP moved to another pool takes its packets there at
 * once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <cidlb/cidlb.h>
#include "ctl/maglev.h"
#include "tlb.h"

#define VIP_B "198.18.1.2" /* pool 1's VIP (T_VIP4 is pool 0's) */

/* backends: 0 and 1 own server ID 010203 in pools 0 and 1, 2 and 3 are
 * the pools' Maglev fallbacks */
static const char *const be_addr[] = { "198.19.0.10", "198.19.1.10", "198.19.0.20", "198.19.1.20" };
static const uint16_t be_pool[] = { 0, 1, 0, 1 };
static const uint8_t sid[3] = { 1, 2, 3 };
static const uint8_t key_a[16] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
				   0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf };
static const uint8_t key_b[16] = { 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
				   0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf };

static void vip(struct tlb *t, const char *addr, uint16_t pool)
{
	struct cidlb_vip_key k = { .port = htons(T_VIP_PORT), .family = 4 };
	struct cidlb_vip v = { .id = 7, .pool = pool };

	assert_int_equal(tpkt_addr(4, addr, k.addr), 0);
	assert_int_equal(cidlb_lb_set_vip(t->lb, &k, &v), 0);
}

static void backend(struct tlb *t, uint32_t idx)
{
	struct cidlb_backend b = { .state = CIDLB_BE_ACTIVE,
				   .fwd_mode = CIDLB_FWD_ENCAP_MAC,
				   .family = 4,
				   .pool = be_pool[idx] };

	assert_int_equal(tpkt_addr(4, be_addr[idx], b.addr), 0);
	memcpy(b.mac, t_backend_mac, 6);
	b.mac[4] = idx;
	assert_int_equal(cidlb_lb_set_backend(t->lb, idx, &b), 0);
}

static void sid_of(struct tlb *t, uint16_t pool, uint8_t cr, uint32_t idx)
{
	struct cidlb_sid_key k = { .config_id = cr, .len = 3, .pool = pool };

	memcpy(k.sid, sid, 3);
	assert_int_equal(cidlb_lb_set_sid(t->lb, &k, idx), 0);
}

static void maglev(struct tlb *t, uint32_t pool, uint32_t idx)
{
	struct cidlb_maglev_backend b = { "fallback", idx, 1 };
	uint32_t *table = malloc(CIDLB_MAGLEV_SIZE * sizeof(*table));

	assert_non_null(table);
	assert_int_equal(cidlb_maglev_build(&b, 1, T_SEED, table), 0);
	assert_int_equal(cidlb_lb_publish_pool_maglev(t->lb, pool, table), 0);
	free(table);
}

/*
 * Pool 0: config 1 plaintext, config 2 four-pass under key A, config 3
 * plaintext; pool 1: config 1 four-pass under key B, config 2 four-pass
 * under key B, config 3 plaintext. Server ID 010203 under each: backend
 * 0 in pool 0, backend 1 in pool 1.
 */
static int setup(void **state)
{
	struct tlb *t;
	uint32_t i;

	tlb_setup(state);
	t = *state;
	vip(t, VIP_B, 1);
	for (i = 0; i < 4; i++)
		backend(t, i);
	tlb_pool_config(t, 0, 1, 3, 4, NULL);
	tlb_pool_config(t, 0, 2, 3, 6, key_a);
	tlb_pool_config(t, 0, 3, 3, 4, NULL);
	tlb_pool_config(t, 1, 1, 3, 5, key_b);
	tlb_pool_config(t, 1, 2, 3, 6, key_b);
	tlb_pool_config(t, 1, 3, 3, 4, NULL);
	for (i = 1; i <= 3; i++) {
		sid_of(t, 0, (uint8_t)i, 0);
		sid_of(t, 1, (uint8_t)i, 1);
	}
	maglev(t, 0, 2);
	maglev(t, 1, 3);
	return 0;
}

/* A CID for server ID 010203 under config id as pool's file says it. */
static size_t cid_for(int pool, uint8_t id, uint8_t *cid)
{
	struct cidlb_cid_params p = { .config_id = id, .server_id_len = 3 };
	static const uint8_t nonce[8] = { 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58 };
	struct cidlb_cid_config *c;
	int n;

	p.nonce_len = pool == 0 ? (id == 2 ? 6 : 4) : (id == 1 ? 5 : id == 2 ? 6 : 4);
	p.has_key = id != 3 && !(pool == 0 && id == 1);
	memcpy(p.key, pool == 0 ? key_a : key_b, 16);
	assert_int_equal(cidlb_cid_config_new(&p, &c, NULL), 0);
	n = cidlb_cid_encode(c, sid, 3, nonce, p.nonce_len, cid, 20);
	assert_true(n > 0);
	cidlb_cid_config_free(c);
	return (size_t)n;
}

/* A short header with that CID to dst, from a client port. */
static size_t frame_to(const char *dst, const uint8_t *cid, size_t cid_len, uint16_t sport,
		       uint8_t *in)
{
	static uint8_t payload[TPKT_MAX];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = dst,
			       .sport = sport,
			       .dport = T_VIP_PORT,
			       .payload = payload };

	s.payload_len = tquic_short(payload, 0x41, cid, cid_len, 60);
	return tpkt_build(&s, in);
}

static void sent_to(struct tlb *t, const uint8_t *in, size_t len, uint32_t idx, const char *what)
{
	uint8_t out[TPKT_MAX];
	size_t outlen;

	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
	t_assert_sent(in, len, 14, out, outlen, idx, be_addr[idx], 0, what);
}

static struct cidlb_config_stats cstats(struct tlb *t, uint32_t pool, uint32_t id)
{
	struct cidlb_config_stats s;

	assert_int_equal(cidlb_lb_read_pool_config_stats(t->lb, pool, id, &s), 0);
	return s;
}

/* Same config ID and server ID in both pools, different modes and keys:
 * each CID to its pool's VIP reaches its pool's backend, by the CID. */
static void test_same_id_own_backend(void **state)
{
	struct tlb *t = *state;
	uint8_t in[TPKT_MAX], cid[20];
	struct cidlb_counters a, c;
	size_t len, n;
	int pool, id;

	assert_int_equal(cidlb_lb_reset_counters(t->lb), 0);
	for (id = 1; id <= 3; id++) {
		for (pool = 0; pool < 2; pool++) {
			n = cid_for(pool, (uint8_t)id, cid);
			len = frame_to(pool ? VIP_B : T_VIP4, cid, n, 40000, in);
			a = tlb_counters(t);
			sent_to(t, in, len, (uint32_t)pool, "by the CID, in its own pool");
			c = tlb_counters(t);
			assert_int_equal(c.route_cid - a.route_cid, 1);
			assert_int_equal(c.unroutable_sid, a.unroutable_sid);
			assert_int_equal(c.route_maglev + c.route_lru,
					 a.route_maglev + a.route_lru);
		}
	}
	c = tlb_counters(t);
	/* plaintext: pool 0 config 1, both configs 3; four-pass: the rest */
	assert_int_equal(c.cid_plaintext, 3);
	assert_int_equal(c.cid_four_pass, 3);
	assert_int_equal(c.route_cid, 6);
	assert_int_equal(c.tx, 6);
	assert_int_equal(tlb_verdicts(&c), c.rx_packets);
	for (pool = 0; pool < 2; pool++)
		for (id = 1; id <= 3; id++) {
			assert_int_equal(cstats(t, pool, id).decodes, 1);
			assert_int_equal(cstats(t, pool, id).no_backend, 0);
		}
	assert_int_equal(cstats(t, 0, 0).decodes, 0);
}

/* A CID of pool 0 sent to pool 1's VIP decodes under pool 1's config of
 * that ID: its server ID there is not 010203, so it takes pool 1's
 * fallback; a decode cached for pool 0 is not a hit in pool 1. */
static void test_cid_of_other_pool(void **state)
{
	struct tlb *t = *state;
	uint8_t in[TPKT_MAX], cid[20];
	struct cidlb_counters a, c;
	size_t len, n;

	/* four-pass, key A: pool 0 decodes it (miss, then hit) */
	n = cid_for(0, 2, cid);
	len = frame_to(T_VIP4, cid, n, 40001, in);
	a = tlb_counters(t);
	sent_to(t, in, len, 0, "pool 0's CID to pool 0");
	sent_to(t, in, len, 0, "again, from the decode cache");
	c = tlb_counters(t);
	assert_int_equal(c.dcache_miss - a.dcache_miss, 1);
	assert_int_equal(c.dcache_hit - a.dcache_hit, 1);
	assert_int_equal(c.route_cid - a.route_cid, 2);

	/* the same octets to pool 1: key B, no cache hit, pool 1's Maglev */
	len = frame_to(VIP_B, cid, n, 40001, in);
	a = c;
	sent_to(t, in, len, 3, "pool 0's CID to pool 1: pool 1's fallback");
	c = tlb_counters(t);
	assert_int_equal(c.dcache_miss - a.dcache_miss, 1);
	assert_int_equal(c.dcache_hit, a.dcache_hit);
	assert_int_equal(c.cid_four_pass - a.cid_four_pass, 1);
	assert_int_equal(c.unroutable_sid - a.unroutable_sid, 1);
	assert_int_equal(c.route_maglev - a.route_maglev, 1);
	assert_int_equal(c.route_cid, a.route_cid);

	/* plaintext in pool 0 (config 1), four-pass under key B in pool 1 */
	n = cid_for(0, 1, cid);
	len = frame_to(T_VIP4, cid, n, 40002, in);
	sent_to(t, in, len, 0, "plaintext CID to pool 0");
	len = frame_to(VIP_B, cid, n, 40002, in);
	a = tlb_counters(t);
	sent_to(t, in, len, 3, "the same to pool 1, where config 1 is four-pass");
	c = tlb_counters(t);
	assert_int_equal(c.cid_four_pass - a.cid_four_pass, 1);
	assert_int_equal(c.cid_plaintext, a.cid_plaintext);
	assert_int_equal(c.unroutable_sid - a.unroutable_sid, 1);
}

/* An unroutable CID (config ID 7) takes the Maglev table of its VIP's
 * pool; a config ID one pool lacks (0) is unroutable there alone. */
static void test_maglev_per_pool(void **state)
{
	struct tlb *t = *state;
	uint8_t in[TPKT_MAX], cid[8] = { 0xe7, 9, 9, 9, 9, 9, 9, 9 };
	struct cidlb_counters a, c;
	size_t len;

	a = tlb_counters(t);
	len = frame_to(T_VIP4, cid, 8, 41000, in);
	sent_to(t, in, len, 2, "pool 0's Maglev");
	len = frame_to(VIP_B, cid, 8, 41000, in);
	sent_to(t, in, len, 3, "pool 1's Maglev");
	c = tlb_counters(t);
	assert_int_equal(c.unroutable_cr7 - a.unroutable_cr7, 2);
	assert_int_equal(c.route_maglev - a.route_maglev, 2);

	/* config 0 in pool 1 only: pool 0 finds none */
	tlb_pool_config(t, 1, 0, 3, 4, NULL);
	sid_of(t, 1, 0, 1);
	cid[0] = 0x07;
	memcpy(cid + 1, sid, 3);
	a = tlb_counters(t);
	len = frame_to(T_VIP4, cid, 8, 41001, in);
	sent_to(t, in, len, 2, "config 0 is not pool 0's");
	len = frame_to(VIP_B, cid, 8, 41001, in);
	sent_to(t, in, len, 1, "config 0 is pool 1's");
	c = tlb_counters(t);
	assert_int_equal(c.unroutable_config - a.unroutable_config, 1);
	assert_int_equal(c.route_cid - a.route_cid, 1);
	assert_int_equal(c.route_maglev - a.route_maglev, 1);
}

/* A CID retired in pool 0 is dropped there and routed in pool 1. */
static void test_retired_per_pool(void **state)
{
	struct tlb *t = *state;
	struct cidlb_cid_key k = { .pool = 0 };
	uint8_t in[TPKT_MAX], out[TPKT_MAX], cid[20];
	struct cidlb_counters a, c;
	size_t len, n, outlen;

	n = cid_for(0, 3, cid);
	k.len = (uint8_t)n;
	memcpy(k.cid, cid, n);
	assert_int_equal(cidlb_lb_retire(t->lb, &k, UINT64_MAX), 0);
	a = tlb_counters(t);
	len = frame_to(T_VIP4, cid, n, 42000, in);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_DROP);
	len = frame_to(VIP_B, cid, n, 42000, in);
	sent_to(t, in, len, 1, "retired in pool 0 only");
	c = tlb_counters(t);
	assert_int_equal(c.drop_retired - a.drop_retired, 1);
	assert_int_equal(c.route_cid - a.route_cid, 1);
	assert_int_equal(cidlb_lb_unretire(t->lb, &k), 0);
	len = frame_to(T_VIP4, cid, n, 42000, in);
	sent_to(t, in, len, 0, "no longer retired");
}

/* A VIP moved to another pool: its next packet is the new pool's, by CID
 * and by flow; a 4-tuple entry naming the old pool's backend is a miss. */
static void test_vip_moves(void **state)
{
	struct tlb *t = *state;
	uint8_t in[TPKT_MAX], cid[20], u[8] = { 0xe7, 8, 8, 8, 8, 8, 8, 8 };
	static uint8_t payload[TPKT_MAX];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = 43000,
			       .dport = T_VIP_PORT,
			       .payload = payload };
	struct cidlb_counters a, c;
	size_t len, n;

	/* an Initial of 1200 octets: a 4-tuple entry for backend 2 */
	s.payload_len = tquic_long(payload, 0xc0, 1, u, 8, u, 8, 1200);
	len = tpkt_build(&s, in);
	sent_to(t, in, len, 2, "Initial in pool 0");
	len = frame_to(T_VIP4, u, 8, 43000, in);
	a = tlb_counters(t);
	sent_to(t, in, len, 2, "its flow, in pool 0");
	c = tlb_counters(t);
	assert_int_equal(c.route_lru - a.route_lru, 1);

	vip(t, T_VIP4, 1);
	a = tlb_counters(t);
	sent_to(t, in, len, 3, "its flow after the move: pool 1's Maglev");
	c = tlb_counters(t);
	assert_int_equal(c.route_lru, a.route_lru);
	assert_int_equal(c.route_maglev - a.route_maglev, 1);
	n = cid_for(1, 2, cid);
	len = frame_to(T_VIP4, cid, n, 43001, in);
	sent_to(t, in, len, 1, "pool 1's CID to the moved VIP");
	n = cid_for(0, 3, cid);
	len = frame_to(T_VIP4, cid, n, 43002, in);
	sent_to(t, in, len, 1, "plaintext 010203 under pool 1's config 3");

	vip(t, T_VIP4, 0);
	len = frame_to(T_VIP4, cid, n, 43002, in);
	sent_to(t, in, len, 0, "moved back");
}

/* A pool beyond max_pools is refused; a config write of one pool leaves
 * the other's halves as they were. */
static void test_limits(void **state)
{
	struct tlb *t = *state;
	struct cidlb_vip_key k = { .port = htons(T_VIP_PORT), .family = 4 };
	struct cidlb_vip v = { .id = 9, .pool = (uint16_t)cidlb_lb_max_pools(t->lb) };
	struct cidlb_config cf;

	assert_int_equal(cidlb_lb_max_pools(t->lb), CIDLB_POOLS_DEFAULT);
	assert_int_equal(tpkt_addr(4, "198.18.1.9", k.addr), 0);
	assert_int_equal(cidlb_lb_set_vip(t->lb, &k, &v), -EINVAL);
	assert_int_equal(cidlb_lb_set_pool_config(t->lb, CIDLB_POOLS_DEFAULT, 0, &cf), -EINVAL);
	assert_int_equal(cidlb_lb_get_pool_config(t->lb, 1, 2, &cf), 0);
	assert_int_equal(cf.mode, CIDLB_MODE_FOUR_PASS);
	assert_int_equal(cf.nonce_len, 6);
	assert_int_equal(cidlb_lb_get_pool_config(t->lb, 0, 1, &cf), 0);
	assert_int_equal(cf.mode, CIDLB_MODE_PLAINTEXT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_id_own_backend, setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_cid_of_other_pool, setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_maglev_per_pool, setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_retired_per_pool, setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_vip_moves, setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, tlb_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
