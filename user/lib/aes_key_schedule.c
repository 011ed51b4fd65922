// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * aes_key_schedule.c - AES-128 round keys for the load balancer's BPF AES.
 *
 * The XDP program runs a table-driven AES (docs/benchmark.md says why)
 * and needs the expanded key schedules in its map. OpenSSL's low-level
 * AES_KEY API is the only one that exposes them; it is deprecated in
 * OpenSSL 3, hence the suppression for this file alone.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <string.h>
#include <openssl/aes.h>
#include <openssl/crypto.h>

#include <cidlb/cidlb.h>

#define RK_WORDS 44

/*
 * Round key 0 is the key itself. The portable C code stores it as
 * big-endian words (the classic layout); the x86-64 assembly stores the
 * same words byte-swapped. Tell which with a key whose words are not
 * palindromes (FIPS-197 C.1): 1 swapped, 0 classic, -1 neither.
 */
static int openssl_swaps_words(void)
{
	static const uint8_t probe[16] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	};
	AES_KEY k;
	int ret = -1;

	if (AES_set_encrypt_key(probe, 128, &k) != 0)
		return -1;
	if (k.rd_key[0] == 0x00010203 && k.rd_key[4] == 0xd6aa74fd)
		ret = 0;
	else if (k.rd_key[0] == 0x03020100 && k.rd_key[4] == 0xfd74aad6)
		ret = 1;
	return ret;
}

int cidlb_aes128_key_schedules(const uint8_t key[16], uint32_t enc_rk[44], uint32_t dec_rk[44])
{
	AES_KEY ek, dk;
	int swap, i, err = 0;

	if (!key || !enc_rk || !dec_rk)
		return -EINVAL;
	if (AES_set_encrypt_key(key, 128, &ek) != 0 || AES_set_decrypt_key(key, 128, &dk) != 0 ||
	    ek.rounds != 10 || dk.rounds != 10) {
		err = -EIO;
		goto out;
	}
	swap = openssl_swaps_words();
	if (swap < 0) {
		err = -EIO;
		goto out;
	}
	for (i = 0; i < RK_WORDS; i++) {
		enc_rk[i] = swap ? __builtin_bswap32(ek.rd_key[i]) : ek.rd_key[i];
		dec_rk[i] = swap ? __builtin_bswap32(dk.rd_key[i]) : dk.rd_key[i];
	}
out:
	OPENSSL_cleanse(&ek, sizeof(ek));
	OPENSSL_cleanse(&dk, sizeof(dk));
	return err;
}
