/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * vip.h - step 2: is the packet addressed to a VIP? The answer comes from
 * cidlb_vip_table, the open-addressed copy of cidlb_vips that lb.c keeps
 * (include/cidlb_maps.h): a hash, then at most CIDLB_VIP_PROBES array
 * slots, each compared as three words.
 */
#ifndef CIDLB_BPF_VIP_H
#define CIDLB_BPF_VIP_H

#include "maps.h"
#include "parse.h"
#include "cidlb_hash.h"

/* Does slot s hold the key whose words are a, b, c? The slot is read as
 * words of the 8-aligned slot: a memcpy from key.addr + 8 (a struct of
 * 2-octet alignment) became eight octet loads and fourteen shifts and
 * ors. */
static __always_inline int vip_slot_is(const struct cidlb_vip_slot *s, __u64 a, __u64 b, __u32 c)
{
	const __u64 *w = (const __u64 *)s;
	__u32 z = ((const __u32 *)s)[4]; /* port, family, pad */

	return !((w[0] ^ a) | (w[1] ^ b) | (z ^ c));
}
_Static_assert(__builtin_offsetof(struct cidlb_vip_slot, key.addr) == 0 &&
		       __builtin_offsetof(struct cidlb_vip_slot, key.port) == 16,
	       "vip_slot_is() reads the key as words");

#define VIP_MATCH (1ULL << 32)

/* When the packet's destination address and UDP port are a VIP:
 * VIP_MATCH | its pool (struct cidlb_pool_ref, one word of its slot, as
 * vip_pool() reads it); else 0. A value, not a store through a pointer:
 * nothing of it takes room on the program's stack. */
static __always_inline __u64 vip_match(const struct cidlb_flow_key *f, const struct cidlb_global *g)
{
	__u32 half = g->vip_active & 1, h, i, n;
	__u32 c = f->dport | (__u32)f->family << 16; /* port, family, pad */
	const struct cidlb_vip_slot *s;
	__u64 a, b;

	if (f->family == CIDLB_FAMILY_V4) {
		/* as parsing stored it: one 4-octet word, the rest 0 */
		__u32 a4;

		__builtin_memcpy(&a4, f->dst, 4);
		a = a4;
		b = 0;
	} else {
		__builtin_memcpy(&a, f->dst, 8);
		__builtin_memcpy(&b, f->dst + 8, 8);
	}
	h = cidlb_vip_hash(a, b, c, g->vip_seed[half]);
#pragma unroll
	for (n = 0; n < CIDLB_VIP_PROBES; n++) {
		i = half * CIDLB_VIP_SLOTS + ((h + n) & (CIDLB_VIP_SLOTS - 1));
		s = bpf_map_lookup_elem(&cidlb_vip_table, &i);
		if (!s || !s->key.family)
			return 0;
		if (vip_slot_is(s, a, b, c)) {
			__u32 w;

			__builtin_memcpy(&w, &s->ref, sizeof(w));
			return VIP_MATCH | w;
		}
	}
	return 0;
}

/* The pool of a vip_match() result. */
static __always_inline struct cidlb_pool_ref vip_pool(__u64 m)
{
	struct cidlb_pool_ref pr;
	__u32 w = (__u32)m;

	__builtin_memcpy(&pr, &w, sizeof(pr));
	return pr;
}

#endif
