/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* maps.h - the maps of the cidlb XDP program (BTF-defined, pinned by name).
 * Keys and values are the structures of include/cidlb_maps.h. */
#ifndef CIDLB_BPF_MAPS_H
#define CIDLB_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "cidlb_maps.h"

/* The VIPs as operators and lb.c see them; packets read cidlb_vip_table. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CIDLB_MAX_VIPS);
	__type(key, struct cidlb_vip_key);
	__type(value, struct cidlb_vip);
} cidlb_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * CIDLB_VIP_SLOTS);
	__type(key, __u32);
	__type(value, struct cidlb_vip_slot);
} cidlb_vip_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CIDLB_POOLS_DEFAULT *CIDLB_POOL_CONFIGS); /* [lb] max_pools */
	__type(key, __u32);
	__type(value, struct cidlb_config);
} cidlb_configs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CIDLB_MAX_SIDS);
	__type(key, struct cidlb_sid_key);
	__type(value, __u32);
} cidlb_sids SEC(".maps");

/* Short server IDs as packets read them (include/cidlb_maps.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CIDLB_SID_BUCKETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct cidlb_sid_bucket);
} cidlb_sid_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CIDLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct cidlb_backend);
} cidlb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CIDLB_POOLS_DEFAULT * 2 * CIDLB_MAGLEV_SIZE); /* [lb] max_pools */
	__type(key, __u32);
	__type(value, __u32);
} cidlb_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CIDLB_LRU_DEFAULT);
	__type(key, struct cidlb_flow_key);
	__type(value, struct cidlb_flow);
} cidlb_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CIDLB_RETIRED_DEFAULT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cidlb_cid_key);
	__type(value, struct cidlb_retired);
} cidlb_retired SEC(".maps");

/* Bloom filter in front of cidlb_retired (include/cidlb_maps.h): 16 bits
 * per entry of the retired map. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CIDLB_RETIRED_DEFAULT / 32);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct cidlb_rhint_block);
} cidlb_retired_hint SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cidlb_counters);
} cidlb_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CIDLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct cidlb_backend_stats);
} cidlb_be_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cidlb_global);
} cidlb_global SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CIDLB_POOLS_DEFAULT * 8); /* [lb] max_pools */
	__type(key, __u32);
	__type(value, struct cidlb_config_stats);
} cidlb_cfg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, CIDLB_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} cidlb_tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CIDLB_MAX_NEIGH);
	__type(key, struct cidlb_neigh_key);
	__type(value, struct cidlb_neigh);
} cidlb_neigh SEC(".maps");

/* Decode cache: CID -> server ID, per CPU, direct-mapped. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CIDLB_DCACHE_DEFAULT);
	__type(key, __u32);
	__type(value, struct cidlb_dcache_slot);
} cidlb_dcache SEC(".maps");

/* Rate limits: one window per enum cidlb_rate_id, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CIDLB_RATE_N);
	__type(key, __u32);
	__type(value, struct cidlb_rate);
} cidlb_rate SEC(".maps");

/* Per pool, for lb.c (packets read struct cidlb_pool_ref in VIP slots). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CIDLB_POOLS_DEFAULT); /* [lb] max_pools */
	__type(key, __u32);
	__type(value, struct cidlb_pool);
} cidlb_pools SEC(".maps");

/* 4-tuple cache in front of cidlb_lru, per CPU, direct-mapped
 * (include/cidlb_maps.h, bpf/pick.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CIDLB_FCACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct cidlb_fcache_slot);
} cidlb_fcache SEC(".maps");

/* Next-hop cache in front of bpf_fib_lookup(), per CPU, direct-mapped by
 * backend index (include/cidlb_maps.h, bpf/encap.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CIDLB_NHCACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct cidlb_nhcache_slot);
} cidlb_nhcache SEC(".maps");

#endif
