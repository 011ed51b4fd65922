/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * rate.h - per-CPU rate limits for what the program sends of its own
 * (struct cidlb_rate, one window of a second per enum cidlb_rate_id).
 */
#ifndef CIDLB_BPF_RATE_H
#define CIDLB_BPF_RATE_H

#include "maps.h"

#define RATE_WINDOW_NS 1000000000ULL

/* 1 when one more event of `id` fits under `limit` per second on this
 * CPU (and counts it), else 0. A limit of 0 allows nothing. The clock is
 * read only here, so only by packets that want to send. */
static __always_inline int rate_take(__u32 id, __u32 limit)
{
	struct cidlb_rate *r = bpf_map_lookup_elem(&cidlb_rate, &id);
	__u64 now;

	if (!r || !limit)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - r->start_ns >= RATE_WINDOW_NS) {
		r->start_ns = now;
		r->used = 0;
	}
	if (r->used >= limit)
		return 0;
	r->used++;
	return 1;
}

#endif
