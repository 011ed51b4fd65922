/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cidlb/cidlb.h - libcidlb: QUIC-LB connection IDs for QUIC servers.
 *
 * A QUIC server behind the cidlb load balancer must write its server ID
 * into every connection ID (CID) it issues: the SCID of its long headers,
 * NEW_CONNECTION_ID frames and the Retry SCID. This library does that, per
 * draft-ietf-quic-load-balancers-21 (the algorithm of drafts -19 to -21):
 *
 *   octet 0              octets 1 .. plaintext_len            extra
 *   +--------+--------+-----------------------------------+------------+
 *   | CR (3) | LEN (5)| server ID || nonce (encoded)      | extra (opt)|
 *   +--------+--------+-----------------------------------+------------+
 *
 *   CR    config ID 0..6; 7 means "unroutable" (no config).
 *   LEN   cid_len - 1 with length self-encoding, random bits without.
 *   block plaintext (no key), one AES-128-ECB block (key and
 *         plaintext_len == 16), or a four-pass Feistel network over
 *         AES-128 (key and any other plaintext_len, odd ones included).
 *   extra optional octets after the block, random, not encrypted; the
 *         load balancer ignores them (you may overwrite them).
 *
 * Objects:
 *   struct cidlb_cid_config   one QUIC-LB configuration: issues CIDs
 *                             (encode) and reads them back (decode).
 *   struct cidlb_cid_decoder  up to 7 configurations, one per config ID:
 *                             decodes a CID whatever its first octet.
 *
 * Conventions (libbpf 1.0 style): functions returning int return a
 * non-negative value on success and a negative errno on failure; functions
 * returning a pointer return NULL and set errno. Every length is in octets.
 *
 * Thread safety: a config may be used for encode and decode from any
 * number of threads at once (the nonce counter is atomic, AES contexts are
 * never shared by two calls). A decoder may be used for decode from any
 * number of threads, concurrently with add/remove (a read-write lock). Only
 * the *_free() functions must not run concurrently with other use of the
 * same object.
 *
 * Nonces: without a key the nonce is random (getrandom(2)) on every call,
 * so CIDs cannot be linked. With a key the nonce is a counter that starts
 * at a random value and is encoded big-endian into the nonce octets, so a
 * nonce never repeats under that config. When the counter would come back
 * to its start the config is exhausted: cidlb_cid_encode() returns
 * -ENOSPC and the server must move to a new config (new key or config ID)
 * or issue unroutable CIDs (cidlb_cid_unroutable()). Keep ONE config object
 * per key in a server process and share it between threads: two objects
 * with the same key and server ID have independent counters.
 *
 * Usage (server side):
 *
 *	#include <cidlb/cidlb.h>        link: -lcidlb -lcrypto -lpthread
 *
 *	struct cidlb_cid_params p = {
 *		.config_id = 1, .server_id_len = 3, .nonce_len = 8,
 *		.len_self_encode = true, .has_key = true,
 *		.key = { 0xfd, 0xf7, ... 16 octets from the configuration agent },
 *	};
 *	struct cidlb_cid_config *cfg;
 *	const char *why;
 *	int err = cidlb_cid_config_new(&p, &cfg, &why);
 *	if (err)
 *		errx(1, "QUIC-LB config: %s (%s)", why, strerror(-err));
 *
 *	const uint8_t sid[3] = { 0x31, 0x44, 0x1a };   // this server's ID
 *	uint8_t cid[CIDLB_CID_LEN_MAX];
 *	int len = cidlb_cid_encode(cfg, sid, sizeof(sid), NULL, 0,
 *				   cid, sizeof(cid));
 *	if (len == -ENOSPC)
 *		... config exhausted: get a new one, or cidlb_cid_unroutable()
 *	else if (len < 0)
 *		... error
 *	// cid[0..len-1] is the new CID (len == cidlb_cid_config_cid_len(cfg))
 *
 *	struct cidlb_cid_info info;
 *	if (cidlb_cid_decode(cfg, cid, len, &info) == CIDLB_CID_ROUTABLE)
 *		... info.server_id, info.nonce
 *	cidlb_cid_config_free(cfg);
 *
 * A server with no configuration issues unroutable CIDs instead:
 *	cidlb_cid_unroutable(cid, 8);
 * and should then give the client only that one CID (no NEW_CONNECTION_ID)
 * and send disable_active_migration (QUIC-LB draft-21 §3.2).
 *
 * See examples/ngtcp2_cid.c for ngtcp2's get_new_connection_id callback.
 */
#ifndef CIDLB_CIDLB_H
#define CIDLB_CIDLB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits (QUIC-LB -21 section 5.3, QUIC v1) ------------------------- */
#define CIDLB_CID_LEN_MAX	       20 /* QUIC v1 CID maximum */
#define CIDLB_CID_CONFIG_ID_MAX	       6  /* config IDs are 0..6 */
#define CIDLB_CID_CONFIG_ID_UNROUTABLE 7  /* 0b111: no config */
#define CIDLB_CID_SERVER_ID_LEN_MIN    1
#define CIDLB_CID_SERVER_ID_LEN_MAX    15
#define CIDLB_CID_NONCE_LEN_MIN	       4
#define CIDLB_CID_NONCE_LEN_MAX	       18
#define CIDLB_CID_PLAINTEXT_LEN_MAX    19 /* server_id_len + nonce_len */
#define CIDLB_CID_KEY_LEN	       16 /* AES-128 */
#define CIDLB_CID_UNROUTABLE_LEN_MIN   8  /* spec: SHOULD be >= 8 */

/* ---- configuration ----------------------------------------------------- */

/*
 * The parameters of one QUIC-LB configuration, as the configuration agent
 * (cidlbd's config file, or your own) hands them out. Every server of the
 * pool uses the same values except its own server ID.
 */
struct cidlb_cid_params {
	uint8_t config_id;		/* 0..6 (3 bits; 7 is reserved) */
	uint8_t server_id_len;		/* 1..15 */
	uint8_t nonce_len;		/* 4..18, and server_id_len + nonce_len <= 19 */
	uint8_t extra_len;		/* octets appended after the encoded block;
				 * 1 + server_id_len + nonce_len + extra_len
				 * must be <= 20 */
	bool len_self_encode;		/* low 5 bits of octet 0 = cid_len - 1 */
	bool has_key;			/* false: plaintext; true: AES-128 with key */
	uint8_t key[CIDLB_CID_KEY_LEN]; /* used only when has_key */
};

/* The algorithm a config uses, derived from its parameters. */
enum cidlb_cid_algo {
	CIDLB_CID_ALGO_PLAINTEXT = 1,	/* no key */
	CIDLB_CID_ALGO_SINGLE_PASS = 2, /* key, plaintext_len == 16 */
	CIDLB_CID_ALGO_FOUR_PASS = 3,	/* key, any other plaintext_len */
};

struct cidlb_cid_config; /* opaque */

/*
 * Checks @p against every rule of the spec without creating anything.
 * Returns 0 if valid, -EINVAL if not. When @why is not NULL it receives a
 * static, human-readable sentence naming the broken rule (or NULL when
 * valid), e.g. "nonce_len must be 4..18".
 */
int cidlb_cid_params_check(const struct cidlb_cid_params *p, const char **why);

/*
 * Creates a config from @p (copied; @p may be freed afterwards) and stores
 * it in *@cfg. Returns 0, or:
 *   -EINVAL  a rule is broken (see cidlb_cid_params_check(); *@why says which)
 *   -ENOMEM  out of memory
 *   -EIO     OpenSSL failed to set up AES (*@why says so)
 *   other    getrandom(2) failed to seed the nonce counter
 * @why may be NULL. On failure *@cfg is set to NULL.
 */
int cidlb_cid_config_new(const struct cidlb_cid_params *p, struct cidlb_cid_config **cfg,
			 const char **why);

/* Frees @cfg (NULL is fine) and wipes its key from memory. */
void cidlb_cid_config_free(struct cidlb_cid_config *cfg);

/* Copies @cfg's parameters (key included) into *@p. */
void cidlb_cid_config_params(const struct cidlb_cid_config *cfg, struct cidlb_cid_params *p);

/* Length of the CIDs @cfg issues: 1 + server_id_len + nonce_len + extra_len. */
size_t cidlb_cid_config_cid_len(const struct cidlb_cid_config *cfg);

/* The algorithm @cfg uses. */
enum cidlb_cid_algo cidlb_cid_config_algo(const struct cidlb_cid_config *cfg);

/* "plaintext", "single-pass" or "four-pass" ("?" for anything else). */
const char *cidlb_cid_algo_str(enum cidlb_cid_algo algo);

/*
 * How many more CIDs cidlb_cid_encode() can issue with a library-chosen
 * nonce before -ENOSPC: 0 when exhausted. A keyed config starts with
 * 2^(8 * nonce_len), capped at UINT64_MAX for nonce_len >= 8. Plaintext
 * configs always report UINT64_MAX: random nonces never run out.
 */
uint64_t cidlb_cid_config_nonces_left(const struct cidlb_cid_config *cfg);

/* ---- encode (server) --------------------------------------------------- */

/*
 * Writes a new CID for server ID @server_id into @cid and returns its
 * length (cidlb_cid_config_cid_len(), > 0).
 *
 * @server_id_len must equal the config's server_id_len.
 * @nonce NULL: the library picks the nonce (random without a key, the next
 * counter value with a key; @nonce_len is then ignored). @nonce given:
 * @nonce_len must equal the config's nonce_len and the caller is
 * responsible for never repeating a nonce under a key (this does not touch
 * the counter). @cid_size must be at least the CID length.
 *
 * Returns the CID length, or:
 *   -EINVAL  NULL pointer or a length that does not match the config
 *   -ENOBUFS @cid_size too small
 *   -ENOSPC  keyed config exhausted: no unused nonce left (see above)
 *   -EIO     OpenSSL failed
 *   other    getrandom(2) failed
 */
int cidlb_cid_encode(struct cidlb_cid_config *cfg, const uint8_t *server_id, size_t server_id_len,
		     const uint8_t *nonce, size_t nonce_len, uint8_t *cid, size_t cid_size);

/*
 * Writes an unroutable CID of @cid_len octets (8..20) into @cid: config ID
 * 7, length self-encoded (octet 0 = 0xe0 | (cid_len - 1)), the rest
 * random. For a server that has no config (QUIC-LB draft-21 §3.2); the load
 * balancer routes such CIDs by its 4-tuple fallback. Returns @cid_len,
 * -EINVAL for a length outside 8..20, or the getrandom(2) error.
 */
int cidlb_cid_unroutable(uint8_t *cid, size_t cid_len);

/* ---- decode (server or load balancer) ---------------------------------- */

/* Result of a decode: routable, or why not. Values are stable. */
enum cidlb_cid_status {
	CIDLB_CID_ROUTABLE = 0,
	CIDLB_CID_UNROUTABLE_CR7 = 1, /* config ID 7: unroutable by design */
	CIDLB_CID_NO_CONFIG = 2,      /* config ID not held by this config
					 * or decoder */
	CIDLB_CID_TOO_SHORT = 3,      /* fewer than 1 + server_id_len +
					 * nonce_len octets (or empty) */
};

/* A short sentence for a status, e.g. "config ID 7 (unroutable)". */
const char *cidlb_cid_status_str(int status);

/* What a decode found. Fields past the lengths are zero. */
struct cidlb_cid_info {
	uint8_t config_id;     /* top 3 bits of octet 0 (set when len >= 1) */
	uint8_t server_id_len; /* 0 unless routable */
	uint8_t nonce_len;     /* 0 unless routable */
	uint8_t server_id[CIDLB_CID_SERVER_ID_LEN_MAX];
	uint8_t nonce[CIDLB_CID_NONCE_LEN_MAX];
};

/*
 * Decodes @cid (@cid_len octets; octets beyond 1 + server_id_len +
 * nonce_len are ignored, as the load balancer does) with @cfg. Returns an
 * enum cidlb_cid_status (>= 0; *@info filled for CIDLB_CID_ROUTABLE) or
 * -EINVAL (NULL pointer), -EIO (OpenSSL failed). A CID whose config ID is
 * not @cfg's gives CIDLB_CID_NO_CONFIG. Decoding does not check that the
 * server ID is one of yours: compare info->server_id yourself.
 */
int cidlb_cid_decode(struct cidlb_cid_config *cfg, const uint8_t *cid, size_t cid_len,
		     struct cidlb_cid_info *info);

/* ---- decoder: up to 7 configs ------------------------------------------ */

struct cidlb_cid_decoder; /* opaque */

/* An empty decoder (every config ID unroutable). NULL + errno on failure. */
struct cidlb_cid_decoder *cidlb_cid_decoder_new(void);

/* Frees @dec and the configs it holds (NULL is fine). */
void cidlb_cid_decoder_free(struct cidlb_cid_decoder *dec);

/*
 * Adds the config @p to @dec, replacing any config with the same config
 * ID. Errors as cidlb_cid_config_new() (on error @dec is unchanged).
 */
int cidlb_cid_decoder_add(struct cidlb_cid_decoder *dec, const struct cidlb_cid_params *p,
			  const char **why);

/* Removes config @config_id from @dec: 0, -ENOENT if not held, -EINVAL
 * if @config_id > 6. */
int cidlb_cid_decoder_remove(struct cidlb_cid_decoder *dec, uint8_t config_id);

/* As cidlb_cid_decode() with the config of the CID's config ID, if held. */
int cidlb_cid_decoder_decode(struct cidlb_cid_decoder *dec, const uint8_t *cid, size_t cid_len,
			     struct cidlb_cid_info *info);

/* ---- stateless reset tokens --------------------------------------------- */

#define CIDLB_RESET_KEY_LEN   16
#define CIDLB_RESET_TOKEN_LEN 16

/*
 * The stateless reset token (RFC 9000 section 10.3) of a CID that @cfg
 * issued, derived from a static key shared by the servers of a pool and
 * the load balancer (section 10.3.2), so that cidlb can answer the CIDs of
 * a server it knows to be down with a stateless reset the client accepts.
 * Give every CID you issue under @cfg this token (in NEW_CONNECTION_ID
 * frames and the stateless_reset_token transport parameter).
 *
 * The token is AES-128 CBC-MAC, under @key, of the octet string
 * L || cid[0 .. L-1] zero-padded to 16 octets (one block) or 32 (two
 * blocks, when L >= 16), where L = 1 + server_id_len + nonce_len: the
 * octets the load balancer reads from any packet of the CID (extra octets
 * appended after them do not enter the token). The length prefix makes the
 * messages of one config all of one length, as CBC-MAC needs. CIDs are
 * unique within a config (nonces never repeat), so tokens are too, and
 * without the key nobody can tell the token of another CID.
 *
 * Returns 0, or -EINVAL (a NULL pointer, @cid_len shorter than L, or a CID
 * of another config ID than @cfg's), -EIO (OpenSSL failed). Thread-safe.
 */
int cidlb_reset_token(const struct cidlb_cid_config *cfg, const uint8_t key[CIDLB_RESET_KEY_LEN],
		      const uint8_t *cid, size_t cid_len, uint8_t token[CIDLB_RESET_TOKEN_LEN]);

/* ---- token prefixes ------------------------------------------------------ */

/*
 * A routable prefix for the tokens a server issues (NEW_TOKEN frames and
 * Retry packets, RFC 9000 section 8.1), so that the load balancer sends a
 * client's next Initial, and the 0-RTT packets after it, to the server
 * that issued its token (and holds its session ticket), from any address
 * and port. The prefix is what cidlb_cid_encode() writes for a CID of @cfg
 * without its extra octets: octet 0 carries the config ID (and, with
 * len_self_encode, the prefix length - 1), then server ID and a fresh
 * nonce encoded by the config's algorithm. The load balancer decodes it
 * with its CID decoder, where the config says `token_prefix = yes`
 * (docs/tokens.md: format, security).
 *
 * Put the prefix first in the token and your own token after it; your
 * token check starts cidlb_token_prefix_len() octets into the token it
 * receives (and may also check the prefix: cidlb_cid_decode() reads it,
 * trailing octets ignored). Under a key the nonce comes from the config's
 * counter, shared with its CIDs: prefixes never repeat and cannot be
 * linked to each other or to the server's CIDs; plaintext prefixes show
 * the server ID, as plaintext CIDs do.
 *
 * Writes the prefix into @prefix and returns its length, or the errors of
 * cidlb_cid_encode() (-EINVAL, -ENOBUFS for @size under the length,
 * -ENOSPC for an exhausted keyed config, -EIO).
 */
int cidlb_token_prefix(struct cidlb_cid_config *cfg, const uint8_t *server_id, size_t server_id_len,
		       uint8_t *prefix, size_t size);

/* Length of the prefixes of @cfg: 1 + server_id_len + nonce_len. */
size_t cidlb_token_prefix_len(const struct cidlb_cid_config *cfg);

/* ---- AES key schedules for the load balancer's BPF code ---------------- */

/*
 * Fills the AES-128 expanded key schedules of @key, computed by OpenSSL's
 * AES_set_encrypt_key() and AES_set_decrypt_key(), in the classic rijndael
 * T-table layout (rijndael-alg-fst.c, OpenSSL's portable aes_core.c):
 *
 *   enc_rk[4r .. 4r+3]  round key r (r = 0..10) of FIPS-197 section 5.2,
 *                       word i holding key-schedule octets 4i..4i+3 as a
 *                       big-endian number: enc_rk[0] = key[0] << 24 |
 *                       key[1] << 16 | key[2] << 8 | key[3].
 *                       FIPS-197 A.1 key 2b7e1516...: enc_rk[4] = 0xa0fafe17,
 *                       enc_rk[43] = 0xb6630ca6.
 *   dec_rk              the "equivalent inverse cipher" schedule: round keys
 *                       in reverse order (dec_rk[0..3] = enc_rk[40..43],
 *                       dec_rk[40..43] = enc_rk[0..3]) with InvMixColumns
 *                       applied to rounds 1..9, same word layout.
 *
 * The words are host-endian integers whose value is as above (not byte
 * arrays). OpenSSL's x86-64 assembly stores these words byte-swapped; this
 * function detects that and always returns the classic values, so the
 * result is the same on every platform. Returns 0, -EINVAL for a NULL
 * pointer, -EIO if OpenSSL fails. Thread-safe.
 */
int cidlb_aes128_key_schedules(const uint8_t key[16], uint32_t enc_rk[44], uint32_t dec_rk[44]);

#ifdef __cplusplus
}
#endif

#endif /* CIDLB_CIDLB_H */
