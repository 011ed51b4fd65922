/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cid_crypto.h - decoding encrypted QUIC-LB connection IDs (load-balancer
 * side of draft-ietf-quic-load-balancers-21 §5.5; docs/quic-lb.md has the
 * formats and the errata the code follows).
 *
 * cid[0] is the first octet (config ID and length, never encrypted);
 * cid[1 .. pt_len] the encoded block, pt_len = sid_len + nonce_len.
 *
 *  - single pass (pt_len == 16): one AES-128 inverse cipher over cid[1..16];
 *    the server ID is the first sid_len octets.
 *  - four pass (any other pt_len): a Feistel network over the two halves
 *    (half_len = ceil(pt_len / 2) octets, sharing the middle octet's
 *    nibbles when pt_len is odd), round function the forward cipher over
 *    expand() = half ‖ zeros ‖ pt_len ‖ pass (the draft-19+ layout).
 *    Decoding runs passes 4, 3, 2 and, only when sid_len > nonce_len, 1.
 *
 * Verifier notes. Nothing here branches on a configuration value inside a
 * loop, so the verifier walks one path per pass instead of one per possible
 * length: lengths turn into masks read from a table and into variable
 * offsets into the per-CPU scratch value, every index masked to its array.
 */
#ifndef CIDLB_CID_CRYPTO_H
#define CIDLB_CID_CRYPTO_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "cidlb_maps.h"
#include "aes.h"

#define CID_PASSES	  4 /* four-pass Feistel */
#define CID_SCRATCH_WORDS 8 /* 32 octets: holds any 20-octet CID */
#define CID_HALF_WORDS	  4 /* one AES block */
#define CID_SID_WORDS	  4 /* CIDLB_SID_MAX octets rounded up */

/*
 * The scratch values are reread after this instead of being kept in
 * registers, where they would only be spilled to the stack across AES.
 */
#define cid_barrier() asm volatile("" ::: "memory")

/* Per-CPU scratch: variable-offset reads need memory, not registers. */
struct cid_scratch {
	__u32 pt[CID_SCRATCH_WORDS];   /* cid[1..19] big-endian, then zero */
	__u32 join[CID_SCRATCH_WORDS]; /* right half placed at octet 12 */
	__u32 half[2][CID_HALF_WORDS]; /* [0] left, [1] right; zero beyond half_len */
	__u32 mask[2][CID_HALF_WORDS]; /* keep-masks of left and right */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cid_scratch);
} cidlb_scratch SEC(".maps");

/*
 * cid_keep[n]: big-endian words whose first n octets are 0xff, the rest 0
 * (rows 16..31 all ones). Indexed by a length masked with 0x1f.
 */
#define CID_KEEP_N(n, k) ((n) <= 4 * (k) ? 0 : (n) >= 4 * (k) + 4 ? 4 : (n)-4 * (k))
#define CID_KEEP_W(n, k) ((__u32)(0xffffffff00000000ULL >> (8 * CID_KEEP_N(n, k))))
#define CID_KEEP_ROW(n) \
	{ \
		CID_KEEP_W(n, 0), CID_KEEP_W(n, 1), CID_KEEP_W(n, 2), CID_KEEP_W(n, 3) \
	}

static const __u32 cid_keep[32][4] = {
	CID_KEEP_ROW(0),  CID_KEEP_ROW(1),  CID_KEEP_ROW(2),  CID_KEEP_ROW(3),	CID_KEEP_ROW(4),
	CID_KEEP_ROW(5),  CID_KEEP_ROW(6),  CID_KEEP_ROW(7),  CID_KEEP_ROW(8),	CID_KEEP_ROW(9),
	CID_KEEP_ROW(10), CID_KEEP_ROW(11), CID_KEEP_ROW(12), CID_KEEP_ROW(13), CID_KEEP_ROW(14),
	CID_KEEP_ROW(15), CID_KEEP_ROW(16), CID_KEEP_ROW(16), CID_KEEP_ROW(16), CID_KEEP_ROW(16),
	CID_KEEP_ROW(16), CID_KEEP_ROW(16), CID_KEEP_ROW(16), CID_KEEP_ROW(16), CID_KEEP_ROW(16),
	CID_KEEP_ROW(16), CID_KEEP_ROW(16), CID_KEEP_ROW(16), CID_KEEP_ROW(16), CID_KEEP_ROW(16),
	CID_KEEP_ROW(16), CID_KEEP_ROW(16),
};

/* Big-endian word of octets p[0..3] (p may be unaligned, on the stack). */
static __always_inline __u32 cid_get32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

/*
 * Word i (0..3) of a CID key's encoded octets, big-endian: cid[4i+1 ..
 * 4i+4]. The key is 8-aligned (struct cid_ctx): the word is a funnel
 * shift of two of its little-endian 8-octet words and a byte swap, not
 * four octet loads and three shifts and ors. cid_tail_word() is
 * cid[17..19], then 0.
 */
static __always_inline __u32 cid_block_word(const struct cidlb_cid_key *k, __u32 i)
{
	const __u64 *kw = (const __u64 *)k;
	/* cid[4i+1] is key octet 4i+2: from bit 16 of key word i/2 for an
	 * even i, from bit 48 on into the next word for an odd one */
	__u64 lo = kw[i >> 1], hi = kw[(i >> 1) + 1];
	__u32 v = i & 1 ? (__u32)(lo >> 48 | hi << 16) : (__u32)(lo >> 16);

	return bpf_ntohl(v);
}

static __always_inline __u32 cid_tail_word(const struct cidlb_cid_key *k)
{
	return bpf_ntohl((__u32)(((const __u64 *)k)[2] >> 16) & 0xffffff);
}

/*
 * Word k of the octet string w starting at octet off (off + 4k + 8 <= 32),
 * without unaligned loads: a funnel shift of two aligned words.
 */
static __always_inline __u32 cid_word_at(const __u32 *w, __u32 off, __u32 k)
{
	__u32 i = (off >> 2) + k;
	__u64 v = (__u64)w[i & (CID_SCRATCH_WORDS - 1)] << 32 |
		  w[(i + 1) & (CID_SCRATCH_WORDS - 1)];

	return (__u32)(v >> (32 - ((off & 3) << 3)));
}

/* Writes the server ID: octets of w, zero from sid_len on. */
static __always_inline void cid_put_sid(__u8 *sid, const __u32 *w, __u32 sid_len)
{
	const __u32 *keep = cid_keep[sid_len & 0x1f];
	__u32 v0 = w[0] & keep[0], v1 = w[1] & keep[1];
	__u32 v2 = w[2] & keep[2], v3 = w[3] & keep[3];

	/* clang-format off */
	sid[0] = v0 >> 24; sid[1] = v0 >> 16; sid[2] = v0 >> 8; sid[3] = v0;
	sid[4] = v1 >> 24; sid[5] = v1 >> 16; sid[6] = v1 >> 8; sid[7] = v1;
	sid[8] = v2 >> 24; sid[9] = v2 >> 16; sid[10] = v2 >> 8; sid[11] = v2;
	sid[12] = v3 >> 24; sid[13] = v3 >> 16; sid[14] = v3 >> 8;
	/* clang-format on */
	_Static_assert(CIDLB_SID_MAX == 15, "cid_put_sid writes 15 octets");
}

/* The lengths of an encrypted config, or -1 when they cannot be. */
static __always_inline int cid_check_lengths(const struct cidlb_config *cfg)
{
	__u32 sid_len = cfg->sid_len, nonce_len = cfg->nonce_len;
	__u32 pt_len = cfg->pt_len;

	if (sid_len < 1 || sid_len > CIDLB_SID_MAX || nonce_len < CIDLB_NONCE_MIN ||
	    nonce_len > CIDLB_NONCE_MAX || pt_len != sid_len + nonce_len || pt_len > CIDLB_PT_MAX ||
	    cfg->half_len != (pt_len + 1) / 2)
		return -1;
	return 0;
}

/*
 * Single-pass decode (§3.2): sid = first sid_len octets of
 * AES-128-Decrypt(key, cid[1..16]). key: the CID's (8-aligned),
 * cid[1..16] present. sid: CIDLB_SID_MAX octets, zero beyond sid_len.
 * Returns 0, or -1 if the config is not a consistent single-pass config.
 */
static __always_inline int cid_decode_single_pass(const struct cidlb_config *cfg,
						  const struct cidlb_cid_key *key, __u8 *sid)
{
	struct aes_block b;

	if (cid_check_lengths(cfg) || cfg->pt_len != 16)
		return -1;

	b.w[0] = cid_block_word(key, 0);
	b.w[1] = cid_block_word(key, 1);
	b.w[2] = cid_block_word(key, 2);
	b.w[3] = cid_block_word(key, 3);
	aes128_decrypt(cfg->dec_rk, &b);
	cid_put_sid(sid, b.w, cfg->sid_len);
	return 0;
}

/*
 * Four-pass decode (§3.3). key: the CID's (8-aligned), cid[1..pt_len]
 * present (later octets are read but masked off). sid: CIDLB_SID_MAX
 * octets, zero beyond sid_len.
 * Returns 0, or -1 if the config is not a consistent four-pass config or the
 * scratch map is missing.
 */
static __always_inline int cid_decode_four_pass(const struct cidlb_config *cfg,
						const struct cidlb_cid_key *key, __u8 *sid)
{
	struct cid_scratch *sc;
	struct aes_block b;
	__u32 pt_len, half_len, odd, s, k, t, p;
	const __u32 *keep_h, *keep_h1;
	__u32 zero = 0;

	if (cid_check_lengths(cfg) || cfg->pt_len == 16)
		return -1;
	sc = bpf_map_lookup_elem(&cidlb_scratch, &zero);
	if (!sc)
		return -1;

	pt_len = cfg->pt_len;
	half_len = cfg->half_len;
	odd = pt_len & 1;
	s = pt_len >> 1; /* first octet of the right half */

	/* The block, as big-endian words; octet 19 does not exist. */
	sc->pt[0] = cid_block_word(key, 0);
	sc->pt[1] = cid_block_word(key, 1);
	sc->pt[2] = cid_block_word(key, 2);
	sc->pt[3] = cid_block_word(key, 3);
	sc->pt[4] = cid_tail_word(key);
	sc->pt[5] = 0;
	sc->pt[6] = 0;
	sc->pt[7] = 0;
	cid_barrier();

	/*
	 * Keep-masks: half_len octets; for odd pt_len the left half drops the
	 * low nibble of its last octet, the right half the high nibble of its
	 * first (the octet they share).
	 */
	keep_h = cid_keep[half_len & 0x1f];
	keep_h1 = cid_keep[(half_len - 1) & 0x1f];
	t = -odd; /* all ones when pt_len is odd */
	for (k = 0; k < CID_HALF_WORDS; k++) {
		sc->mask[0][k] = keep_h[k] & ~(~keep_h1[k] & 0x0f0f0f0f & t);
		sc->mask[1][k] = keep_h[k];
	}
	sc->mask[1][0] &= ~(0xf0000000U & t);
	cid_barrier();

	/* split() */
	for (k = 0; k < CID_HALF_WORDS; k++) {
		sc->half[0][k] = sc->pt[k] & sc->mask[0][k];
		sc->half[1][k] = cid_word_at(sc->pt, s, k) & sc->mask[1][k];
	}
	cid_barrier();

	/*
	 * Passes 4, 3, 2, 1: even passes feed the right half to AES and xor
	 * into the left, odd passes the reverse. p is a constant to the
	 * verifier in each iteration, so the indexes below are too.
	 */
#pragma clang loop unroll(disable)
	for (p = CID_PASSES; p >= 1; p--) {
		__u32 dst = p & 1, src = dst ^ 1;

		/* 3 passes suffice when the server ID lies in the left half. */
		if (p == 1 && cfg->sid_len <= cfg->nonce_len)
			break;
		b.w[0] = sc->half[src][0];
		b.w[1] = sc->half[src][1];
		b.w[2] = sc->half[src][2];
		b.w[3] = pt_len << 8 | p; /* half_len <= 10: octets 14, 15 */
		aes128_encrypt(cfg->enc_rk, &b);
		sc->half[dst][0] ^= b.w[0] & sc->mask[dst][0];
		sc->half[dst][1] ^= b.w[1] & sc->mask[dst][1];
		sc->half[dst][2] ^= b.w[2] & sc->mask[dst][2];
		cid_barrier();
	}

	/*
	 * With 3 passes the server ID is the left half's alone: the right
	 * one (R1 there) starts at octet s >= sid_len. No join (about 40
	 * instructions).
	 */
	if (cfg->sid_len <= cfg->nonce_len) {
		cid_put_sid(sid, sc->half[0], cfg->sid_len);
		return 0;
	}
	/*
	 * join(): left | right shifted to octet s. Place the right half at
	 * octet 12 of a zeroed buffer and read it back from octet 12 - s.
	 */
	sc->join[0] = 0;
	sc->join[1] = 0;
	sc->join[2] = 0;
	sc->join[3] = sc->half[1][0];
	sc->join[4] = sc->half[1][1];
	sc->join[5] = sc->half[1][2];
	sc->join[6] = 0;
	sc->join[7] = 0;
	for (k = 0; k < CID_SID_WORDS; k++)
		b.w[k] = sc->half[0][k] | cid_word_at(sc->join, 12 - s, k);
	cid_put_sid(sid, b.w, cfg->sid_len);
	return 0;
}

#endif /* CIDLB_CID_CRYPTO_H */
