// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cid.c - QUIC-LB connection IDs, draft-ietf-quic-load-balancers-21
 * section 5 (the algorithm of drafts -19..-21): config rules (5.3),
 * server-side encoding (5.4: plaintext, single-pass, four-pass Feistel)
 * and decoding (5.5), unroutable CIDs (3.2). Project notes:
 * docs/quic-lb.md (the formats as implemented, with their sections).
 *
 * AES-128-ECB comes from OpenSSL's EVP API only. Each config keeps a small
 * pool of EVP contexts, each taken by one call at a time (an atomic flag),
 * so encode/decode are thread-safe without a lock on the fast path.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cidlb/cidlb.h>
#include "internal.h"

#define AES_BLOCK 16
#define AES_POOL \
	8 /* contexts per config; more threads fall back
				 * to a one-off context */
#define FEISTEL_PASSES 4

struct aes_slot {
	atomic_flag busy;
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec; /* single-pass only */
};

struct cidlb_cid_config {
	struct cidlb_cid_params p;
	enum cidlb_cid_algo algo;
	uint8_t pt_len;	  /* server_id_len + nonce_len */
	uint8_t half_len; /* ceil(pt_len / 2), four-pass */
	uint8_t cid_len;  /* 1 + pt_len + extra_len */
	/* keyed nonces: start + issued, big-endian, never repeated */
	uint8_t nonce_start[CIDLB_CID_NONCE_LEN_MAX];
	uint64_t nonce_limit; /* 2^(8 * nonce_len), capped at 2^64 - 1 */
	_Atomic uint64_t nonce_issued;
	struct aes_slot aes[AES_POOL];
};

struct cidlb_cid_decoder {
	pthread_rwlock_t lock;
	struct cidlb_cid_config *cfg[CIDLB_CID_CONFIG_ID_MAX + 1];
};

/* ---- helpers ------------------------------------------------------------ */

static int rand_bytes(uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t r = getrandom(buf, len, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

static EVP_CIPHER_CTX *aes_ctx_new(const uint8_t key[CIDLB_CID_KEY_LEN], bool encrypt)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (!ctx)
		return NULL;
	if (EVP_CipherInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL, encrypt ? 1 : 0) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* A context for one call: a free pool slot, else a one-off context. */
struct aes_hold {
	EVP_CIPHER_CTX *ctx;
	struct aes_slot *slot; /* NULL: ctx is one-off, free it */
};

static int aes_get(struct cidlb_cid_config *c, bool encrypt, struct aes_hold *h)
{
	int i;

	for (i = 0; i < AES_POOL; i++) {
		struct aes_slot *s = &c->aes[i];

		if (!atomic_flag_test_and_set_explicit(&s->busy, memory_order_acquire)) {
			h->slot = s;
			h->ctx = encrypt ? s->enc : s->dec;
			return 0;
		}
	}
	h->slot = NULL;
	h->ctx = aes_ctx_new(c->p.key, encrypt);
	return h->ctx ? 0 : -EIO;
}

static void aes_put(struct aes_hold *h)
{
	if (h->slot)
		atomic_flag_clear_explicit(&h->slot->busy, memory_order_release);
	else
		EVP_CIPHER_CTX_free(h->ctx);
	h->ctx = NULL;
}

static int aes_block(struct aes_hold *h, const uint8_t in[AES_BLOCK], uint8_t out[AES_BLOCK])
{
	int outl = 0;

	if (EVP_CipherUpdate(h->ctx, out, &outl, in, AES_BLOCK) != 1 || outl != AES_BLOCK)
		return -EIO;
	return 0;
}

/* ---- four-pass Feistel (draft-21 §5.4.2) --------------------------------- */

/* For odd lengths a right half's first nibble and a left half's last nibble
 * belong to the other half. */
static void mask_right(uint8_t *v, const struct cidlb_cid_config *c)
{
	if (c->pt_len & 1)
		v[0] &= 0x0f;
}

static void mask_left(uint8_t *v, const struct cidlb_cid_config *c)
{
	if (c->pt_len & 1)
		v[c->half_len - 1] &= 0xf0;
}

/* v ^= truncate(AES(expand(pass, half)), half_len); expand() of -19..-21:
 * half || zeros || plaintext_len || pass. */
static int xor_round(struct aes_hold *h, const struct cidlb_cid_config *c, uint8_t pass,
		     const uint8_t *half, uint8_t *v)
{
	uint8_t in[AES_BLOCK] = { 0 }, out[AES_BLOCK];
	int i, err;

	memcpy(in, half, c->half_len);
	in[14] = c->pt_len;
	in[15] = pass;
	err = aes_block(h, in, out);
	if (err)
		return err;
	for (i = 0; i < c->half_len; i++)
		v[i] ^= out[i];
	return 0;
}

static void split(const struct cidlb_cid_config *c, const uint8_t *x, uint8_t *l, uint8_t *r)
{
	memcpy(l, x, c->half_len);
	memcpy(r, x + c->pt_len - c->half_len, c->half_len);
	mask_left(l, c);
	mask_right(r, c);
}

static void join(const struct cidlb_cid_config *c, const uint8_t *l, const uint8_t *r, uint8_t *x)
{
	uint8_t h = c->half_len;

	memcpy(x, l, h);
	if (c->pt_len & 1) {
		x[h - 1] |= r[0];
		memcpy(x + h, r + 1, h - 1);
	} else {
		memcpy(x + h, r, h);
	}
}

static int four_pass(struct cidlb_cid_config *c, bool encrypt, const uint8_t *in, uint8_t *out)
{
	uint8_t l[AES_BLOCK / 2 + 2], r[AES_BLOCK / 2 + 2];
	struct aes_hold h;
	int err, pass;

	err = aes_get(c, true, &h); /* forward AES both ways */
	if (err)
		return err;
	split(c, in, l, r);
	for (pass = 1; pass <= FEISTEL_PASSES; pass++) {
		/* encrypt: passes 1..4; decrypt: 4..1. Odd passes change the
		 * right half from the left, even passes the left from the
		 * right. */
		int p = encrypt ? pass : FEISTEL_PASSES + 1 - pass;

		if (p & 1) {
			err = xor_round(&h, c, p, l, r);
			mask_right(r, c);
		} else {
			err = xor_round(&h, c, p, r, l);
			mask_left(l, c);
		}
		if (err)
			goto out;
	}
	join(c, l, r, out);
out:
	aes_put(&h);
	OPENSSL_cleanse(l, sizeof(l));
	OPENSSL_cleanse(r, sizeof(r));
	return err;
}

static int single_pass(struct cidlb_cid_config *c, bool encrypt, const uint8_t *in, uint8_t *out)
{
	struct aes_hold h;
	int err;

	err = aes_get(c, encrypt, &h);
	if (err)
		return err;
	err = aes_block(&h, in, out);
	aes_put(&h);
	return err;
}

/* plaintext (pt_len octets) <-> encoded block, per the config's algorithm */
static int transform(struct cidlb_cid_config *c, bool encrypt, const uint8_t *in, uint8_t *out)
{
	switch (c->algo) {
	case CIDLB_CID_ALGO_PLAINTEXT:
		memcpy(out, in, c->pt_len);
		return 0;
	case CIDLB_CID_ALGO_SINGLE_PASS:
		return single_pass(c, encrypt, in, out);
	case CIDLB_CID_ALGO_FOUR_PASS:
		return four_pass(c, encrypt, in, out);
	}
	return -EINVAL;
}

/* ---- config ------------------------------------------------------------- */

int cidlb_cid_params_check(const struct cidlb_cid_params *p, const char **why)
{
	const char *msg = NULL;

	if (!p)
		msg = "params must not be NULL";
	else if (p->config_id > CIDLB_CID_CONFIG_ID_MAX)
		msg = "config_id must be 0..6 (7 is reserved for unroutable CIDs)";
	else if (p->server_id_len < CIDLB_CID_SERVER_ID_LEN_MIN ||
		 p->server_id_len > CIDLB_CID_SERVER_ID_LEN_MAX)
		msg = "server_id_len must be 1..15";
	else if (p->nonce_len < CIDLB_CID_NONCE_LEN_MIN || p->nonce_len > CIDLB_CID_NONCE_LEN_MAX)
		msg = "nonce_len must be 4..18";
	else if (p->server_id_len + p->nonce_len > CIDLB_CID_PLAINTEXT_LEN_MAX)
		msg = "server_id_len + nonce_len must be at most 19";
	else if (1 + p->server_id_len + p->nonce_len + p->extra_len > CIDLB_CID_LEN_MAX)
		msg = "CID length 1 + server_id_len + nonce_len + extra_len must be at most 20";
	if (why)
		*why = msg;
	return msg ? -EINVAL : 0;
}

void cidlb_cid_config_free(struct cidlb_cid_config *cfg)
{
	int i;

	if (!cfg)
		return;
	for (i = 0; i < AES_POOL; i++) {
		EVP_CIPHER_CTX_free(cfg->aes[i].enc);
		EVP_CIPHER_CTX_free(cfg->aes[i].dec);
	}
	OPENSSL_cleanse(cfg, sizeof(*cfg));
	free(cfg);
}

int cidlb_cid_config_new(const struct cidlb_cid_params *p, struct cidlb_cid_config **out,
			 const char **why)
{
	struct cidlb_cid_config *c;
	int i, err;

	if (!out) {
		if (why)
			*why = "config out-pointer must not be NULL";
		return -EINVAL;
	}
	*out = NULL;
	err = cidlb_cid_params_check(p, why);
	if (err)
		return err;
	c = calloc(1, sizeof(*c));
	if (!c) {
		if (why)
			*why = "out of memory";
		return -ENOMEM;
	}
	c->p = *p;
	c->pt_len = p->server_id_len + p->nonce_len;
	c->half_len = (c->pt_len + 1) / 2;
	c->cid_len = 1 + c->pt_len + p->extra_len;
	if (!p->has_key) {
		c->algo = CIDLB_CID_ALGO_PLAINTEXT;
		memset(c->p.key, 0, sizeof(c->p.key));
	} else if (c->pt_len == AES_BLOCK) {
		c->algo = CIDLB_CID_ALGO_SINGLE_PASS;
	} else {
		c->algo = CIDLB_CID_ALGO_FOUR_PASS;
	}
	c->nonce_limit = p->nonce_len >= 8 ? UINT64_MAX : (uint64_t)1 << (8 * p->nonce_len);
	atomic_init(&c->nonce_issued, 0);
	if (c->algo != CIDLB_CID_ALGO_PLAINTEXT) {
		err = rand_bytes(c->nonce_start, p->nonce_len);
		if (err) {
			if (why)
				*why = "getrandom() failed to seed the nonce counter";
			goto err;
		}
	}
	for (i = 0; i < AES_POOL; i++) {
		atomic_flag_clear(&c->aes[i].busy);
		if (c->algo == CIDLB_CID_ALGO_PLAINTEXT)
			continue;
		c->aes[i].enc = aes_ctx_new(c->p.key, true);
		if (c->algo == CIDLB_CID_ALGO_SINGLE_PASS)
			c->aes[i].dec = aes_ctx_new(c->p.key, false);
		if (!c->aes[i].enc || (c->algo == CIDLB_CID_ALGO_SINGLE_PASS && !c->aes[i].dec)) {
			if (why)
				*why = "OpenSSL could not set up AES-128-ECB";
			err = -EIO;
			goto err;
		}
	}
	*out = c;
	if (why)
		*why = NULL;
	return 0;
err:
	cidlb_cid_config_free(c);
	return err;
}

void cidlb_cid_config_params(const struct cidlb_cid_config *cfg, struct cidlb_cid_params *p)
{
	*p = cfg->p;
}

size_t cidlb_cid_config_cid_len(const struct cidlb_cid_config *cfg)
{
	return cfg->cid_len;
}

enum cidlb_cid_algo cidlb_cid_config_algo(const struct cidlb_cid_config *cfg)
{
	return cfg->algo;
}

const char *cidlb_cid_algo_str(enum cidlb_cid_algo algo)
{
	switch (algo) {
	case CIDLB_CID_ALGO_PLAINTEXT:
		return "plaintext";
	case CIDLB_CID_ALGO_SINGLE_PASS:
		return "single-pass";
	case CIDLB_CID_ALGO_FOUR_PASS:
		return "four-pass";
	}
	return "?";
}

uint64_t cidlb_cid_config_nonces_left(const struct cidlb_cid_config *cfg)
{
	uint64_t issued;

	if (cfg->algo == CIDLB_CID_ALGO_PLAINTEXT)
		return UINT64_MAX;
	issued = atomic_load_explicit(&cfg->nonce_issued, memory_order_relaxed);
	return issued >= cfg->nonce_limit ? 0 : cfg->nonce_limit - issued;
}

void cidlb__cid_config_nonce_state(const struct cidlb_cid_config *cfg,
				   uint8_t start[CIDLB_CID_NONCE_LEN_MAX], uint64_t *issued)
{
	memcpy(start, cfg->nonce_start, CIDLB_CID_NONCE_LEN_MAX);
	*issued = atomic_load(&cfg->nonce_issued);
}

void cidlb__cid_config_set_issued(struct cidlb_cid_config *cfg, uint64_t issued)
{
	atomic_store(&cfg->nonce_issued, issued);
}

/* ---- encode ------------------------------------------------------------- */

/* Claims the next counter value and writes start + value, big-endian. */
static int next_nonce(struct cidlb_cid_config *c, uint8_t *nonce)
{
	uint64_t n = atomic_load_explicit(&c->nonce_issued, memory_order_relaxed);
	unsigned int carry = 0;
	int i;

	do {
		if (n >= c->nonce_limit)
			return -ENOSPC;
	} while (!atomic_compare_exchange_weak_explicit(
		&c->nonce_issued, &n, n + 1, memory_order_relaxed, memory_order_relaxed));
	for (i = c->p.nonce_len - 1; i >= 0; i--) {
		unsigned int s = c->nonce_start[i] + (unsigned int)(n & 0xff) + carry;

		nonce[i] = (uint8_t)s;
		carry = s >> 8;
		n >>= 8;
	}
	return 0;
}

int cidlb_cid_encode(struct cidlb_cid_config *cfg, const uint8_t *server_id, size_t server_id_len,
		     const uint8_t *nonce, size_t nonce_len, uint8_t *cid, size_t cid_size)
{
	/* random octets: octet 0's low bits, plaintext nonce, extra octets */
	uint8_t pt[CIDLB_CID_PLAINTEXT_LEN_MAX], rnd[CIDLB_CID_LEN_MAX * 2];
	size_t nrnd = 0, ri = 0;
	bool rnd_nonce;
	int err;

	if (!cfg || !server_id || !cid)
		return -EINVAL;
	if (server_id_len != cfg->p.server_id_len || (nonce && nonce_len != cfg->p.nonce_len))
		return -EINVAL;
	if (cid_size < cfg->cid_len)
		return -ENOBUFS;

	rnd_nonce = !nonce && cfg->algo == CIDLB_CID_ALGO_PLAINTEXT;
	nrnd = (cfg->p.len_self_encode ? 0 : 1) + cfg->p.extra_len +
	       (rnd_nonce ? cfg->p.nonce_len : 0);
	if (nrnd) {
		err = rand_bytes(rnd, nrnd);
		if (err)
			return err;
	}

	memcpy(pt, server_id, server_id_len);
	if (nonce) {
		memcpy(pt + server_id_len, nonce, nonce_len);
	} else if (rnd_nonce) {
		memcpy(pt + server_id_len, rnd + ri, cfg->p.nonce_len);
		ri += cfg->p.nonce_len;
	} else {
		err = next_nonce(cfg, pt + server_id_len);
		if (err)
			return err;
	}

	cid[0] = (uint8_t)(cfg->p.config_id << 5);
	if (cfg->p.len_self_encode)
		cid[0] |= (uint8_t)(cfg->cid_len - 1);
	else
		cid[0] |= rnd[ri++] & 0x1f;
	err = transform(cfg, true, pt, cid + 1);
	OPENSSL_cleanse(pt, sizeof(pt));
	if (err)
		return err;
	memcpy(cid + 1 + cfg->pt_len, rnd + ri, cfg->p.extra_len);
	return cfg->cid_len;
}

size_t cidlb_token_prefix_len(const struct cidlb_cid_config *cfg)
{
	return 1u + cfg->pt_len;
}

/* A CID without its extra octets: the load balancer reads no more. */
int cidlb_token_prefix(struct cidlb_cid_config *cfg, const uint8_t *server_id, size_t server_id_len,
		       uint8_t *prefix, size_t size)
{
	uint8_t cid[CIDLB_CID_LEN_MAX];
	size_t len;
	int n;

	if (!cfg || !prefix)
		return -EINVAL;
	len = cidlb_token_prefix_len(cfg);
	if (size < len)
		return -ENOBUFS;
	n = cidlb_cid_encode(cfg, server_id, server_id_len, NULL, 0, cid, sizeof(cid));
	if (n < 0)
		return n;
	if (cfg->p.len_self_encode)
		cid[0] = (uint8_t)((cid[0] & 0xe0) | (len - 1));
	memcpy(prefix, cid, len);
	OPENSSL_cleanse(cid, sizeof(cid));
	return (int)len;
}

int cidlb_cid_unroutable(uint8_t *cid, size_t cid_len)
{
	int err;

	if (!cid || cid_len < CIDLB_CID_UNROUTABLE_LEN_MIN || cid_len > CIDLB_CID_LEN_MAX)
		return -EINVAL;
	err = rand_bytes(cid + 1, cid_len - 1);
	if (err)
		return err;
	cid[0] = (uint8_t)(CIDLB_CID_CONFIG_ID_UNROUTABLE << 5 | (cid_len - 1));
	return (int)cid_len;
}

/* ---- decode ------------------------------------------------------------- */

const char *cidlb_cid_status_str(int status)
{
	switch (status) {
	case CIDLB_CID_ROUTABLE:
		return "routable";
	case CIDLB_CID_UNROUTABLE_CR7:
		return "config ID 7 (unroutable)";
	case CIDLB_CID_NO_CONFIG:
		return "config ID not held";
	case CIDLB_CID_TOO_SHORT:
		return "CID too short for its config";
	}
	return "unknown status";
}

/* The checks every decode starts with; > 0 means "stop, unroutable". */
static int decode_head(const uint8_t *cid, size_t cid_len, struct cidlb_cid_info *info)
{
	memset(info, 0, sizeof(*info));
	if (cid_len < 1)
		return CIDLB_CID_TOO_SHORT;
	info->config_id = cid[0] >> 5;
	if (info->config_id == CIDLB_CID_CONFIG_ID_UNROUTABLE)
		return CIDLB_CID_UNROUTABLE_CR7;
	return CIDLB_CID_ROUTABLE;
}

static int decode_with(struct cidlb_cid_config *c, const uint8_t *cid, size_t cid_len,
		       struct cidlb_cid_info *info)
{
	uint8_t pt[CIDLB_CID_PLAINTEXT_LEN_MAX];
	int err;

	if (cid_len < 1u + c->pt_len)
		return CIDLB_CID_TOO_SHORT;
	err = transform(c, false, cid + 1, pt);
	if (err)
		return err;
	info->server_id_len = c->p.server_id_len;
	info->nonce_len = c->p.nonce_len;
	memcpy(info->server_id, pt, c->p.server_id_len);
	memcpy(info->nonce, pt + c->p.server_id_len, c->p.nonce_len);
	return CIDLB_CID_ROUTABLE;
}

int cidlb_cid_decode(struct cidlb_cid_config *cfg, const uint8_t *cid, size_t cid_len,
		     struct cidlb_cid_info *info)
{
	int st;

	if (!cfg || !info || (!cid && cid_len))
		return -EINVAL;
	st = decode_head(cid, cid_len, info);
	if (st != CIDLB_CID_ROUTABLE)
		return st;
	if (info->config_id != cfg->p.config_id)
		return CIDLB_CID_NO_CONFIG;
	return decode_with(cfg, cid, cid_len, info);
}

/* ---- decoder ------------------------------------------------------------ */

struct cidlb_cid_decoder *cidlb_cid_decoder_new(void)
{
	struct cidlb_cid_decoder *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return NULL;
	err = pthread_rwlock_init(&d->lock, NULL);
	if (err) {
		free(d);
		errno = err;
		return NULL;
	}
	return d;
}

void cidlb_cid_decoder_free(struct cidlb_cid_decoder *dec)
{
	int i;

	if (!dec)
		return;
	for (i = 0; i <= CIDLB_CID_CONFIG_ID_MAX; i++)
		cidlb_cid_config_free(dec->cfg[i]);
	pthread_rwlock_destroy(&dec->lock);
	free(dec);
}

int cidlb_cid_decoder_add(struct cidlb_cid_decoder *dec, const struct cidlb_cid_params *p,
			  const char **why)
{
	struct cidlb_cid_config *c, *old;
	int err;

	if (!dec) {
		if (why)
			*why = "decoder must not be NULL";
		return -EINVAL;
	}
	err = cidlb_cid_config_new(p, &c, why);
	if (err)
		return err;
	pthread_rwlock_wrlock(&dec->lock);
	old = dec->cfg[p->config_id];
	dec->cfg[p->config_id] = c;
	pthread_rwlock_unlock(&dec->lock);
	cidlb_cid_config_free(old);
	return 0;
}

int cidlb_cid_decoder_remove(struct cidlb_cid_decoder *dec, uint8_t config_id)
{
	struct cidlb_cid_config *old;

	if (!dec || config_id > CIDLB_CID_CONFIG_ID_MAX)
		return -EINVAL;
	pthread_rwlock_wrlock(&dec->lock);
	old = dec->cfg[config_id];
	dec->cfg[config_id] = NULL;
	pthread_rwlock_unlock(&dec->lock);
	if (!old)
		return -ENOENT;
	cidlb_cid_config_free(old);
	return 0;
}

int cidlb_cid_decoder_decode(struct cidlb_cid_decoder *dec, const uint8_t *cid, size_t cid_len,
			     struct cidlb_cid_info *info)
{
	struct cidlb_cid_config *c;
	int st;

	if (!dec || !info || (!cid && cid_len))
		return -EINVAL;
	st = decode_head(cid, cid_len, info);
	if (st != CIDLB_CID_ROUTABLE)
		return st;
	pthread_rwlock_rdlock(&dec->lock);
	c = dec->cfg[info->config_id];
	st = c ? decode_with(c, cid, cid_len, info) : CIDLB_CID_NO_CONFIG;
	pthread_rwlock_unlock(&dec->lock);
	return st;
}
