/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cidkey.h - a CID as the retired-CID map keys it (struct cidlb_cid_key in
 * cidlb_maps.h): the octets that identify it, computed exactly as the data
 * path does (bpf/pick.h cid_classify), so that an operator's or a
 * backend's CID matches the packets that carry it.
 */
#ifndef CIDLB_CTL_CIDKEY_H
#define CIDLB_CTL_CIDKEY_H

#include <stddef.h>
#include <stdint.h>
#include "cidlb_maps.h"

/*
 * @pt_len[N]: server ID length + nonce length of config N as the LB holds
 * it, 0 when the LB does not hold config N. The key is 1 + pt_len octets
 * under a held config when the CID is that long (octets past it are
 * ignored), else (cid[0] & 0x1f) + 1 capped at @len. Returns 0 or -EINVAL
 * (empty or longer than 20 octets).
 */
int cidlb_cid_key_make(const uint8_t *cid, size_t len, const uint8_t pt_len[CIDLB_CONFIG_IDS],
		       struct cidlb_cid_key *key);

#endif
