// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_reset.c - stateless resets from the LB (bpf/reset.h) through the
 * real cidlb.bpf.o: a short header whose CID names a down backend, under a
 * config with a reset key, comes back as a reset from the VIP; its
 * headers compared octet by octet, its token the one libcidlb's
 * cidlb_reset_token() gives the servers, its sizes as RFC 9000 10.3 and
 * 10.3.3 require; every case where no reset may be sent goes on as before.
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
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cidlb/cidlb.h>
#include "tlb.h"

#define CID_DOWN  "07010203a1a2a3a4" /* config 0, server ID 010203: backend 0, down */
#define CID_UP	  "070a0b0ca1a2a3a4" /* server ID 0a0b0c: backend 1, up */
#define CID_NOKEY "27010203a1a2a3a4" /* config 1 (no reset key), backend 0 */
/* config 2: server ID 010203, nonce 14: 18 identifying octets, two blocks */
#define CID_LONG "51010203b0b1b2b3b4b5b6b7b8b9babbbcbd"

static const uint8_t reset_key[16] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
				       0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f };

static struct tlb *t;

static void set_config(uint32_t id, int nonce_len, bool reset)
{
	struct cidlb_config c = { .sid_len = 3,
				  .nonce_len = nonce_len,
				  .mode = CIDLB_MODE_PLAINTEXT };
	uint32_t dec[CIDLB_AES_RK_WORDS];

	c.pt_len = 3 + nonce_len;
	c.half_len = (c.pt_len + 1) / 2;
	cidlb_config_masks(&c);
	if (reset) {
		c.flags |= CIDLB_CFG_F_RESET;
		assert_int_equal(cidlb_aes128_key_schedules(reset_key, c.reset_rk, dec), 0);
	}
	assert_int_equal(cidlb_lb_set_config(t->lb, id, &c), 0);
}

static void set_backend(uint32_t idx, const char *addr, uint8_t flags)
{
	struct cidlb_backend b = { .state = CIDLB_BE_ACTIVE,
				   .fwd_mode = CIDLB_FWD_ENCAP_MAC,
				   .family = 4,
				   .flags = flags };

	assert_int_equal(tpkt_addr(4, addr, b.addr), 0);
	memcpy(b.mac, t_backend_mac, 6);
	b.mac[4] = idx;
	assert_int_equal(cidlb_lb_set_backend(t->lb, idx, &b), 0);
}

static void set_rate(uint32_t rate)
{
	struct cidlb_global g;

	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	g.reset_rate = rate;
	assert_int_equal(cidlb_lb_set_global(t->lb, &g), 0);
}

static int setup(void **state)
{
	static const uint8_t sid0[] = { 1, 2, 3 }, sid1[] = { 0x0a, 0x0b, 0x0c };

	tlb_setup(state); /* the group's state: tlb_teardown frees it */
	t = *state;
	set_config(0, 4, true);
	set_config(1, 4, false);
	set_config(2, 14, true);
	set_backend(0, "198.18.3.10", CIDLB_BE_F_DOWN);
	set_backend(1, "198.18.3.11", 0);
	tlb_sid(t, 0, sid0, 3, 0);
	tlb_sid(t, 1, sid0, 3, 0);
	tlb_sid(t, 2, sid0, 3, 0);
	tlb_sid(t, 0, sid1, 3, 1);
	set_rate(1000000);
	return 0;
}

/* A short header with CID `cid` padded to `plen` octets of UDP payload. */
static size_t frame(int family, const char *cid, size_t plen, uint8_t *f)
{
	uint8_t q[TPKT_MAX], c[20];
	size_t clen = thex(cid, c, sizeof(c));
	struct tpkt_spec s = {
		.family = family,
		.src = family == 4 ? T_CLIENT4 : T_CLIENT6,
		.dst = family == 4 ? T_VIP4 : T_VIP6,
		.sport = 40000,
		.dport = T_VIP_PORT,
		.payload = q,
		.payload_len = tquic_short(q, 0x41, c, clen, plen),
	};

	return tpkt_build(&s, f);
}

/* The token libcidlb gives the servers for CID `cid` (config 0 or 2). */
static void server_token(const char *cid, uint8_t tok[16])
{
	struct cidlb_cid_params p = { .config_id = 0, .server_id_len = 3, .nonce_len = 4 };
	struct cidlb_cid_config *cfg = NULL;
	const char *why;
	uint8_t c[20];
	size_t n = thex(cid, c, sizeof(c));

	if (c[0] >> 5 == 2) {
		p.config_id = 2;
		p.nonce_len = 14;
	}
	assert_int_equal(cidlb_cid_config_new(&p, &cfg, &why), 0);
	assert_int_equal(cidlb_reset_token(cfg, reset_key, c, n, tok), 0);
	cidlb_cid_config_free(cfg);
}

/* The reset `out` answers frame `in` (family, UDP payload of `plen`): the
 * expected frame with the unpredictable octets taken from `out`, compared
 * whole; then its first octet and its UDP checksum. */
static void assert_reset(int family, const uint8_t *in, size_t plen, const uint8_t *out,
			 size_t outlen, const char *cid)
{
	size_t l3 = 14, ihl = family == 4 ? 20 : 40, l4 = l3 + ihl, rlen;
	uint8_t want[TPKT_MAX], tok[16], ps[TPKT_MAX];
	uint16_t v;
	size_t i;

	rlen = plen - 1 > CIDLB_RESET_MAX ? CIDLB_RESET_MAX : plen - 1;
	assert_int_equal(outlen, l4 + 8 + rlen);
	memcpy(want, in, l4 + 8);
	memcpy(want, in + 6, 6); /* MACs swapped */
	memcpy(want + 6, in, 6);
	if (family == 4) {
		memcpy(want + l3 + 12, in + l3 + 16, 4);
		memcpy(want + l3 + 16, in + l3 + 12, 4);
		v = htons(20 + 8 + rlen);
		memcpy(want + l3 + 2, &v, 2);
		memset(want + l3 + 4, 0, 2); /* id */
		want[l3 + 6] = 0x40;	     /* DF */
		want[l3 + 7] = 0;
		want[l3 + 8] = 64; /* TTL */
		memset(want + l3 + 10, 0, 2);
		v = tcsum(want + l3, 20);
		memcpy(want + l3 + 10, &v, 2);
	} else {
		memcpy(want + l3 + 8, in + l3 + 24, 16);
		memcpy(want + l3 + 24, in + l3 + 8, 16);
		v = htons(8 + rlen);
		memcpy(want + l3 + 4, &v, 2);
		want[l3 + 7] = 64;
	}
	memcpy(want + l4, in + l4 + 2, 2); /* ports swapped */
	memcpy(want + l4 + 2, in + l4, 2);
	v = htons(8 + rlen);
	memcpy(want + l4 + 4, &v, 2);
	memcpy(want + l4 + 6, out + l4 + 6, 2);		/* checksum: below */
	memcpy(want + l4 + 8, out + l4 + 8, rlen - 16); /* unpredictable */
	server_token(cid, tok);
	memcpy(want + l4 + 8 + rlen - 16, tok, 16);
	t_assert_frame(out, outlen, want, outlen, "stateless reset");
	assert_int_equal(out[l4 + 8] & 0xc0, 0x40); /* short header form, fixed bit */

	/* the UDP checksum verifies over the pseudo-header */
	i = 0;
	if (family == 4) {
		memcpy(ps, out + l3 + 12, 8);
		i = 8;
	} else {
		memcpy(ps, out + l3 + 8, 32);
		i = 32;
	}
	ps[i++] = 0;
	ps[i++] = 17;
	v = htons(8 + rlen);
	memcpy(ps + i, &v, 2);
	i += 2;
	memcpy(ps + i, out + l4, 8 + rlen);
	i += 8 + rlen;
	assert_int_not_equal(out[l4 + 6] | out[l4 + 7], 0);
	assert_int_equal(tcsum(ps, i), 0);
}

static void run(const uint8_t *in, size_t len, uint8_t *out, size_t *outlen, int verdict)
{
	assert_int_equal(tlb_run(t, in, len, out, outlen), verdict);
}

/* Sizes: 1,200 octets get the largest reset, small ones one octet less,
 * 22 the smallest (21), 21 none. IPv4 and IPv6; tokens of one block
 * (8 identifying octets) and two (18). */
static void test_reset_sizes(void **state)
{
	static const size_t sizes[] = { 1200, 45, 44, 30, 22 };
	static const char *const cids[] = { CID_DOWN, CID_LONG };
	uint8_t in[TPKT_MAX], out[TPKT_MAX];
	size_t len, outlen, i, k;
	int fam;

	(void)state;
	for (k = 0; k < 2; k++) {
		for (fam = 4; fam <= 6; fam += 2) {
			for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
				struct cidlb_counters a = tlb_counters(t), b;

				if (strlen(cids[k]) / 2 + 1 > sizes[i])
					continue; /* the CID does not fit */
				len = frame(fam, cids[k], sizes[i], in);
				run(in, len, out, &outlen, XDP_TX);
				assert_reset(fam, in, sizes[i], out, outlen, cids[k]);
				b = tlb_counters(t);
				assert_int_equal(b.reset_sent - a.reset_sent, 1);
				assert_int_equal(b.tx - a.tx, 1);
				assert_int_equal(tlb_verdicts(&b) - tlb_verdicts(&a), 1);
			}
		}
	}
}

/* Where no reset may be sent, the packet goes to the backend as before. */
static void test_no_reset(void **state)
{
	static const struct {
		const char *name, *cid;
		size_t plen;
		int is_long;
		size_t cnt;
	} cases[] = {
		{ "21 octets: no smaller reset", CID_DOWN, 21, 0,
		  offsetof(struct cidlb_counters, reset_unsent) },
		{ "backend up", CID_UP, 100, 0, 0 },
		{ "config without a reset key", CID_NOKEY, 100, 0, 0 },
		{ "long header", CID_DOWN, 100, 1, 0 },
	};
	uint8_t in[TPKT_MAX], out[TPKT_MAX], q[TPKT_MAX], c[20];
	size_t len, outlen, i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidlb_counters a = tlb_counters(t), b;
		uint32_t be = !strcmp(cases[i].cid, CID_UP);

		if (cases[i].is_long) {
			size_t n = thex(cases[i].cid, c, sizeof(c));
			struct tpkt_spec s = { .family = 4,
					       .src = T_CLIENT4,
					       .dst = T_VIP4,
					       .sport = 40000,
					       .dport = T_VIP_PORT,
					       .payload = q };

			s.payload_len = tquic_long(q, 0xe0, 1, c, n, NULL, 0, cases[i].plen);
			len = tpkt_build(&s, in);
		} else {
			len = frame(4, cases[i].cid, cases[i].plen, in);
		}
		run(in, len, out, &outlen, XDP_TX);
		t_assert_sent(in, len, 14, out, outlen, be, be ? "198.18.3.11" : "198.18.3.10", 0,
			      cases[i].name);
		b = tlb_counters(t);
		assert_int_equal(b.reset_sent, a.reset_sent);
		assert_int_equal(b.route_cid - a.route_cid, 1);
		if (cases[i].cnt)
			assert_int_equal(*(uint64_t *)((char *)&b + cases[i].cnt) -
						 *(uint64_t *)((char *)&a + cases[i].cnt),
					 1);
	}
}

/* IPv4 options: the reset would need them turned around too: none sent. */
static void test_no_reset_ip_options(void **state)
{
	uint8_t in[TPKT_MAX], out[TPKT_MAX], q[TPKT_MAX], c[20];
	size_t n = thex(CID_DOWN, c, sizeof(c)), len, outlen;
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = 40000,
			       .dport = T_VIP_PORT,
			       .ip_opts = 4,
			       .payload = q };
	struct cidlb_counters a = tlb_counters(t), b;

	(void)state;
	s.payload_len = tquic_short(q, 0x41, c, n, 100);
	len = tpkt_build(&s, in);
	run(in, len, out, &outlen, XDP_TX);
	t_assert_sent(in, len, 14, out, outlen, 0, "198.18.3.10", 0, "IP options");
	b = tlb_counters(t);
	assert_int_equal(b.reset_sent, a.reset_sent);
	assert_int_equal(b.reset_unsent - a.reset_unsent, 1);
}

/* Every CPU's window of resets empty (earlier tests sent some). */
static void rate_clear(void)
{
	int ncpu = libbpf_num_possible_cpus(), fd = cidlb_lb_map_fd(t->lb, CIDLB_M_RATE);
	struct cidlb_rate *v;
	uint32_t k = CIDLB_RATE_RESET;

	assert_true(ncpu > 0 && fd >= 0);
	v = calloc((size_t)ncpu, sizeof(*v));
	assert_non_null(v);
	assert_int_equal(bpf_map_update_elem(fd, &k, v, BPF_ANY), 0);
	free(v);
}

/* At most reset_rate resets per second per CPU; the rest go on as before.
 * The bound allows for every second the loop took. */
static void test_reset_rate(void **state)
{
	const uint32_t rate = 5, n = 50;
	uint8_t in[TPKT_MAX], out[TPKT_MAX];
	struct cidlb_counters a, b;
	struct timespec t0, t1;
	size_t len, outlen;
	uint64_t sent, limited, secs;
	uint32_t i;

	(void)state;
	set_rate(rate);
	rate_clear();
	a = tlb_counters(t);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		len = frame(4, CID_DOWN, 100, in);
		assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	b = tlb_counters(t);
	sent = b.reset_sent - a.reset_sent;
	limited = b.reset_rate_limited - a.reset_rate_limited;
	secs = (uint64_t)(t1.tv_sec - t0.tv_sec) + 1;
	assert_int_equal(sent + limited, n);
	assert_true(sent >= rate);
	assert_true(sent <= rate * (secs + 1));
	assert_int_equal(b.route_cid - a.route_cid, n);

	set_rate(0); /* none at all */
	a = tlb_counters(t);
	len = frame(4, CID_DOWN, 100, in);
	run(in, len, out, &outlen, XDP_TX);
	t_assert_sent(in, len, 14, out, outlen, 0, "198.18.3.10", 0, "reset_rate 0");
	b = tlb_counters(t);
	assert_int_equal(b.reset_sent, a.reset_sent);
	set_rate(1000000);
}

/* A fallback flow (4-tuple in the LRU) keeps its backend while that one
 * is down, but a new Initial from the same address and port does not
 * follow it there: the Maglev table, which no longer holds it, decides,
 * and that sticks. */
static void test_lru_skips_down(void **state)
{
	const uint8_t *ucid = (const uint8_t *)"\xe1\x02\x03\x04\x05\x06\x07\x08";
	uint8_t in[TPKT_MAX], sh[TPKT_MAX], out[TPKT_MAX], q[TPKT_MAX];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = 4321,
			       .dport = T_VIP_PORT,
			       .payload = q };
	struct cidlb_counters a, b;
	size_t len, shlen, outlen;

	(void)state;
	s.payload_len = tquic_short(q, 0x41, ucid, 8, 100);
	shlen = tpkt_build(&s, sh);
	s.payload_len = tquic_long(q, 0xc0, 1, ucid, 8, NULL, 0, 1200);
	len = tpkt_build(&s, in);
	a = tlb_counters(t);
	set_backend(0, "198.18.3.10", 0);
	tlb_maglev(t, (uint32_t[]){ 0 }, 1);
	run(in, len, out, &outlen, XDP_TX);
	t_assert_sent(in, len, 14, out, outlen, 0, "198.18.3.10", 0, "by Maglev");
	set_backend(0, "198.18.3.10", CIDLB_BE_F_DOWN);
	tlb_maglev(t, (uint32_t[]){ 1 }, 1); /* as cidlbd leaves a down backend out */
	run(sh, shlen, out, &outlen, XDP_TX);
	t_assert_sent(sh, shlen, 14, out, outlen, 0, "198.18.3.10", 0, "the flow, down");
	run(in, len, out, &outlen, XDP_TX);
	t_assert_sent(in, len, 14, out, outlen, 1, "198.18.3.11", 0, "its backend down");
	set_backend(0, "198.18.3.10", 0);
	tlb_maglev(t, (uint32_t[]){ 0 }, 1);
	run(in, len, out, &outlen, XDP_TX);
	t_assert_sent(in, len, 14, out, outlen, 1, "198.18.3.11", 0, "the new choice sticks");
	b = tlb_counters(t);
	assert_int_equal(b.route_maglev - a.route_maglev, 2);
	assert_int_equal(b.route_lru - a.route_lru, 2);
	set_backend(0, "198.18.3.10", CIDLB_BE_F_DOWN);
}

/* A removed backend's quarantined server ID (absent entry, down flag)
 * gets a reset under a reset key; without the key, or without the flag,
 * the fallback route as before. */
static void test_reset_quarantined(void **state)
{
	static const uint8_t sid2[] = { 0x0d, 0x0e, 0x0f };
	static const struct {
		const char *name, *cid;
		uint8_t flags;
		int reset;
	} cases[] = {
		{ "quarantined, reset key", "070d0e0fa1a2a3a4", CIDLB_BE_F_DOWN, 1 },
		{ "quarantined, no reset key", "270d0e0fa1a2a3a4", CIDLB_BE_F_DOWN, 0 },
		{ "absent, not quarantined", "070d0e0fa1a2a3a4", 0, 0 },
	};
	uint8_t in[TPKT_MAX], out[TPKT_MAX];
	struct cidlb_backend b = { .state = CIDLB_BE_ABSENT,
				   .fwd_mode = CIDLB_FWD_ENCAP_MAC,
				   .family = 4 };
	size_t len, outlen, i;

	(void)state;
	tlb_sid(t, 0, sid2, 3, 2);
	tlb_sid(t, 1, sid2, 3, 2);
	set_backend(1, "198.18.3.11", 0);
	tlb_maglev(t, (uint32_t[]){ 1 }, 1);
	assert_int_equal(tpkt_addr(4, "198.18.3.12", b.addr), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidlb_counters a = tlb_counters(t), c;

		b.flags = cases[i].flags;
		assert_int_equal(cidlb_lb_set_backend(t->lb, 2, &b), 0);
		len = frame(4, cases[i].cid, 100, in);
		run(in, len, out, &outlen, XDP_TX);
		c = tlb_counters(t);
		if (cases[i].reset) {
			assert_reset(4, in, 100, out, outlen, cases[i].cid);
			assert_int_equal(c.reset_sent - a.reset_sent, 1);
			assert_int_equal(c.unroutable_sid, a.unroutable_sid);
		} else {
			t_assert_sent(in, len, 14, out, outlen, 1, "198.18.3.11", 0, cases[i].name);
			assert_int_equal(c.reset_sent, a.reset_sent);
			assert_int_equal(c.unroutable_sid - a.unroutable_sid, 1);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_sizes),
		cmocka_unit_test(test_no_reset),
		cmocka_unit_test(test_no_reset_ip_options),
		cmocka_unit_test(test_reset_rate),
		cmocka_unit_test(test_lru_skips_down),
		cmocka_unit_test(test_reset_quarantined),
	};

	return cmocka_run_group_tests(tests, setup, tlb_teardown);
}
