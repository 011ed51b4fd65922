// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cidlb_decap.bpf.c - the backend side: strip the outer IPv4 (RFC 2003)
 * or IPv6 (RFC 2473) header that cidlb added and hand the client's packet
 * to the stack, for hosts without IPIP/IP6IP6 tunnel devices. Only
 * packets from a source in decap_srcs are touched; all others pass as
 * they came.
 */
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct cidlb_decap_src);
	__type(value, __u32);
} decap_srcs SEC(".maps");

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

/* Outer header length and inner EtherType; 0 when not ours to strip. */
static __always_inline int outer_hdr(void *data, void *data_end, __u32 l2_len,
				     __u16 proto, __u32 *olen, __u16 *inner,
				     struct cidlb_decap_src *src)
{
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = data + (l2_len & 0x1f);

		if ((void *)(iph + 1) > data_end)
			return -1;
		/* cidlb never sends options or fragments */
		if (iph->ihl != 5 || (bpf_ntohs(iph->frag_off) & (IP_MF | IP_OFFSET)))
			return 0;
		*inner = inner_proto(iph->protocol);
		*olen = sizeof(*iph);
		src->family = CIDLB_FAMILY_V4;
		__builtin_memcpy(src->addr, &iph->saddr, 4);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + (l2_len & 0x1f);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		*inner = inner_proto(ip6->nexthdr);
		*olen = sizeof(*ip6);
		src->family = CIDLB_FAMILY_V6;
		__builtin_memcpy(src->addr, &ip6->saddr, 16);
	}
	return 0;
}

SEC("xdp")
int cidlb_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct cidlb_decap_counters *cnt;
	struct cidlb_decap_src src = {};
	struct pkt p = {};
	__u32 zero = 0, olen = 0;
	__u16 proto, inner = 0;
	__u8 *l2;

	cnt = bpf_map_lookup_elem(&decap_counters, &zero);
	if (!cnt)
		return XDP_PASS;
	cnt->rx_packets++;
	if (parse_eth(data, data_end, &p, &proto) ||
	    outer_hdr(data, data_end, p.l2_len, proto, &olen, &inner, &src)) {
		cnt->pass_not_tunnel++;
		return XDP_PASS;
	}
	if (!inner) {
		cnt->pass_not_tunnel++;
		return XDP_PASS;
	}
	if (!bpf_map_lookup_elem(&decap_srcs, &src)) {
		cnt->pass_unknown_src++;
		return XDP_PASS;
	}
	/* Slide the L2 header forward over the outer IP header, fix its
	 * EtherType, then drop the head. */
	l2 = data;
	if ((void *)(l2 + 22 + 40) > data_end) {
		cnt->drop_malformed++;
		return XDP_DROP;
	}
	if (p.l2_len == 22)
		__builtin_memmove(l2 + olen + 18, l2 + 18, 4);
	if (p.l2_len >= 18)
		__builtin_memmove(l2 + olen + 14, l2 + 14, 4);
	__builtin_memmove(l2 + olen, l2, 14);
	if (p.l2_len == 14)
		*(__u16 *)(l2 + olen + 12) = bpf_htons(inner);
	else if (p.l2_len == 18)
		*(__u16 *)(l2 + olen + 16) = bpf_htons(inner);
	else
		*(__u16 *)(l2 + olen + 20) = bpf_htons(inner);
	if (bpf_xdp_adjust_head(ctx, olen)) {
		cnt->drop_malformed++;
		return XDP_DROP;
	}
	if (src.family == CIDLB_FAMILY_V4)
		cnt->decap_v4++;
	else
		cnt->decap_v6++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
