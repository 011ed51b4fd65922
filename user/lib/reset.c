// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * reset.c - stateless reset tokens that the load balancer can compute too
 * (include/cidlb/cidlb.h, cidlb_reset_token(); the XDP program's twin is
 * bpf/reset.h). docs/operations.md, "Stateless resets from the LB".
 */
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cidlb/cidlb.h>

#define BLOCK 16

int cidlb_reset_token(const struct cidlb_cid_config *cfg, const uint8_t key[CIDLB_RESET_KEY_LEN],
		      const uint8_t *cid, size_t cid_len, uint8_t token[CIDLB_RESET_TOKEN_LEN])
{
	uint8_t m[2 * BLOCK] = { 0 }, t[BLOCK] = { 0 };
	struct cidlb_cid_params p;
	EVP_CIPHER_CTX *ctx;
	size_t len, blocks, i, b;
	int n, err = 0;

	if (!cfg || !key || !cid || !token)
		return -EINVAL;
	cidlb_cid_config_params(cfg, &p);
	len = 1u + p.server_id_len + p.nonce_len;
	if (cid_len < len || (cid[0] >> 5) != p.config_id)
		return -EINVAL;
	m[0] = (uint8_t)len;
	memcpy(m + 1, cid, len);
	OPENSSL_cleanse(&p, sizeof(p)); /* it holds the CID key */
	blocks = 1 + len <= BLOCK ? 1 : 2;

	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -EIO;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
		err = -EIO;
		goto out;
	}
	for (b = 0; b < blocks; b++) {
		for (i = 0; i < BLOCK; i++)
			t[i] ^= m[b * BLOCK + i];
		if (EVP_EncryptUpdate(ctx, t, &n, t, BLOCK) != 1 || n != BLOCK) {
			err = -EIO;
			goto out;
		}
	}
	memcpy(token, t, BLOCK);
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(m, sizeof(m));
	OPENSSL_cleanse(t, sizeof(t));
	return err;
}
