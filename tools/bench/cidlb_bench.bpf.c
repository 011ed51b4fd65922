// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cidlb_bench.bpf.c - the real data path (cidlb_handle() of
 * bpf/cidlb_main.h, inlined) inside a harness for BPF_PROG_TEST_RUN with
 * repeat > 1, and the floors it is compared with.
 *
 * With repeat > 1 the kernel runs every iteration on the same buffer and
 * never resets the head pointer, so from the second iteration on the data
 * path would see its own encapsulated output. The harness saves the first
 * BENCH_SAVE_LEN octets, runs the body, moves the head back by however
 * much the frame grew and writes the saved octets back: every iteration
 * sees the input frame. The driver loads this object with every cidlb_*
 * map shared with a loaded build/cidlb.bpf.o, and checks that the counters
 * advance by exactly `repeat` and that the output equals the input.
 *
 *   bench_floor   swap MACs, XDP_TX (no harness): floor 1
 *   bench_nop     harness around "swap MACs": the harness's own cost
 *   bench_adjust  harness around bpf_xdp_adjust_head() alone
 *   bench_encap   harness around encap() of bpf/encap.h alone: floor 2
 *   bench_lb      harness around cidlb_handle()
 *   bench_bare    cidlb_handle() alone, as bpf/cidlb.bpf.c has it: the
 *                 driver compares its translated instructions with the
 *                 loaded cidlb_xdp's (the inlined copy is the same code)
 *   live_floor, live_encap: floors 1 and 2 without harness, for veth
 */
#include "cidlb_main.h"
#include "bench.h"

/* The class being measured: a global (the object's .bss map, written by
 * the driver), so that the harness reads it through a constant address,
 * with no map lookup and no null check in the timed path. */
struct bench_ctl bench_ctl;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bench_seq SEC(".maps");

/* Resized by the driver before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_cid);
} bench_cids SEC(".maps");

enum body {
	BODY_SWAP,
	BODY_ADJUST,
	BODY_ENCAP,
	BODY_LB
};

static __always_inline int body_swap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[6];

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(tmp, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, tmp, 6);
	return XDP_TX;
}

static __always_inline int body_adjust(struct xdp_md *ctx, const struct bench_ctl *c)
{
	if (bpf_xdp_adjust_head(ctx, -(int)(c->olen & 0x3f)))
		return XDP_ABORTED;
	return XDP_TX;
}

/* encap() alone on an untagged frame: struct pkt filled from fixed
 * offsets (the data path gets it from parsing), backend from bench_ctl. */
static __always_inline int body_encap(struct xdp_md *ctx, const struct bench_ctl *c)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	const struct cidlb_backend *be;
	const struct cidlb_global *g;
	struct next_hop nh = {};
	struct pkt p = {};
	__u32 zero = 0, idx = c->backend;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	p.l2_len = sizeof(*eth);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return XDP_ABORTED;
		p.ip_len = bpf_ntohs(ip->tot_len);
		p.tos = ip->tos;
		p.flow.family = CIDLB_FAMILY_V4;
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct udphdr *udp = (void *)(ip6 + 1);

		if ((void *)(udp + 1) > data_end)
			return XDP_ABORTED;
		p.ip_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
		p.tos = ip6->priority << 4 | ip6->flow_lbl[0] >> 4;
		p.flow.family = CIDLB_FAMILY_V6;
		/* the outer flow label hashes the 4-tuple */
		__builtin_memcpy(p.flow.src, &ip6->saddr, 16);
		__builtin_memcpy(p.flow.dst, &ip6->daddr, 16);
		p.flow.sport = udp->source;
		p.flow.dport = udp->dest;
	}
	be = bpf_map_lookup_elem(&cidlb_backends, &idx);
	g = bpf_map_lookup_elem(&cidlb_global, &zero);
	if (!be || !g)
		return XDP_ABORTED;
	if (encap(ctx, &p, be, idx, g, &nh))
		return XDP_ABORTED;
	return XDP_TX;
}

/* The per-iteration input change of "miss" and "new 4-tuple" classes. */
static __always_inline int rewrite(struct xdp_md *ctx, const struct bench_ctl *c)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0, i;
	__u64 *seq, s;

	if (c->rewrite == BENCH_RW_NONE)
		return 0;
	seq = bpf_map_lookup_elem(&bench_seq, &zero);
	if (!seq)
		return -1;
	s = (*seq)++;
	if (c->rewrite == BENCH_RW_CID) {
		struct bench_cid *cid;
		__u8 *d = data + (c->cid_off & 0xff);

		i = c->cid_base + ((__u32)s & (c->cid_count - 1));
		cid = bpf_map_lookup_elem(&bench_cids, &i);
		if (!cid || (void *)(d + BENCH_CID_LEN) > data_end)
			return -1;
		__builtin_memcpy(d, cid->b, BENCH_CID_LEN);
	} else {
		__u8 *sp = data + (c->sport_off & 0xff);
		__u8 *sa = data + (c->saddr_off & 0xff);

		if ((void *)(sp + 2) > data_end || (void *)(sa + 2) > data_end)
			return -1;
		sp[0] = s >> 8;
		sp[1] = s;
		sa[0] = 0x80 | (s >> 24); /* never a fixed class's address */
		sa[1] = s >> 16;
	}
	return 0;
}

static __always_inline int harness(struct xdp_md *ctx, enum body body)
{
	void *data, *data_end;
	const struct bench_ctl *c = &bench_ctl;
	__u64 s0, s1, s2, *w;
	long len0, grown;
	int rc;

	if (rewrite(ctx, c))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + BENCH_SAVE_LEN > data_end)
		return XDP_ABORTED;
	len0 = data_end - data;
	/* three words, as scalars: no copy through the stack */
	w = data;
	s0 = w[0];
	s1 = w[1];
	s2 = w[2];

	if (body == BODY_SWAP)
		rc = body_swap(ctx);
	else if (body == BODY_ADJUST)
		rc = body_adjust(ctx, c);
	else if (body == BODY_ENCAP)
		rc = body_encap(ctx, c);
	else
		rc = cidlb_handle(ctx);

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	grown = (data_end - data) - len0;
	if (grown) {
		if (bpf_xdp_adjust_head(ctx, (int)grown))
			return XDP_ABORTED;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
	}
	if (data + BENCH_SAVE_LEN > data_end)
		return XDP_ABORTED;
	w = data;
	w[0] = s0;
	w[1] = s1;
	w[2] = s2;
	return rc;
}

SEC("xdp")
int bench_floor(struct xdp_md *ctx)
{
	return body_swap(ctx);
}

SEC("xdp")
int bench_nop(struct xdp_md *ctx)
{
	return harness(ctx, BODY_SWAP);
}

SEC("xdp")
int bench_adjust(struct xdp_md *ctx)
{
	return harness(ctx, BODY_ADJUST);
}

SEC("xdp")
int bench_encap(struct xdp_md *ctx)
{
	return harness(ctx, BODY_ENCAP);
}

SEC("xdp")
int bench_lb(struct xdp_md *ctx)
{
	return harness(ctx, BODY_LB);
}

SEC("xdp")
int bench_bare(struct xdp_md *ctx)
{
	return cidlb_handle(ctx);
}

/* Without harness: veth hands every frame over once. */
SEC("xdp")
int live_floor(struct xdp_md *ctx)
{
	return body_swap(ctx);
}

SEC("xdp")
int live_encap(struct xdp_md *ctx)
{
	return body_encap(ctx, &bench_ctl);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
