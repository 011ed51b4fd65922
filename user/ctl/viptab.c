// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* viptab.c - see viptab.h. */
#include <errno.h>
#include <string.h>
#include "cidlb_hash.h"
#include "ctl/viptab.h"

#define SEED_TRIES 4096

static int place(const struct cidlb_vip_key *keys, const struct cidlb_vip *vals, size_t n,
		 struct cidlb_vip_slot *slots, uint32_t seed)
{
	size_t i;
	uint32_t h, p, s;

	memset(slots, 0, CIDLB_VIP_SLOTS * sizeof(*slots));
	for (i = 0; i < n; i++) {
		h = cidlb_vip_key_hash(&keys[i], seed);
		for (p = 0; p < CIDLB_VIP_PROBES; p++) {
			s = (h + p) & (CIDLB_VIP_SLOTS - 1);
			if (!slots[s].key.family)
				break;
			if (!memcmp(&slots[s].key, &keys[i], sizeof(keys[i])))
				return -EINVAL;
		}
		if (p == CIDLB_VIP_PROBES)
			return -ENOSPC;
		slots[s].key = keys[i];
		slots[s].vip = vals[i];
	}
	return 0;
}

int cidlb_vip_table_build(const struct cidlb_vip_key *keys, const struct cidlb_vip *vals, size_t n,
			  struct cidlb_vip_slot *slots, uint32_t *seed)
{
	uint32_t t;
	size_t i;
	int err = 0;

	if (n > CIDLB_MAX_VIPS)
		return -E2BIG;
	for (i = 0; i < n; i++)
		if (keys[i].family != CIDLB_FAMILY_V4 && keys[i].family != CIDLB_FAMILY_V6)
			return -EINVAL;
	for (t = 0; t < SEED_TRIES; t++) {
		err = place(keys, vals, n, slots, *seed + t);
		if (err != -ENOSPC)
			break;
	}
	if (!err)
		*seed += t;
	return err;
}

int cidlb_vip_table_find(const struct cidlb_vip_slot *slots, uint32_t seed,
			 const struct cidlb_vip_key *key)
{
	uint32_t h = cidlb_vip_key_hash(key, seed), p, s;

	for (p = 0; p < CIDLB_VIP_PROBES; p++) {
		s = (h + p) & (CIDLB_VIP_SLOTS - 1);
		if (!slots[s].key.family)
			return -1;
		if (!memcmp(&slots[s].key, key, sizeof(*key)))
			return (int)s;
	}
	return -1;
}
