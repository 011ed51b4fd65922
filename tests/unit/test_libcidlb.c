// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_libcidlb.c - libcidlb against the QUIC-LB rules
 * (docs/quic-lb.md): the draft-21 Appendix B vectors and the repaired B.1
 * errata row, round trips of every legal (sid_len, nonce_len), each
 * unroutable case, each config rule, nonce uniqueness and exhaustion,
 * concurrent encoders, the AES key schedules, and the ngtcp2 example.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <cidlb/cidlb.h>
#include "lib/internal.h"

/* ---- helpers ------------------------------------------------------------ */

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2, i;

	assert_int_equal(strlen(hex) % 2, 0);
	for (i = 0; i < n; i++) {
		unsigned int v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void rnd(void *buf, size_t len)
{
	assert_int_equal(getrandom(buf, len, 0), (ssize_t)len);
}

static struct cidlb_cid_config *cfg_new(const struct cidlb_cid_params *p)
{
	struct cidlb_cid_config *c = NULL;
	const char *why = "unset";

	assert_int_equal(cidlb_cid_config_new(p, &c, &why), 0);
	assert_null(why);
	assert_non_null(c);
	return c;
}

/* ---- section 8 vectors -------------------------------------------------- */

struct vector {
	const char *name;
	uint8_t cr, sid_len, nonce_len;
	const char *key; /* NULL: plaintext */
	const char *sid, *nonce, *cid;
	enum cidlb_cid_algo algo;
};

#define KEY_B2 "8f95f09245765f80256934e50c66207f" /* every B.2 row's key */

static const struct vector vectors[] = {
	{ "plaintext", 0, 3, 4, NULL, "c4605e", "4504cc4f", "07c4605e4504cc4f",
	  CIDLB_CID_ALGO_PLAINTEXT },
	{ "single-pass", 2, 8, 8, "8f95f09245765f80256934e50c66207f", "ed793a51d49b8f5f",
	  "ee080dbf48c0d1e5", "504dd2d05a7b0de9b2b9907afb5ecf8cc3", CIDLB_CID_ALGO_SINGLE_PASS },
	{ "four-pass", 0, 3, 4, "fdf726a9893ec05c0632d3956680baf0", "31441a", "9c69c275",
	  "0767947d29be054a", CIDLB_CID_ALGO_FOUR_PASS },
	/* Appendix B.2 rows 0, 1 and 3 (row 2 is the single-pass one above):
	 * row 1 is the four-pass case with a server ID longer than the
	 * nonce, row 3 the 18-octet one, labelled config 3 in the draft but
	 * config 0 in its CID (0x12) */
	{ "B.2 row 0, four-pass 3+4", 0, 3, 4, KEY_B2, "ed793a", "ee080dbf", "0720b1d07b359d3c",
	  CIDLB_CID_ALGO_FOUR_PASS },
	{ "B.2 row 1, four-pass 10+5", 1, 10, 5, KEY_B2, "ed793a51d49b8f5fab65", "ee080dbf48",
	  "2fcc381bc74cb4fbad2823a3d1f8fed2", CIDLB_CID_ALGO_FOUR_PASS },
	{ "B.2 row 3, four-pass 9+9", 0, 9, 9, KEY_B2, "ed793a51d49b8f5fab", "ee080dbf48c0d1e55d",
	  "125779c9cc86beb3a3a4a3ca96fce4bfe0cdbc", CIDLB_CID_ALGO_FOUR_PASS },
	/* B.1 row 2 as repaired in spec section 6.15 */
	{ "plaintext errata row", 1, 5, 5, NULL, "350d28b420", "03487d970b",
	  "2a350d28b42003487d970b", CIDLB_CID_ALGO_PLAINTEXT },
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		struct cidlb_cid_params p = {
			.config_id = v->cr,
			.server_id_len = v->sid_len,
			.nonce_len = v->nonce_len,
			.len_self_encode = true,
		};
		uint8_t sid[16], nonce[20], want[20], cid[20];
		struct cidlb_cid_info info;
		struct cidlb_cid_config *c;
		size_t want_len;

		print_message("vector %s\n", v->name);
		if (v->key) {
			p.has_key = true;
			assert_int_equal(unhex(v->key, p.key), 16);
		}
		assert_int_equal(unhex(v->sid, sid), v->sid_len);
		assert_int_equal(unhex(v->nonce, nonce), v->nonce_len);
		want_len = unhex(v->cid, want);
		c = cfg_new(&p);
		assert_int_equal(cidlb_cid_config_algo(c), v->algo);
		assert_int_equal(cidlb_cid_config_cid_len(c), want_len);

		assert_int_equal(cidlb_cid_encode(c, sid, v->sid_len, nonce, v->nonce_len, cid,
						  sizeof(cid)),
				 want_len);
		assert_memory_equal(cid, want, want_len);

		assert_int_equal(cidlb_cid_decode(c, want, want_len, &info), CIDLB_CID_ROUTABLE);
		assert_int_equal(info.config_id, v->cr);
		assert_int_equal(info.server_id_len, v->sid_len);
		assert_int_equal(info.nonce_len, v->nonce_len);
		assert_memory_equal(info.server_id, sid, v->sid_len);
		assert_memory_equal(info.nonce, nonce, v->nonce_len);
		cidlb_cid_config_free(c);
	}
}

/* Changing only the config ID changes only octet 0 (spec 2.1). */
static void test_config_id_not_in_cipher(void **state)
{
	struct cidlb_cid_params p = {
		.config_id = 5,
		.server_id_len = 3,
		.nonce_len = 4,
		.len_self_encode = true,
		.has_key = true,
	};
	uint8_t sid[3], nonce[4], want[8], cid[8];
	struct cidlb_cid_config *c;

	(void)state;
	unhex("fdf726a9893ec05c0632d3956680baf0", p.key);
	unhex("31441a", sid);
	unhex("9c69c275", nonce);
	unhex("a767947d29be054a", want); /* 0x07 | 5 << 5 */
	c = cfg_new(&p);
	assert_int_equal(cidlb_cid_encode(c, sid, 3, nonce, 4, cid, 8), 8);
	assert_memory_equal(cid, want, 8);
	cidlb_cid_config_free(c);
}

/* ---- round trips over every legal (sid_len, nonce_len) ------------------ */

#define RT_ITERS 100

static void roundtrip_pair(uint8_t sid_len, uint8_t nonce_len, bool keyed, unsigned int seq)
{
	uint8_t pt_len = sid_len + nonce_len;
	struct cidlb_cid_params p = {
		.config_id = seq % 7,
		.server_id_len = sid_len,
		.nonce_len = nonce_len,
		.has_key = keyed,
		.len_self_encode = seq & 1,
		.extra_len = (uint8_t)(seq % (20 - pt_len)), /* 0..19-pt_len */
	};
	size_t cid_len = 1 + pt_len + p.extra_len;
	struct cidlb_cid_config *c;

	if (keyed)
		rnd(p.key, sizeof(p.key));
	c = cfg_new(&p);
	assert_int_equal(cidlb_cid_config_cid_len(c), cid_len);
	assert_int_equal(cidlb_cid_config_algo(c), !keyed	? CIDLB_CID_ALGO_PLAINTEXT :
						   pt_len == 16 ? CIDLB_CID_ALGO_SINGLE_PASS :
								  CIDLB_CID_ALGO_FOUR_PASS);

	for (int i = 0; i < RT_ITERS; i++) {
		uint8_t sid[15], nonce[18], cid[21];
		struct cidlb_cid_info info;
		bool own_nonce = i & 1;

		rnd(sid, sid_len);
		rnd(nonce, nonce_len);
		memset(cid, 0xaa, sizeof(cid));
		assert_int_equal(cidlb_cid_encode(c, sid, sid_len, own_nonce ? nonce : NULL,
						  nonce_len, cid, cid_len),
				 cid_len);
		assert_int_equal(cid[cid_len], 0xaa); /* no overrun */
		assert_int_equal(cid[0] >> 5, p.config_id);
		if (p.len_self_encode)
			assert_int_equal(cid[0] & 0x1f, cid_len - 1);

		if (!keyed) {
			/* plaintext: server ID and nonce in clear */
			assert_memory_equal(cid + 1, sid, sid_len);
			if (own_nonce)
				assert_memory_equal(cid + 1 + sid_len, nonce, nonce_len);
		} else if (own_nonce) {
			/* encrypted: the block is not the plaintext */
			uint8_t pt[19];

			memcpy(pt, sid, sid_len);
			memcpy(pt + sid_len, nonce, nonce_len);
			assert_memory_not_equal(cid + 1, pt, pt_len);
		}

		assert_int_equal(cidlb_cid_decode(c, cid, cid_len, &info), CIDLB_CID_ROUTABLE);
		assert_int_equal(info.config_id, p.config_id);
		assert_int_equal(info.server_id_len, sid_len);
		assert_int_equal(info.nonce_len, nonce_len);
		assert_memory_equal(info.server_id, sid, sid_len);
		if (own_nonce)
			assert_memory_equal(info.nonce, nonce, nonce_len);

		/* Only 1 + pt_len octets matter: extra octets are ignored. */
		if (p.extra_len) {
			struct cidlb_cid_info info2;

			cid[cid_len - 1] ^= 0xff;
			assert_int_equal(cidlb_cid_decode(c, cid, cid_len, &info2),
					 CIDLB_CID_ROUTABLE);
			assert_memory_equal(&info2, &info, sizeof(info));
		}
		/* The decode of the exact minimum length works too. */
		assert_int_equal(cidlb_cid_decode(c, cid, 1 + pt_len, &info), CIDLB_CID_ROUTABLE);
		assert_memory_equal(info.server_id, sid, sid_len);
	}
	cidlb_cid_config_free(c);
}

static void test_roundtrip_all_pairs(void **state)
{
	unsigned int pairs = 0, seq = 0;

	(void)state;
	for (uint8_t s = 1; s <= 15; s++) {
		for (uint8_t n = 4; n <= 18 && s + n <= 19; n++) {
			roundtrip_pair(s, n, false, seq++);
			roundtrip_pair(s, n, true, seq++);
			pairs++;
		}
	}
	assert_int_equal(pairs, 120);
}

/* Without self-encoding the low 5 bits of octet 0 are random. */
static void test_first_octet_random_bits(void **state)
{
	struct cidlb_cid_params p = {
		.config_id = 3,
		.server_id_len = 2,
		.nonce_len = 6,
		.has_key = true,
	};
	struct cidlb_cid_config *c;
	unsigned int seen = 0, distinct = 0;
	uint8_t sid[2] = { 1, 2 }, cid[9];

	(void)state;
	c = cfg_new(&p);
	for (int i = 0; i < 512; i++) {
		assert_int_equal(cidlb_cid_encode(c, sid, 2, NULL, 0, cid, 9), 9);
		assert_int_equal(cid[0] >> 5, 3);
		seen |= 1u << (cid[0] & 0x1f);
	}
	for (int b = 0; b < 32; b++)
		distinct += (seen >> b) & 1;
	/* 512 uniform draws miss a given value with p = 1e-7 */
	assert_int_equal(distinct, 32);
	cidlb_cid_config_free(c);
}

/* ---- unroutable --------------------------------------------------------- */

static void test_unroutable_cids(void **state)
{
	struct cidlb_cid_decoder *d = cidlb_cid_decoder_new();
	struct cidlb_cid_params p = {
		.config_id = 0,
		.server_id_len = 3,
		.nonce_len = 4,
	};
	struct cidlb_cid_info info;
	uint8_t cid[21], a[20], b[20];

	(void)state;
	assert_non_null(d);
	assert_int_equal(cidlb_cid_decoder_add(d, &p, NULL), 0);

	assert_int_equal(cidlb_cid_unroutable(cid, 8), 8);
	assert_int_equal(cid[0], 0xe7);
	assert_int_equal(cidlb_cid_decoder_decode(d, cid, 8, &info), CIDLB_CID_UNROUTABLE_CR7);
	assert_int_equal(info.config_id, 7);
	assert_int_equal(info.server_id_len, 0);

	assert_int_equal(cidlb_cid_unroutable(a, 20), 20);
	assert_int_equal(cidlb_cid_unroutable(b, 20), 20);
	assert_int_equal(a[0], 0xf3);
	assert_memory_not_equal(a + 1, b + 1, 19); /* random rest */

	assert_int_equal(cidlb_cid_unroutable(cid, 7), -EINVAL);
	assert_int_equal(cidlb_cid_unroutable(cid, 21), -EINVAL);
	assert_int_equal(cidlb_cid_unroutable(NULL, 8), -EINVAL);
	cidlb_cid_decoder_free(d);
}

struct unroutable_case {
	const char *name;
	const char *cid;
	int want;
};

/* A decoder holding only config 0 (sid 3, nonce 4, plaintext). */
static const struct unroutable_case unroutable_cases[] = {
	{ "cr 7, one octet (quiche rejects ff)", "ff", CIDLB_CID_UNROUTABLE_CR7 },
	{ "cr 7, no self-encoded length", "e0c4605e4504cc4f", CIDLB_CID_UNROUTABLE_CR7 },
	{ "config 1 not held", "27c4605e4504cc4f", CIDLB_CID_NO_CONFIG },
	{ "config 6 not held", "c7c4605e4504cc4f", CIDLB_CID_NO_CONFIG },
	{ "too short: 1 + 6 < 8", "07c4605e4504cc", CIDLB_CID_TOO_SHORT },
	{ "too short: first octet only", "07", CIDLB_CID_TOO_SHORT },
	{ "empty", "", CIDLB_CID_TOO_SHORT },
	{ "routable, longer than needed", "07c4605e4504cc4f99", CIDLB_CID_ROUTABLE },
};

static void test_unroutable_cases(void **state)
{
	struct cidlb_cid_decoder *d = cidlb_cid_decoder_new();
	struct cidlb_cid_params p = {
		.config_id = 0,
		.server_id_len = 3,
		.nonce_len = 4,
	};
	struct cidlb_cid_config *c;

	(void)state;
	assert_int_equal(cidlb_cid_decoder_add(d, &p, NULL), 0);
	c = cfg_new(&p);
	for (size_t i = 0; i < sizeof(unroutable_cases) / sizeof(unroutable_cases[0]); i++) {
		const struct unroutable_case *u = &unroutable_cases[i];
		struct cidlb_cid_info info;
		uint8_t cid[20];
		size_t len = unhex(u->cid, cid);

		print_message("unroutable %s\n", u->name);
		assert_int_equal(cidlb_cid_decoder_decode(d, cid, len, &info), u->want);
		assert_int_equal(cidlb_cid_decode(c, cid, len, &info), u->want);
		if (u->want == CIDLB_CID_ROUTABLE) {
			assert_memory_equal(info.server_id, "\xc4\x60\x5e", 3);
			assert_memory_equal(info.nonce, "\x45\x04\xcc\x4f", 4);
		} else {
			assert_int_equal(info.server_id_len, 0);
		}
	}
	assert_string_equal(cidlb_cid_status_str(CIDLB_CID_UNROUTABLE_CR7),
			    "config ID 7 (unroutable)");
	assert_string_equal(cidlb_cid_status_str(CIDLB_CID_NO_CONFIG), "config ID not held");
	assert_string_equal(cidlb_cid_status_str(CIDLB_CID_TOO_SHORT),
			    "CID too short for its config");
	assert_int_equal(cidlb_cid_decoder_decode(d, NULL, 0, NULL), -EINVAL);
	cidlb_cid_config_free(c);
	cidlb_cid_decoder_free(d);
}

/* ---- config rules ------------------------------------------------------- */

struct config_case {
	const char *name;
	struct cidlb_cid_params p;
	const char *why; /* NULL: valid */
};

static const struct config_case config_cases[] = {
	{ "config id 7",
	  { .config_id = 7, .server_id_len = 3, .nonce_len = 4 },
	  "config_id must be 0..6 (7 is reserved for unroutable CIDs)" },
	{ "config id 255",
	  { .config_id = 255, .server_id_len = 3, .nonce_len = 4 },
	  "config_id must be 0..6 (7 is reserved for unroutable CIDs)" },
	{ "sid_len 0", { .server_id_len = 0, .nonce_len = 4 }, "server_id_len must be 1..15" },
	{ "sid_len 16", { .server_id_len = 16, .nonce_len = 4 }, "server_id_len must be 1..15" },
	{ "nonce_len 3", { .server_id_len = 3, .nonce_len = 3 }, "nonce_len must be 4..18" },
	{ "nonce_len 19", { .server_id_len = 1, .nonce_len = 19 }, "nonce_len must be 4..18" },
	{ "sid+nonce 20",
	  { .server_id_len = 2, .nonce_len = 18 },
	  "server_id_len + nonce_len must be at most 19" },
	{ "sid+nonce 20 (15+5)",
	  { .server_id_len = 15, .nonce_len = 5 },
	  "server_id_len + nonce_len must be at most 19" },
	{ "cid 21 with extras",
	  { .server_id_len = 3, .nonce_len = 4, .extra_len = 13 },
	  "CID length 1 + server_id_len + nonce_len + extra_len must be at most 20" },
	{ "cid 21, 19 + 1 extra",
	  { .server_id_len = 15, .nonce_len = 4, .extra_len = 1 },
	  "CID length 1 + server_id_len + nonce_len + extra_len must be at most 20" },
	{ "valid: cid 20 with extras",
	  { .config_id = 6, .server_id_len = 3, .nonce_len = 4, .extra_len = 12 },
	  NULL },
	{ "valid: 15 + 4", { .server_id_len = 15, .nonce_len = 4 }, NULL },
	{ "valid: 1 + 18 keyed", { .server_id_len = 1, .nonce_len = 18, .has_key = true }, NULL },
};

static void test_invalid_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(config_cases) / sizeof(config_cases[0]); i++) {
		const struct config_case *t = &config_cases[i];
		struct cidlb_cid_config *c = (void *)1;
		const char *why = "unset";

		print_message("config %s\n", t->name);
		assert_int_equal(cidlb_cid_params_check(&t->p, &why), t->why ? -EINVAL : 0);
		if (t->why)
			assert_string_equal(why, t->why);
		else
			assert_null(why);
		why = "unset";
		assert_int_equal(cidlb_cid_config_new(&t->p, &c, &why), t->why ? -EINVAL : 0);
		if (t->why) {
			assert_string_equal(why, t->why);
			assert_null(c);
		} else {
			assert_null(why);
			assert_non_null(c);
			cidlb_cid_config_free(c);
		}
	}
	assert_int_equal(cidlb_cid_params_check(NULL, NULL), -EINVAL);
}

static void test_api_errors(void **state)
{
	struct cidlb_cid_params p = { .server_id_len = 3, .nonce_len = 4 };
	struct cidlb_cid_config *c = cfg_new(&p);
	uint8_t sid[3] = { 0 }, nonce[4] = { 0 }, cid[20];

	(void)state;
	assert_int_equal(cidlb_cid_encode(c, sid, 2, NULL, 0, cid, 20), -EINVAL);
	assert_int_equal(cidlb_cid_encode(c, sid, 3, nonce, 5, cid, 20), -EINVAL);
	assert_int_equal(cidlb_cid_encode(c, sid, 3, NULL, 0, cid, 7), -ENOBUFS);
	assert_int_equal(cidlb_cid_encode(c, NULL, 3, NULL, 0, cid, 20), -EINVAL);
	assert_int_equal(cidlb_cid_encode(c, sid, 3, NULL, 0, NULL, 20), -EINVAL);
	assert_int_equal(cidlb_cid_encode(c, sid, 3, NULL, 0, cid, 8), 8);
	assert_int_equal(cidlb_cid_decode(c, cid, 8, NULL), -EINVAL);
	assert_string_equal(cidlb_cid_algo_str(CIDLB_CID_ALGO_FOUR_PASS), "four-pass");
	cidlb_cid_config_free(c);
	cidlb_cid_config_free(NULL);
	cidlb_cid_decoder_free(NULL);
}

/* ---- decoder ------------------------------------------------------------ */

static void test_decoder_seven_configs(void **state)
{
	struct cidlb_cid_decoder *d = cidlb_cid_decoder_new();
	struct cidlb_cid_config *c[7];
	struct cidlb_cid_info info;
	uint8_t sid[15], cid[20];

	(void)state;
	for (uint8_t id = 0; id < 7; id++) {
		struct cidlb_cid_params p = {
			.config_id = id,
			.server_id_len = 1 + id,
			.nonce_len = 4 + id,
			.has_key = id & 1,
			.len_self_encode = true,
		};

		if (p.has_key)
			rnd(p.key, 16);
		c[id] = cfg_new(&p);
		assert_int_equal(cidlb_cid_decoder_add(d, &p, NULL), 0);
	}
	for (uint8_t id = 0; id < 7; id++) {
		int len;

		rnd(sid, sizeof(sid));
		len = cidlb_cid_encode(c[id], sid, 1 + id, NULL, 0, cid, 20);
		assert_int_equal(len, 1 + 1 + id + 4 + id);
		assert_int_equal(cidlb_cid_decoder_decode(d, cid, len, &info), CIDLB_CID_ROUTABLE);
		assert_int_equal(info.config_id, id);
		assert_int_equal(info.server_id_len, 1 + id);
		assert_memory_equal(info.server_id, sid, 1 + id);
	}
	/* remove config 4: its CIDs become "config not held" */
	assert_int_equal(cidlb_cid_encode(c[4], sid, 5, NULL, 0, cid, 20), 14);
	assert_int_equal(cidlb_cid_decoder_remove(d, 4), 0);
	assert_int_equal(cidlb_cid_decoder_decode(d, cid, 14, &info), CIDLB_CID_NO_CONFIG);
	assert_int_equal(info.config_id, 4);
	assert_int_equal(cidlb_cid_decoder_remove(d, 4), -ENOENT);
	assert_int_equal(cidlb_cid_decoder_remove(d, 7), -EINVAL);

	/* a bad config leaves the decoder unchanged */
	struct cidlb_cid_params bad = { .config_id = 2, .server_id_len = 0, .nonce_len = 4 };
	const char *why = NULL;

	assert_int_equal(cidlb_cid_decoder_add(d, &bad, &why), -EINVAL);
	assert_string_equal(why, "server_id_len must be 1..15");
	assert_int_equal(cidlb_cid_encode(c[2], sid, 3, NULL, 0, cid, 20), 10);
	assert_int_equal(cidlb_cid_decoder_decode(d, cid, 10, &info), CIDLB_CID_ROUTABLE);
	assert_memory_equal(info.server_id, sid, 3);

	for (int id = 0; id < 7; id++)
		cidlb_cid_config_free(c[id]);
	cidlb_cid_decoder_free(d);
}

/* ---- nonces ------------------------------------------------------------- */

static uint64_t be_n(const uint8_t *b, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

/* Keyed nonces are start, start + 1, ... and run out at the wrap. */
static void test_nonce_counter_and_exhaustion(void **state)
{
	struct cidlb_cid_params p = {
		.config_id = 1,
		.server_id_len = 3,
		.nonce_len = 4,
		.has_key = true,
		.len_self_encode = true,
	};
	uint8_t start[18], sid[3] = { 9, 8, 7 }, cid[8];
	struct cidlb_cid_info info;
	struct cidlb_cid_config *c;
	uint64_t issued, s;

	(void)state;
	rnd(p.key, 16);
	c = cfg_new(&p);
	cidlb__cid_config_nonce_state(c, start, &issued);
	assert_int_equal(issued, 0);
	s = be_n(start, 4);
	assert_true(cidlb_cid_config_nonces_left(c) == (uint64_t)1 << 32);

	for (uint64_t i = 0; i < 3; i++) {
		assert_int_equal(cidlb_cid_encode(c, sid, 3, NULL, 0, cid, 8), 8);
		assert_int_equal(cidlb_cid_decode(c, cid, 8, &info), CIDLB_CID_ROUTABLE);
		assert_int_equal(be_n(info.nonce, 4), (s + i) & 0xffffffff);
	}

	/* jump to 3 before the wrap: the last nonces end at start - 1 */
	cidlb__cid_config_set_issued(c, ((uint64_t)1 << 32) - 3);
	assert_int_equal(cidlb_cid_config_nonces_left(c), 3);
	for (uint64_t i = 3; i > 0; i--) {
		assert_int_equal(cidlb_cid_encode(c, sid, 3, NULL, 0, cid, 8), 8);
		assert_int_equal(cidlb_cid_decode(c, cid, 8, &info), CIDLB_CID_ROUTABLE);
		assert_int_equal(be_n(info.nonce, 4), (s - i) & 0xffffffff);
	}
	assert_int_equal(cidlb_cid_config_nonces_left(c), 0);
	assert_int_equal(cidlb_cid_encode(c, sid, 3, NULL, 0, cid, 8), -ENOSPC);
	assert_int_equal(cidlb_cid_encode(c, sid, 3, NULL, 0, cid, 8), -ENOSPC);
	/* a caller-chosen nonce does not use the counter */
	assert_int_equal(cidlb_cid_encode(c, sid, 3, start, 4, cid, 8), 8);
	cidlb_cid_config_free(c);

	/* plaintext nonces are random: never exhausted */
	p.has_key = false;
	c = cfg_new(&p);
	assert_true(cidlb_cid_config_nonces_left(c) == UINT64_MAX);
	cidlb_cid_config_free(c);

	/* nonce_len >= 8: capped at 2^64 - 1 */
	p.has_key = true;
	p.nonce_len = 8;
	c = cfg_new(&p);
	assert_true(cidlb_cid_config_nonces_left(c) == UINT64_MAX);
	cidlb_cid_config_free(c);
}

/* The counter's carry runs across all octets of a long nonce. */
static void test_nonce_carry(void **state)
{
	struct cidlb_cid_params p = {
		.server_id_len = 1,
		.nonce_len = 18,
		.has_key = true,
	};
	uint8_t start[18], want[18], sid[1] = { 0x42 }, cid[20];
	struct cidlb_cid_info info;
	struct cidlb_cid_config *c;
	uint64_t issued, n = 0x0123456789abcdefULL;
	unsigned int carry = 0;

	(void)state;
	rnd(p.key, 16);
	c = cfg_new(&p);
	cidlb__cid_config_nonce_state(c, start, &issued);
	cidlb__cid_config_set_issued(c, n);
	for (int i = 17; i >= 0; i--) {
		unsigned int sum = start[i] +
				   (unsigned int)((i >= 10 ? n >> (8 * (17 - i)) : 0) & 0xff) +
				   carry;

		want[i] = (uint8_t)sum;
		carry = sum >> 8;
	}
	assert_int_equal(cidlb_cid_encode(c, sid, 1, NULL, 0, cid, 20), 20);
	assert_int_equal(cidlb_cid_decode(c, cid, 20, &info), CIDLB_CID_ROUTABLE);
	assert_memory_equal(info.nonce, want, 18);
	cidlb_cid_config_free(c);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#define LONG_RUN 1000000

/* One million CIDs under one key: every decoded nonce is start + i. */
static void test_nonce_unique_long_run(void **state)
{
	struct cidlb_cid_params p = {
		.config_id = 2,
		.server_id_len = 4,
		.nonce_len = 5,
		.has_key = true,
	};
	uint8_t start[18], sid[4] = { 0xde, 0xad, 0xbe, 0xef }, cid[10];
	struct cidlb_cid_info info;
	struct cidlb_cid_config *c;
	uint64_t issued, s, mask = ((uint64_t)1 << 40) - 1;

	(void)state;
	rnd(p.key, 16);
	c = cfg_new(&p);
	cidlb__cid_config_nonce_state(c, start, &issued);
	s = be_n(start, 5);
	for (uint64_t i = 0; i < LONG_RUN; i++) {
		assert_int_equal(cidlb_cid_encode(c, sid, 4, NULL, 0, cid, 10), 10);
		assert_int_equal(cidlb_cid_decode(c, cid, 10, &info), CIDLB_CID_ROUTABLE);
		assert_memory_equal(info.server_id, sid, 4);
		if (be_n(info.nonce, 5) != ((s + i) & mask))
			fail_msg("CID %" PRIu64 ": nonce %010" PRIx64 ", want %010" PRIx64, i,
				 be_n(info.nonce, 5), (s + i) & mask);
	}
	assert_true(cidlb_cid_config_nonces_left(c) == ((uint64_t)1 << 40) - LONG_RUN);
	cidlb_cid_config_free(c);
}

/* ---- threads ------------------------------------------------------------ */

#define THREADS	   12 /* more than the config's AES context pool */
#define PER_THREAD 50000

struct worker {
	pthread_t tid;
	struct cidlb_cid_config *c;
	uint8_t sid[8];
	uint64_t *nonces;
	int err;
};

static void *worker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		struct cidlb_cid_info info;
		uint8_t cid[17];
		int r = cidlb_cid_encode(w->c, w->sid, 8, NULL, 0, cid, 17);

		if (r != 17) {
			w->err = r;
			return NULL;
		}
		r = cidlb_cid_decode(w->c, cid, 17, &info);
		if (r != CIDLB_CID_ROUTABLE || memcmp(info.server_id, w->sid, 8)) {
			w->err = -1000 - r;
			return NULL;
		}
		w->nonces[i] = be_n(info.nonce, 8);
	}
	return NULL;
}

static void run_threads(const struct cidlb_cid_params *p)
{
	struct cidlb_cid_config *c = cfg_new(p);
	uint64_t *all = calloc(THREADS * PER_THREAD, sizeof(*all));
	struct worker w[THREADS];
	uint64_t left0 = cidlb_cid_config_nonces_left(c);

	assert_non_null(all);
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){ .c = c, .nonces = all + t * PER_THREAD };
		memcpy(w[t].sid, "server-1", 8);
		assert_int_equal(pthread_create(&w[t].tid, NULL, worker, &w[t]), 0);
	}
	for (int t = 0; t < THREADS; t++) {
		assert_int_equal(pthread_join(w[t].tid, NULL), 0);
		assert_int_equal(w[t].err, 0);
	}
	qsort(all, THREADS * PER_THREAD, sizeof(*all), cmp_u64);
	for (size_t i = 1; i < THREADS * PER_THREAD; i++)
		if (all[i] == all[i - 1])
			fail_msg("duplicate nonce %016" PRIx64, all[i]);
	if (p->has_key)
		assert_true(left0 - cidlb_cid_config_nonces_left(c) == THREADS * PER_THREAD);
	free(all);
	cidlb_cid_config_free(c);
}

static void test_threads_no_duplicate_nonce(void **state)
{
	struct cidlb_cid_params p = {
		.config_id = 4,
		.server_id_len = 8,
		.nonce_len = 8,
		.has_key = true,
		.len_self_encode = true,
	};

	(void)state;
	rnd(p.key, 16);
	run_threads(&p); /* single-pass: plaintext_len 16 */
}

/* ---- AES key schedules -------------------------------------------------- */

static uint8_t xt(uint8_t a)
{
	return (uint8_t)(a << 1 ^ (a & 0x80 ? 0x1b : 0));
}

static uint8_t gmul(uint8_t a, uint8_t b)
{
	uint8_t r = 0;

	for (; b; b >>= 1, a = xt(a))
		if (b & 1)
			r ^= a;
	return r;
}

/* InvMixColumns of one column held as a classic big-endian word. */
static uint32_t inv_mix(uint32_t w)
{
	uint8_t a[4] = { w >> 24, w >> 16, w >> 8, w }, o[4];

	for (int i = 0; i < 4; i++)
		o[i] = gmul(a[i], 14) ^ gmul(a[(i + 1) % 4], 11) ^ gmul(a[(i + 2) % 4], 13) ^
		       gmul(a[(i + 3) % 4], 9);
	return (uint32_t)o[0] << 24 | o[1] << 16 | o[2] << 8 | o[3];
}

/* cidlb_reset_token(): vectors computed with another AES (Python's
 * cryptography), for one block, the longest one-block string (L = 15) and
 * two blocks; the extra octets of a CID do not enter the token; errors. */
static void test_reset_token(void **state)
{
	static const struct {
		uint8_t config_id, sid_len, nonce_len, extra_len;
		const char *cid, *token;
	} v[] = {
		{ 0, 3, 4, 0, "07010203a1a2a3a4", "970bc830149db584e70295b4fb2dc605" },
		{ 0, 4, 10, 0, "0e01020304b0b1b2b3b4b5b6b7b8b9",
		  "49cc0153d62f9d76149a178bd50362e6" },
		{ 1, 5, 12, 2, "330102030405a0a1a2a3a4a5a6a7a8a9aaabeeff",
		  "647c4ba35228ef1f1429d47a37ae1f47" },
	};
	uint8_t key[CIDLB_RESET_KEY_LEN], cid[20], want[16], tok[16], tok2[16];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct cidlb_cid_params p = { .config_id = v[i].config_id,
					      .server_id_len = v[i].sid_len,
					      .nonce_len = v[i].nonce_len,
					      .extra_len = v[i].extra_len };
		struct cidlb_cid_config *c = cfg_new(&p);

		n = unhex(v[i].cid, cid);
		unhex(v[i].token, want);
		assert_int_equal(cidlb_reset_token(c, key, cid, n, tok), 0);
		assert_memory_equal(tok, want, 16);
		if (v[i].extra_len) {
			cid[n - 1] ^= 0xff; /* an extra octet */
			assert_int_equal(cidlb_reset_token(c, key, cid, n, tok2), 0);
			assert_memory_equal(tok2, want, 16);
			cid[n - 1] ^= 0xff;
		}
		cid[1] ^= 1; /* another CID: another token */
		assert_int_equal(cidlb_reset_token(c, key, cid, n, tok2), 0);
		assert_memory_not_equal(tok2, want, 16);
		cid[1] ^= 1;
		/* too short for the config, another config ID, NULLs */
		assert_int_equal(cidlb_reset_token(c, key, cid,
						   1u + v[i].sid_len + v[i].nonce_len - 1, tok),
				 -EINVAL);
		cid[0] ^= 0x20;
		assert_int_equal(cidlb_reset_token(c, key, cid, n, tok), -EINVAL);
		cid[0] ^= 0x20;
		assert_int_equal(cidlb_reset_token(NULL, key, cid, n, tok), -EINVAL);
		assert_int_equal(cidlb_reset_token(c, NULL, cid, n, tok), -EINVAL);
		assert_int_equal(cidlb_reset_token(c, key, NULL, n, tok), -EINVAL);
		assert_int_equal(cidlb_reset_token(c, key, cid, n, NULL), -EINVAL);
		cidlb_cid_config_free(c);
	}
}

/* A token prefix is the CID of its (server ID, nonce) without the extra
 * octets, length self-encoded as such; every call takes a fresh nonce. */
static void test_token_prefix(void **state)
{
	static const struct {
		uint8_t sid_len, nonce_len, extra_len;
		bool keyed, self_encode;
	} v[] = {
		{ 3, 4, 0, false, true },  { 3, 4, 2, true, true },    { 8, 8, 3, true, true },
		{ 10, 5, 0, true, false }, { 1, 4, 14, false, false },
	};
	uint8_t sid[15], pre[20], pre2[20], cid[20];
	struct cidlb_cid_info info, info2;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct cidlb_cid_params p = { .config_id = (uint8_t)(i % 7),
					      .server_id_len = v[i].sid_len,
					      .nonce_len = v[i].nonce_len,
					      .extra_len = v[i].extra_len,
					      .len_self_encode = v[i].self_encode,
					      .has_key = v[i].keyed };
		struct cidlb_cid_config *c;

		if (p.has_key)
			unhex(KEY_B2, p.key);
		c = cfg_new(&p);
		rnd(sid, sizeof(sid));
		len = 1u + v[i].sid_len + v[i].nonce_len;
		assert_int_equal(cidlb_token_prefix_len(c), len);
		assert_int_equal(cidlb_token_prefix(c, sid, v[i].sid_len, pre, sizeof(pre)), len);
		assert_int_equal(pre[0] >> 5, i % 7);
		if (v[i].self_encode)
			assert_int_equal(pre[0] & 0x1f, len - 1);
		/* the CID decoder reads it, whatever follows it in the token */
		memcpy(cid, pre, len);
		rnd(cid + len, sizeof(cid) - len);
		assert_int_equal(cidlb_cid_decode(c, cid, sizeof(cid), &info), CIDLB_CID_ROUTABLE);
		assert_memory_equal(info.server_id, sid, v[i].sid_len);
		/* the octets of the CID of that nonce, up to its extra octets */
		assert_int_equal(cidlb_cid_encode(c, sid, v[i].sid_len, info.nonce, v[i].nonce_len,
						  cid, sizeof(cid)),
				 len + v[i].extra_len);
		assert_memory_equal(cid + 1, pre + 1, len - 1);
		assert_int_equal(cid[0] & 0xe0, pre[0] & 0xe0);
		/* the next prefix: another nonce, other octets */
		assert_int_equal(cidlb_token_prefix(c, sid, v[i].sid_len, pre2, sizeof(pre2)), len);
		assert_int_equal(cidlb_cid_decode(c, pre2, len, &info2), CIDLB_CID_ROUTABLE);
		assert_memory_equal(info2.server_id, sid, v[i].sid_len);
		assert_memory_not_equal(info2.nonce, info.nonce, v[i].nonce_len);
		assert_memory_not_equal(pre2 + 1, pre + 1, len - 1);
		/* errors */
		assert_int_equal(cidlb_token_prefix(c, sid, v[i].sid_len, pre, len - 1), -ENOBUFS);
		assert_int_equal(cidlb_token_prefix(c, sid, v[i].sid_len + 1u, pre, sizeof(pre)),
				 -EINVAL);
		assert_int_equal(cidlb_token_prefix(c, NULL, v[i].sid_len, pre, sizeof(pre)),
				 -EINVAL);
		assert_int_equal(cidlb_token_prefix(NULL, sid, v[i].sid_len, pre, sizeof(pre)),
				 -EINVAL);
		assert_int_equal(cidlb_token_prefix(c, sid, v[i].sid_len, NULL, sizeof(pre)),
				 -EINVAL);
		cidlb_cid_config_free(c);
	}
}

/* The four-pass vector of the draft as a token prefix: the octets the LB
 * tests (tests/bpf/test_datapath.c) route by. */
static void test_token_prefix_vector(void **state)
{
	struct cidlb_cid_params p = { .config_id = 0,
				      .server_id_len = 3,
				      .nonce_len = 4,
				      .len_self_encode = true,
				      .has_key = true };
	uint8_t tok[32], sid[3];
	struct cidlb_cid_info info;
	struct cidlb_cid_config *c;
	size_t n;

	(void)state;
	unhex("fdf726a9893ec05c0632d3956680baf0", p.key);
	c = cfg_new(&p);
	/* prefix 0767947d29be054a, then the server's own token */
	n = unhex("0767947d29be054a00112233445566778899aabbccddeeff", tok);
	assert_int_equal(cidlb_cid_decode(c, tok, n, &info), CIDLB_CID_ROUTABLE);
	unhex("31441a", sid);
	assert_memory_equal(info.server_id, sid, 3);
	cidlb_cid_config_free(c);
}

static void test_aes_key_schedules(void **state)
{
	uint8_t key[16];
	uint32_t enc[44], dec[44];

	(void)state;
	/* FIPS-197 appendix A.1 */
	unhex("2b7e151628aed2a6abf7158809cf4f3c", key);
	assert_int_equal(cidlb_aes128_key_schedules(key, enc, dec), 0);
	assert_int_equal(enc[0], 0x2b7e1516);
	assert_int_equal(enc[3], 0x09cf4f3c);
	assert_int_equal(enc[4], 0xa0fafe17);
	assert_int_equal(enc[5], 0x88542cb1);
	assert_int_equal(enc[40], 0xd014f9a8);
	assert_int_equal(enc[43], 0xb6630ca6);
	for (int r = 0; r <= 10; r++) {
		for (int j = 0; j < 4; j++) {
			uint32_t e = enc[4 * (10 - r) + j];

			assert_int_equal(dec[4 * r + j], r == 0 || r == 10 ? e : inv_mix(e));
		}
	}
	/* FIPS-197 C.1 key: round 1 word 0 is d6aa74fd */
	unhex("000102030405060708090a0b0c0d0e0f", key);
	assert_int_equal(cidlb_aes128_key_schedules(key, enc, dec), 0);
	assert_int_equal(enc[0], 0x00010203);
	assert_int_equal(enc[4], 0xd6aa74fd);
	assert_int_equal(dec[0], 0x13111d7f);
	assert_int_equal(cidlb_aes128_key_schedules(NULL, enc, dec), -EINVAL);
}

/* ---- the ngtcp2 example ------------------------------------------------- */

static void test_example_ngtcp2_runs(void **state)
{
	const char *build = getenv("BUILD");
	char cmd[512];
	int st;

	(void)state;
	snprintf(cmd, sizeof(cmd), "%s/examples/ngtcp2_cid >/dev/null", build ? build : "build");
	st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_config_id_not_in_cipher),
		cmocka_unit_test(test_roundtrip_all_pairs),
		cmocka_unit_test(test_first_octet_random_bits),
		cmocka_unit_test(test_unroutable_cids),
		cmocka_unit_test(test_unroutable_cases),
		cmocka_unit_test(test_invalid_configs),
		cmocka_unit_test(test_api_errors),
		cmocka_unit_test(test_decoder_seven_configs),
		cmocka_unit_test(test_nonce_counter_and_exhaustion),
		cmocka_unit_test(test_nonce_carry),
		cmocka_unit_test(test_nonce_unique_long_run),
		cmocka_unit_test(test_threads_no_duplicate_nonce),
		cmocka_unit_test(test_aes_key_schedules),
		cmocka_unit_test(test_reset_token),
		cmocka_unit_test(test_token_prefix),
		cmocka_unit_test(test_token_prefix_vector),
		cmocka_unit_test(test_example_ngtcp2_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
