/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.h - step 1 of the data path: Ethernet (IEEE 802.3, up to two
 * 802.1Q/802.1ad tags), IPv4 (RFC 791, any IHL), IPv6 (RFC 8200, with
 * extension headers), UDP (RFC 768); ICMP and ICMPv6 are told apart for
 * bpf/icmp.h. Each helper checks every access against data_end where it
 * happens and returns a verdict code: a negative value means "stop here,
 * count this counter".
 */
#ifndef CIDLB_BPF_PARSE_H
#define CIDLB_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "cidlb_maps.h"

#define VLAN_MAX     2 /* 802.1ad outer + 802.1Q inner */
#define IPV6_EXT_MAX 4 /* extension headers walked before giving up */
/* Offsets into the packet are masked with this before use, so that the
 * verifier sees them bounded (its packet range limit is 64 KiB). */
#define PKT_OFF_MASK 0x3fff
#define IP_MF	     0x2000
#define IP_OFFSET    0x1fff

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M */
	__be32 id;
};

/* What parsing learned about one packet. */
struct pkt {
	__u32 ip_len;	 /* IP packet length from its header */
	__u16 l4_off;	 /* UDP header (at most PKT_OFF_MASK) */
	__u16 udp_len;	 /* UDP length field, once checked (cidlb_main.h) */
	__u8 l2_len;	 /* Ethernet + VLAN tags: 14, 18 or 22 */
	__u8 tos;	 /* IPv4 TOS / IPv6 traffic class (DSCP+ECN) */
	__u8 first_frag; /* first fragment of a fragmented datagram */
	__u8 pad;
	struct cidlb_pool_ref pool; /* of the VIP (vip.h): read where used, in
				     * this memory, not kept in a register
				     * (the stack has no room for its spills) */
	struct cidlb_flow_key flow; /* addresses, ports, family */
} __attribute__((aligned(8)));	    /* flow.dst is read as two 8-octet words */

enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IP = -1,
	PARSE_BAD_L3 = -2,
	PARSE_NOT_UDP = -3,
	PARSE_FRAG_TAIL = -4,
	PARSE_ICMP = -5, /* ICMP or ICMPv6, not a fragment: l4_off, flow
			  * addresses and family set (bpf/icmp.h) */
};

/* Ethernet and VLAN tags: returns the EtherType of the payload. */
static __always_inline int parse_eth(void *data, void *data_end, struct pkt *p, __u16 *proto)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__u16 type;
	int i;

	if ((void *)(eth + 1) > data_end)
		return PARSE_NOT_IP;
	/* one 2-octet load: struct ethhdr is packed, and its h_proto read
	 * as a member became two octet loads, a shift and an or */
	type = *(const __u16 *)(data + 12);
#pragma unroll
	for (i = 0; i < VLAN_MAX; i++) {
		struct vlan_hdr *vh = data + off;

		if (type != bpf_htons(ETH_P_8021Q) && type != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return PARSE_NOT_IP;
		type = vh->encap_proto;
		off += sizeof(*vh);
	}
	p->l2_len = off;
	*proto = type;
	return PARSE_OK;
}

static __always_inline int parse_ipv4(void *data, void *data_end, struct pkt *p)
{
	struct iphdr *iph = data + p->l2_len;
	__u32 hlen;
	__u16 frag;

	if ((void *)(iph + 1) > data_end)
		return PARSE_BAD_L3;
	hlen = iph->ihl * 4;
	if (iph->version != 4 || hlen < sizeof(*iph))
		return PARSE_BAD_L3;
	if ((void *)iph + hlen > data_end)
		return PARSE_BAD_L3;
	p->ip_len = bpf_ntohs(iph->tot_len);
	if (p->ip_len < hlen || (void *)iph + p->ip_len > data_end)
		return PARSE_BAD_L3;
	frag = bpf_ntohs(iph->frag_off);
	if (iph->protocol == IPPROTO_ICMP && !(frag & (IP_MF | IP_OFFSET))) {
		p->tos = iph->tos;
		p->l4_off = p->l2_len + hlen;
		p->flow.family = CIDLB_FAMILY_V4;
		__builtin_memcpy(p->flow.src, &iph->saddr, 4);
		__builtin_memcpy(p->flow.dst, &iph->daddr, 4);
		return PARSE_ICMP;
	}
	if (iph->protocol != IPPROTO_UDP)
		return PARSE_NOT_UDP;
	if (frag & IP_OFFSET)
		return PARSE_FRAG_TAIL;
	p->first_frag = !!(frag & IP_MF);
	p->tos = iph->tos;
	p->l4_off = p->l2_len + hlen;
	p->flow.family = CIDLB_FAMILY_V4;
	__builtin_memcpy(p->flow.src, &iph->saddr, 4);
	__builtin_memcpy(p->flow.dst, &iph->daddr, 4);
	return PARSE_OK;
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the word-wise key handling assumes a little-endian target");

/* An unaligned little-endian load of 8 packet octets: BPF allows it on
 * every architecture where XDP runs without strict alignment (x86, arm64),
 * and one load beats eight; userspace builds (the fuzz twin) copy. */
static __always_inline __u64 load_u64(const __u8 *p)
{
#ifdef __bpf__
	return *(const __u64 *)p;
#else
	__u64 v;

	__builtin_memcpy(&v, p, 8);
	return v;
#endif
}

/* An IPv6 address into an 8-aligned key as two 8-octet words, so that
 * the word loads of the VIP match are forwarded from these stores. */
static __always_inline void ipv6_addr_copy(__u8 *dst, const void *src)
{
	__u64 *d = (__u64 *)dst;

	d[0] = load_u64(src);
	d[1] = load_u64((const __u8 *)src + 8);
}

/* IPv6 and its extension headers up to the upper-layer header. */
static __always_inline int parse_ipv6(void *data, void *data_end, struct pkt *p)
{
	struct ipv6hdr *ip6 = data + p->l2_len;
	__u32 off = p->l2_len + sizeof(*ip6), ip_end;
	__u8 next;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return PARSE_BAD_L3;
	if (ip6->version != 6)
		return PARSE_BAD_L3;
	p->ip_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	if ((void *)ip6 + p->ip_len > data_end)
		return PARSE_BAD_L3;
	/* extension headers lie inside the IP packet, not in the Ethernet
	 * padding after it */
	ip_end = p->l2_len + p->ip_len;
	next = ip6->nexthdr;
#pragma unroll
	for (i = 0; i < IPV6_EXT_MAX; i++) {
		__u8 *eh = data + off;

		if (next == IPPROTO_UDP || next == IPPROTO_ICMPV6)
			break;
		if ((void *)(eh + 8) > data_end || off + 8 > ip_end)
			return PARSE_BAD_L3;
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			off += (eh[1] + 1) * 8;
			break;
		case IPPROTO_AH:
			off += (eh[1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT: {
			struct ipv6_frag_hdr *fh = (void *)eh;

			if (bpf_ntohs(fh->frag_off) & 0xfff8)
				return PARSE_FRAG_TAIL;
			/* offset 0 and M=0: an atomic fragment, the whole
			 * datagram (RFC 8200 4.5, RFC 6946) */
			p->first_frag = bpf_ntohs(fh->frag_off) & 1;
			off += sizeof(*fh);
			break;
		}
		default:
			return PARSE_NOT_UDP;
		}
		next = eh[0];
	}
	if (next == IPPROTO_ICMPV6 && !p->first_frag && off <= ip_end) {
		p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
		p->l4_off = off;
		p->flow.family = CIDLB_FAMILY_V6;
		ipv6_addr_copy(p->flow.src, &ip6->saddr);
		ipv6_addr_copy(p->flow.dst, &ip6->daddr);
		return PARSE_ICMP;
	}
	if (next != IPPROTO_UDP)
		return PARSE_NOT_UDP;
	if (off > ip_end)
		return PARSE_BAD_L3;
	p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	p->l4_off = off;
	p->flow.family = CIDLB_FAMILY_V6;
	ipv6_addr_copy(p->flow.src, &ip6->saddr);
	ipv6_addr_copy(p->flow.dst, &ip6->daddr);
	return PARSE_OK;
}

/* Ethernet to UDP ports. */
static __always_inline int parse_packet(void *data, void *data_end, struct pkt *p)
{
	struct udphdr *udp;
	__u16 proto;
	int ret;

	ret = parse_eth(data, data_end, p, &proto);
	if (ret)
		return ret;
	if (proto == bpf_htons(ETH_P_IP))
		ret = parse_ipv4(data, data_end, p);
	else if (proto == bpf_htons(ETH_P_IPV6))
		ret = parse_ipv6(data, data_end, p);
	else
		return PARSE_NOT_IP;
	if (ret)
		return ret;
	if (p->l4_off > PKT_OFF_MASK)
		return PARSE_BAD_L3;
	udp = data + (p->l4_off & PKT_OFF_MASK);
	if ((void *)(udp + 1) > data_end)
		return PARSE_BAD_L3;
	p->flow.sport = udp->source;
	p->flow.dport = udp->dest;
	return PARSE_OK;
}

#endif
