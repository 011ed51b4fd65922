// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cid_shim.c - LD_PRELOAD shim that makes Debian's unmodified ngtcp2
 * example server (gtlsserver) issue QUIC-LB routable connection IDs.
 *
 * gtlsserver (ngtcp2 0.12, GnuTLS build) draws every server CID with
 * util::generate_secure_random(), i.e. gnutls_rnd(GNUTLS_RND_RANDOM, buf,
 * NGTCP2_SV_SCIDLEN = 18): the first SCID of a connection, the Retry SCID,
 * the preferred-address CID and every CID of a NEW_CONNECTION_ID frame
 * (get_new_connection_id). We replace exactly those draws by
 * cidlb_cid_encode() output and leave every other draw alone.
 *
 * A draw is a CID draw when
 *   - its length is the server's CID length (CIDLB_SHIM_CID_LEN, 18), and
 *   - it comes straight from the server executable itself (the return
 *     address lies in the main program's mapping), not from libgnutls
 *     (TLS randoms, key shares, nonces) nor from libngtcp2_crypto_gnutls
 *     (PATH_CHALLENGE data, token randoms).
 * Observed on gtlsserver 0.12.1: 18-octet draws from the executable are
 * CIDs only; its other draws from the executable are 16 octets.
 *
 * Environment (no CIDLB_SHIM_SERVER_ID: the shim passes every draw through):
 *   CIDLB_SHIM_SERVER_ID    server ID in hex (its length is server_id_len)
 *   CIDLB_SHIM_CONFIG_ID    QUIC-LB config ID 0..6 (default 0)
 *   CIDLB_SHIM_NONCE_LEN    nonce length (default: fill the CID, max 18)
 *   CIDLB_SHIM_KEY          32 hex digits: AES-128 key (default plaintext)
 *   CIDLB_SHIM_SELF_ENCODE  0 to leave the length bits random (default 1)
 *   CIDLB_SHIM_CID_LEN      length of a CID draw (default 18)
 *   CIDLB_SHIM_LOG          file that gets one line per CID issued:
 *                           "cid <hex>"
 *   CIDLB_SHIM_RESET_KEY    32 hex digits: the stateless reset key of the
 *                           pool. The server's reset tokens become
 *                           cidlb_reset_token() of their CID, which cidlb
 *                           computes too. gtlsserver derives the tokens of
 *                           NEW_CONNECTION_ID frames (and of the resets it
 *                           sends) with ngtcp2_crypto_generate_stateless_
 *                           reset_token(), interposed below; the token of
 *                           its first CID and of its preferred-address CID
 *                           (transport parameters) it draws as 16 random
 *                           octets right after drawing that CID: the first
 *                           16-octet draw from the executable after a CID
 *                           draw becomes that CID's token.
 *   CIDLB_SHIM_TOKEN_KEY    32 hex digits: the tokens the server issues
 *                           start with a routable prefix (cidlb_token_
 *                           prefix(), docs/tokens.md) of its server ID,
 *                           AES-128 with this key, nonce CIDLB_SHIM_TOKEN_
 *                           NONCE_LEN (default 8), length bits not self-
 *                           encoded: NEW_TOKEN tokens under config 1,
 *                           Retry tokens under config 5 (below).
 *   CIDLB_SHIM_RETRY_UNROUTABLE  1: the Retry packet's SCID becomes an
 *                           unroutable CID (config ID 7) of the same
 *                           length, so that the client's next Initial can
 *                           reach the server only by its Retry token.
 *
 * Token prefixes. gtlsserver builds its tokens with ngtcp2_crypto_
 * generate_regular_token() and ..._retry_token() into buffers of exactly
 * their length (NGTCP2_CRYPTO_MAX_*_TOKENLEN), and tells them apart by
 * their first octet, 0x36 or 0xb6, before it verifies one. A token is
 * magic || sealed data || 32 random octets that salt its key. So the
 * shim, without growing the token: takes the salt draw of the generation
 * (the 32-octet gnutls_rnd() from inside it) and puts the prefix's encoded
 * block at its start; then moves the salt's first octets to just after
 * the magic. The magic itself is the prefix's first octet: 0x36 is config
 * ID 1, 0xb6 config ID 5, with length bits 0x16, which a config without
 * len_self_encode leaves free. The verify functions, interposed too, move
 * the octets back before ngtcp2 checks the token; a token that is not the
 * shim's length goes to ngtcp2 as it is (and fails there).
 *
 * A configuration error aborts the server with a message: a test must not
 * run on random CIDs by mistake.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <cidlb/cidlb.h>

typedef int (*rnd_fn)(int level, void *data, size_t len);

/* ngtcp2_cid of ngtcp2 0.12 (ngtcp2/ngtcp2.h); not included, so that the
 * shim builds without ngtcp2's headers */
struct shim_ngtcp2_cid {
	size_t datalen;
	uint8_t data[20];
};
typedef int (*reset_fn)(uint8_t *token, const uint8_t *secret, size_t secretlen,
			const struct shim_ngtcp2_cid *cid);
/* ngtcp2_crypto's token functions (ngtcp2_crypto.h of 0.12): ngtcp2_ssize
 * is ptrdiff_t, ngtcp2_tstamp and ngtcp2_duration uint64_t */
typedef ptrdiff_t (*gen_regular_fn)(uint8_t *token, const uint8_t *secret, size_t secretlen,
				    const struct sockaddr *sa, socklen_t salen, uint64_t ts);
typedef ptrdiff_t (*gen_retry_fn)(uint8_t *token, const uint8_t *secret, size_t secretlen,
				  uint32_t version, const struct sockaddr *sa, socklen_t salen,
				  const struct shim_ngtcp2_cid *retry_scid,
				  const struct shim_ngtcp2_cid *odcid, uint64_t ts);
typedef int (*verify_regular_fn)(const uint8_t *token, size_t tokenlen, const uint8_t *secret,
				 size_t secretlen, const struct sockaddr *sa, socklen_t salen,
				 uint64_t timeout, uint64_t ts);
typedef int (*verify_retry_fn)(struct shim_ngtcp2_cid *odcid, const uint8_t *token, size_t tokenlen,
			       const uint8_t *secret, size_t secretlen, uint32_t version,
			       const struct sockaddr *sa, socklen_t salen,
			       const struct shim_ngtcp2_cid *dcid, uint64_t timeout, uint64_t ts);

#define TOKEN_SALT_LEN	  32 /* NGTCP2_CRYPTO_TOKEN_RAND_DATALEN */
#define TOKEN_MAX_REGULAR (1 + 8 + 16 + TOKEN_SALT_LEN)
#define TOKEN_MAX_RETRY	  (1 + 1 + 20 + 8 + 16 + TOKEN_SALT_LEN)
#define TOKEN_LEN_BITS	  0x16 /* the low 5 bits of both magics */
enum {
	TOK_REGULAR,
	TOK_RETRY,
	TOK_KINDS
};
static const uint8_t tok_config_id[TOK_KINDS] = { 1, 5 }; /* magic >> 5 */
static const size_t tok_len[TOK_KINDS] = { TOKEN_MAX_REGULAR, TOKEN_MAX_RETRY };

#define GNUTLS_RND_RANDOM 1 /* gnutls_rnd_level_t */
#define MAX_SEGS	  16

static struct {
	rnd_fn real;
	reset_fn real_reset;
	struct cidlb_cid_config *cfg; /* NULL: pass through */
	bool has_reset_key;
	uint8_t reset_key[CIDLB_RESET_KEY_LEN];
	bool token_due; /* a CID was drawn, its token not yet */
	uint8_t last_cid[CIDLB_CID_LEN_MAX];
	uint8_t sid[CIDLB_CID_SERVER_ID_LEN_MAX];
	size_t sid_len, cid_len;
	int log_fd;
	uintptr_t seg_lo[MAX_SEGS], seg_hi[MAX_SEGS]; /* main program's text */
	int n_segs;
	/* token prefixes: one config per kind, NULL when off */
	struct cidlb_cid_config *tok_cfg[TOK_KINDS];
	gen_regular_fn real_gen_regular;
	gen_retry_fn real_gen_retry;
	verify_regular_fn real_verify_regular;
	verify_retry_fn real_verify_retry;
} shim = { .log_fd = -1 };

/* The kind of token being generated on this thread, whose salt draw is due
 * (-1: none), and whether the draw got its prefix. */
static __thread int tok_due = -1;
static __thread bool tok_done;

static pthread_once_t shim_once = PTHREAD_ONCE_INIT;

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "cid_shim: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	abort();
}

static int hex_decode(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s), i;

	if (n % 2 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = v;
	}
	return n / 2;
}

static long env_num(const char *name, long def, long lo, long hi)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return def;
	v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi)
		die("%s out of range", name);
	return v;
}

/* The executable segments of the main program (first dl_iterate_phdr entry). */
static int find_main(struct dl_phdr_info *info, size_t size, void *data)
{
	int i;

	(void)size;
	(void)data;
	for (i = 0; i < info->dlpi_phnum && shim.n_segs < MAX_SEGS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		shim.seg_lo[shim.n_segs] = info->dlpi_addr + ph->p_vaddr;
		shim.seg_hi[shim.n_segs] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		shim.n_segs++;
	}
	return 1; /* stop after the main program */
}

static bool from_main(const void *ra)
{
	uintptr_t a = (uintptr_t)ra;
	int i;

	for (i = 0; i < shim.n_segs; i++)
		if (a >= shim.seg_lo[i] && a < shim.seg_hi[i])
			return true;
	return false;
}

/* CIDLB_SHIM_TOKEN_KEY: a config per token kind, with this server ID. */
static void tokens_init(void)
{
	const char *key = getenv("CIDLB_SHIM_TOKEN_KEY");
	struct cidlb_cid_params p = { .server_id_len = shim.sid_len, .has_key = true };
	const char *why = NULL;
	int k;

	if (!key || !*key)
		return;
	if (hex_decode(key, p.key, sizeof(p.key)) != CIDLB_CID_KEY_LEN)
		die("CIDLB_SHIM_TOKEN_KEY '%s': want 32 hex digits", key);
	p.nonce_len = env_num("CIDLB_SHIM_TOKEN_NONCE_LEN", 8, CIDLB_CID_NONCE_LEN_MIN,
			      TOKEN_SALT_LEN - CIDLB_CID_SERVER_ID_LEN_MAX);
	shim.real_gen_regular =
		(gen_regular_fn)dlsym(RTLD_NEXT, "ngtcp2_crypto_generate_regular_token");
	shim.real_gen_retry = (gen_retry_fn)dlsym(RTLD_NEXT, "ngtcp2_crypto_generate_retry_token");
	shim.real_verify_regular =
		(verify_regular_fn)dlsym(RTLD_NEXT, "ngtcp2_crypto_verify_regular_token");
	shim.real_verify_retry =
		(verify_retry_fn)dlsym(RTLD_NEXT, "ngtcp2_crypto_verify_retry_token");
	if (!shim.real_gen_regular || !shim.real_gen_retry || !shim.real_verify_regular ||
	    !shim.real_verify_retry)
		die("%s", "CIDLB_SHIM_TOKEN_KEY: the program has no ngtcp2 token functions");
	for (k = 0; k < TOK_KINDS; k++) {
		p.config_id = tok_config_id[k];
		if (cidlb_cid_config_new(&p, &shim.tok_cfg[k], &why))
			die("token prefix config rejected: %s", why ? why : "?");
	}
}

static void shim_init(void)
{
	struct cidlb_cid_params p = { .len_self_encode = true };
	const char *sid = getenv("CIDLB_SHIM_SERVER_ID");
	const char *key = getenv("CIDLB_SHIM_KEY");
	const char *log = getenv("CIDLB_SHIM_LOG");
	const char *rkey = getenv("CIDLB_SHIM_RESET_KEY");
	const char *why = NULL;
	int n;

	shim.real = (rnd_fn)dlsym(RTLD_NEXT, "gnutls_rnd");
	if (!shim.real)
		die("gnutls_rnd not found: %s", dlerror());
	shim.real_reset =
		(reset_fn)dlsym(RTLD_NEXT, "ngtcp2_crypto_generate_stateless_reset_token");
	if (!sid || !*sid)
		return;
	if (rkey && *rkey) {
		if (hex_decode(rkey, shim.reset_key, sizeof(shim.reset_key)) != CIDLB_RESET_KEY_LEN)
			die("CIDLB_SHIM_RESET_KEY '%s': want 32 hex digits", rkey);
		if (!shim.real_reset)
			die("%s", "CIDLB_SHIM_RESET_KEY: the program has no ngtcp2 reset tokens");
		shim.has_reset_key = true;
	}
	n = hex_decode(sid, shim.sid, sizeof(shim.sid));
	if (n < CIDLB_CID_SERVER_ID_LEN_MIN)
		die("CIDLB_SHIM_SERVER_ID '%s': want 1..15 octets in hex", sid);
	shim.sid_len = n;
	shim.cid_len = env_num("CIDLB_SHIM_CID_LEN", 18, 8, CIDLB_CID_LEN_MAX);
	p.config_id = env_num("CIDLB_SHIM_CONFIG_ID", 0, 0, CIDLB_CID_CONFIG_ID_MAX);
	p.server_id_len = shim.sid_len;
	n = shim.cid_len - 1 - shim.sid_len;
	if (n > CIDLB_CID_NONCE_LEN_MAX)
		n = CIDLB_CID_NONCE_LEN_MAX;
	p.nonce_len = env_num("CIDLB_SHIM_NONCE_LEN", n, CIDLB_CID_NONCE_LEN_MIN,
			      CIDLB_CID_NONCE_LEN_MAX);
	if ((size_t)1 + p.server_id_len + p.nonce_len > shim.cid_len)
		die("%s: server ID and nonce do not fit in the CID length", sid);
	p.extra_len = shim.cid_len - 1 - p.server_id_len - p.nonce_len;
	p.len_self_encode = env_num("CIDLB_SHIM_SELF_ENCODE", 1, 0, 1);
	if (key && *key) {
		if (hex_decode(key, p.key, sizeof(p.key)) != CIDLB_CID_KEY_LEN)
			die("CIDLB_SHIM_KEY '%s': want 32 hex digits", key);
		p.has_key = true;
	}
	if (cidlb_cid_config_new(&p, &shim.cfg, &why))
		die("QUIC-LB config rejected: %s", why ? why : "?");
	tokens_init();
	if (cidlb_cid_config_cid_len(shim.cfg) != shim.cid_len)
		die("%s", "config CID length differs from CIDLB_SHIM_CID_LEN");
	dl_iterate_phdr(find_main, NULL);
	if (!shim.n_segs)
		die("%s", "cannot find the main program's code");
	if (log && *log) {
		shim.log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (shim.log_fd < 0)
			die("cannot open CIDLB_SHIM_LOG %s", log);
	}
}

static void log_cid(const uint8_t *cid, size_t len)
{
	char line[8 + 2 * CIDLB_CID_LEN_MAX];
	size_t i, o;

	if (shim.log_fd < 0)
		return;
	o = snprintf(line, sizeof(line), "cid ");
	for (i = 0; i < len; i++)
		o += snprintf(line + o, sizeof(line) - o, "%02x", cid[i]);
	line[o++] = '\n';
	if (write(shim.log_fd, line, o) != (ssize_t)o)
		return; /* a log line lost is not worth failing a draw */
}

/* The salt of the token being generated: random, its first octets the
 * prefix's encoded block (the prefix without its first octet). */
static int salt_draw(void *data)
{
	struct cidlb_cid_config *cfg = shim.tok_cfg[tok_due];
	uint8_t prefix[CIDLB_CID_LEN_MAX];
	int n, rc;

	tok_due = -1;
	rc = shim.real(GNUTLS_RND_RANDOM, data, TOKEN_SALT_LEN);
	if (rc)
		return rc;
	n = cidlb_token_prefix(cfg, shim.sid, shim.sid_len, prefix, sizeof(prefix));
	if (n < 0) {
		fprintf(stderr, "cid_shim: cidlb_token_prefix: %s\n", strerror(-n));
		return -1;
	}
	memcpy(data, prefix + 1, n - 1);
	tok_done = true;
	return 0;
}

/* Interposes GnuTLS's gnutls_rnd() for the whole process. */
int gnutls_rnd(int level, void *data, size_t len)
{
	const void *ra = __builtin_return_address(0);
	int n;

	pthread_once(&shim_once, shim_init);
	if (tok_due >= 0 && len == TOKEN_SALT_LEN && level == GNUTLS_RND_RANDOM)
		return salt_draw(data);
	if (shim.has_reset_key && shim.token_due && len == CIDLB_RESET_TOKEN_LEN &&
	    level == GNUTLS_RND_RANDOM && from_main(ra)) {
		shim.token_due = false;
		if (!cidlb_reset_token(shim.cfg, shim.reset_key, shim.last_cid, shim.cid_len, data))
			return 0;
	}
	if (!shim.cfg || len != shim.cid_len || level != GNUTLS_RND_RANDOM || !from_main(ra))
		return shim.real(level, data, len);
	n = cidlb_cid_encode(shim.cfg, shim.sid, shim.sid_len, NULL, 0, data, len);
	if (n != (int)len) {
		fprintf(stderr, "cid_shim: cidlb_cid_encode: %s\n", strerror(-n));
		return -1; /* GNUTLS_E_RANDOM_FAILED-like: the server gives up */
	}
	log_cid(data, len);
	memcpy(shim.last_cid, data, len);
	shim.token_due = true;
	return 0;
}

/* Interposes ngtcp2's reset token derivation (libngtcp2_crypto). */
int ngtcp2_crypto_generate_stateless_reset_token(uint8_t *token, const uint8_t *secret,
						 size_t secretlen,
						 const struct shim_ngtcp2_cid *cid)
{
	pthread_once(&shim_once, shim_init);
	if (cid && cid->datalen == shim.cid_len && !memcmp(cid->data, shim.last_cid, shim.cid_len))
		shim.token_due = false; /* this CID's token comes from here */
	if (shim.has_reset_key && cid &&
	    !cidlb_reset_token(shim.cfg, shim.reset_key, cid->data, cid->datalen, token))
		return 0;
	if (!shim.real_reset)
		return -1;
	return shim.real_reset(token, secret, secretlen, cid);
}

/* ---- token prefixes ------------------------------------------------------- */

/* ngtcp2's token t (magic || sealed || salt, len octets) into the shim's
 * (magic || block || sealed || rest of the salt), in place; b = the block
 * length. */
static void tok_to_wire(uint8_t *t, size_t len, size_t b)
{
	uint8_t tmp[TOKEN_MAX_RETRY];
	size_t sealed = len - 1 - TOKEN_SALT_LEN;

	memcpy(tmp, t, len);
	memcpy(t + 1, tmp + 1 + sealed, b);
	memcpy(t + 1 + b, tmp + 1, sealed);
	memcpy(t + 1 + b + sealed, tmp + 1 + sealed + b, TOKEN_SALT_LEN - b);
}

/* And back, into out. */
static void tok_from_wire(const uint8_t *w, size_t len, size_t b, uint8_t *out)
{
	size_t sealed = len - 1 - TOKEN_SALT_LEN;

	out[0] = w[0];
	memcpy(out + 1, w + 1 + b, sealed);
	memcpy(out + 1 + sealed, w + 1, b);
	memcpy(out + 1 + sealed + b, w + 1 + b + sealed, TOKEN_SALT_LEN - b);
}

/* Arm the salt draw of a token of kind k, before ngtcp2 generates it. */
static void tok_arm(int k)
{
	tok_due = k;
	tok_done = false;
}

/* After: -1 unless the salt got its prefix and the token its length. */
static ptrdiff_t tok_finish(int k, uint8_t *token, ptrdiff_t n)
{
	struct cidlb_cid_config *cfg = shim.tok_cfg[k];

	tok_due = -1;
	if (n < 0)
		return n;
	if (!tok_done || (size_t)n != tok_len[k] ||
	    token[0] != (uint8_t)(tok_config_id[k] << 5 | TOKEN_LEN_BITS)) {
		fprintf(stderr, "cid_shim: token of %zd octets without its prefix\n", n);
		return -1;
	}
	tok_to_wire(token, (size_t)n, cidlb_token_prefix_len(cfg) - 1);
	return n;
}

ptrdiff_t ngtcp2_crypto_generate_regular_token(uint8_t *token, const uint8_t *secret,
					       size_t secretlen, const struct sockaddr *sa,
					       socklen_t salen, uint64_t ts)
{
	gen_regular_fn real;

	pthread_once(&shim_once, shim_init);
	real = shim.real_gen_regular ? shim.real_gen_regular :
				       (gen_regular_fn)dlsym(RTLD_NEXT, __func__);
	if (!shim.tok_cfg[TOK_REGULAR])
		return real ? real(token, secret, secretlen, sa, salen, ts) : -1;
	tok_arm(TOK_REGULAR);
	return tok_finish(TOK_REGULAR, token, real(token, secret, secretlen, sa, salen, ts));
}

ptrdiff_t ngtcp2_crypto_generate_retry_token(uint8_t *token, const uint8_t *secret,
					     size_t secretlen, uint32_t version,
					     const struct sockaddr *sa, socklen_t salen,
					     const struct shim_ngtcp2_cid *retry_scid,
					     const struct shim_ngtcp2_cid *odcid, uint64_t ts)
{
	gen_retry_fn real;

	pthread_once(&shim_once, shim_init);
	real = shim.real_gen_retry ? shim.real_gen_retry : (gen_retry_fn)dlsym(RTLD_NEXT, __func__);
	if (!shim.tok_cfg[TOK_RETRY])
		return real ? real(token, secret, secretlen, version, sa, salen, retry_scid, odcid,
				   ts) :
			      -1;
	if (env_num("CIDLB_SHIM_RETRY_UNROUTABLE", 0, 0, 1) && retry_scid) {
		/* the SCID gtlsserver then writes into its Retry packet: the
		 * token's AAD takes it as it is now */
		struct shim_ngtcp2_cid *w = (struct shim_ngtcp2_cid *)retry_scid;

		if (cidlb_cid_unroutable(w->data, w->datalen) < 0)
			return -1;
	}
	tok_arm(TOK_RETRY);
	return tok_finish(TOK_RETRY, token,
			  real(token, secret, secretlen, version, sa, salen, retry_scid, odcid,
			       ts));
}

/* The token ngtcp2 made from the shim's token w: 0 and out, or -1 when w
 * is not a token of kind k of the shim (ngtcp2 then gets it as it is). */
static int tok_unwire(int k, const uint8_t *w, size_t len, uint8_t *out)
{
	if (!shim.tok_cfg[k] || len != tok_len[k])
		return -1;
	tok_from_wire(w, len, cidlb_token_prefix_len(shim.tok_cfg[k]) - 1, out);
	return 0;
}

int ngtcp2_crypto_verify_regular_token(const uint8_t *token, size_t tokenlen, const uint8_t *secret,
				       size_t secretlen, const struct sockaddr *sa, socklen_t salen,
				       uint64_t timeout, uint64_t ts)
{
	verify_regular_fn real;
	uint8_t t[TOKEN_MAX_RETRY];

	pthread_once(&shim_once, shim_init);
	real = shim.real_verify_regular ? shim.real_verify_regular :
					  (verify_regular_fn)dlsym(RTLD_NEXT, __func__);
	if (!real)
		return -1;
	if (!tok_unwire(TOK_REGULAR, token, tokenlen, t))
		token = t;
	return real(token, tokenlen, secret, secretlen, sa, salen, timeout, ts);
}

int ngtcp2_crypto_verify_retry_token(struct shim_ngtcp2_cid *odcid, const uint8_t *token,
				     size_t tokenlen, const uint8_t *secret, size_t secretlen,
				     uint32_t version, const struct sockaddr *sa, socklen_t salen,
				     const struct shim_ngtcp2_cid *dcid, uint64_t timeout,
				     uint64_t ts)
{
	verify_retry_fn real;
	uint8_t t[TOKEN_MAX_RETRY];

	pthread_once(&shim_once, shim_init);
	real = shim.real_verify_retry ? shim.real_verify_retry :
					(verify_retry_fn)dlsym(RTLD_NEXT, __func__);
	if (!real)
		return -1;
	if (!tok_unwire(TOK_RETRY, token, tokenlen, t))
		token = t;
	return real(odcid, token, tokenlen, secret, secretlen, version, sa, salen, dcid, timeout,
		    ts);
}
