/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench.h - what the benchmark driver (tools/bench/main.c, live.c) and its
 * BPF programs (cidlb_bench.bpf.c, bench_live.bpf.c) share. Not part of
 * cidlb's map ABI (include/cidlb_maps.h): only `make bench` uses these.
 */
#ifndef CIDLB_BENCH_H
#define CIDLB_BENCH_H

#include <linux/types.h>

/* Octets the harness saves before the data path runs and writes back
 * after it (three 8-octet words): the Ethernet header that encapsulation
 * overwrites (the new head's L2 header and outer headers end where the
 * old L2 header ended), with room for two VLAN tags. The driver compares
 * every class's output with its input, so a body that wrote further
 * would fail there. Every benchmark frame is longer. */
#define BENCH_SAVE_LEN 24
#define BENCH_CID_LEN  20  /* CIDLB_CID_MAX */
#define BENCH_TPL_LEN  128 /* live generator: header octets rewritten */

/* What the harness changes in the frame before each iteration. */
enum bench_rewrite {
	BENCH_RW_NONE = 0,
	BENCH_RW_CID = 1,   /* DCID := bench_cids[cid_base + seq % cid_count] */
	BENCH_RW_TUPLE = 2, /* UDP source port and 2 octets of the source
				 * address := a per-CPU sequence number */
};

/* bench_ctl (a global of cidlb_bench.bpf.c): the class being measured. */
struct bench_ctl {
	__u32 rewrite;	 /* enum bench_rewrite */
	__u32 cid_off;	 /* octet offset of the DCID in the frame */
	__u32 cid_base;	 /* first bench_cids entry of this class */
	__u32 cid_count; /* entries cycled through; a power of two */
	__u32 sport_off; /* octet offset of the UDP source port */
	__u32 saddr_off; /* offset of the 2 source address octets rewritten */
	__u32 backend;	 /* encapsulation floor: backend index */
	__u32 olen;	 /* head-adjustment floor: outer header length */
};

/* bench_cids[i]: a DCID, zero past its length. */
struct bench_cid {
	__u8 b[BENCH_CID_LEN];
};

/* live_tpl[0]: the frame the live generator sends (its first octets are
 * rewritten on every send: a page coming back from the receiver carries
 * what the load balancer wrote into it). */
struct bench_tpl {
	__u32 rotate_tuple; /* 1: new UDP source port / address per frame */
	__u32 sport_off;
	__u32 saddr_off;
	__u32 pad;
	__u8 b[BENCH_TPL_LEN];
};

/* live_cnt[0], per CPU: what the receiver saw. */
struct bench_live_cnt {
	__u64 frames; /* every frame */
	__u64 tunnel; /* IPv4/IPv6 outer header carrying IPIP/IPv6 */
	__u64 octets;
};

#endif
