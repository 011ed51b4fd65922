/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * reset.h - a stateless reset (RFC 9000 section 10.3) from the LB, for a
 * short-header packet whose CID names a backend that health checks say is
 * down, under a config with a reset key (docs/operations.md, "Stateless
 * resets from the LB"). The servers derive their reset tokens from the
 * same key with cidlb_reset_token() (libcidlb), so the client accepts the
 * reset and learns in one round trip that its connection is gone.
 *
 * The packet is turned around in place: Ethernet, IP and UDP addresses
 * swapped, so the reset leaves from the VIP by the way the packet came;
 * its UDP payload is one octet shorter than the trigger's (section
 * 10.3.3: a reset never triggers a reset of its own size, so two LBs or an
 * LB and a server cannot loop, and nothing is amplified), at most
 * CIDLB_RESET_MAX octets and never fewer than CIDLB_RESET_MIN: a first
 * octet 01xxxxxx, unpredictable octets, the 16-octet token.
 */
#ifndef CIDLB_BPF_RESET_H
#define CIDLB_BPF_RESET_H

#include "maps.h"
#include "parse.h"
#include "pick.h"
#include "rate.h"
#include "aes.h"
#include "csum.h"

/* The token of CID key k (struct cidlb_cid_key: the length, then the
 * CID's identifying octets, zero after them) under the encrypt schedule
 * rk: AES-128 CBC-MAC of the key's octets, one block when the length
 * and the CID fit in 16 octets, else two (cidlb_reset_token()). */
static __always_inline void reset_token(const __u32 *rk, const struct cidlb_cid_key *k,
					struct aes_block *t)
{
	__u8 m[32] __attribute__((aligned(8))) = {};
	__u32 blocks = k->len < 16 ? 1 : 2, b;

	__builtin_memcpy(m, k, sizeof(*k));
	/* the CID's octets only: not the pool the key names */
	m[__builtin_offsetof(struct cidlb_cid_key, pool)] = 0;
	m[__builtin_offsetof(struct cidlb_cid_key, pool) + 1] = 0;
	t->w[0] = t->w[1] = t->w[2] = t->w[3] = 0;
#pragma clang loop unroll(disable)
	for (b = 0; b < 2; b++) {
		const __u8 *p = m + 16 * b;

		if (b >= blocks)
			break;
		t->w[0] ^= cid_get32(p);
		t->w[1] ^= cid_get32(p + 4);
		t->w[2] ^= cid_get32(p + 8);
		t->w[3] ^= cid_get32(p + 12);
		aes128_encrypt(rk, t);
	}
}

/* Ones' complement sum of n 16-bit words at p (in the packet, bounded). */
static __always_inline __u32 reset_sum16(const void *p, __u32 n, void *data_end)
{
	const __u16 *w = p;
	__u32 sum = 0, i;

#pragma clang loop unroll(disable)
	for (i = 0; i < (CIDLB_RESET_MAX + 8 + 1) / 2; i++) {
		if (i >= n || (void *)(w + i + 1) > data_end)
			break;
		sum += w[i];
	}
	return sum;
}

/* The reset's UDP payload length for a trigger of `in` octets, or 0 when
 * no reset fits below it. */
static __always_inline __u32 reset_len(__u32 in)
{
	if (in <= CIDLB_RESET_MIN)
		return 0;
	return in - 1 > CIDLB_RESET_MAX ? CIDLB_RESET_MAX : in - 1;
}

/* Swap the addresses of the frame's Ethernet, IP and UDP headers and set
 * the lengths for a UDP payload of len octets; the UDP checksum is left 0. */
static __always_inline int reset_turn(void *data, void *data_end, const struct pkt *p, __u32 len)
{
	struct ethhdr *eth = data;
	struct udphdr *udp = data + (p->l4_off & PKT_OFF_MASK);
	__u8 mac[6];
	__u16 port;

	if ((void *)(eth + 1) > data_end || (void *)(udp + 1) > data_end)
		return -1;
	__builtin_memcpy(mac, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, mac, 6);
	if (p->flow.family == CIDLB_FAMILY_V4) {
		struct iphdr *ip = data + (p->l2_len & PKT_OFF_MASK);
		__u32 a;

		if ((void *)(ip + 1) > data_end)
			return -1;
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->ttl = 64;
		ip->tot_len = bpf_htons(sizeof(*ip) + sizeof(*udp) + len);
		ip->id = 0;
		ip->frag_off = bpf_htons(0x4000); /* DF */
		ip->check = 0;
		ip->check = csum_fold(reset_sum16(ip, sizeof(*ip) / 2, data_end));
	} else {
		struct ipv6hdr *ip6 = data + (p->l2_len & PKT_OFF_MASK);
		struct in6_addr a;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->hop_limit = 64;
		ip6->payload_len = bpf_htons(sizeof(*udp) + len);
	}
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	udp->len = bpf_htons(sizeof(*udp) + len);
	udp->check = 0;
	return 0;
}

/* The UDP payload: 01xxxxxx, unpredictable octets, the token at the end. */
static __always_inline int reset_payload(void *data, void *data_end, const struct pkt *p, __u32 len,
					 const struct aes_block *t)
{
	__u8 *pl = data + ((p->l4_off + sizeof(struct udphdr)) & PKT_OFF_MASK);
	__u8 *tok = pl + ((len - CIDLB_RESET_TOKEN_LEN) & 0x3f);
	__u32 i, r = 0;

#pragma clang loop unroll(disable)
	for (i = 0; i < CIDLB_RESET_MAX - CIDLB_RESET_TOKEN_LEN; i++) {
		if (i >= len - CIDLB_RESET_TOKEN_LEN || pl + i + 1 > (__u8 *)data_end)
			break;
		if (!(i & 3))
			r = bpf_get_prandom_u32();
		pl[i] = (__u8)(r >> ((i & 3) * 8));
	}
	if (pl + 1 > (__u8 *)data_end || tok + CIDLB_RESET_TOKEN_LEN > (__u8 *)data_end)
		return -1;
	pl[0] = 0x40 | (pl[0] & 0x3f);
#pragma unroll
	for (i = 0; i < 4; i++) {
		tok[4 * i] = t->w[i] >> 24;
		tok[4 * i + 1] = t->w[i] >> 16;
		tok[4 * i + 2] = t->w[i] >> 8;
		tok[4 * i + 3] = t->w[i];
	}
	return 0;
}

/* Ones' complement sum of a 16-octet address of a flow key. */
static __always_inline __u32 reset_addr_sum(const __u8 *a)
{
	__u32 sum = 0, i;
	__u16 w;

#pragma unroll
	for (i = 0; i < 16; i += 2) {
		__builtin_memcpy(&w, a + i, 2);
		sum += w;
	}
	return sum;
}

/* UDP checksum of the finished reset (pseudo-header, header, payload). */
static __always_inline int reset_udp_check(void *data, void *data_end, const struct pkt *p,
					   __u32 len)
{
	struct udphdr *udp = data + (p->l4_off & PKT_OFF_MASK);
	__u32 ulen = sizeof(*udp) + len, sum;
	__u16 odd = 0, check;

	if ((void *)(udp + 1) > data_end)
		return -1;
	/* the addresses: swapped, the same sum; zero past an IPv4 address */
	sum = reset_addr_sum(p->flow.src) + reset_addr_sum(p->flow.dst);
	sum += bpf_htons(IPPROTO_UDP) + bpf_htons(ulen);
	sum += reset_sum16(udp, ulen / 2, data_end);
	if (ulen & 1) {
		__u8 *last = (__u8 *)udp + ((ulen - 1) & 0x3f);

		if (last + 1 > (__u8 *)data_end)
			return -1;
		*(__u8 *)&odd = *last;
		sum += odd;
	}
	check = csum_fold(sum);
	udp->check = check ? check : 0xffff;
	return 0;
}

/*
 * Answer the packet with a stateless reset for the CID c: XDP_TX, or -1
 * when none is sent (too short, IP options or IPv6 extension headers, over
 * the rate: the packet is untouched and goes on as before), or XDP_DROP
 * when the frame could not be turned around after it was cut.
 */
static __always_inline int reset_send(struct xdp_md *ctx, const struct pkt *p,
				      const struct cid_ctx *c, const struct cidlb_global *g,
				      struct cidlb_counters *cnt)
{
	__u32 hlen = p->l4_off - p->l2_len, len = reset_len(p->udp_len - sizeof(struct udphdr));
	void *data, *data_end;
	struct aes_block t;
	__s64 flen;
	int delta;

	if (!len || hlen != (p->flow.family == CIDLB_FAMILY_V4 ? 20 : 40)) {
		cnt->reset_unsent++;
		return -1;
	}
	if (!rate_take(CIDLB_RATE_RESET, g->reset_rate)) {
		cnt->reset_rate_limited++;
		return -1;
	}
	reset_token(c->cfg->reset_rk, &c->key, &t);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	flen = data_end - data;
	/* opaque to clang, else it folds the pointers into a 32-bit sum
	 * that the verifier refuses */
	asm volatile("" : "+r"(flen));
	delta = (int)((__s64)(p->l4_off + sizeof(struct udphdr) + len) - flen);
	if (bpf_xdp_adjust_tail(ctx, delta))
		goto drop;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (reset_turn(data, data_end, p, len) || reset_payload(data, data_end, p, len, &t) ||
	    reset_udp_check(data, data_end, p, len))
		goto drop;
	cnt->reset_sent++;
	cnt->tx++;
	return XDP_TX;
drop:
	cnt->drop_reset++;
	return XDP_DROP;
}

#endif
