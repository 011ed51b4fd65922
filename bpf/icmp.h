/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * icmp.h - ICMP (RFC 792) and ICMPv6 (RFC 4443) errors addressed to a
 * VIP. With direct server return the backends send from the VIP, so the
 * errors about their packets (unreachable, fragmentation needed / Packet
 * Too Big, time exceeded) come back to the VIP, i.e. to the LB. Each one
 * quotes the packet a backend sent (VIP:port -> client:port): it goes to
 * the backend that owns it, by the server's CID when the quote is a QUIC
 * long header whose SCID is routable (QUIC-LB section 6), else by the
 * quoted flow turned to the client's direction, through the 4-tuple table
 * and Maglev without an insert (docs/design.md).
 *
 * And the other way: a client's datagram too big for the tunnel is
 * answered with ICMP fragmentation needed / ICMPv6 Packet Too Big, from
 * the VIP, rate-limited per CPU (cidlb_too_big()).
 */
#ifndef CIDLB_BPF_ICMP_H
#define CIDLB_BPF_ICMP_H

#include "maps.h"
#include "parse.h"
#include "vip.h"
#include "quic.h"
#include "pick.h"
#include "encap.h"
#include "icmp_quote.h"
#include "csum.h"

/* The ICMP error of p, as icmp_error_quote() reads it, about a VIP's
 * packet: vip_match() of the VIP (VIP_MATCH and more), or PARSE_NOT_UDP /
 * PARSE_ICMP as it says. */
static __always_inline __s64 icmp_quote(void *data, void *data_end, struct pkt *p,
					const struct cidlb_global *g, struct icmp_quote *q)
{
	int rc = icmp_error_quote(data, data_end, p, q);
	__u64 vip;

	if (rc)
		return rc;
	vip = vip_match(&p->flow, g);
	return vip ? (__s64)vip : PARSE_ICMP;
}

/*
 * The backend of the long header's SCID in the quote (the server's own
 * CID, read as a DCID is), from the quoted UDP payload at packet offset
 * off to end; -1: not a long header, SCID cut short or not routable. (A
 * global function of its own would save the verifier a second walk of
 * the CID decoders (103,494 instructions processed against 75,711 when
 * measured), but its stack and the program's add up to more than 512
 * octets.)
 */
static __always_inline int icmp_pick_scid(struct xdp_md *ctx, __u32 off, __u32 end,
					  const struct cidlb_global *g,
					  const struct cidlb_pool_ref *pr, __u32 *idx,
					  struct cidlb_counters *cnt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct cidlb_backend *be;
	struct quic_hdr q = {};
	struct cid_ctx c = {};
	__u32 scid_len;
	int rc;

	if (quic_parse(data, data_end, off, end, &q) || !q.is_long)
		return -1;
	/* after the DCID: the SCID's length octet, then the SCID to hdr_end;
	 * q describes the SCID from here on, as quic_copy_dcid() reads it */
	q.dcid_off += q.dcid_len + 1;
	scid_len = q.hdr_end - q.dcid_off;
	q.dcid_avail = scid_len < CIDLB_CID_MAX ? scid_len : CIDLB_CID_MAX;
	quic_copy_dcid(ctx, &q, &c.key);
	if (cid_classify(&c, q.dcid_avail, scid_len, g, pr, cnt) != PICK_ROUTED)
		return -1;
	/* a down backend's error still reaches it (it is live); a removed
	 * one's quarantined server ID goes by the flow */
	rc = pick_by_sid(&c, g, idx, &be, cnt);
	return rc == SID_LIVE || rc == SID_DOWN ? 0 : -1;
}

/* The fallback's choice for the flow, without a new entry: the 4-tuple
 * table, else Maglev. An error never opens a flow (a forged one would
 * fill the table). -1 when no backend is live. */
static __always_inline int icmp_pick_flow(const struct cidlb_flow_key *flow,
					  const struct cidlb_global *g,
					  const struct cidlb_pool_ref *pr, __u32 *idx)
{
	struct cidlb_backend *be;
	struct cidlb_flow *f;

	f = bpf_map_lookup_elem(&cidlb_lru, flow);
	if (f) {
		be = bpf_map_lookup_elem(&cidlb_backends, &f->backend);
		if (backend_live_in(be, pr)) {
			*idx = f->backend;
			return 0;
		}
	}
	return maglev_pick(flow, g, pr, idx);
}

#define ICMP_FRAG_NEEDED 4    /* code of ICMP_DEST_UNREACH */
#define TOO_BIG_V4_LEN	 576  /* RFC 791: the datagram every host takes */
#define TOO_BIG_V6_LEN	 1280 /* RFC 8200: the IPv6 minimum MTU */
#define TOO_BIG_V4_QUOTE (TOO_BIG_V4_LEN - 20 - ICMP_HDR_LEN)
#define TOO_BIG_V6_QUOTE (TOO_BIG_V6_LEN - 40 - ICMP_HDR_LEN)
#define NSEC_PER_SEC	 1000000000ULL

/* One more Packet Too Big from this CPU? At most g->icmp_rate a second
 * (0: none), bpf/rate.h. */
static __always_inline int too_big_rate_ok(const struct cidlb_global *g)
{
	return rate_take(CIDLB_RATE_ICMP, g->icmp_rate);
}

/* The reply's IPv4 and ICMP headers before the quote (the client's
 * datagram from its IP header on, cut to fit 576 octets): from the
 * quoted datagram's destination (the VIP) to its source. */
static __always_inline int too_big_v4(void *data, void *data_end, __u32 l2, __u32 mtu, __u8 ttl)
{
	struct iphdr *ip = data + (l2 & 0x1f);
	__u8 *icmp = (__u8 *)(ip + 1);
	struct iphdr *quoted = (void *)(icmp + ICMP_HDR_LEN);

	if ((void *)(icmp + ICMP_HDR_LEN + TOO_BIG_V4_QUOTE) > data_end)
		return -1;
	__builtin_memset(ip, 0, sizeof(*ip) + ICMP_HDR_LEN);
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0xc0; /* network control, as routers send their errors */
	ip->tot_len = bpf_htons(TOO_BIG_V4_LEN);
	ip->ttl = ttl;
	ip->protocol = IPPROTO_ICMP;
	ip->saddr = quoted->daddr;
	ip->daddr = quoted->saddr;
	ip->check = csum_fold(csum_add_octets(ip, sizeof(*ip), 0));
	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = ICMP_FRAG_NEEDED;
	*(__be16 *)(icmp + 6) = bpf_htons(mtu); /* next-hop MTU, RFC 1191 */
	*(__u16 *)(icmp + 2) = csum_fold(csum_add_octets(icmp, ICMP_HDR_LEN + TOO_BIG_V4_QUOTE, 0));
	return 0;
}

/* The same for IPv6 (1280 octets); the checksum covers the pseudo-header
 * (RFC 8200 8.1): addresses, upper-layer length, next header. */
static __always_inline int too_big_v6(void *data, void *data_end, __u32 l2, __u32 mtu, __u8 ttl)
{
	struct ipv6hdr *ip6 = data + (l2 & 0x1f);
	__u8 *icmp = (__u8 *)(ip6 + 1);
	struct ipv6hdr *quoted = (void *)(icmp + ICMP_HDR_LEN);
	__u32 plen = ICMP_HDR_LEN + TOO_BIG_V6_QUOTE;
	__u64 sum;

	if ((void *)(icmp + ICMP_HDR_LEN + TOO_BIG_V6_QUOTE) > data_end)
		return -1;
	__builtin_memset(ip6, 0, sizeof(*ip6) + ICMP_HDR_LEN);
	*(__be32 *)ip6 = bpf_htonl(0x60000000);
	ip6->payload_len = bpf_htons(plen);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = ttl;
	__builtin_memcpy(&ip6->saddr, &quoted->daddr, 16);
	__builtin_memcpy(&ip6->daddr, &quoted->saddr, 16);
	icmp[0] = ICMPV6_PKT_TOOBIG;
	*(__be32 *)(icmp + 4) = bpf_htonl(mtu);
	sum = csum_add_octets(&ip6->saddr, 32, (__u64)bpf_htonl(plen) + bpf_htonl(IPPROTO_ICMPV6));
	*(__u16 *)(icmp + 2) = csum_fold(csum_add_octets(icmp, plen, sum));
	return 0;
}

/* The client's packet at l2 (IP header) to a reply: hdr octets for the
 * new IP and ICMP headers in front of it, the Ethernet addresses swapped,
 * the tags kept (EtherType proto, as it was), cut to `len` octets after
 * the L2 header. Packet to packet: the stack of this function and the
 * program's share 512 octets. */
static __always_inline int too_big_frame(struct xdp_md *ctx, __u32 l2, __u32 hdr, __u32 len,
					 __u16 proto)
{
	void *data, *data_end;
	struct ethhdr *eth, *old;
	__u64 have;

	if (bpf_xdp_adjust_head(ctx, -(int)hdr))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	old = data + (hdr & 0x3f); /* the frame's Ethernet header, where it was */
	if ((void *)(old + 1) > data_end)
		return -1;
	mac_copy(eth->h_dest, old->h_source);
	mac_copy(eth->h_source, old->h_dest);
	if (move_tags(data, data_end, 0, hdr, l2) || set_l2_proto(data, data_end, l2, proto))
		return -1;
	have = data_end - data;
	asm volatile("" : "+r"(have)); /* a scalar from here: no 32-bit pointer math */
	return bpf_xdp_adjust_tail(ctx, (int)(l2 + len) - (int)have) ? -1 : 0;
}

/*
 * The client's datagram at l2_len (its IP header; the frame as it came)
 * is too big for the tunnel to its backend: answer with ICMP
 * fragmentation needed (IPv4, when the datagram has DF set: without it
 * the client expects routers to fragment, and the LB drops it) or
 * ICMPv6 Packet Too Big carrying mtu, the largest packet that fits, from
 * the VIP, quoting the datagram up to the minimum size of its IP version
 * (576, 1280 octets), back out of the ingress interface (XDP_TX). No
 * reply (drop_mtu) under that minimum MTU (a tunnel that small is a
 * configuration error: the client cannot go below it), with icmp_rate 0,
 * or over it (too_big_limited too).
 * A global function, verified once: the program reaches it from three
 * places, for packets that are rare.
 */
__attribute__((noinline)) int cidlb_too_big(struct xdp_md *ctx, __u32 l2_len, __u32 mtu)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0, l2 = l2_len & 0x1f, ttl;
	const struct cidlb_global *g;
	struct cidlb_counters *cnt;
	__u8 *ip = data + l2;
	int rc = -1;

	cnt = bpf_map_lookup_elem(&cidlb_counters, &zero);
	g = bpf_map_lookup_elem(&cidlb_global, &zero);
	if (!cnt || !g)
		return XDP_ABORTED;
	if (l2 < ETH_HLEN || (void *)(ip + sizeof(struct ipv6hdr)) > data_end)
		goto drop;
	ttl = g->ttl ? g->ttl : 64;
	if ((ip[0] >> 4) == 4) {
		struct iphdr *iph = (void *)ip;

		if (!(iph->frag_off & bpf_htons(IP_DF)) || mtu < TOO_BIG_V4_LEN ||
		    bpf_ntohs(iph->tot_len) <= TOO_BIG_V4_QUOTE)
			goto drop;
		if (!g->icmp_rate)
			goto drop;
		if (!too_big_rate_ok(g))
			goto limited;
		if (too_big_frame(ctx, l2, 20 + ICMP_HDR_LEN, TOO_BIG_V4_LEN, ETH_P_IP))
			goto drop;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		rc = too_big_v4(data, data_end, l2, mtu, ttl);
	} else {
		struct ipv6hdr *ip6 = (void *)ip;

		if (mtu < TOO_BIG_V6_LEN || bpf_ntohs(ip6->payload_len) + 40 <= TOO_BIG_V6_QUOTE)
			goto drop;
		if (!g->icmp_rate)
			goto drop;
		if (!too_big_rate_ok(g))
			goto limited;
		if (too_big_frame(ctx, l2, 40 + ICMP_HDR_LEN, TOO_BIG_V6_LEN, ETH_P_IPV6))
			goto drop;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		rc = too_big_v6(data, data_end, l2, mtu, ttl);
	}
	if (rc)
		goto drop;
	cnt->tx_too_big++;
	return XDP_TX;
limited:
	cnt->too_big_limited++;
drop:
	cnt->drop_mtu++;
	return XDP_DROP;
}

#endif
