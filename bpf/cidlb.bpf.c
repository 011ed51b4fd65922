// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* cidlb.bpf.c - the cidlb XDP program: QUIC packets for a VIP go to the
 * backend named by the server ID in their destination connection ID.
 * The path of a packet is in cidlb_main.h. */
#include "cidlb_main.h"

SEC("xdp")
int cidlb_xdp(struct xdp_md *ctx)
{
	return cidlb_handle(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
