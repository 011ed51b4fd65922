// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* cidkey.c - retired-CID map keys (cidkey.h). */
#include <errno.h>
#include <string.h>
#include "ctl/cidkey.h"

int cidlb_cid_key_make(const uint8_t *cid, size_t len, const uint8_t pt_len[CIDLB_CONFIG_IDS],
		       struct cidlb_cid_key *key)
{
	unsigned int cr, sig;

	if (!len || len > CIDLB_CID_MAX)
		return -EINVAL;
	cr = cid[0] >> 5;
	sig = (cid[0] & 0x1fu) + 1;
	if (sig > len)
		sig = (unsigned int)len;
	if (cr < CIDLB_CONFIG_IDS && pt_len[cr] && 1u + pt_len[cr] <= len &&
	    1u + pt_len[cr] <= CIDLB_CID_MAX)
		sig = 1u + pt_len[cr];
	memset(key, 0, sizeof(*key));
	key->len = (uint8_t)sig;
	memcpy(key->cid, cid, sig);
	return 0;
}
