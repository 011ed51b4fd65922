/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * viptab.h - one half of cidlb_vip_table (include/cidlb_maps.h) from a
 * set of VIPs: what packets read instead of the cidlb_vips hash map.
 */
#ifndef CIDLB_CTL_VIPTAB_H
#define CIDLB_CTL_VIPTAB_H

#include <stddef.h>
#include <stdint.h>
#include "cidlb_maps.h"

/*
 * Fill slots[CIDLB_VIP_SLOTS] with the n VIPs, each within
 * CIDLB_VIP_PROBES slots of its home under the seed, trying seeds from
 * *seed on. Returns 0 with *seed set; -EINVAL for a key whose family is
 * not 4 or 6 or a key given twice, -E2BIG for more than CIDLB_MAX_VIPS,
 * -ENOSPC when no seed of the next 4096 fits them.
 */
int cidlb_vip_table_build(const struct cidlb_vip_key *keys, const struct cidlb_vip *vals, size_t n,
			  struct cidlb_vip_slot *slots, uint32_t *seed);

/* The slot of key in a half built with seed, or -1: as packets search. */
int cidlb_vip_table_find(const struct cidlb_vip_slot *slots, uint32_t seed,
			 const struct cidlb_vip_key *key);

#endif
