// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_live.bpf.c - both ends of the veth benchmark.
 *
 *   live_gen    run by BPF_PROG_TEST_RUN in live-frames mode on the
 *               sender's veth: writes the template's header octets (a
 *               recycled page carries what the load balancer wrote into
 *               it), optionally a new 4-tuple, and sends with XDP_TX.
 *   live_count  attached to the same veth: counts what comes back from
 *               the load balancer and drops it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bench.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_tpl);
} live_tpl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_live_cnt);
} live_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} live_seq SEC(".maps");

SEC("xdp")
int live_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct bench_tpl *t;
	__u64 *w = data, *seq, s;
	const __u64 *src;
	__u32 zero = 0;
	int k;

	t = bpf_map_lookup_elem(&live_tpl, &zero);
	if (!t || data + BENCH_TPL_LEN > data_end)
		return XDP_ABORTED;
	src = (const __u64 *)t->b;
#pragma unroll
	for (k = 0; k < BENCH_TPL_LEN / 8; k++)
		w[k] = src[k];
	if (t->rotate_tuple) {
		__u8 *sp = data + (t->sport_off & 0x7f);
		__u8 *sa = data + (t->saddr_off & 0x7f);

		seq = bpf_map_lookup_elem(&live_seq, &zero);
		if (!seq || (void *)(sp + 2) > data_end || (void *)(sa + 2) > data_end)
			return XDP_ABORTED;
		s = (*seq)++;
		sp[0] = s >> 8;
		sp[1] = s;
		sa[0] = 0x80 | (s >> 24); /* never a fixed class's address */
		sa[1] = s >> 16;
	}
	return XDP_TX;
}

SEC("xdp")
int live_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct bench_live_cnt *c;
	__u32 zero = 0;
	__u8 proto = 0;

	c = bpf_map_lookup_elem(&live_cnt, &zero);
	if (!c)
		return XDP_DROP;
	c->frames++;
	c->octets += data_end - data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) <= data_end)
			proto = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) <= data_end)
			proto = ip6->nexthdr;
	}
	if (proto == IPPROTO_IPIP || proto == IPPROTO_IPV6)
		c->tunnel++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
