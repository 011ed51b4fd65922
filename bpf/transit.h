/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * transit.h - what the program passes must not cross the LB. The FIB
 * next-hop lookup of encap.h answers only on devices that forward, so
 * cidlbd turns forwarding on for its interfaces; the kernel would then
 * route every packet the program passes that is not addressed to this
 * host: TCP or ICMP to a VIP address (back toward the router: a loop),
 * UDP to a VIP address on another port, packets for the backend network.
 * With CIDLB_GF_NO_TRANSIT set (cidlbd sets it), a packet about to be
 * passed is looked up as the kernel would look it up on the ingress
 * device: one the kernel would route is dropped here. Local addresses,
 * broadcast and multicast (ARP and NDP are not IP and never get here)
 * still reach the host; so does all of it on a device that does not
 * forward. Only the pass path pays for the lookup, never a packet to a VIP.
 */
#ifndef CIDLB_BPF_TRANSIT_H
#define CIDLB_BPF_TRANSIT_H

#include "maps.h"
#include "parse.h"

#ifndef AF_INET
#define AF_INET	 2
#define AF_INET6 10
#endif
#define IPV6_TCLASS_FLOW 0x0fffffff /* traffic class and flow label */

/* The FIB lookup parameters of the IPv4 packet at iph; 0 when the kernel
 * never routes it (not IPv4, multicast, limited broadcast). */
static __always_inline int fib_params_v4(const struct iphdr *iph, struct bpf_fib_lookup *fib)
{
	__u8 *d = (__u8 *)&iph->daddr;

	if (iph->version != 4 || (d[0] & 0xf0) == 0xe0 || iph->daddr == 0xffffffff)
		return 0;
	fib->family = AF_INET;
	fib->tos = iph->tos;
	fib->l4_protocol = iph->protocol;
	fib->ipv4_src = iph->saddr;
	fib->ipv4_dst = iph->daddr;
	return 1;
}

/* The same for IPv6; multicast never goes through unicast forwarding, and
 * the kernel itself answers "not forwarded" for link-local addresses. */
static __always_inline int fib_params_v6(const struct ipv6hdr *ip6, struct bpf_fib_lookup *fib)
{
	if (ip6->version != 6 || ip6->daddr.in6_u.u6_addr8[0] == 0xff)
		return 0;
	fib->family = AF_INET6;
	fib->flowinfo = *(const __be32 *)ip6 & bpf_htonl(IPV6_TCLASS_FLOW);
	fib->l4_protocol = ip6->nexthdr;
	__builtin_memcpy(fib->ipv6_src, &ip6->saddr, 16);
	__builtin_memcpy(fib->ipv6_dst, &ip6->daddr, 16);
	return 1;
}

/*
 * 1 when the kernel would route (or refuse to route: blackhole,
 * unreachable, prohibit) the IP packet after the l2_len octets of L2
 * header, rather than deliver it to this host. A global function: the
 * verifier checks it once, not once for every way a packet gets passed
 * (80,514 instructions processed when it was inline, against 46,260
 * without the check).
 */
__attribute__((noinline)) int cidlb_kernel_forwards(struct xdp_md *ctx, __u32 l2_len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	__be16 *type = data + ((l2_len - 2) & 0x1f);
	void *l3 = data + (l2_len & 0x1f);
	int rc;

	if ((void *)(type + 1) > data_end)
		return 0;
	if (*type == bpf_htons(ETH_P_IP)) {
		if (l3 + sizeof(struct iphdr) > data_end || !fib_params_v4(l3, &fib))
			return 0;
	} else if (*type == bpf_htons(ETH_P_IPV6)) {
		if (l3 + sizeof(struct ipv6hdr) > data_end || !fib_params_v6(l3, &fib))
			return 0;
	} else {
		return 0;
	}
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	/* NOT_FWDED: local, broadcast, or not unicast; FWD_DISABLED: this
	 * device does not forward; < 0: no answer, the kernel decides */
	return rc >= 0 && rc != BPF_FIB_LKUP_RET_NOT_FWDED && rc != BPF_FIB_LKUP_RET_FWD_DISABLED;
}

/* A packet the program is about to pass: 1 when it must be dropped. */
static __always_inline int pass_not_local(struct xdp_md *ctx, __u32 l2_len,
					  const struct cidlb_global *g)
{
	return (g->flags & CIDLB_GF_NO_TRANSIT) && cidlb_kernel_forwards(ctx, l2_len);
}

#endif
