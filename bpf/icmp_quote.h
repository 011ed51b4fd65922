/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * icmp_quote.h - the packet quoted by an ICMP (RFC 792) or ICMPv6
 * (RFC 4443) error: which errors are read, and the quoted IP and UDP
 * headers, every access checked against the frame and the quote's end
 * (a quote may stop anywhere). No maps: cidlb.bpf.c (bpf/icmp.h) and the
 * backend's cidlb_decap.bpf.c both read it.
 */
#ifndef CIDLB_BPF_ICMP_QUOTE_H
#define CIDLB_BPF_ICMP_QUOTE_H

#include "parse.h"

#define ICMP_DEST_UNREACH   3 /* RFC 792; code 4: fragmentation needed */
#define ICMP_TIME_EXCEEDED  11
#define ICMPV6_DEST_UNREACH 1 /* RFC 4443 */
#define ICMPV6_PKT_TOOBIG   2
#define ICMPV6_TIME_EXCEED  3
#define ICMP_HDR_LEN	    8 /* type, code, checksum, 4 octets; the quote follows */

/* The quoted packet of an ICMP error, as far as routing needs it. */
struct icmp_quote {
	__u32 udp_off; /* packet offset of the quoted UDP header */
	__u32 end;     /* where the quoted datagram's octets stop: the
			* ICMP packet's end or the datagram's, the nearer */
};

/* An error type whose quote we route: unreachable (fragmentation needed
 * among them), Packet Too Big, time exceeded. Echo and the rest: no. */
static __always_inline int icmp_is_error(__u8 family, __u8 type)
{
	if (family == CIDLB_FAMILY_V4)
		return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED;
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED;
}

/* The quoted IPv4 header at packet offset off: a UDP datagram, first or
 * only fragment, sent from f->dst (the address this error goes to); its
 * destination into f->src. */
static __always_inline int icmp_quote_v4(void *data, void *data_end, __u32 off,
					 struct cidlb_flow_key *f, struct icmp_quote *q)
{
	struct iphdr *iph = data + (off & PKT_OFF_MASK);
	__u32 hlen, end, to;

	if ((void *)(iph + 1) > data_end)
		return -1;
	hlen = iph->ihl * 4;
	if (iph->version != 4 || hlen < sizeof(*iph) || iph->protocol != IPPROTO_UDP ||
	    (bpf_ntohs(iph->frag_off) & IP_OFFSET))
		return -1;
	__builtin_memcpy(&to, f->dst, 4);
	if (iph->saddr != to)
		return -1;
	end = off + bpf_ntohs(iph->tot_len);
	if (end < q->end)
		q->end = end;
	q->udp_off = off + hlen;
	__builtin_memcpy(f->src, &iph->daddr, 4);
	return 0;
}

/* The quoted IPv6 header: UDP right after it (a backend's datagram
 * carries no extension header), sent from f->dst; its destination into
 * f->src. */
static __always_inline int icmp_quote_v6(void *data, void *data_end, __u32 off,
					 struct cidlb_flow_key *f, struct icmp_quote *q)
{
	struct ipv6hdr *ip6 = data + (off & PKT_OFF_MASK);
	__u32 end;

	if ((void *)(ip6 + 1) > data_end)
		return -1;
	if (ip6->version != 6 || ip6->nexthdr != IPPROTO_UDP)
		return -1;
	if (load_u64(f->dst) != load_u64((__u8 *)&ip6->saddr) ||
	    load_u64(f->dst + 8) != load_u64((__u8 *)&ip6->saddr + 8))
		return -1;
	end = off + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (end < q->end)
		q->end = end;
	q->udp_off = off + sizeof(*ip6);
	ipv6_addr_copy(f->src, &ip6->daddr);
	return 0;
}

/* The quoted UDP ports into f (reversed), and the datagram's end from its
 * length field when that is nearer. -1 when the quote stops before them. */
static __always_inline int icmp_quote_udp(void *data, void *data_end, struct cidlb_flow_key *f,
					  struct icmp_quote *q)
{
	struct udphdr *udp = data + (q->udp_off & PKT_OFF_MASK);
	__u32 ulen;

	if ((void *)(udp + 1) > data_end || q->udp_off + sizeof(*udp) > q->end)
		return -1;
	f->sport = udp->dest;
	f->dport = udp->source;
	ulen = bpf_ntohs(udp->len);
	if (ulen >= sizeof(*udp) && q->udp_off + ulen < q->end)
		q->end = q->udp_off + ulen;
	return 0;
}

/*
 * The ICMP error of p (its header at p->l4_off): 0 when it quotes a UDP
 * datagram sent from the address this error goes to (an error goes to the
 * quoted packet's source); then p->flow is that datagram's flow in the
 * other direction (src = its destination, dst = its source: for an error
 * about a VIP's packet, the flow of the client's packets) and q its
 * quote. PARSE_NOT_UDP: not an error type read here (or no ICMP header);
 * PARSE_ICMP: an error about something else, or whose quote stops inside
 * the IP or UDP header.
 */
static __always_inline int icmp_error_quote(void *data, void *data_end, struct pkt *p,
					    struct icmp_quote *q)
{
	__u8 *icmp = data + (p->l4_off & PKT_OFF_MASK);
	__u32 off = p->l4_off + ICMP_HDR_LEN;
	int rc;

	q->end = p->l2_len + p->ip_len;
	if ((void *)(icmp + ICMP_HDR_LEN) > data_end || off > q->end)
		return PARSE_NOT_UDP; /* no ICMP header: no error we read */
	if (!icmp_is_error(p->flow.family, icmp[0]))
		return PARSE_NOT_UDP;
	if (p->flow.family == CIDLB_FAMILY_V4)
		rc = icmp_quote_v4(data, data_end, off, &p->flow, q);
	else
		rc = icmp_quote_v6(data, data_end, off, &p->flow, q);
	if (rc || icmp_quote_udp(data, data_end, &p->flow, q))
		return PARSE_ICMP;
	return 0;
}

#endif
