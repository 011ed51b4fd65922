// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_pass.bpf.c - XDP_PASS for every packet. A veth only accepts frames
 * that its peer sends with XDP_TX or XDP_REDIRECT when it has an XDP
 * program of its own, so the end-to-end topology puts this one on every
 * veth whose peer runs cidlb.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
