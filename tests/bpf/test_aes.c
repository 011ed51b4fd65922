// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_aes - the XDP AES-128 (bpf/aes.h) and encrypted QUIC-LB decoding
 * (bpf/cid_crypto.h), run through build/tests/aes_probe.bpf.o with
 * BPF_PROG_TEST_RUN and checked against OpenSSL:
 *   - AES blocks against AES_ecb_encrypt and EVP, FIPS-197 C.1;
 *   - the vectors of draft-21 Appendix B (docs/quic-lb.md);
 *   - every legal (sid_len, nonce_len) pair: CIDs made by the reference
 *     encoder below (written from draft-21 §5.4.2, over EVP
 *     AES-128-ECB) decode to their server IDs;
 *   - inconsistent configs and malformed requests are refused.
 * Random inputs come from a seed printed at start; TEST_SEED=n repeats a run.
 * Needs root (BPF_PROG_LOAD). BUILD (default "build") locates the object.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <openssl/aes.h>
#include <openssl/evp.h>

#include "cidlb_maps.h"
#include "cidlb/cidlb.h"

/* The probe's request ops (tests/bpf/aes_probe.bpf.c). */
enum {
	OP_ENCRYPT = 0,
	OP_DECRYPT = 1,
	OP_FOUR = 2,
	OP_SINGLE = 3
};
#define PKT_LEN (1 + CIDLB_CID_MAX)

static struct bpf_object *obj;
static int prog_fd = -1, cfg_fd = -1;
static uint64_t rng_state;

/* ---- helpers --------------------------------------------------------- */

static uint64_t rnd64(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)(rnd64() >> 56);
}

static void hex(const char *tag, const uint8_t *p, size_t n)
{
	fprintf(stderr, "  %-9s ", tag);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%02x", p[i]);
	fprintf(stderr, "\n");
}

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* Fails the test with expected and actual octets side by side. */
#define assert_octets(what, exp, act, n) \
	do { \
		if (memcmp((exp), (act), (n))) { \
			fprintf(stderr, "%s differs:\n", (what)); \
			hex("expected", (exp), (n)); \
			hex("actual", (act), (n)); \
			fail(); \
		} \
	} while (0)

/* Key schedules in the layout bpf/aes.h reads, as the daemon writes them
 * (libcidlb). Its own probe of OpenSSL's layout is the one to trust: a
 * copy here that judged each key by its first word failed for keys whose
 * first word reads the same byte-swapped (357a7a35...). */
static void key_schedules(const uint8_t key[16], uint32_t enc[44], uint32_t dec[44])
{
	assert_int_equal(cidlb_aes128_key_schedules(key, enc, dec), 0);
}

static void set_config(uint8_t mode, int sid_len, int nonce_len, const uint8_t key[16])
{
	struct cidlb_config c;
	uint32_t zero = 0;

	memset(&c, 0, sizeof(c));
	c.mode = mode;
	c.sid_len = (uint8_t)sid_len;
	c.nonce_len = (uint8_t)nonce_len;
	c.pt_len = (uint8_t)(sid_len + nonce_len);
	c.half_len = (uint8_t)((sid_len + nonce_len + 1) / 2);
	if (key)
		key_schedules(key, c.enc_rk, c.dec_rk);
	assert_int_equal(bpf_map_update_elem(cfg_fd, &zero, &c, BPF_ANY), 0);
}

static void put_config(const struct cidlb_config *c)
{
	uint32_t zero = 0;

	assert_int_equal(bpf_map_update_elem(cfg_fd, &zero, c, BPF_ANY), 0);
}

/* Runs one request; returns the XDP verdict, out gets octets 1..20. */
static int probe(int op, const uint8_t *in, size_t in_len, uint8_t out[CIDLB_CID_MAX])
{
	uint8_t pkt[PKT_LEN] = { (uint8_t)op }, res[PKT_LEN + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .data_out = res, .data_size_out = sizeof(res), .repeat = 1, );

	assert_true(in_len <= CIDLB_CID_MAX);
	memcpy(pkt + 1, in, in_len);
	assert_int_equal(bpf_prog_test_run_opts(prog_fd, &opts), 0);
	assert_int_equal(opts.data_size_out, sizeof(pkt));
	if (out)
		memcpy(out, res + 1, CIDLB_CID_MAX);
	return (int)opts.retval;
}

/* ---- reference encoder (server side), from draft-21 §5.4 ------------- */

static EVP_CIPHER_CTX *ecb_new(const uint8_t key[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	return ctx;
}

static void ecb_block(EVP_CIPHER_CTX *ctx, const uint8_t in[16], uint8_t out[16])
{
	int n = 0;

	assert_int_equal(EVP_EncryptUpdate(ctx, out, &n, in, 16), 1);
	assert_int_equal(n, 16);
}

/* F(pass, half): AES over expand() (draft-19+ layout), truncated. */
static void ref_f(EVP_CIPHER_CTX *ctx, int pt_len, int pass, const uint8_t *half, int half_len,
		  uint8_t *out)
{
	uint8_t in[16] = { 0 }, enc[16];

	memcpy(in, half, half_len);
	in[14] = (uint8_t)pt_len;
	in[15] = (uint8_t)pass;
	ecb_block(ctx, in, enc);
	memcpy(out, enc, half_len);
}

/* One Feistel step: dst ^= F(pass, src), then the odd-length nibble mask. */
static void ref_step(EVP_CIPHER_CTX *ctx, int pt_len, int pass, const uint8_t *src, uint8_t *dst,
		     int h, int dst_is_left)
{
	uint8_t f[10];

	ref_f(ctx, pt_len, pass, src, h, f);
	for (int i = 0; i < h; i++)
		dst[i] ^= f[i];
	if (pt_len & 1) {
		if (dst_is_left)
			dst[h - 1] &= 0xf0;
		else
			dst[0] &= 0x0f;
	}
}

/* cid[1..pt_len] = encode(sid || nonce); cid[0] is left to the caller. */
static void ref_encode(EVP_CIPHER_CTX *ctx, const uint8_t *sid, int sid_len, const uint8_t *nonce,
		       int nonce_len, uint8_t *cid)
{
	int pt_len = sid_len + nonce_len, h = (pt_len + 1) / 2;
	uint8_t pt[CIDLB_PT_MAX], l[10], r[10];

	memcpy(pt, sid, sid_len);
	memcpy(pt + sid_len, nonce, nonce_len);
	if (pt_len == 16) { /* single pass */
		ecb_block(ctx, pt, cid + 1);
		return;
	}
	/* split() */
	memcpy(l, pt, h);
	memcpy(r, pt + pt_len - h, h);
	if (pt_len & 1) {
		l[h - 1] &= 0xf0;
		r[0] &= 0x0f;
	}
	ref_step(ctx, pt_len, 1, l, r, h, 0);
	ref_step(ctx, pt_len, 2, r, l, h, 1);
	ref_step(ctx, pt_len, 3, l, r, h, 0);
	ref_step(ctx, pt_len, 4, r, l, h, 1);
	/* join() */
	memcpy(cid + 1, l, h);
	if (pt_len & 1) {
		cid[h] |= r[0];
		memcpy(cid + 1 + h, r + 1, h - 1);
	} else {
		memcpy(cid + 1 + h, r, h);
	}
}

/* ---- setup ----------------------------------------------------------- */

static int setup(void **state)
{
	const char *build = getenv("BUILD");
	const char *seed = getenv("TEST_SEED");
	char path[4096];
	struct bpf_program *prog;
	struct bpf_map *map;
	int err;

	(void)state;
	if (seed) {
		rng_state = strtoull(seed, NULL, 0);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		rng_state = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec;
	}
	if (!rng_state)
		rng_state = 1;
	fprintf(stderr, "test_aes: TEST_SEED=%" PRIu64 "\n", rng_state);

	snprintf(path, sizeof(path), "%s/tests/aes_probe.bpf.o", build ? build : "build");
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "test_aes: cannot open %s: %s (run make first)\n", path,
			strerror(errno));
		return -1;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "test_aes: loading %s failed: %s (root needed)\n", path,
			strerror(-err));
		return -1;
	}
	prog = bpf_object__find_program_by_name(obj, "aes_probe");
	map = bpf_object__find_map_by_name(obj, "probe_cfg");
	if (!prog || !map) {
		fprintf(stderr, "test_aes: aes_probe or probe_cfg missing in %s\n", path);
		return -1;
	}
	prog_fd = bpf_program__fd(prog);
	cfg_fd = bpf_map__fd(map);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	bpf_object__close(obj);
	return 0;
}

/* ---- AES block cipher ------------------------------------------------ */

static void test_fips197_c1(void **state)
{
	uint8_t key[16], pt[16], ct[16], out[CIDLB_CID_MAX];

	(void)state;
	unhex("000102030405060708090a0b0c0d0e0f", key, 16);
	unhex("00112233445566778899aabbccddeeff", pt, 16);
	unhex("69c4e0d86a7b0430d8cdb78070b4c55a", ct, 16);
	set_config(CIDLB_MODE_SINGLE_PASS, 8, 8, key);
	assert_int_equal(probe(OP_ENCRYPT, pt, 16, out), XDP_TX);
	assert_octets("FIPS-197 C.1 encrypt", ct, out, 16);
	assert_int_equal(probe(OP_DECRYPT, ct, 16, out), XDP_TX);
	assert_octets("FIPS-197 C.1 decrypt", pt, out, 16);
}

#define RANDOM_KEYS    256
#define BLOCKS_PER_KEY 32

static void test_random_blocks(void **state)
{
	uint8_t key[16], in[16], exp[16], evp[16], out[CIDLB_CID_MAX];
	AES_KEY ek, dk;
	int k, i;

	(void)state;
	for (k = 0; k < RANDOM_KEYS; k++) {
		EVP_CIPHER_CTX *ctx;

		rnd_bytes(key, 16);
		set_config(CIDLB_MODE_SINGLE_PASS, 8, 8, key);
		AES_set_encrypt_key(key, 128, &ek);
		AES_set_decrypt_key(key, 128, &dk);
		ctx = ecb_new(key);
		for (i = 0; i < BLOCKS_PER_KEY; i++) {
			rnd_bytes(in, 16);

			AES_ecb_encrypt(in, exp, &ek, AES_ENCRYPT);
			ecb_block(ctx, in, evp);
			assert_octets("OpenSSL AES vs EVP", exp, evp, 16);
			assert_int_equal(probe(OP_ENCRYPT, in, 16, out), XDP_TX);
			if (memcmp(exp, out, 16))
				hex("key", key, 16), hex("block", in, 16);
			assert_octets("BPF encrypt", exp, out, 16);

			AES_ecb_encrypt(in, exp, &dk, AES_DECRYPT);
			assert_int_equal(probe(OP_DECRYPT, in, 16, out), XDP_TX);
			if (memcmp(exp, out, 16))
				hex("key", key, 16), hex("block", in, 16);
			assert_octets("BPF decrypt", exp, out, 16);
		}
		EVP_CIPHER_CTX_free(ctx);
	}
}

/* ---- QUIC-LB vectors (draft-21 Appendix B, docs/quic-lb.md) ------- */

struct vector {
	const char *name;
	uint8_t mode;
	int sid_len, nonce_len;
	const char *key, *sid, *nonce, *cid;
};

static const struct vector vectors[] = {
	{ "single-pass", CIDLB_MODE_SINGLE_PASS, 8, 8, "8f95f09245765f80256934e50c66207f",
	  "ed793a51d49b8f5f", "ee080dbf48c0d1e5", "504dd2d05a7b0de9b2b9907afb5ecf8cc3" },
	{ "four-pass", CIDLB_MODE_FOUR_PASS, 3, 4, "fdf726a9893ec05c0632d3956680baf0", "31441a",
	  "9c69c275", "0767947d29be054a" },
	/* B.2 rows 0, 1 (server ID longer than the nonce: the fourth pass
	 * undoes a longer left half) and 3 (18 octets, config 0 in its CID) */
	{ "B.2 row 0, four-pass 3+4", CIDLB_MODE_FOUR_PASS, 3, 4,
	  "8f95f09245765f80256934e50c66207f", "ed793a", "ee080dbf", "0720b1d07b359d3c" },
	{ "B.2 row 1, four-pass 10+5", CIDLB_MODE_FOUR_PASS, 10, 5,
	  "8f95f09245765f80256934e50c66207f", "ed793a51d49b8f5fab65", "ee080dbf48",
	  "2fcc381bc74cb4fbad2823a3d1f8fed2" },
	{ "B.2 row 3, four-pass 9+9", CIDLB_MODE_FOUR_PASS, 9, 9,
	  "8f95f09245765f80256934e50c66207f", "ed793a51d49b8f5fab", "ee080dbf48c0d1e55d",
	  "125779c9cc86beb3a3a4a3ca96fce4bfe0cdbc" },
};

static void test_spec_vectors(void **state)
{
	(void)state;
	for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
		const struct vector *t = &vectors[v];
		int pt_len = t->sid_len + t->nonce_len;
		uint8_t key[16], sid[CIDLB_SID_MAX] = { 0 }, nonce[CIDLB_NONCE_MAX];
		uint8_t cid[CIDLB_CID_MAX], enc[CIDLB_CID_MAX], out[CIDLB_CID_MAX];
		EVP_CIPHER_CTX *ctx;

		fprintf(stderr, "vector %s\n", t->name);
		unhex(t->key, key, 16);
		unhex(t->sid, sid, t->sid_len);
		unhex(t->nonce, nonce, t->nonce_len);
		rnd_bytes(cid, sizeof(cid)); /* extra octets: ignored */
		unhex(t->cid, cid, 1 + pt_len);

		/* The reference encoder reproduces the vector ... */
		ctx = ecb_new(key);
		memcpy(enc, cid, sizeof(enc));
		ref_encode(ctx, sid, t->sid_len, nonce, t->nonce_len, enc);
		EVP_CIPHER_CTX_free(ctx);
		assert_octets("reference encoder", cid, enc, 1 + pt_len);

		/* ... and the probe decodes it. */
		set_config(t->mode, t->sid_len, t->nonce_len, key);
		assert_int_equal(probe(t->mode == CIDLB_MODE_SINGLE_PASS ? OP_SINGLE : OP_FOUR, cid,
				       CIDLB_CID_MAX, out),
				 XDP_TX);
		assert_octets("server ID", sid, out, CIDLB_SID_MAX);
	}
}

/* ---- differential: every legal length pair ---------------------------- */

#define DIFF_KEYS 8
#define DIFF_IDS  128

static void test_all_lengths(void **state)
{
	int sid_len, nonce_len, k, n, pairs = 0, cids = 0;

	(void)state;
	for (sid_len = 1; sid_len <= CIDLB_SID_MAX; sid_len++) {
		for (nonce_len = CIDLB_NONCE_MIN;
		     nonce_len <= CIDLB_NONCE_MAX && sid_len + nonce_len <= CIDLB_PT_MAX;
		     nonce_len++) {
			int pt_len = sid_len + nonce_len;
			int single = pt_len == 16;

			pairs++;
			for (k = 0; k < DIFF_KEYS; k++) {
				uint8_t key[16];
				EVP_CIPHER_CTX *ctx;

				rnd_bytes(key, 16);
				set_config(single ? CIDLB_MODE_SINGLE_PASS : CIDLB_MODE_FOUR_PASS,
					   sid_len, nonce_len, key);
				ctx = ecb_new(key);
				for (n = 0; n < DIFF_IDS; n++) {
					uint8_t sid[CIDLB_SID_MAX] = { 0 }, nonce[CIDLB_NONCE_MAX];
					uint8_t cid[CIDLB_CID_MAX], out[CIDLB_CID_MAX];

					rnd_bytes(sid, sid_len);
					rnd_bytes(nonce, nonce_len);
					rnd_bytes(cid, sizeof(cid)); /* octet 0, extras */
					ref_encode(ctx, sid, sid_len, nonce, nonce_len, cid);
					assert_int_equal(probe(single ? OP_SINGLE : OP_FOUR, cid,
							       sizeof(cid), out),
							 XDP_TX);
					if (memcmp(sid, out, CIDLB_SID_MAX)) {
						fprintf(stderr, "sid_len %d nonce_len %d\n",
							sid_len, nonce_len);
						hex("key", key, 16);
						hex("cid", cid, 1 + pt_len);
					}
					assert_octets("server ID", sid, out, CIDLB_SID_MAX);
					cids++;
				}
				EVP_CIPHER_CTX_free(ctx);
			}
		}
	}
	fprintf(stderr, "%d length pairs, %d CIDs decoded\n", pairs, cids);
	assert_int_equal(pairs, 120);
}

/* ---- refusals ---------------------------------------------------------- */

static void test_bad_configs(void **state)
{
	static const struct {
		const char *what;
		int op;
		uint8_t sid_len, nonce_len, pt_len, half_len;
	} cases[] = {
		{ "four-pass at 16", OP_FOUR, 8, 8, 16, 8 },
		{ "single-pass at 15", OP_SINGLE, 8, 7, 15, 8 },
		{ "sid_len 0", OP_FOUR, 0, 7, 7, 4 },
		{ "sid_len 16", OP_FOUR, 16, 4, 20, 10 },
		{ "nonce_len 3", OP_FOUR, 4, 3, 7, 4 },
		{ "nonce_len 19", OP_FOUR, 1, 19, 20, 10 },
		{ "pt_len 20", OP_FOUR, 10, 10, 20, 10 },
		{ "pt_len != sum", OP_FOUR, 3, 4, 9, 5 },
		{ "half_len wrong", OP_FOUR, 3, 4, 7, 3 },
		{ "all zero", OP_SINGLE, 0, 0, 0, 0 },
		{ "all ones", OP_FOUR, 255, 255, 255, 255 },
	};
	uint8_t cid[CIDLB_CID_MAX] = { 0 }, out[CIDLB_CID_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidlb_config c;

		memset(&c, 0, sizeof(c));
		c.mode = CIDLB_MODE_FOUR_PASS;
		c.sid_len = cases[i].sid_len;
		c.nonce_len = cases[i].nonce_len;
		c.pt_len = cases[i].pt_len;
		c.half_len = cases[i].half_len;
		put_config(&c);
		fprintf(stderr, "bad config: %s\n", cases[i].what);
		assert_int_equal(probe(cases[i].op, cid, sizeof(cid), out), XDP_DROP);
	}
}

static void test_bad_requests(void **state)
{
	uint8_t pkt[PKT_LEN] = { 0 }, res[64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
		    .data_size_in = PKT_LEN - 1, /* one octet short */
		    .data_out = res, .data_size_out = sizeof(res), .repeat = 1, );

	(void)state;
	set_config(CIDLB_MODE_FOUR_PASS, 3, 4, (const uint8_t *)"0123456789abcdef");
	assert_int_equal(bpf_prog_test_run_opts(prog_fd, &opts), 0);
	assert_int_equal(opts.retval, XDP_ABORTED);
	assert_int_equal(probe(4, pkt, 16, NULL), XDP_ABORTED); /* unknown op */
	assert_int_equal(probe(255, pkt, 16, NULL), XDP_ABORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips197_c1),   cmocka_unit_test(test_random_blocks),
		cmocka_unit_test(test_spec_vectors), cmocka_unit_test(test_all_lengths),
		cmocka_unit_test(test_bad_configs),  cmocka_unit_test(test_bad_requests),
	};

	return cmocka_run_group_tests_name("aes", tests, setup, teardown);
}
