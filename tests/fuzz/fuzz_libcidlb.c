// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_libcidlb.c - libFuzzer target for libcidlb under ASan/UBSan. The
 * input picks a config (any octets, valid or not), a server ID, a nonce
 * and a CID. Invariants: an invalid config is refused, never half made; a
 * valid one encodes and decodes back the same server ID and nonce; any CID
 * decodes without a fault, to a status or a routable result whose lengths
 * are the config's.
 */
#include <stdint.h>
#include <string.h>
#include "cidlb/cidlb.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct cidlb_cid_params p = {};
	struct cidlb_cid_config *cfg = NULL;
	struct cidlb_cid_decoder *dec;
	struct cidlb_cid_info info;
	uint8_t cid[32];
	const char *why = NULL;
	int len, st;

	if (n < 8)
		return 0;
	p.config_id = d[0] & 7;
	p.server_id_len = d[1] % 20;
	p.nonce_len = d[2] % 24;
	p.extra_len = d[3] % 8;
	p.len_self_encode = d[4] & 1;
	p.has_key = d[4] & 2;
	memset(p.key, d[5], sizeof(p.key));
	d += 6;
	n -= 6;
	if (cidlb_cid_config_new(&p, &cfg, &why)) {
		if (cfg || !why) /* refused: nothing made, a reason given */
			__builtin_trap();
		return 0;
	}
	if (n >= (size_t)p.server_id_len + p.nonce_len) {
		len = cidlb_cid_encode(cfg, d, p.server_id_len, d + p.server_id_len, p.nonce_len,
				       cid, sizeof(cid));
		if (len != (int)cidlb_cid_config_cid_len(cfg))
			__builtin_trap();
		if (cidlb_cid_decode(cfg, cid, len, &info) != CIDLB_CID_ROUTABLE ||
		    info.server_id_len != p.server_id_len || info.nonce_len != p.nonce_len ||
		    memcmp(info.server_id, d, p.server_id_len) ||
		    memcmp(info.nonce, d + p.server_id_len, p.nonce_len))
			__builtin_trap();
	}
	/* the rest of the input as a CID seen on the wire */
	st = cidlb_cid_decode(cfg, d, n > 32 ? 32 : n, &info);
	if (st < 0 || (st == CIDLB_CID_ROUTABLE && info.server_id_len != p.server_id_len))
		__builtin_trap();
	dec = cidlb_cid_decoder_new();
	if (dec && !cidlb_cid_decoder_add(dec, &p, NULL)) {
		st = cidlb_cid_decoder_decode(dec, d, n > 32 ? 32 : n, &info);
		if (st < 0)
			__builtin_trap();
	}
	cidlb_cid_decoder_free(dec);
	cidlb_cid_config_free(cfg);
	return 0;
}
