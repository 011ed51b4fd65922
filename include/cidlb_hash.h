/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cidlb_hash.h - the seeded 4-tuple hash that indexes the Maglev table.
 *
 * Compiled by the XDP program and by userspace (tests, `cidlb trace`), so
 * that any two hosts with the same seed pick the same backend for the same
 * flow. Jenkins' lookup3 final mixing over the ten 32-bit words of struct
 * cidlb_flow_key. Not a MAC: the seed only spreads flows.
 */
#ifndef CIDLB_HASH_H
#define CIDLB_HASH_H

#include <linux/types.h>
#include "cidlb_maps.h"

#define CIDLB_ROL32(x, k) (((x) << (k)) | ((x) >> (32 - (k))))

#define CIDLB_MIX(a, b, c) \
	do { \
		a -= c; \
		a ^= CIDLB_ROL32(c, 4); \
		c += b; \
		b -= a; \
		b ^= CIDLB_ROL32(a, 6); \
		a += c; \
		c -= b; \
		c ^= CIDLB_ROL32(b, 8); \
		b += a; \
		a -= c; \
		a ^= CIDLB_ROL32(c, 16); \
		c += b; \
		b -= a; \
		b ^= CIDLB_ROL32(a, 19); \
		a += c; \
		c -= b; \
		c ^= CIDLB_ROL32(b, 4); \
		b += a; \
	} while (0)

#define CIDLB_FINAL(a, b, c) \
	do { \
		c ^= b; \
		c -= CIDLB_ROL32(b, 14); \
		a ^= c; \
		a -= CIDLB_ROL32(c, 11); \
		b ^= a; \
		b -= CIDLB_ROL32(a, 25); \
		c ^= b; \
		c -= CIDLB_ROL32(b, 16); \
		a ^= c; \
		a -= CIDLB_ROL32(c, 4); \
		b ^= a; \
		b -= CIDLB_ROL32(a, 14); \
		c ^= b; \
		c -= CIDLB_ROL32(b, 24); \
	} while (0)

/* Hash of a flow key: its bytes are read as host-order words, so the
 * result is the same on every little-endian host (x86, arm64). */
static inline __u32 cidlb_flow_hash(const struct cidlb_flow_key *k, __u32 seed)
{
	const __u32 *w = (const __u32 *)k;
	__u32 a, b, c;

	a = b = c = 0xdeadbeef + (__u32)sizeof(*k) + seed;
	a += w[0];
	b += w[1];
	c += w[2];
	CIDLB_MIX(a, b, c);
	a += w[3];
	b += w[4];
	c += w[5];
	CIDLB_MIX(a, b, c);
	a += w[6];
	b += w[7];
	c += w[8];
	CIDLB_MIX(a, b, c);
	a += w[9];
	CIDLB_FINAL(a, b, c);
	return c;
}

/* The outer IPv6 flow label of a flow (RFC 6437: from the 4-tuple, so
 * that ECMP on the way spreads flows): the key's five 64-bit words xored
 * and multiplied once, the top 20 bits. k: 8-octet aligned. */
static inline __u32 cidlb_flow_label(const struct cidlb_flow_key *k)
{
	const __u64 *w = (const __u64 *)k;

	return (__u32)(((w[0] ^ w[1] ^ w[2] ^ w[3] ^ w[4]) * 0x9e3779b97f4a7c15ULL) >> 44);
}

/* The outer UDP source port of a GUE packet, host byte order: from the
 * flow as the flow label is (another multiplier, so the two are not the
 * same bits), 15 bits over 32768..65535, so that a receiver's RSS, which
 * hashes the outer 4-tuple, spreads flows over its queues while each flow
 * keeps one port. k: 8-octet aligned. */
static inline __u16 cidlb_gue_sport(const struct cidlb_flow_key *k)
{
	const __u64 *w = (const __u64 *)k;

	return (__u16)(0x8000 |
		       (((w[0] ^ w[1] ^ w[2] ^ w[3] ^ w[4]) * 0xc2b2ae3d27d4eb4fULL) >> 49));
}

/* The three words of a CID key mixed into one: three multiplies, then the
 * high half folded down, so that every octet of the key moves every bit
 * (plaintext CIDs differ in a few nonce octets only). */
static inline __u64 cidlb_cid_fold(const struct cidlb_cid_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = (w[0] * 0x9e3779b97f4a7c15ULL) ^ (w[1] * 0xc2b2ae3d27d4eb4fULL) ^
		  (w[2] * 0x165667b19e3779f9ULL);

	return h ^ (h >> 32);
}

/* Two independent 32-bit hashes of a CID key: the low half is the slot
 * hash of the direct-mapped decode cache and the block of the retired-CID
 * filter, the high half gives its three bits in that block. Not
 * keyed: a sender who crafts colliding CIDs only forces cache misses (the
 * cipher, as fresh CIDs cost anyway) or retired-map lookups. */
static inline __u64 cidlb_cid_hashes(const struct cidlb_cid_key *k)
{
	__u64 h = cidlb_cid_fold(k);

	return ((h * 0xd6e8feb86659fd93ULL) >> 32) |
	       ((h * 0xa0761d6478bd642fULL) & 0xffffffff00000000ULL);
}

static inline __u32 cidlb_cid_hash(const struct cidlb_cid_key *k)
{
	return (__u32)cidlb_cid_hashes(k);
}

/* Bit n (0, 1 or 2) of a CID key in its block of the retired-CID filter
 * (0..511), from the high half of its cidlb_cid_hashes(); the block is
 * the low half, masked. */
static inline __u32 cidlb_rhint_bit(__u32 high, int n)
{
	return (high >> (9 * n)) & 511;
}

/* Home slot hash of a VIP key (cidlb_vip_table), from its three words:
 * address octets 0-7 and 8-15, then port, family and pad as one
 * little-endian word. The seed is lb.c's choice for a table half: a
 * different seed moves every key. */
static inline __u32 cidlb_vip_hash(__u64 a, __u64 b, __u32 c, __u32 seed)
{
	__u64 s = (seed + 1ULL) * 0x9e3779b97f4a7c15ULL;
	__u64 h = ((a ^ s) * 0xc2b2ae3d27d4eb4fULL) ^ ((b + s) * 0x165667b19e3779f9ULL) ^
		  (((__u64)c ^ (s >> 17)) * 0xd6e8feb86659fd93ULL);

	h ^= h >> 32;
	h *= 0x9e3779b97f4a7c15ULL;
	return (__u32)(h >> 32);
}

/* The same for a key in memory. */
static inline __u32 cidlb_vip_key_hash(const struct cidlb_vip_key *k, __u32 seed)
{
	__u64 a, b;
	__u32 c;

	__builtin_memcpy(&a, k->addr, 8);
	__builtin_memcpy(&b, k->addr + 8, 8);
	__builtin_memcpy(&c, &k->port, 4); /* port, family, pad */
	return cidlb_vip_hash(a, b, c, seed);
}

/* The two buckets of a server-ID entry key (cidlb_sid_table): low half
 * and high half, each to be masked; never the same bucket twice. */
static inline __u64 cidlb_sid_buckets(__u64 key, __u32 mask)
{
	__u32 b1 = (__u32)((key * 0x9e3779b97f4a7c15ULL) >> 32) & mask;
	__u32 b2 = (__u32)((key * 0xc2b2ae3d27d4eb4fULL) >> 32) & mask;

	if (b2 == b1)
		b2 = b1 ^ 1;
	return b1 | (__u64)(b2 & mask) << 32;
}

/* Slot of a flow in one Maglev table. Always inline: with a second
 * caller in the XDP program (bpf/icmp.h) clang made it a BPF function,
 * a call on every fallback packet. */
static inline __attribute__((always_inline)) __u32 cidlb_maglev_slot(const struct cidlb_flow_key *k,
								     __u32 seed)
{
	return cidlb_flow_hash(k, seed) % CIDLB_MAGLEV_SIZE;
}

#endif /* CIDLB_HASH_H */
