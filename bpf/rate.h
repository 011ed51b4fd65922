/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * rate.h - per-CPU rate limits (struct cidlb_rate, one per enum
 * cidlb_rate_id): 4-tuple inserts into cidlb_lru, stateless resets.
 */
#ifndef CIDLB_BPF_RATE_H
#define CIDLB_BPF_RATE_H

#include "maps.h"

#define RATE_SECOND_NS 1000000000ULL

/* 1 when one more event of `id` fits under `per_second` on this CPU (and
 * takes it), else 0; a limit of 0 allows nothing. A virtual schedule
 * (GCRA): each event moves next_ns on by 1 s / per_second from
 * max(next_ns, now), and an event that would move it more than a second
 * ahead of now is refused: per_second events a second, and up to that many
 * at once after a quiet second. The clock (the coarse one: a few loads)
 * is read only here, by packets that want the event. */
static __always_inline int rate_take(__u32 id, __u32 per_second)
{
	struct cidlb_rate *r = bpf_map_lookup_elem(&cidlb_rate, &id);
	__u64 now, next;

	if (!r || !per_second)
		return 0;
	now = bpf_ktime_get_coarse_ns();
	next = r->next_ns > now ? r->next_ns : now;
	next += RATE_SECOND_NS / per_second;
	if (next > now + RATE_SECOND_NS)
		return 0;
	r->next_ns = next;
	return 1;
}

#endif
