/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Userspace stand-in for libbpf's bpf_helpers.h: lets the data path's own
 * source (the headers in bpf/) compile into a normal program, for the fuzzer and for
 * the twin test that compares it with the BPF program. Maps are defined
 * as in BPF; the helpers below are implemented in tests/fuzz/twin.c.
 */
#ifndef CIDLB_SHIM_BPF_HELPERS_H
#define CIDLB_SHIM_BPF_HELPERS_H

#include <linux/bpf.h>
#include <linux/types.h>

#define SEC(name)
#define __uint(name, val) int(*name)[val]
#define __type(name, val) __typeof__(val) *name
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __noinline __attribute__((noinline))

/* Renamed: libbpf's userspace API has functions of the same names, and a
 * test links both. */
#define bpf_map_lookup_elem(...) twin_map_lookup_elem(__VA_ARGS__)
#define bpf_map_update_elem(...) twin_map_update_elem(__VA_ARGS__)
#define bpf_xdp_adjust_head(...) twin_xdp_adjust_head(__VA_ARGS__)
#define bpf_xdp_load_bytes(...)	 twin_xdp_load_bytes(__VA_ARGS__)
#define bpf_fib_lookup(...)	 twin_fib_lookup(__VA_ARGS__)
#define bpf_check_mtu(...)	 twin_check_mtu(__VA_ARGS__)
#define bpf_redirect_map(...)	 twin_redirect_map(__VA_ARGS__)
#define bpf_xdp_adjust_tail(...) twin_xdp_adjust_tail(__VA_ARGS__)
#define bpf_get_prandom_u32(...) twin_get_prandom_u32(__VA_ARGS__)
#define bpf_csum_diff(...)	 twin_csum_diff(__VA_ARGS__)

void *bpf_map_lookup_elem(void *map, const void *key);
long bpf_map_update_elem(void *map, const void *key, const void *value, __u64 flags);
long bpf_xdp_adjust_head(struct xdp_md *ctx, int delta);
long bpf_xdp_load_bytes(struct xdp_md *ctx, __u32 off, void *buf, __u32 len);
long bpf_fib_lookup(void *ctx, struct bpf_fib_lookup *params, int plen, __u32 flags);
long bpf_check_mtu(void *ctx, __u32 ifindex, __u32 *mtu_len, __s32 len_diff, __u64 flags);
long bpf_redirect_map(void *map, __u64 key, __u64 flags);
long bpf_xdp_adjust_tail(struct xdp_md *ctx, int delta);
__s64 bpf_csum_diff(__be32 *from, __u32 from_size, __be32 *to, __u32 to_size, __wsum seed);
__u64 bpf_ktime_get_boot_ns(void);
long bpf_xdp_adjust_tail(struct xdp_md *ctx, int delta);
__u32 bpf_get_prandom_u32(void);
__u64 bpf_ktime_get_coarse_ns(void);

#endif
