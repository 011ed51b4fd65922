/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Userspace stand-in for libbpf's bpf_endian.h (see bpf_helpers.h here). */
#ifndef CIDLB_SHIM_BPF_ENDIAN_H
#define CIDLB_SHIM_BPF_ENDIAN_H

/* x86 and arm64 hosts are little-endian (no <arpa/inet.h>: it clashes
 * with <linux/in.h>, which the data path includes). */
#define bpf_htons(x) ((__u16)__builtin_bswap16(x))
#define bpf_ntohs(x) ((__u16)__builtin_bswap16(x))
#define bpf_htonl(x) ((__u32)__builtin_bswap32(x))
#define bpf_ntohl(x) ((__u32)__builtin_bswap32(x))

#endif
