// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ngtcp2_cid.c - a QUIC server's connection IDs from libcidlb, in ngtcp2.
 *
 * A server behind cidlb must issue only CIDs that carry its server ID
 * (QUIC-LB, draft-ietf-quic-load-balancers-21). In ngtcp2 (0.12 here) two
 * places mint server CIDs:
 *
 *   1. the first SCID, which the application passes to
 *      ngtcp2_conn_server_new() (and the Retry SCID, if it sends Retry);
 *      its length fixes the length of every later CID of the connection;
 *   2. the get_new_connection_id callback, which ngtcp2 calls for the CIDs
 *      it announces in NEW_CONNECTION_ID frames, each with a stateless
 *      reset token.
 *
 * Both call cidlb_cid_encode() with one shared struct cidlb_cid_config
 * (thread-safe, so every worker thread can share it). A server without a
 * QUIC-LB config issues unroutable CIDs (config ID 7) instead.
 *
 * The stateless reset token of a QUIC-LB CID is cidlb_reset_token() under
 * the pool's reset key: the key the LB holds in reset_key_file, so that the
 * LB can reset the connections of a server it knows to be down. Give the
 * first SCID the same token (transport parameter stateless_reset_token).
 * Replace the reset key when the config changes (spec 4.6): a reused
 * codepoint could regenerate an old CID, and its token must not come back
 * with it. A server without a config (unroutable CIDs, which the LB never
 * resets) derives its tokens as ngtcp2's examples do, HMAC-SHA256(secret,
 * CID) truncated to 16 octets.
 *
 * Tokens (NEW_TOKEN frames and Retry packets): with `token_prefix = yes`
 * in the config's [quic-lb N] section, the LB routes a client's Initial by
 * the token it carries, so that a client that comes back from another
 * address reaches the server holding its session ticket and its 0-RTT
 * data is accepted (docs/tokens.md). The server puts cidlb_token_prefix()
 * first in each token it issues, ngtcp2's token after it, and strips the
 * prefix before ngtcp2 checks a token (new_token(), check_token()). After
 * the prefix comes ngtcp2's magic octet: NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY
 * or _REGULAR tells the kinds apart.
 *
 * main() runs without a network: it builds the first SCID, calls the
 * callback through an ngtcp2_callbacks table as ngtcp2 would, checks
 * every CID with a decoder, and builds and checks a token of each kind.
 * It exits 0 when all checks pass.
 *
 * Build: cc ngtcp2_cid.c -lcidlb -lngtcp2_crypto_gnutls -lngtcp2 -lcrypto -lpthread
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cidlb/cidlb.h>

struct server {
	struct cidlb_cid_config *cfg; /* NULL: no QUIC-LB config */
	uint8_t server_id[CIDLB_CID_SERVER_ID_LEN_MAX];
	size_t server_id_len;
	uint8_t reset_key[CIDLB_RESET_KEY_LEN]; /* with cfg: the pool's, as the LB's */
	uint8_t reset_secret[32];		/* without: this server's own */
};

static int reset_token(const struct server *s, const uint8_t *cid, size_t cidlen,
		       uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (s->cfg)
		return cidlb_reset_token(s->cfg, s->reset_key, cid, cidlen, token);

	if (!HMAC(EVP_sha256(), s->reset_secret, sizeof(s->reset_secret), cid, cidlen, md,
		  &mdlen) ||
	    mdlen < NGTCP2_STATELESS_RESET_TOKENLEN)
		return -1;
	memcpy(token, md, NGTCP2_STATELESS_RESET_TOKENLEN);
	return 0;
}

/* A new CID of exactly @cidlen octets: QUIC-LB encoded, or unroutable. */
static int new_cid(struct server *s, ngtcp2_cid *cid, size_t cidlen)
{
	uint8_t buf[NGTCP2_MAX_CIDLEN];
	int n;

	if (s->cfg) {
		if (cidlen != cidlb_cid_config_cid_len(s->cfg))
			return -EINVAL;
		/* nonce NULL: the library picks it (never repeated under a key) */
		n = cidlb_cid_encode(s->cfg, s->server_id, s->server_id_len, NULL, 0, buf,
				     sizeof(buf));
		/* n == -ENOSPC: the config is exhausted; switch to a new one
		 * or to unroutable CIDs */
	} else {
		n = cidlb_cid_unroutable(buf, cidlen);
	}
	if (n < 0)
		return n;
	ngtcp2_cid_init(cid, buf, (size_t)n);
	return 0;
}

/* ngtcp2_callbacks.get_new_connection_id */
static int get_new_connection_id(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
				 void *user_data)
{
	struct server *s = user_data;

	(void)conn;
	if (new_cid(s, cid, cidlen) < 0 || reset_token(s, cid->data, cid->datalen, token) < 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

/*
 * The server's first SCID, for ngtcp2_conn_server_new(..., &scid, ...).
 * A server with no config gives an 8-octet unroutable CID; it should then
 * set the transport parameter disable_active_migration and give the client
 * no further CIDs (spec 3.2).
 */
static int server_first_scid(struct server *s, ngtcp2_cid *scid)
{
	size_t len = s->cfg ? cidlb_cid_config_cid_len(s->cfg) : CIDLB_CID_UNROUTABLE_LEN_MIN;

	return new_cid(s, scid, len);
}

/* ---- tokens ------------------------------------------------------------- */

#define TOKEN_MAX (CIDLB_CID_LEN_MAX + NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN)

/*
 * A token for NEW_TOKEN (retry_scid NULL) or for a Retry packet, into
 * token (TOKEN_MAX octets): the routable prefix, then ngtcp2's token under
 * the server's token secret. Its length, or -1. Without a QUIC-LB config,
 * ngtcp2's token alone.
 */
static ngtcp2_ssize new_token(struct server *s, uint8_t *token, const uint8_t *secret,
			      size_t secretlen, const ngtcp2_sockaddr *sa, ngtcp2_socklen salen,
			      const ngtcp2_cid *retry_scid, const ngtcp2_cid *odcid,
			      ngtcp2_tstamp ts)
{
	ngtcp2_ssize n = 0, m;

	if (s->cfg) {
		/* a fresh nonce each time: prefixes cannot be linked */
		n = cidlb_token_prefix(s->cfg, s->server_id, s->server_id_len, token, TOKEN_MAX);
		if (n < 0)
			return -1;
	}
	if (retry_scid)
		m = ngtcp2_crypto_generate_retry_token(token + n, secret, secretlen,
						       NGTCP2_PROTO_VER_V1, sa, salen, retry_scid,
						       odcid, ts);
	else
		m = ngtcp2_crypto_generate_regular_token(token + n, secret, secretlen, sa, salen,
							 ts);
	return m < 0 ? -1 : n + m;
}

/*
 * Check a token from a client's Initial (hd.token): 0 valid, -1 not.
 * The prefix only routed the packet here; what it says is not trusted.
 * A Retry token gives the original DCID in *odcid.
 */
static int check_token(struct server *s, const uint8_t *token, size_t len, const uint8_t *secret,
		       size_t secretlen, const ngtcp2_sockaddr *sa, ngtcp2_socklen salen,
		       const ngtcp2_cid *dcid, ngtcp2_cid *odcid, ngtcp2_tstamp ts)
{
	size_t n = s->cfg ? cidlb_token_prefix_len(s->cfg) : 0;

	if (len <= n)
		return -1;
	token += n;
	len -= n;
	if (token[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY)
		return ngtcp2_crypto_verify_retry_token(odcid, token, len, secret, secretlen,
							NGTCP2_PROTO_VER_V1, sa, salen, dcid,
							10 * NGTCP2_SECONDS, ts) ?
			       -1 :
			       0;
	if (token[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR)
		return ngtcp2_crypto_verify_regular_token(token, len, secret, secretlen, sa, salen,
							  3600 * NGTCP2_SECONDS, ts) ?
			       -1 :
			       0;
	return -1;
}

/* ---- demonstration without a network ------------------------------------ */

static int failures;

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "ngtcp2_cid: FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			failures++; \
		} \
	} while (0)

static void print_cid(const char *what, const ngtcp2_cid *cid)
{
	printf("%-10s ", what);
	for (size_t i = 0; i < cid->datalen; i++)
		printf("%02x", cid->data[i]);
	printf("\n");
}

#define NEW_CIDS 8

int main(void)
{
	struct cidlb_cid_params p = {
		.config_id = 1,
		.server_id_len = 3,
		.nonce_len = 8,
		.len_self_encode = true,
		.has_key = true,
	};
	struct server srv = { .server_id = { 0x0a, 0x0b, 0x0c }, .server_id_len = 3 };
	struct server bare = { 0 };
	ngtcp2_callbacks cb = { 0 };
	struct cidlb_cid_decoder *dec = NULL;
	struct cidlb_cid_info info;
	ngtcp2_cid scid, cids[NEW_CIDS];
	uint8_t tokens[NEW_CIDS][NGTCP2_STATELESS_RESET_TOKENLEN];
	const char *why;
	int err;

	/* from the configuration agent: the CID key and the pool's reset key
	 * (made up here); the server without a config has its own secret */
	if (RAND_bytes(p.key, sizeof(p.key)) != 1 ||
	    RAND_bytes(srv.reset_key, sizeof(srv.reset_key)) != 1 ||
	    RAND_bytes(bare.reset_secret, sizeof(bare.reset_secret)) != 1) {
		fprintf(stderr, "ngtcp2_cid: RAND_bytes failed\n");
		return 1;
	}
	err = cidlb_cid_config_new(&p, &srv.cfg, &why);
	if (err) {
		fprintf(stderr, "ngtcp2_cid: QUIC-LB config: %s\n", why);
		return 1;
	}
	dec = cidlb_cid_decoder_new();
	if (!dec || cidlb_cid_decoder_add(dec, &p, &why)) {
		fprintf(stderr, "ngtcp2_cid: decoder: %s\n", dec ? why : strerror(errno));
		failures++;
		goto out;
	}
	cb.get_new_connection_id = get_new_connection_id;

	/* 1. the first SCID */
	CHECK(server_first_scid(&srv, &scid) == 0, "first SCID");
	print_cid("scid", &scid);
	CHECK(scid.datalen == 12, "SCID length %zu, want 12", scid.datalen);
	CHECK(scid.data[0] == (1 << 5 | 11), "SCID octet 0 %02x", scid.data[0]);
	CHECK(cidlb_cid_decoder_decode(dec, scid.data, scid.datalen, &info) == CIDLB_CID_ROUTABLE &&
		      !memcmp(info.server_id, srv.server_id, 3),
	      "SCID does not decode to the server ID");

	/* 2. NEW_CONNECTION_ID CIDs, as ngtcp2 asks for them */
	for (int i = 0; i < NEW_CIDS; i++) {
		CHECK(cb.get_new_connection_id(NULL, &cids[i], tokens[i], scid.datalen, &srv) == 0,
		      "callback %d failed", i);
		print_cid("new cid", &cids[i]);
		CHECK(cidlb_cid_decoder_decode(dec, cids[i].data, cids[i].datalen, &info) ==
			      CIDLB_CID_ROUTABLE,
		      "CID %d unroutable", i);
		CHECK(!memcmp(info.server_id, srv.server_id, 3), "CID %d: wrong server ID", i);
		CHECK(!ngtcp2_cid_eq(&cids[i], &scid), "CID %d repeats the SCID", i);
		for (int j = 0; j < i; j++) {
			CHECK(!ngtcp2_cid_eq(&cids[i], &cids[j]), "CID %d == %d", i, j);
			CHECK(memcmp(tokens[i], tokens[j], sizeof(tokens[i])), "token %d == %d", i,
			      j);
		}
	}
	/* ngtcp2 always asks for the SCID's length; anything else fails */
	CHECK(cb.get_new_connection_id(NULL, &cids[0], tokens[0], 8, &srv) ==
		      NGTCP2_ERR_CALLBACK_FAILURE,
	      "wrong length accepted");

	/* 3. a server with no config: one unroutable CID */
	CHECK(server_first_scid(&bare, &scid) == 0, "unroutable SCID");
	print_cid("unroutable", &scid);
	CHECK(scid.datalen == 8 && scid.data[0] == 0xe7, "unroutable SCID %zu octets, octet 0 %02x",
	      scid.datalen, scid.data[0]);
	CHECK(cidlb_cid_decoder_decode(dec, scid.data, scid.datalen, &info) ==
		      CIDLB_CID_UNROUTABLE_CR7,
	      "config ID 7 CID decoded as routable");

	/* 4. tokens: the prefix names this server, the server accepts its own */
	{
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(4433) };
		const ngtcp2_sockaddr *sa = (const ngtcp2_sockaddr *)&sin;
		uint8_t secret[32], tok[2][TOKEN_MAX];
		ngtcp2_ssize len[2];
		ngtcp2_cid odcid, dcid;
		ngtcp2_tstamp now = 1000 * NGTCP2_SECONDS;

		inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
		CHECK(RAND_bytes(secret, sizeof(secret)) == 1, "RAND_bytes");
		CHECK(new_cid(&srv, &dcid, cidlb_cid_config_cid_len(srv.cfg)) == 0, "Retry SCID");
		len[0] = new_token(&srv, tok[0], secret, sizeof(secret), sa, sizeof(sin), NULL,
				   NULL, now);
		len[1] = new_token(&srv, tok[1], secret, sizeof(secret), sa, sizeof(sin), &dcid,
				   &cids[0], now);
		for (int k = 0; k < 2; k++) {
			CHECK(len[k] > (ngtcp2_ssize)cidlb_token_prefix_len(srv.cfg), "token %d",
			      k);
			if (len[k] <= 0)
				continue;
			CHECK(cidlb_cid_decoder_decode(dec, tok[k], (size_t)len[k], &info) ==
					      CIDLB_CID_ROUTABLE &&
				      !memcmp(info.server_id, srv.server_id, 3),
			      "token %d: the prefix does not name the server", k);
			CHECK(check_token(&srv, tok[k], (size_t)len[k], secret, sizeof(secret), sa,
					  sizeof(sin), &dcid, &odcid, now + NGTCP2_SECONDS) == 0,
			      "token %d refused", k);
			tok[k][len[k] - 1] ^= 1; /* tampered: refused */
			CHECK(check_token(&srv, tok[k], (size_t)len[k], secret, sizeof(secret), sa,
					  sizeof(sin), &dcid, &odcid, now + NGTCP2_SECONDS) == -1,
			      "token %d: a tampered one accepted", k);
		}
		CHECK(len[1] > 0 && ngtcp2_cid_eq(&odcid, &cids[0]), "Retry token: original DCID");
		printf("tokens     %zd and %zd octets, prefixed (%zu)\n", len[0], len[1],
		       cidlb_token_prefix_len(srv.cfg));
	}

	printf("%s\n", failures ? "FAILED" : "ok");
out:
	cidlb_cid_decoder_free(dec);
	cidlb_cid_config_free(srv.cfg);
	return failures ? 1 : 0;
}
