/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * encap.h - step 6: forward to the backend.
 * IPv4-in-IPv4 (RFC 2003) or IP-in-IPv6 (RFC 2473) with the LB's own
 * source address, or the same inside UDP and a GUE header (variant 0,
 * draft-ietf-intarea-gue) per backend; the inner packet is never touched. The outer header is
 * the backend's template (cidlb_backend.outer) with the per-packet fields
 * filled in. TOS/traffic class is
 * copied to the outer header (RFC 6040 normal mode), DF set. The next hop
 * comes from the kernel FIB (bpf_fib_lookup) or from a configured MAC.
 * Direct mode rewrites the Ethernet addresses only.
 */
#ifndef CIDLB_BPF_ENCAP_H
#define CIDLB_BPF_ENCAP_H

#include "maps.h"
#include "parse.h"
#include "cidlb_hash.h"

#ifndef AF_INET
#define AF_INET	 2
#define AF_INET6 10
#endif
#define IP_DF	     0x4000
#define OUTER_V4_LEN sizeof(struct iphdr)
#define OUTER_V6_LEN sizeof(struct ipv6hdr)

enum fwd_result {
	FWD_OK = 0,
	FWD_MTU = -1,
	FWD_NO_ROUTE = -2,
	FWD_ENCAP = -3,
	FWD_NO_NEIGH = -4,
};

/* Where the encapsulated frame goes. */
struct next_hop {
	__u8 dmac[8]; /* 6 used; 8 keep smac 8-aligned on the stack */
	__u8 smac[8];
	__u32 ifindex; /* 0: back out of the ingress interface */
	__u32 cached;  /* 1: MACs from cidlb_neigh, not the kernel */
	__u32 mtu;     /* FWD_MTU: the largest inner packet that fits */
	__u32 hit;     /* 1: from this CPU's next-hop cache (cidlb_nhcache) */
} __attribute__((aligned(8)));

/* Copy a MAC address as one 4-octet and one 2-octet move, not six octet
 * moves (packets allow unaligned access; stack and map sides here are
 * 4-aligned). */
static __always_inline void mac_copy(void *d, const void *s)
{
	*(__u32 *)d = *(const __u32 *)s;
	*(__u16 *)(d + 4) = *(const __u16 *)(s + 4);
}

/* The kernel has no usable neighbour entry for the next hop the FIB chose
 * (fib->ifindex, and fib->ipv4_dst/ipv6_dst, which the lookup turned into
 * the gateway where there is one): cidlbd's copy of it, if it has one.
 * The kernel's lockless lookup misses entries, permanent ones too, while
 * its neighbour hash table grows; cidlbd keeps the copy of every live
 * backend's next hop (user/daemon/neigh.c). */
static __always_inline int nh_from_copy(const struct bpf_fib_lookup *fib, struct next_hop *nh)
{
	struct cidlb_neigh_key k = {};
	struct cidlb_neigh *n;

	k.ifindex = fib->ifindex;
	if (fib->family == AF_INET) {
		k.family = CIDLB_FAMILY_V4;
		__builtin_memcpy(k.addr, &fib->ipv4_dst, 4);
	} else {
		k.family = CIDLB_FAMILY_V6;
		__builtin_memcpy(k.addr, fib->ipv6_dst, 16);
	}
	n = bpf_map_lookup_elem(&cidlb_neigh, &k);
	if (!n)
		return FWD_NO_NEIGH;
	__builtin_memcpy(nh->dmac, n->dmac, 6);
	__builtin_memcpy(nh->smac, n->smac, 6);
	nh->cached = 1;
	return FWD_OK;
}

/* What a next-hop cache slot is asked for: backend idx (its address),
 * packets in on in_ifindex, in tick `now` and generation `gen` (read
 * before the FIB is asked, so that an answer from across a change of
 * cidlbd's is written with the old generation), outer packets of olen. */
struct nh_want {
	__u32 idx;
	__u32 in_ifindex;
	__u32 now;
	__u32 gen;
	__u32 olen;
};

/* This CPU's next-hop cache slot of a backend (include/cidlb_maps.h). */
static __always_inline struct cidlb_nhcache_slot *nhcache_slot(__u32 idx)
{
	__u32 i = idx & (CIDLB_NHCACHE_SLOTS - 1);

	return bpf_map_lookup_elem(&cidlb_nhcache, &i);
}

/* Does the slot hold the backend's next hop for this packet? */
static __always_inline int nhcache_holds(const struct cidlb_nhcache_slot *s,
					 const struct cidlb_backend *be, const struct nh_want *w)
{
	const __u32 *a = (const __u32 *)be->addr;

	/* one branch, not one per field: fewer paths for the verifier */
	return !((s->backend ^ (w->idx + 1)) | (s->tick ^ w->now) | (s->gen ^ w->gen) |
		 (s->in_ifindex ^ w->in_ifindex) | (s->addr[0] ^ a[0]) | (s->addr[1] ^ a[1]) |
		 (s->addr[2] ^ a[2]) | (s->addr[3] ^ a[3])) &
	       (w->olen <= s->ok_len);
}

/* The FIB's answer (nh) for the backend into this CPU's slot. */
static __always_inline void nhcache_put(struct cidlb_nhcache_slot *s,
					const struct cidlb_backend *be, const struct nh_want *w,
					const struct next_hop *nh)
{
	__builtin_memcpy(s->addr, be->addr, sizeof(s->addr));
	s->backend = w->idx + 1;
	s->in_ifindex = w->in_ifindex;
	s->gen = w->gen;
	s->tick = w->now;
	s->ok_len = w->olen;
	s->out_ifindex = nh->ifindex;
	mac_copy(s->dmac, nh->dmac);
	mac_copy(s->smac, nh->smac);
	s->cached = nh->cached;
}

/* Next hop toward the backend from the kernel's routing and neighbour
 * tables, looked up as a packet forwarded from the ingress device: the
 * kernel answers only where forwarding is on for that device
 * (net.ipv4.conf.DEV.forwarding, net.ipv6.conf.DEV.forwarding), which the
 * daemon turns on. tot_len lets the kernel check the egress MTU. */
static __always_inline int nh_ask_fib(struct xdp_md *ctx, const struct cidlb_backend *be,
				      const struct cidlb_global *g, __u32 outer_len,
				      struct next_hop *nh)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	fib.ifindex = ctx->ingress_ifindex;
	fib.tot_len = outer_len;
	if (be->family == CIDLB_FAMILY_V4) {
		fib.family = AF_INET;
		__builtin_memcpy(&fib.ipv4_src, g->src4, 4);
		__builtin_memcpy(&fib.ipv4_dst, be->addr, 4);
	} else {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, g->src6, 16);
		__builtin_memcpy(fib.ipv6_dst, be->addr, 16);
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		nh->mtu = fib.mtu_result; /* the route's or the device's */
		return FWD_MTU;
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		rc = nh_from_copy(&fib, nh);
	else if (rc == BPF_FIB_LKUP_RET_SUCCESS)
		rc = FWD_OK;
	else
		rc = FWD_NO_ROUTE;
	if (rc)
		return rc;
	if (!nh->cached) {
		__builtin_memcpy(nh->dmac, fib.dmac, 6);
		__builtin_memcpy(nh->smac, fib.smac, 6);
	}
	nh->ifindex = fib.ifindex == ctx->ingress_ifindex ? 0 : fib.ifindex;
	return FWD_OK;
}

/* A next-hop cache miss: ask the FIB, and keep an answer that sends the
 * packet in this CPU's slot of the backend (errors are not kept). A
 * function of its own: the verifier walks the lookup once per call site
 * instead of once per path into it, and the hit path stays small. */
static __noinline int nh_miss(struct xdp_md *ctx, const struct cidlb_backend *be,
			      const struct cidlb_global *g, const struct nh_want *w,
			      struct next_hop *nh)
{
	struct cidlb_nhcache_slot *s;
	int rc;

	rc = nh_ask_fib(ctx, be, g, w->olen, nh);
	if (rc)
		return rc;
	s = nhcache_slot(w->idx);
	if (s)
		nhcache_put(s, be, w, nh);
	return FWD_OK;
}

/* The same, from this CPU's next-hop cache where it holds the answer (a
 * slot lives one next-hop tick: a change of the kernel's routes or
 * neighbours is seen within 2^26 ns). */
static __always_inline int nh_from_fib(struct xdp_md *ctx, const struct cidlb_backend *be,
				       __u32 idx, const struct cidlb_global *g, __u32 outer_len,
				       struct next_hop *nh)
{
	struct nh_want w = { .idx = idx, .in_ifindex = ctx->ingress_ifindex, .olen = outer_len };
	struct cidlb_nhcache_slot *s = nhcache_slot(idx);

	w.now = (__u32)(bpf_ktime_get_coarse_ns() >> CIDLB_NH_TICK_SHIFT);
	w.gen = g->nh_gen;
	if (s && nhcache_holds(s, be, &w)) {
		mac_copy(nh->dmac, s->dmac);
		mac_copy(nh->smac, s->smac);
		nh->ifindex = s->out_ifindex;
		nh->cached = s->cached;
		nh->hit = 1;
		return FWD_OK;
	}
	return nh_miss(ctx, be, g, &w, nh);
}

/* Configured next-hop MAC: out of the ingress interface, from our own MAC
 * (the frame's destination). The device MTU bounds the outer packet: a
 * frame that fits cidlbd's floor (cidlb_global.mtu_floor, the smallest
 * MTU of the devices it attached to) fits, counted as bpf_check_mtu()
 * counts it (the whole frame and the outer headers, less the Ethernet
 * header); the kernel is asked about the others (7 ns a packet). */
static __always_inline int nh_from_mac(struct xdp_md *ctx, const struct cidlb_backend *be,
				       const struct cidlb_global *g, __u32 olen,
				       struct next_hop *nh)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u64 flen = data_end - data;
	__u32 mtu = 0;

	if ((void *)(eth + 1) > data_end)
		return FWD_ENCAP;
	/* the length as a scalar first: clang would otherwise fold the
	 * sum into pointer arithmetic the verifier refuses */
	asm volatile("" : "+r"(flen));
	if (flen - sizeof(*eth) + olen > g->mtu_floor && bpf_check_mtu(ctx, 0, &mtu, olen, 0)) {
		nh->mtu = mtu; /* the device's */
		return FWD_MTU;
	}
	mac_copy(nh->dmac, be->mac);
	mac_copy(nh->smac, eth->h_dest);
	nh->ifindex = 0;
	return FWD_OK;
}

/* Move the VLAN tags (TPID and TCI of each, octets 12 to l2_len - 2) from
 * `from` to `to`. The MAC addresses and the EtherType after the tags are
 * written afresh (write_macs, set_l2_proto): an untagged frame moves
 * nothing. */
static __always_inline int move_tags(void *data, void *data_end, __u32 to, __u32 from, __u32 l2_len)
{
	__u8 *d = data + to, *s = data + from;

	if ((void *)(d + 22) > data_end || (void *)(s + 22) > data_end)
		return -1;
	if (l2_len >= 18)
		__builtin_memmove(d + 12, s + 12, 4);
	if (l2_len >= 22)
		__builtin_memmove(d + 16, s + 16, 4);
	return 0;
}

/* Set the EtherType that ends the L2 header (after 0, 1 or 2 tags). */
static __always_inline int set_l2_proto(void *data, void *data_end, __u32 l2_len, __u16 proto)
{
	__u8 *l2 = data;

	if ((void *)(l2 + 22) > data_end)
		return -1;
	if (l2_len == 14)
		*(__u16 *)(l2 + 12) = bpf_htons(proto);
	else if (l2_len == 18)
		*(__u16 *)(l2 + 16) = bpf_htons(proto);
	else if (l2_len == 22)
		*(__u16 *)(l2 + 20) = bpf_htons(proto);
	else
		return -1;
	return 0;
}

static __always_inline void write_macs(void *data, const struct next_hop *nh)
{
	struct ethhdr *eth = data;

	mac_copy(eth->h_dest, nh->dmac);
	mac_copy(eth->h_source, nh->smac);
}

/* The outer IPv4 checksum: the template's sum (cidlb_backend.outer_sum)
 * plus this packet's fields, `sum` (their 16-bit words as big-endian
 * values, added in registers). */
static __always_inline __u16 outer_v4_check(const struct cidlb_backend *be, __u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = be->outer_sum + bpf_htons(sum);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* The backend's outer IPv4 header (cidlb_backend.outer, lb.c's), then
 * the fields of this packet: TOS, length, protocol, and the checksum as
 * the template's sum plus theirs. The sum is made from values in
 * registers, not read back from the header: a 16-bit load over the octet
 * stores just made would wait for them (no store forwarding). TOS and
 * protocol are each the second octet of their 16-bit word, so their sum
 * adds as one big-endian value (RFC 1071: the sum is byte-order free). */
static __always_inline int write_outer_v4(void *data, void *data_end, const struct pkt *p,
					  const struct cidlb_backend *be)
{
	struct iphdr *o = data + (p->l2_len & 0x1f);
	const __u64 *t = (const __u64 *)be->outer;
	__u32 len = p->ip_len + OUTER_V4_LEN, proto;

	if ((void *)(o + 1) > data_end)
		return -1;
	proto = p->flow.family == CIDLB_FAMILY_V4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	((__u64 *)o)[0] = t[0];
	((__u64 *)o)[1] = t[1];
	((__u32 *)o)[4] = ((const __u32 *)t)[4];
	o->tos = p->tos;
	o->tot_len = bpf_htons(len);
	o->protocol = proto;
	o->check = outer_v4_check(be, (len & 0xffff) + p->tos + proto);
	return 0;
}

/* The backend's outer IPv6 header, then this packet's traffic class, flow
 * label, payload length and next header. */
static __always_inline int write_outer_v6(void *data, void *data_end, const struct pkt *p,
					  const struct cidlb_backend *be)
{
	struct ipv6hdr *o = data + (p->l2_len & 0x1f);
	const __u64 *t = (const __u64 *)be->outer;
	__u32 fl = cidlb_flow_label(&p->flow);

	if ((void *)(o + 1) > data_end)
		return -1;
	((__u64 *)o)[0] = t[0];
	((__u64 *)o)[1] = t[1];
	((__u64 *)o)[2] = t[2];
	((__u64 *)o)[3] = t[3];
	((__u64 *)o)[4] = t[4];
	*(__u32 *)o = bpf_htonl(0x60000000 | (__u32)p->tos << 20 | fl);
	o->payload_len = bpf_htons(p->ip_len);
	o->nexthdr = p->flow.family == CIDLB_FAMILY_V4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	return 0;
}

/* GUE over IPv4: the backend's template (outer IPv4 with protocol UDP,
 * UDP to its GUE port, GUE header) and this packet's TOS, lengths, UDP
 * source port and GUE protocol. The IPv4 checksum as write_outer_v4's,
 * the protocol already in the template's sum; the UDP checksum stays 0
 * (allowed over IPv4, RFC 768). */
static __always_inline int write_gue_v4(void *data, void *data_end, const struct pkt *p,
					const struct cidlb_backend *be)
{
	struct iphdr *o = data + (p->l2_len & 0x1f);
	const __u64 *t = (const __u64 *)be->outer;
	__u32 len = p->ip_len + OUTER_V4_LEN + CIDLB_GUE_HLEN;
	__u8 *u = (__u8 *)(o + 1);

	if ((void *)(u + CIDLB_GUE_HLEN) > data_end)
		return -1;
	((__u64 *)o)[0] = t[0];
	((__u64 *)o)[1] = t[1];
	((__u64 *)o)[2] = t[2];
	((__u64 *)o)[3] = t[3];
	o->tos = p->tos;
	o->tot_len = bpf_htons(len);
	*(__u16 *)u = bpf_htons(cidlb_gue_sport(&p->flow));
	*(__u16 *)(u + 4) = bpf_htons(p->ip_len + CIDLB_GUE_HLEN);
	u[9] = p->flow.family == CIDLB_FAMILY_V4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	o->check = outer_v4_check(be, (len & 0xffff) + p->tos);
	return 0;
}

/* GUE over IPv6: the template (next header UDP, UDP to the GUE port, GUE
 * header), then the first word, lengths, UDP source port and GUE
 * protocol. The UDP checksum stays 0: RFC 6935 and 6936 allow it for
 * tunnels, the inner packet carries its own (docs/operations.md). */
static __always_inline int write_gue_v6(void *data, void *data_end, const struct pkt *p,
					const struct cidlb_backend *be)
{
	struct ipv6hdr *o = data + (p->l2_len & 0x1f);
	const __u64 *t = (const __u64 *)be->outer;
	__u32 fl = cidlb_flow_label(&p->flow);
	__u16 len = bpf_htons(p->ip_len + CIDLB_GUE_HLEN);
	__u8 *u = (__u8 *)(o + 1);

	if ((void *)(u + CIDLB_GUE_HLEN) > data_end)
		return -1;
	((__u64 *)o)[0] = t[0];
	((__u64 *)o)[1] = t[1];
	((__u64 *)o)[2] = t[2];
	((__u64 *)o)[3] = t[3];
	((__u64 *)o)[4] = t[4];
	((__u64 *)o)[5] = t[5];
	((__u32 *)o)[12] = ((const __u32 *)t)[12];
	*(__u32 *)o = bpf_htonl(0x60000000 | (__u32)p->tos << 20 | fl);
	o->payload_len = len;
	*(__u16 *)u = bpf_htons(cidlb_gue_sport(&p->flow));
	*(__u16 *)(u + 4) = len;
	u[9] = p->flow.family == CIDLB_FAMILY_V4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	return 0;
}

/* Octets the backend's outer headers take. */
static __always_inline __u32 outer_len(const struct cidlb_backend *be)
{
	__u32 olen = be->family == CIDLB_FAMILY_V4 ? OUTER_V4_LEN : OUTER_V6_LEN;

	return be->encap == CIDLB_ENCAP_GUE ? olen + CIDLB_GUE_HLEN : olen;
}

/* Encapsulate toward the backend; on success the frame is ready to send
 * and nh says where; on FWD_MTU nh->mtu is the MTU the client must use.
 * The packet is unchanged on every error but FWD_ENCAP after the headroom
 * grew (the caller drops it either way). */
static __always_inline int encap(struct xdp_md *ctx, const struct pkt *p,
				 const struct cidlb_backend *be, __u32 idx,
				 const struct cidlb_global *g, struct next_hop *nh)
{
	__u32 olen = outer_len(be);
	void *data, *data_end;
	int rc;

	if (be->family != CIDLB_FAMILY_V4 && be->family != CIDLB_FAMILY_V6)
		return FWD_ENCAP;
	if (be->fwd_mode == CIDLB_FWD_ENCAP_FIB)
		rc = nh_from_fib(ctx, be, idx, g, p->ip_len + olen, nh);
	else
		rc = nh_from_mac(ctx, be, g, olen, nh);
	if (rc == FWD_MTU)
		nh->mtu = nh->mtu > olen ? nh->mtu - olen : 0;
	if (rc)
		return rc;
	if (bpf_xdp_adjust_head(ctx, -(int)olen))
		return FWD_ENCAP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (move_tags(data, data_end, 0, olen, p->l2_len))
		return FWD_ENCAP;
	if (set_l2_proto(data, data_end, p->l2_len,
			 be->family == CIDLB_FAMILY_V4 ? ETH_P_IP : ETH_P_IPV6))
		return FWD_ENCAP;
	if ((void *)((struct ethhdr *)data + 1) > data_end)
		return FWD_ENCAP;
	write_macs(data, nh);
	if (be->encap == CIDLB_ENCAP_GUE)
		rc = be->family == CIDLB_FAMILY_V4 ? write_gue_v4(data, data_end, p, be) :
						     write_gue_v6(data, data_end, p, be);
	else if (be->family == CIDLB_FAMILY_V4)
		rc = write_outer_v4(data, data_end, p, be);
	else
		rc = write_outer_v6(data, data_end, p, be);
	return rc ? FWD_ENCAP : FWD_OK;
}

#endif
