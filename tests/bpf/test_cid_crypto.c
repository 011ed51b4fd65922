// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_cid_crypto.c - QUIC-LB decoding in the real cidlb.bpf.o agrees
 * with libcidlb, bit for bit: for every legal (server ID length, nonce
 * length) pair, plaintext, single-pass and four-pass, random server IDs
 * and nonces are encoded by libcidlb and the packet must reach the
 * backend that owns the server ID. Also the spec's vectors as packets,
 * and a key change under one config ID.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cidlb/cidlb.h"
#include "tlb.h"

#define NBACK	       4
#define PER_PAIR_KEYED 200
#define PER_PAIR_PLAIN 40
#define FALLBACK       7 /* backend index of the only Maglev entry */

static struct tlb *t;

static int setup(void **state)
{
	uint32_t fb = FALLBACK;
	int i;

	tlb_setup(state); /* the group's state: tlb_teardown frees it */
	t = *state;
	for (i = 0; i < NBACK; i++) {
		char a[32];

		snprintf(a, sizeof(a), "198.18.5.%d", 10 + i);
		tlb_backend(t, i, a, CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	}
	tlb_backend(t, FALLBACK, "198.18.5.99", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_maglev(t, &fb, 1);
	return 0;
}

/* Send a short-header (or long-header) packet with this CID; returns the
 * last octet of the outer destination (backend 198.18.5.x), 0 if not TX. */
static int route(const uint8_t *cid, size_t cid_len, int long_hdr)
{
	uint8_t payload[TPKT_MAX], in[TPKT_MAX], out[TPKT_MAX];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = 7777,
			       .dport = T_VIP_PORT,
			       .payload = payload };
	size_t len, outlen;

	s.payload_len = long_hdr ? tquic_long(payload, 0xe0, 1, cid, cid_len, NULL, 0, 100) :
				   tquic_short(payload, 0x41, cid, cid_len, 60);
	len = tpkt_build(&s, in);
	if (tlb_run(t, in, len, out, &outlen) != XDP_TX)
		return 0;
	return out[14 + 19];
}

static uint64_t cnt_of(size_t off)
{
	struct cidlb_counters c = tlb_counters(t);
	uint64_t v;

	memcpy(&v, (const char *)&c + off, sizeof(v));
	return v;
}

static void one_pair(int sid_len, int nonce_len, int keyed, int cr)
{
	struct cidlb_cid_params p = { .config_id = cr,
				      .server_id_len = sid_len,
				      .nonce_len = nonce_len,
				      .has_key = keyed,
				      .len_self_encode = 1 };
	struct cidlb_cid_config *cfg;
	int n = keyed ? PER_PAIR_KEYED : PER_PAIR_PLAIN, j;
	uint8_t sids[PER_PAIR_KEYED][16];
	const char *why;

	if (keyed)
		assert_int_equal(getrandom(p.key, 16, 0), 16);
	assert_int_equal(cidlb_cid_config_new(&p, &cfg, &why), 0);
	tlb_config(t, cr, sid_len, nonce_len, keyed ? p.key : NULL);
	for (j = 0; j < n; j++) {
		uint8_t nonce[32], cid[32];
		int len, got;

		assert_int_equal(getrandom(sids[j], sid_len, 0), sid_len);
		assert_int_equal(getrandom(nonce, nonce_len, 0), nonce_len);
		tlb_sid(t, cr, sids[j], sid_len, j % NBACK);
		len = cidlb_cid_encode(cfg, sids[j], sid_len, nonce, nonce_len, cid, sizeof(cid));
		assert_true(len > 0);
		got = route(cid, len, j & 1);
		if (got != 10 + j % NBACK) {
			print_error("sid_len %d nonce_len %d %s cr %d: packet %d went to .%d, "
				    "want .%d\n",
				    sid_len, nonce_len, keyed ? "keyed" : "plain", cr, j, got,
				    10 + j % NBACK);
			fail();
		}
	}
	for (j = 0; j < n; j++) {
		struct cidlb_sid_key k = { .config_id = cr, .len = sid_len };

		memcpy(k.sid, sids[j], sid_len);
		cidlb_lb_del_sid(t->lb, &k); /* duplicates were deleted already */
	}
	cidlb_cid_config_free(cfg);
}

static void test_every_pair(void **state)
{
	uint64_t sp0 = cnt_of(offsetof(struct cidlb_counters, cid_single_pass));
	uint64_t fp0 = cnt_of(offsetof(struct cidlb_counters, cid_four_pass));
	uint64_t pt0 = cnt_of(offsetof(struct cidlb_counters, cid_plaintext));
	int s, nl, pairs = 0, single = 0;

	(void)state;
	for (s = 1; s <= 15; s++) {
		for (nl = 4; nl <= 18 && s + nl <= 19; nl++) {
			int cr = pairs % 7;

			one_pair(s, nl, 0, cr);
			one_pair(s, nl, 1, cr);
			single += s + nl == 16;
			pairs++;
		}
	}
	assert_int_equal(pairs, 120);
	assert_int_equal(cnt_of(offsetof(struct cidlb_counters, cid_plaintext)) - pt0,
			 pairs * PER_PAIR_PLAIN);
	assert_int_equal(cnt_of(offsetof(struct cidlb_counters, cid_single_pass)) - sp0,
			 single * PER_PAIR_KEYED);
	assert_int_equal(cnt_of(offsetof(struct cidlb_counters, cid_four_pass)) - fp0,
			 (pairs - single) * PER_PAIR_KEYED);
	print_message("  %d pairs, %d packets each keyed, %d plain: all agree\n", pairs,
		      PER_PAIR_KEYED, PER_PAIR_PLAIN);
}

/* The draft-21 vectors (docs/quic-lb.md), as packets. */
static void test_spec_vectors(void **state)
{
	static const struct {
		int cr, sid_len, nonce_len;
		const char *key, *sid, *cid;
	} v[] = {
		{ 0, 3, 4, NULL, "c4605e", "07c4605e4504cc4f" },
		{ 2, 8, 8, "8f95f09245765f80256934e50c66207f", "ed793a51d49b8f5f",
		  "504dd2d05a7b0de9b2b9907afb5ecf8cc3" },
		{ 0, 3, 4, "fdf726a9893ec05c0632d3956680baf0", "31441a", "0767947d29be054a" },
		/* Appendix B.2 rows 0, 1 (server ID longer than the nonce) and
		 * 3 (18 octets; labelled config 3, its CID says config 0) */
		{ 0, 3, 4, "8f95f09245765f80256934e50c66207f", "ed793a", "0720b1d07b359d3c" },
		{ 1, 10, 5, "8f95f09245765f80256934e50c66207f", "ed793a51d49b8f5fab65",
		  "2fcc381bc74cb4fbad2823a3d1f8fed2" },
		{ 0, 9, 9, "8f95f09245765f80256934e50c66207f", "ed793a51d49b8f5fab",
		  "125779c9cc86beb3a3a4a3ca96fce4bfe0cdbc" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t key[16], sid[16], cid[20];
		size_t n = thex(v[i].cid, cid, sizeof(cid));

		thex(v[i].sid, sid, sizeof(sid));
		if (v[i].key)
			thex(v[i].key, key, sizeof(key));
		tlb_config(t, v[i].cr, v[i].sid_len, v[i].nonce_len, v[i].key ? key : NULL);
		tlb_sid(t, v[i].cr, sid, v[i].sid_len, i % NBACK);
		assert_int_equal(route(cid, n, 0), 10 + i % NBACK);
		assert_int_equal(route(cid, n, 1), 10 + i % NBACK);
	}
}

/* A new key under the same config ID: no packet is routed by what the old
 * key decoded (a decode cache must not outlive the config). */
static void test_key_change(void **state)
{
	struct cidlb_cid_params p = {
		.config_id = 3, .server_id_len = 4, .nonce_len = 8, .has_key = 1
	};
	struct cidlb_cid_config *cfg;
	uint8_t sid[4] = { 9, 8, 7, 6 }, cid[32];
	uint64_t hit0 = cnt_of(offsetof(struct cidlb_counters, dcache_hit));
	uint64_t miss0 = cnt_of(offsetof(struct cidlb_counters, dcache_miss));
	int len, i;

	(void)state;
	memset(p.key, 0x11, 16);
	assert_int_equal(cidlb_cid_config_new(&p, &cfg, NULL), 0);
	len = cidlb_cid_encode(cfg, sid, 4, NULL, 0, cid, sizeof(cid));
	assert_true(len > 0);
	tlb_config(t, 3, 4, 8, p.key);
	tlb_sid(t, 3, sid, 4, 2);
	for (i = 0; i < 3; i++) /* warm any cache */
		assert_int_equal(route(cid, len, 0), 12);
	memset(p.key, 0x22, 16);
	tlb_config(t, 3, 4, 8, p.key);
	for (i = 0; i < 3; i++)
		assert_int_equal(route(cid, len, 0), 99); /* fallback */
	/* and back: the old key routes again */
	memset(p.key, 0x11, 16);
	tlb_config(t, 3, 4, 8, p.key);
	assert_int_equal(route(cid, len, 0), 12);
	/* the old key: one miss, then hits; the new key decodes a server ID
	 * nobody owns, which is never cached: three misses although an
	 * entry for the CID was there; the old key again: a miss */
	assert_int_equal(cnt_of(offsetof(struct cidlb_counters, dcache_miss)) - miss0, 5);
	assert_int_equal(cnt_of(offsetof(struct cidlb_counters, dcache_hit)) - hit0, 2);
	/* and per config ID: 7 decodes, 2 from the cache, 3 (new key) owned by nobody */
	{
		struct cidlb_config_stats cs;

		assert_int_equal(cidlb_lb_read_config_stats(t->lb, 3, &cs), 0);
		assert_int_equal(cs.decodes, 7);
		assert_int_equal(cs.dcache_hits, 2);
		assert_int_equal(cs.no_backend, 3);
	}
	cidlb_cid_config_free(cfg);
}

/* Every slot of cidlb_dcache on every CPU, in one buffer of *n slots. */
static struct cidlb_dcache_slot *dcache_dump(size_t *n)
{
	int fd = cidlb_lb_map_fd(t->lb, CIDLB_M_DCACHE), ncpu = libbpf_num_possible_cpus();
	struct bpf_map_info info = {};
	uint32_t ilen = sizeof(info), k;
	struct cidlb_dcache_slot *v;

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &ilen), 0);
	*n = (size_t)info.max_entries * ncpu;
	v = calloc(*n, sizeof(*v));
	assert_non_null(v);
	for (k = 0; k < info.max_entries; k++)
		assert_int_equal(bpf_map_lookup_elem(fd, &k, v + (size_t)k * ncpu), 0);
	return v;
}

/*
 * The decode cache takes only server IDs of a live backend: CIDs that
 * decode to a server ID nobody owns, or one of an absent backend, go to
 * the fallback and leave the cache as it was (a flood of made-up CIDs
 * cannot evict real clients' entries); a live one's is cached and hit.
 */
static void test_dcache_live_only(void **state)
{
	struct cidlb_cid_params p = {
		.config_id = 5, .server_id_len = 3, .nonce_len = 6, .has_key = 1
	};
	uint8_t live[3] = { 5, 5, 1 }, absent[3] = { 5, 5, 2 }, nobody[3] = { 5, 5, 3 };
	uint8_t nonce[6] = { 1, 2, 3, 4, 5, 6 }, cid[3][32];
	struct cidlb_cid_config *cfg;
	struct cidlb_dcache_slot *d0, *d1;
	uint64_t hit0, miss0;
	size_t n, n1, j, changed = 0;
	int len, i;

	(void)state;
	memset(p.key, 0x5a, 16);
	assert_int_equal(cidlb_cid_config_new(&p, &cfg, NULL), 0);
	len = cidlb_cid_encode(cfg, live, 3, nonce, 6, cid[0], sizeof(cid[0]));
	assert_int_equal(cidlb_cid_encode(cfg, absent, 3, nonce, 6, cid[1], sizeof(cid[1])), len);
	assert_int_equal(cidlb_cid_encode(cfg, nobody, 3, nonce, 6, cid[2], sizeof(cid[2])), len);
	tlb_config(t, 5, 3, 6, p.key);
	tlb_backend(t, 6, "198.18.5.16", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ABSENT);
	tlb_sid(t, 5, live, 3, 3);
	tlb_sid(t, 5, absent, 3, 6);
	hit0 = cnt_of(offsetof(struct cidlb_counters, dcache_hit));
	miss0 = cnt_of(offsetof(struct cidlb_counters, dcache_miss));
	d0 = dcache_dump(&n);
	for (i = 0; i < 3; i++) {
		assert_int_equal(route(cid[2], len, 0), 99); /* nobody's: fallback */
		assert_int_equal(route(cid[1], len, 0), 99); /* absent: fallback */
	}
	assert_int_equal(cnt_of(offsetof(struct cidlb_counters, dcache_miss)) - miss0, 6);
	assert_int_equal(cnt_of(offsetof(struct cidlb_counters, dcache_hit)), hit0);
	d1 = dcache_dump(&n1);
	assert_int_equal(n1, n);
	assert_memory_equal(d0, d1, n * sizeof(*d0)); /* not one slot written */
	free(d1);
	/* a live backend's: cached at the first packet, hit after */
	for (i = 0; i < 3; i++)
		assert_int_equal(route(cid[0], len, 0), 13);
	assert_int_equal(cnt_of(offsetof(struct cidlb_counters, dcache_miss)) - miss0, 7);
	assert_int_equal(cnt_of(offsetof(struct cidlb_counters, dcache_hit)) - hit0, 2);
	d1 = dcache_dump(&n1);
	for (j = 0; j < n; j++) {
		if (!memcmp(&d0[j], &d1[j], sizeof(*d0)))
			continue;
		changed++;
		assert_int_equal(d1[j].config_id, 5);
		assert_int_equal(d1[j].sid_len, 3);
		assert_memory_equal(d1[j].sid, live, 3);
		assert_memory_equal(d1[j].cid.cid, cid[0], len);
	}
	assert_int_equal(changed, 1);
	free(d0);
	free(d1);
	cidlb_cid_config_free(cfg);
}

/* A config that opts out of the decode cache never touches it. */
static void test_no_dcache(void **state)
{
	struct cidlb_config c;
	uint8_t key[16], sid[3] = { 1, 1, 1 }, nonce[4] = { 2, 2, 2, 2 }, cid[32];
	struct cidlb_cid_params p = {
		.config_id = 4, .server_id_len = 3, .nonce_len = 4, .has_key = 1
	};
	struct cidlb_cid_config *cfg;
	uint64_t hit0, miss0, fp0;
	int len, i;

	(void)state;
	memset(key, 0x33, 16);
	memcpy(p.key, key, 16);
	assert_int_equal(cidlb_cid_config_new(&p, &cfg, NULL), 0);
	len = cidlb_cid_encode(cfg, sid, 3, nonce, 4, cid, sizeof(cid));
	tlb_config(t, 4, 3, 4, key);
	assert_int_equal(cidlb_lb_get_config(t->lb, 4, &c), 0);
	c.flags |= CIDLB_CFG_F_NO_DCACHE;
	assert_int_equal(cidlb_lb_set_config(t->lb, 4, &c), 0);
	tlb_sid(t, 4, sid, 3, 1);
	hit0 = cnt_of(offsetof(struct cidlb_counters, dcache_hit));
	miss0 = cnt_of(offsetof(struct cidlb_counters, dcache_miss));
	fp0 = cnt_of(offsetof(struct cidlb_counters, cid_four_pass));
	for (i = 0; i < 3; i++)
		assert_int_equal(route(cid, len, 0), 11);
	assert_int_equal(cnt_of(offsetof(struct cidlb_counters, dcache_hit)), hit0);
	assert_int_equal(cnt_of(offsetof(struct cidlb_counters, dcache_miss)), miss0);
	assert_int_equal(cnt_of(offsetof(struct cidlb_counters, cid_four_pass)) - fp0, 3);
	cidlb_cid_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_vectors),
		cmocka_unit_test(test_key_change),
		cmocka_unit_test(test_no_dcache),
		/* what the decode cache admits */
		cmocka_unit_test(test_dcache_live_only),
		cmocka_unit_test(test_every_pair),
	};

	return cmocka_run_group_tests_name("cid_crypto", tests, setup, tlb_teardown);
}
