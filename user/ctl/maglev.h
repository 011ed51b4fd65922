/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maglev.h - builds one Maglev lookup table (Eisenbud et al., "Maglev: A
 * Fast and Reliable Software Network Load Balancer", NSDI 2016, 3.4) for
 * the cidlb_maglev map: CIDLB_MAGLEV_SIZE slots, each a backend index.
 *
 * The table depends only on the set of (name, weight) pairs, their index
 * values and the seed: never on the order of the array, the host or its
 * byte order, so every LB of a fleet given the same configuration builds
 * the same table and a flow falls back to the same backend whichever LB
 * receives it.
 */
#ifndef CIDLB_CTL_MAGLEV_H
#define CIDLB_CTL_MAGLEV_H

#include <stdint.h>
#include <stddef.h>
#include "cidlb_maps.h" /* CIDLB_MAGLEV_SIZE, CIDLB_BACKEND_NONE */

struct cidlb_maglev_backend {
	const char *name; /* stable identity: the permutation derives
				 * from it and the seed, never from the index */
	uint32_t index;	  /* value written into table slots (backend
				 * index in the BPF maps); not
				 * CIDLB_BACKEND_NONE */
	uint32_t weight;  /* 0 = gets no slots (draining/absent backends
				 * are simply not passed, or passed with
				 * weight 0) */
};

/*
 * Fill table[CIDLB_MAGLEV_SIZE] with backend indexes.
 *
 * Deterministic for a given set and seed: the array is sorted by name
 * internally, so its order does not matter. n == 0 or all weights 0: every
 * slot is CIDLB_BACKEND_NONE and 0 is returned. Otherwise every slot holds
 * the index of a backend of weight > 0, and a backend of weight w holds
 * CIDLB_MAGLEV_SIZE * w / (sum of weights) slots rounded down or up
 * (largest remainders round up): less than one slot from its exact share,
 * and with equal weights counts differ by at most one.
 *
 * Returns 0, -EINVAL (NULL table, NULL b with n > 0, NULL or duplicate
 * name, index == CIDLB_BACKEND_NONE) or -ENOMEM. On error the table is
 * left untouched.
 */
int cidlb_maglev_build(const struct cidlb_maglev_backend *b, size_t n, uint32_t seed,
		       uint32_t *table);

/* Number of slots whose value differs between two tables: the share of
 * flows without a CID or LRU entry that a table change moves. */
size_t cidlb_maglev_moved(const uint32_t *old_table, const uint32_t *new_table);

#endif /* CIDLB_CTL_MAGLEV_H */
