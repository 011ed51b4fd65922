// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cidlb_decap.bpf.c - the backend side: strip the outer IPv4 (RFC 2003)
 * or IPv6 (RFC 2473) header that cidlb added, or the outer IP, UDP and
 * GUE headers (variant 0, 4 octets) of a GUE backend, and hand the
 * client's packet to the stack, for hosts without IPIP/IP6IP6 tunnel
 * devices or FOU. Only packets from a source in decap_srcs are touched
 * (UDP ones only to that source's GUE port); all others pass as they
 * came. Of those, only a packet to one of this host's addresses
 * (decap_locals) that holds a UDP datagram to one of its VIPs
 * (decap_vips), or an ICMP error about a datagram such a VIP sent, is
 * stripped: anyone can write the LB's address as a source, and a
 * stripped packet reaches the stack as if it came from the client inside. The rest is dropped, counted by reason. The ECN field
 * is combined as RFC 6040 section 4.2 says (normal mode, as cidlb
 * encapsulates).
 */
#include "parse.h"
#include "icmp_quote.h"

#define ECN_MASK    0x03
#define ECN_NOT_ECT 0x00
#define ECN_ECT1    0x01
#define ECN_CE	    0x03

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct cidlb_decap_src);
	__type(value, struct cidlb_decap_srcv);
} decap_srcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct cidlb_decap_src);
	__type(value, __u32);
} decap_locals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CIDLB_MAX_VIPS);
	__type(key, struct cidlb_vip_key);
	__type(value, __u32);
} decap_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cidlb_decap_counters);
} decap_counters SEC(".maps");

/* Inner EtherType for the outer protocol number, 0 if not a tunnel. */
static __always_inline __u16 inner_proto(__u8 proto)
{
	if (proto == IPPROTO_IPIP)
		return ETH_P_IP;
	if (proto == IPPROTO_IPV6)
		return ETH_P_IPV6;
	return 0;
}

/* What the outer header says. */
struct outer {
	struct cidlb_decap_src src, dst;
	__u32 len;   /* octets to strip */
	__u16 inner; /* inner EtherType; 0: not ours to strip */
	__u16 dport; /* UDP: the destination port, network byte order */
	__u8 udp;    /* 1: UDP that may be GUE (dport decides) */
	__u8 ecn;
};

/* UDP at u: a possible GUE packet. Only the header cidlb writes is
 * stripped: version 0, no control, no optional fields, no flags, then
 * IPv4 or IPv6 (o->inner 0 otherwise, dropped when it is to the GUE
 * port). Too short for UDP and GUE: not GUE. */
static __always_inline void outer_gue(void *data_end, __u8 *u, struct outer *o)
{
	if ((void *)(u + 12) > data_end)
		return;
	o->udp = 1;
	o->dport = *(__u16 *)(u + 2);
	o->len += 12;
	if (u[8] == 0 && u[10] == 0 && u[11] == 0)
		o->inner = inner_proto(u[9]);
}

/* The outer header; -1 when cut short, 0 otherwise (o->inner 0 when it
 * is not a tunnel packet). */
static __always_inline int outer_hdr(void *data, void *data_end, __u32 l2_len, __u16 proto,
				     struct outer *o)
{
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = data + (l2_len & 0x1f);

		if ((void *)(iph + 1) > data_end)
			return -1;
		/* cidlb never sends options or fragments */
		if (iph->ihl != 5 || (bpf_ntohs(iph->frag_off) & (IP_MF | IP_OFFSET)))
			return 0;
		o->len = sizeof(*iph);
		if (iph->protocol == IPPROTO_UDP)
			outer_gue(data_end, (__u8 *)(iph + 1), o);
		else
			o->inner = inner_proto(iph->protocol);
		o->ecn = iph->tos & ECN_MASK;
		o->src.family = o->dst.family = CIDLB_FAMILY_V4;
		__builtin_memcpy(o->src.addr, &iph->saddr, 4);
		__builtin_memcpy(o->dst.addr, &iph->daddr, 4);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + (l2_len & 0x1f);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		o->len = sizeof(*ip6);
		if (ip6->nexthdr == IPPROTO_UDP)
			outer_gue(data_end, (__u8 *)(ip6 + 1), o);
		else
			o->inner = inner_proto(ip6->nexthdr);
		o->ecn = (ip6->flow_lbl[0] >> 4) & ECN_MASK;
		o->src.family = o->dst.family = CIDLB_FAMILY_V6;
		__builtin_memcpy(o->src.addr, &ip6->saddr, 16);
		__builtin_memcpy(o->dst.addr, &ip6->daddr, 16);
	}
	return 0;
}

/* 1 when the inner packet (IP header at in->l2_len) is a UDP datagram to
 * a VIP of decap_vips: its address and port, or its address and port 0;
 * or an ICMP error about a datagram that VIP sent (cidlb forwards those
 * to the backend that sent it: bpf/icmp.h). */
static __always_inline int inner_to_vip(void *data, void *data_end, __u16 inner, struct pkt *in)
{
	struct cidlb_vip_key k = {};
	struct icmp_quote q = {};
	struct udphdr *udp;
	int rc;

	if (inner == ETH_P_IP)
		rc = parse_ipv4(data, data_end, in);
	else
		rc = parse_ipv6(data, data_end, in);
	k.family = in->flow.family;
	if (rc == PARSE_ICMP) {
		/* the quoted datagram's source: the VIP address and port */
		if (icmp_error_quote(data, data_end, in, &q))
			return 0;
		__builtin_memcpy(k.addr, in->flow.dst, 16);
		k.port = in->flow.dport;
		goto lookup;
	}
	if (rc)
		return 0;
	udp = data + (in->l4_off & PKT_OFF_MASK);
	if ((void *)(udp + 1) > data_end)
		return 0;
	__builtin_memcpy(k.addr, in->flow.dst, 16);
	k.port = udp->dest;
lookup:
	if (bpf_map_lookup_elem(&decap_vips, &k))
		return 1;
	k.port = 0;
	return !!bpf_map_lookup_elem(&decap_vips, &k);
}

/*
 * RFC 6040 4.2: the inner ECN field after decapsulation. Outer CE or
 * ECT(1) over an ECN-capable inner field that is not CE replaces it (the
 * inner IPv4 checksum follows, RFC 1624); over Not-ECT, CE is a drop
 * (returns -1) and the rest leave it. 1 when the inner field changed.
 */
static __always_inline int ecn_decap(void *data, void *data_end, __u32 l3_off, __u16 inner,
				     __u8 outer)
{
	__u8 *h = data + (l3_off & 0x7f);
	__u8 old, new;

	if ((void *)(h + 20) > data_end)
		return -1;
	if (inner == ETH_P_IP)
		old = h[1] & ECN_MASK;
	else
		old = (h[1] >> 4) & ECN_MASK;
	if (old == ECN_NOT_ECT)
		return outer == ECN_CE ? -1 : 0;
	if (old == ECN_CE || (outer != ECN_CE && outer != ECN_ECT1) || old == outer)
		return 0;
	new = outer;
	if (inner == ETH_P_IP) {
		struct iphdr *iph = (void *)h;
		__u16 w_old = (__u16)h[0] << 8 | h[1];
		__u16 w_new = (__u16)h[0] << 8 | ((h[1] & ~ECN_MASK) | new);
		__u32 sum;

		/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') */
		sum = (__u16)~bpf_ntohs(iph->check) + (__u16)~w_old + w_new;
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		h[1] = w_new & 0xff;
		iph->check = bpf_htons(~sum & 0xffff);
	} else {
		h[1] = (h[1] & ~(ECN_MASK << 4)) | (new << 4);
	}
	return 1;
}

SEC("xdp")
int cidlb_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct cidlb_decap_counters *cnt;
	struct cidlb_decap_srcv *sv;
	struct outer o = {};
	struct pkt p = {}, in = {};
	__u32 zero = 0, olen;
	__u16 proto;
	__u8 *l2;
	int rc;

	cnt = bpf_map_lookup_elem(&decap_counters, &zero);
	if (!cnt)
		return XDP_PASS;
	cnt->rx_packets++;
	if (parse_eth(data, data_end, &p, &proto) ||
	    outer_hdr(data, data_end, p.l2_len, proto, &o) || (!o.inner && !o.udp)) {
		cnt->pass_not_tunnel++;
		return XDP_PASS;
	}
	sv = bpf_map_lookup_elem(&decap_srcs, &o.src);
	if (o.udp) {
		/* GUE only from a cidlb source to its GUE port */
		if (!sv || !sv->gue_port || sv->gue_port != o.dport) {
			cnt->pass_not_tunnel++;
			return XDP_PASS;
		}
		if (!o.inner) {
			cnt->drop_malformed++;
			return XDP_DROP;
		}
	} else if (!sv) {
		cnt->pass_unknown_src++;
		return XDP_PASS;
	}
	if (!bpf_map_lookup_elem(&decap_locals, &o.dst)) {
		cnt->drop_outer_dst++;
		return XDP_DROP;
	}
	olen = o.len & 0x3f; /* 20, 32, 40 or 52: bounded for the verifier */
	/* the frame must hold an L2 header of 22 and the outer header, so
	 * that the moves below stay inside it whatever the tags */
	l2 = data;
	if ((void *)(l2 + 22 + 40) > data_end || (void *)(l2 + 22 + olen) > data_end) {
		cnt->drop_malformed++;
		return XDP_DROP;
	}
	in.l2_len = (p.l2_len & 0x1f) + (olen & 0x3f); /* bounded for the verifier */
	if (!inner_to_vip(data, data_end, o.inner, &in)) {
		cnt->drop_inner_dst++;
		return XDP_DROP;
	}
	rc = ecn_decap(data, data_end, in.l2_len, o.inner, o.ecn);
	if (rc < 0) {
		cnt->drop_ecn++;
		return XDP_DROP;
	}
	if (rc)
		cnt->ecn_marked++;
	/* Slide the L2 header forward over the outer headers, fix its
	 * EtherType, then drop the head. (Checked above already; the
	 * verifier wants it on this pointer.) */
	if ((void *)(l2 + olen + 22) > data_end) {
		cnt->drop_malformed++;
		return XDP_DROP;
	}
	if (p.l2_len == 22)
		__builtin_memmove(l2 + olen + 18, l2 + 18, 4);
	if (p.l2_len >= 18)
		__builtin_memmove(l2 + olen + 14, l2 + 14, 4);
	__builtin_memmove(l2 + olen, l2, 14);
	if (p.l2_len == 14)
		*(__u16 *)(l2 + olen + 12) = bpf_htons(o.inner);
	else if (p.l2_len == 18)
		*(__u16 *)(l2 + olen + 16) = bpf_htons(o.inner);
	else
		*(__u16 *)(l2 + olen + 20) = bpf_htons(o.inner);
	if (bpf_xdp_adjust_head(ctx, olen)) {
		cnt->drop_malformed++;
		return XDP_DROP;
	}
	if (o.src.family == CIDLB_FAMILY_V4)
		cnt->decap_v4++;
	else
		cnt->decap_v6++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
