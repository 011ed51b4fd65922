/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * csum.h - the Internet checksum (RFC 1071) of what the program writes
 * itself: Packet Too Big replies (icmp.h), stateless resets (reset.h).
 */
#ifndef CIDLB_BPF_CSUM_H
#define CIDLB_BPF_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define CSUM_CHUNK 512 /* the most bpf_csum_diff() sums at once */

/* The Internet checksum (RFC 1071) of a partial sum. */
static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The partial sum of n octets at p (a multiple of 4), added to seed:
 * bpf_csum_diff() in chunks of up to 512 octets (n is a constant). */
static __always_inline __u64 csum_add_octets(void *p, __u32 n, __u64 seed)
{
	__u32 off;

#pragma unroll
	for (off = 0; off < n; off += CSUM_CHUNK) {
		__u32 len = n - off < CSUM_CHUNK ? n - off : CSUM_CHUNK;
		__s64 s = bpf_csum_diff(0, 0, p + off, len, 0);

		seed += (__u32)s;
	}
	return seed;
}

#endif
