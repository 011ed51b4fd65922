// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_token.c - Initials routed by the prefix of their token
 * (bpf/token.h, docs/tokens.md), through the real cidlb.bpf.o: a prefixed
 * token (plaintext and four-pass AES) reaches the backend of its server
 * ID and records the flow, whose 0-RTT packets and next Initials follow
 * it; every token that does not route (other config, config without
 * token_prefix, too short, garbage, server ID of a draining backend,
 * longer than the datagram) goes as before (4-tuple table, Maglev) and is
 * counted; a routing token wins over a reused 4-tuple's entry; an
 * empty token, or no config with token_prefix, changes nothing at all.
 * Every frame sent is compared whole with the one expected.
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
#include "tlb.h"

/* The four-pass vector of QUIC-LB draft-21 appendix B: CID 0767947d29be054a
 * of key fdf726a9893ec05c0632d3956680baf0 holds server ID 31441a. The
 * config ID (top 3 bits of octet 0) is outside the cipher, so 27... is the
 * same prefix under config 1. */
#define KEY_4P	  "fdf726a9893ec05c0632d3956680baf0"
#define TOK_AES	  "2767947d29be054a"
#define TOK_PLAIN "070a0b0ca1a2a3a4"		     /* config 0, plaintext, server ID 0a0b0c */
#define TOK_OWN	  "00112233445566778899aabbccddeeff" /* the server's own token */

/* backends: 0 Maglev's choice, 1 server ID 0a0b0c (configs 0 and 2),
 * 2 server ID 31441a (config 1), 3 draining, server ID 445566 */
static const char *const be_addr[] = { "198.18.3.10", "198.18.3.11", "198.18.3.12", "198.18.3.13" };

enum {
	P_INITIAL,
	P_0RTT,
	P_HANDSHAKE
};

static void set_token_flag(struct tlb *t, uint32_t id, int on)
{
	struct cidlb_config c;

	assert_int_equal(cidlb_lb_get_config(t->lb, id, &c), 0);
	c.flags = on ? c.flags | CIDLB_CFG_F_TOKEN : c.flags & ~CIDLB_CFG_F_TOKEN;
	assert_int_equal(cidlb_lb_set_config(t->lb, id, &c), 0);
}

static int global_token_flag(struct tlb *t)
{
	struct cidlb_global g;

	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	return !!(g.flags & CIDLB_GF_TOKEN);
}

static void fixture(struct tlb *t)
{
	uint8_t key[16], sid[3];
	int i;

	for (i = 0; i < 4; i++)
		tlb_backend(t, i, be_addr[i], CIDLB_FWD_ENCAP_MAC,
			    i == 3 ? CIDLB_BE_DRAINING : CIDLB_BE_ACTIVE);
	tlb_maglev(t, (uint32_t[]){ 0 }, 1);
	tlb_config(t, 0, 3, 4, NULL);
	thex(KEY_4P, key, sizeof(key));
	tlb_config(t, 1, 3, 4, key);
	tlb_config(t, 2, 3, 4, NULL);
	thex("0a0b0c", sid, 3);
	tlb_sid(t, 0, sid, 3, 1);
	tlb_sid(t, 2, sid, 3, 1);
	thex("31441a", sid, 3);
	tlb_sid(t, 1, sid, 3, 2);
	thex("445566", sid, 3);
	tlb_sid(t, 0, sid, 3, 3);
	assert_int_equal(global_token_flag(t), 0);
	set_token_flag(t, 0, 1);
	set_token_flag(t, 1, 1);
	assert_int_equal(global_token_flag(t), 1);
}

/*
 * A long-header packet of T_CLIENT4:sport, version 1, unroutable DCID
 * (config ID 7), empty SCID; an Initial then has a Token Length field of
 * `vlen` octets (1, 2, 4 or 8) holding `tlen` and the token `tok` (hex),
 * and the payload is padded to `total` octets. Returns the verdict; *to
 * is the backend index the frame went to (compared whole), else -1.
 */
static int run_tok(struct tlb *t, uint16_t sport, int kind, int vlen, size_t tlen, const char *tok,
		   size_t total, int *to)
{
	static const uint8_t first[] = { 0xc0, 0xd0, 0xe0 };
	uint8_t in[TPKT_MAX], out[TPKT_MAX], payload[TPKT_MAX];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = sport,
			       .dport = T_VIP_PORT,
			       .payload = payload };
	size_t n, len, outlen;
	int rc, i;

	n = tquic_long(payload, first[kind], 1, (const uint8_t *)"\xe1\x02\x03\x04\x05\x06\x07\x08",
		       8, NULL, 0, 0);
	if (kind == P_INITIAL) {
		static const uint8_t form[9] = { [1] = 0x00, [2] = 0x40, [4] = 0x80, [8] = 0xc0 };

		for (i = vlen - 1; i >= 0; i--)
			payload[n + i] = (uint8_t)(tlen >> (8 * (vlen - 1 - i)));
		payload[n] |= form[vlen];
		n += vlen;
		n += thex(tok, payload + n, sizeof(payload) - n);
	}
	assert_true(n <= total);
	memset(payload + n, 0x55, total - n);
	s.payload_len = total;
	len = tpkt_build(&s, in);
	rc = tlb_run(t, in, len, out, &outlen);
	*to = -1;
	if (rc == XDP_TX && outlen == len + 20) {
		*to = out[14 + 19] - 10;
		assert_in_range(*to, 0, 3);
		t_assert_sent(in, len, 14, out, outlen, *to, be_addr[*to], 0, "token");
	}
	return rc;
}

static int lru_backend(struct tlb *t, uint16_t sport)
{
	struct cidlb_flow_key k = { .family = CIDLB_FAMILY_V4 };
	struct cidlb_flow f;

	tpkt_addr(4, T_CLIENT4, k.src);
	tpkt_addr(4, T_VIP4, k.dst);
	k.sport = htons(sport);
	k.dport = htons(T_VIP_PORT);
	if (bpf_map_lookup_elem(cidlb_lb_map_fd(t->lb, CIDLB_M_LRU), &k, &f))
		return -errno;
	return (int)f.backend;
}

#define DELTA(f) (c.f - c0.f)

/* A prefixed token takes the Initial to its server, plaintext or AES; the
 * flow's 0-RTT packets (any size) and next Initials follow it. */
static void test_token_routes(void **state)
{
	struct tlb *t = *state;
	struct cidlb_counters c0, c;
	int to;

	fixture(t);
	c0 = tlb_counters(t);
	assert_int_equal(run_tok(t, 100, P_INITIAL, 1, 24, TOK_PLAIN TOK_OWN, 1200, &to), XDP_TX);
	assert_int_equal(to, 1);
	assert_int_equal(lru_backend(t, 100), 1);
	assert_int_equal(run_tok(t, 101, P_INITIAL, 2, 24, TOK_AES TOK_OWN, 1250, &to), XDP_TX);
	assert_int_equal(to, 2);
	assert_int_equal(lru_backend(t, 101), 2);
	/* a prefix alone, and the 4-octet form of its length */
	assert_int_equal(run_tok(t, 102, P_INITIAL, 4, 8, TOK_AES, 1200, &to), XDP_TX);
	assert_int_equal(to, 2);
	c = tlb_counters(t);
	assert_int_equal(DELTA(route_token), 3);
	assert_int_equal(DELTA(cid_plaintext), 1);
	assert_int_equal(DELTA(cid_four_pass), 2);
	assert_int_equal(DELTA(dcache_hit) + DELTA(dcache_miss), 0); /* not cached */
	assert_int_equal(DELTA(route_maglev) + DELTA(route_lru) + DELTA(token_unroutable), 0);
	assert_int_equal(DELTA(tx), 3);

	/* the flow's next packets without a token: by its entry */
	c0 = c;
	assert_int_equal(run_tok(t, 100, P_0RTT, 0, 0, "", 1200, &to), XDP_TX);
	assert_int_equal(to, 1);
	assert_int_equal(run_tok(t, 100, P_0RTT, 0, 0, "", 300, &to), XDP_TX);
	assert_int_equal(to, 1);
	assert_int_equal(run_tok(t, 101, P_0RTT, 0, 0, "", 1200, &to), XDP_TX);
	assert_int_equal(to, 2);
	assert_int_equal(run_tok(t, 101, P_HANDSHAKE, 0, 0, "", 200, &to), XDP_TX);
	assert_int_equal(to, 2);
	/* without the token, the 0-RTT of a new flow goes by Maglev */
	assert_int_equal(run_tok(t, 103, P_0RTT, 0, 0, "", 1200, &to), XDP_TX);
	assert_int_equal(to, 0);
	c = tlb_counters(t);
	assert_int_equal(DELTA(route_lru), 4);
	assert_int_equal(DELTA(route_maglev), 1);
	assert_int_equal(DELTA(route_token) + DELTA(token_unroutable), 0);
	assert_int_equal(DELTA(cid_plaintext) + DELTA(cid_four_pass), 0);

	/* the flow's next Initial, same token: by it again, entry unchanged */
	c0 = c;
	assert_int_equal(run_tok(t, 100, P_INITIAL, 1, 24, TOK_PLAIN TOK_OWN, 1200, &to), XDP_TX);
	assert_int_equal(to, 1);
	assert_int_equal(lru_backend(t, 100), 1);
	/* an Initial with another server's token on a 4-tuple with an entry
	 * (a new connection on a reused 4-tuple): the token wins and moves the
	 * entry, and the 0-RTT packets follow */
	assert_int_equal(run_tok(t, 100, P_INITIAL, 1, 8, TOK_AES, 1200, &to), XDP_TX);
	assert_int_equal(to, 2);
	assert_int_equal(lru_backend(t, 100), 2);
	assert_int_equal(run_tok(t, 100, P_0RTT, 0, 0, "", 300, &to), XDP_TX);
	assert_int_equal(to, 2);
	/* and an Initial with an unroutable token on it keeps the entry */
	assert_int_equal(run_tok(t, 100, P_INITIAL, 1, 8, "07999999a1a2a3a4", 1200, &to), XDP_TX);
	assert_int_equal(to, 2);
	c = tlb_counters(t);
	assert_int_equal(DELTA(route_token), 2);
	assert_int_equal(DELTA(route_lru), 2);
	assert_int_equal(DELTA(token_unroutable), 1);
	assert_int_equal(DELTA(route_maglev), 0);
	assert_int_equal(tlb_verdicts(&c), c.rx_packets);
}

/* Tokens that do not route: Maglev's backend as before, counted; each
 * makes its flow's entry there, as before. */
static void test_token_unroutable(void **state)
{
	static const struct {
		const char *name;
		int vlen;
		size_t tlen;
		const char *tok;
	} v[] = {
		{ "config without token_prefix", 1, 8, "470a0b0ca1a2a3a4" },
		{ "config not held", 1, 8, "670a0b0ca1a2a3a4" },
		{ "config ID 7", 1, 8, "e70a0b0ca1a2a3a4" },
		{ "shorter than the prefix", 1, 7, "070a0b0ca1a2a3" },
		{ "one octet", 1, 1, "07" },
		{ "server ID unknown", 1, 8, "07999999a1a2a3a4" },
		{ "server ID of a draining backend", 1, 8, "07445566a1a2a3a4" },
		{ "AES garbage", 1, 16, "2700112233445566" TOK_OWN },
		{ "past the datagram", 2, 1200, TOK_PLAIN },
		{ "8-octet length form", 8, 8, TOK_PLAIN },
	};
	struct tlb *t = *state;
	struct cidlb_counters c0, c;
	size_t i;
	int to;

	fixture(t);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		print_message("%s\n", v[i].name);
		c0 = tlb_counters(t);
		assert_int_equal(run_tok(t, 200 + i, P_INITIAL, v[i].vlen, v[i].tlen, v[i].tok,
					 1200, &to),
				 XDP_TX);
		assert_int_equal(to, 0);
		assert_int_equal(lru_backend(t, 200 + i), 0);
		c = tlb_counters(t);
		assert_int_equal(DELTA(token_unroutable), 1);
		assert_int_equal(DELTA(route_maglev), 1);
		assert_int_equal(DELTA(route_token), 0);
	}
	/* an empty token: as before, not counted */
	c0 = tlb_counters(t);
	assert_int_equal(run_tok(t, 300, P_INITIAL, 1, 0, "", 1200, &to), XDP_TX);
	assert_int_equal(to, 0);
	assert_int_equal(run_tok(t, 301, P_INITIAL, 2, 0, "", 1200, &to), XDP_TX);
	assert_int_equal(to, 0);
	/* under 1200 octets: dropped before the token is read */
	assert_int_equal(run_tok(t, 302, P_INITIAL, 1, 8, TOK_PLAIN, 1199, &to), XDP_DROP);
	c = tlb_counters(t);
	assert_int_equal(DELTA(route_maglev), 2);
	assert_int_equal(DELTA(drop_small_initial), 1);
	assert_int_equal(DELTA(token_unroutable) + DELTA(route_token), 0);
	assert_int_equal(tlb_verdicts(&c), c.rx_packets);
}

/* Without token_prefix on any config (CIDLB_GF_TOKEN clear, kept by lb.c
 * from the configs whoever writes the global settings) no token is read:
 * prefixed tokens go by Maglev and nothing is counted. A token naming a
 * backend that health checks found down goes by Maglev. */
static void test_token_off(void **state)
{
	struct tlb *t = *state;
	struct cidlb_counters c0, c;
	int to;

	fixture(t);
	set_token_flag(t, 0, 0);
	assert_int_equal(global_token_flag(t), 1);
	set_token_flag(t, 1, 0);
	assert_int_equal(global_token_flag(t), 0);
	c0 = tlb_counters(t);
	assert_int_equal(run_tok(t, 400, P_INITIAL, 1, 8, TOK_PLAIN, 1200, &to), XDP_TX);
	assert_int_equal(to, 0);
	assert_int_equal(run_tok(t, 401, P_INITIAL, 1, 8, TOK_AES, 1200, &to), XDP_TX);
	assert_int_equal(to, 0);
	c = tlb_counters(t);
	assert_int_equal(DELTA(route_maglev), 2);
	assert_int_equal(DELTA(token_unroutable) + DELTA(route_token), 0);
	assert_int_equal(DELTA(cid_plaintext) + DELTA(cid_four_pass), 0);
	/* the global settings written again keep the flag as the configs say */
	set_token_flag(t, 1, 1);
	{
		struct cidlb_global g;

		assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
		g.flags &= ~CIDLB_GF_TOKEN;
		assert_int_equal(cidlb_lb_set_global(t->lb, &g), 0);
	}
	assert_int_equal(global_token_flag(t), 1);
	assert_int_equal(run_tok(t, 402, P_INITIAL, 1, 8, TOK_AES, 1200, &to), XDP_TX);
	assert_int_equal(to, 2);
	/* a token naming a down backend: Maglev */
	{
		struct cidlb_backend b;
		uint32_t two = 2;

		assert_int_equal(
			bpf_map_lookup_elem(cidlb_lb_map_fd(t->lb, CIDLB_M_BACKENDS), &two, &b), 0);
		b.flags |= CIDLB_BE_F_DOWN;
		assert_int_equal(cidlb_lb_set_backend(t->lb, two, &b), 0);
	}
	c0 = tlb_counters(t);
	assert_int_equal(run_tok(t, 403, P_INITIAL, 1, 8, TOK_AES, 1200, &to), XDP_TX);
	assert_int_equal(to, 0);
	c = tlb_counters(t);
	assert_int_equal(DELTA(token_unroutable), 1);
}

/* A routable DCID wins over the token: the 0-RTT packets carry the same
 * DCID and go by it. */
static void test_token_after_dcid(void **state)
{
	uint8_t in[TPKT_MAX], out[TPKT_MAX], payload[TPKT_MAX], dcid[8], tok[8];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = 500,
			       .dport = T_VIP_PORT,
			       .payload = payload };
	struct tlb *t = *state;
	struct cidlb_counters c0, c;
	size_t n, len, outlen;

	fixture(t);
	thex("07445566b1b2b3b4", dcid, sizeof(dcid)); /* draining backend 3 */
	thex(TOK_AES, tok, sizeof(tok));
	n = tquic_long(payload, 0xc0, 1, dcid, 8, NULL, 0, 0);
	payload[n++] = 8;
	memcpy(payload + n, tok, 8);
	memset(payload + n + 8, 0, 1200 - n - 8);
	s.payload_len = 1200;
	len = tpkt_build(&s, in);
	c0 = tlb_counters(t);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
	t_assert_sent(in, len, 14, out, outlen, 3, be_addr[3], 0, "by DCID");
	c = tlb_counters(t);
	assert_int_equal(DELTA(route_cid), 1);
	assert_int_equal(DELTA(route_token) + DELTA(token_unroutable), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_routes, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_token_unroutable, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_token_off, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_token_after_dcid, tlb_setup, tlb_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
