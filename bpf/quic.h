/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * quic.h - step 3: the QUIC header, only as far as routing needs it.
 * Invariants of RFC 8999 and the v1/v2 long header of RFC 9000 17.2 and
 * RFC 9369 3.2; see docs/quic-lb.md. The packet form is
 * bit 0x80 alone: bit 0x40 may be greased (RFC 9287) and is never checked.
 */
#ifndef CIDLB_BPF_QUIC_H
#define CIDLB_BPF_QUIC_H

#include "parse.h"

#define QUIC_V1	  0x00000001
#define QUIC_V2	  0x6b3343cf
#define QUIC_LONG 0x80

enum quic_kind {
	QUIC_SHORT = 0,
	QUIC_INITIAL,
	QUIC_0RTT,
	QUIC_HANDSHAKE,
	QUIC_RETRY,
	QUIC_UNKNOWN_VERSION,
};

enum quic_result {
	QUIC_OK = 0,
	QUIC_TRUNCATED = -1,
	QUIC_VERSION_NEG = -2,
	QUIC_CID_TOO_LONG = -3,
};

struct quic_hdr {
	__u32 dcid_off;	  /* packet offset of the DCID's first octet */
	__u32 dcid_avail; /* DCID octets usable for routing, <= 20 */
	__u8 is_long;
	__u8 kind;     /* enum quic_kind */
	__u8 dcid_len; /* long header: DCID Length field */
	__u8 pad;
	__u32 hdr_end; /* long header: packet offset after the SCID */
};

/* v1 and v2 number the four long packet types differently (RFC 9369 3.2). */
static __always_inline __u8 quic_long_kind(__u32 version, __u8 first)
{
	__u8 t = (first >> 4) & 3;

	if (version == QUIC_V2)
		t = (t + 3) & 3; /* v2: 1 Initial, 2 0-RTT, 3 Handshake, 0 Retry */
	return QUIC_INITIAL + t;
}

/* The long header up to the end of the SCID, bounded by the frame here
 * and by the datagram in quic_parse(). */
static __always_inline int quic_parse_long(void *data, void *data_end, __u32 off,
					   struct quic_hdr *q)
{
	__u8 *h = data + (off & PKT_OFF_MASK);
	__u32 version, scid_off;
	__u8 *scid_len;
	int known;

	if ((void *)(h + 6) > data_end)
		return QUIC_TRUNCATED;
	version = bpf_ntohl(*(const __u32 *)(h + 1)); /* unaligned: allowed in packets */
	if (version == 0)
		return QUIC_VERSION_NEG;
	known = version == QUIC_V1 || version == QUIC_V2;
	q->dcid_len = h[5];
	if (known && q->dcid_len > CIDLB_CID_MAX)
		return QUIC_CID_TOO_LONG;
	q->dcid_off = off + 6;
	scid_off = q->dcid_off + q->dcid_len;
	scid_len = data + (scid_off & PKT_OFF_MASK);
	if ((void *)(scid_len + 1) > data_end)
		return QUIC_TRUNCATED;
	if (known && *scid_len > CIDLB_CID_MAX)
		return QUIC_CID_TOO_LONG;
	if ((void *)(scid_len + 1) + *scid_len > data_end)
		return QUIC_TRUNCATED;
	q->hdr_end = scid_off + 1 + *scid_len;
	q->is_long = 1;
	q->kind = known ? quic_long_kind(version, h[0]) : QUIC_UNKNOWN_VERSION;
	q->dcid_avail = q->dcid_len < CIDLB_CID_MAX ? q->dcid_len : CIDLB_CID_MAX;
	return QUIC_OK;
}

/*
 * The QUIC header at packet offset off, in a UDP datagram that ends at
 * packet offset `end` (its length field, checked against the IP packet):
 * the octets between it and data_end (Ethernet padding of a frame under
 * 60 octets) are never part of the header. A long header that ends past
 * it is truncated; its fields are checked first, as before (one offset
 * compare after them costs the verifier 150 instructions, one among them
 * 33,000). A short header's DCID stops there.
 */
static __always_inline int quic_parse(void *data, void *data_end, __u32 off, __u32 end,
				      struct quic_hdr *q)
{
	__u8 *h = data + (off & PKT_OFF_MASK);
	__u32 left;

	if ((void *)(h + 1) > data_end || off + 2 > end)
		return QUIC_TRUNCATED;
	if (h[0] & QUIC_LONG) {
		int rc = quic_parse_long(data, data_end, off, q);

		return rc || q->hdr_end <= end ? rc : QUIC_TRUNCATED;
	}
	/* Short header: the DCID length is known only from its config;
	 * what the datagram holds after the first octet bounds it. */
	if ((void *)(h + 2) > data_end)
		return QUIC_TRUNCATED;
	q->is_long = 0;
	q->kind = QUIC_SHORT;
	q->dcid_off = off + 1;
	left = end - q->dcid_off;
	q->dcid_avail = left < CIDLB_CID_MAX ? left : CIDLB_CID_MAX;
	return QUIC_OK;
}

/*
 * A mask of the low n octets of a word of `size` octets (n clamped to
 * 0..size), on a little-endian host: ANDed with a word, it keeps the
 * octets below n and zeroes the rest. Branch-free, so that masking a key
 * leaves the verifier one path, not one per possible length; the empty
 * asm keeps clang from turning the clamps back into branches.
 */
static __always_inline __u64 low_mask(__s64 n, __s64 size)
{
	__s64 over;

	asm volatile("" : "+r"(n));
	n &= ~(n >> 63); /* max(n, 0) */
	over = n - size;
	over &= ~(over >> 63);			       /* max(n - size, 0) */
	n -= over;				       /* min(n, size) */
	return (((__u64)1 << (4 * n)) << (4 * n)) - 1; /* no shift by 64 */
}

/* Keep the first n octets of an 8-aligned 24-octet key, zero the rest,
 * and set its first octet to `first`: whole-word stores only, so that the
 * word loads that follow (hash, lookups) are forwarded from them (a load
 * over a narrower store stalls for a dozen cycles). */
static __always_inline void key24_trim(void *key, __u32 n, __u8 first)
{
	__u64 *w = key;

	w[0] = (w[0] & low_mask(n, 8) & ~0xffULL) | first;
	w[1] &= low_mask((__s64)n - 8, 8);
	w[2] &= low_mask((__s64)n - 16, 8);
}

/*
 * Copy 20 octets from the DCID on into k->cid. The caller trims the key to
 * the octets that count (cid_classify), so what lies past the DCID is
 * never kept. The first octet of the key (len) is left 0.
 */
static __always_inline void quic_copy_dcid(struct xdp_md *ctx, const struct quic_hdr *q,
					   struct cidlb_cid_key *k)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	/* the octet before the DCID: the QUIC header's first or length octet;
	 * q->dcid_avail is bounded by the datagram's end, the loads below by
	 * the frame's: what they read past the datagram is trimmed away */
	__u8 *h = data + ((q->dcid_off - 1) & PKT_OFF_MASK);
	__u64 *w = (__u64 *)k;
	__u32 n;

	if ((void *)(h + 1 + CIDLB_CID_MAX) <= data_end) {
		/* three loads: key octets 0-7 are that octet (replaced by
		 * len = 0) and DCID 0-6, then DCID 7-14, then 15-19 from a
		 * load that ends at DCID octet 19 */
		w[0] = load_u64(h) & ~0xffULL;
		w[1] = load_u64(h + 8);
		w[2] = load_u64(h + 13) >> 24;
	} else {
		/* the datagram ends inside these 20 octets (one helper call
		 * rather than a loop: one verifier path, not twenty) */
		__builtin_memset(k, 0, sizeof(*k));
		n = data_end - (void *)(h + 1);
		if (n > q->dcid_avail)
			n = q->dcid_avail;
		if (n >= 1 && n <= CIDLB_CID_MAX)
			bpf_xdp_load_bytes(ctx, q->dcid_off & PKT_OFF_MASK, k->cid, n);
	}
}

#endif
