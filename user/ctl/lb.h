/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lb.h - the control layer over the cidlb XDP object: open or adopt it,
 * and change its maps with one typed call per change. Used by cidlbd, the
 * cidlb command and the tests, so that every writer of the maps goes
 * through the same code. Functions return 0 or a negative errno.
 */
#ifndef CIDLB_CTL_LB_H
#define CIDLB_CTL_LB_H

#include <stdint.h>
#include <stdbool.h>
#include "cidlb_maps.h"

/* The maps of CIDLB_MAPS (include/cidlb_maps.h), in its order. */
enum cidlb_map_id {
#define X(id, name, ksz, vsz, flags) CIDLB_M_##id,
	CIDLB_MAPS(X)
#undef X
	CIDLB_M_COUNT
};

extern const char *const cidlb_map_names[CIDLB_M_COUNT];

struct cidlb_lb_opts {
	uint32_t lru_size;     /* 0: CIDLB_LRU_DEFAULT */
	uint32_t retired_size; /* 0: CIDLB_RETIRED_DEFAULT */
	uint32_t dcache_size;  /* 0: CIDLB_DCACHE_DEFAULT */
	uint32_t sid_buckets;  /* 0: CIDLB_SID_BUCKETS (tests make it small) */
	uint32_t max_pools;    /* 0: CIDLB_POOLS_DEFAULT; at most CIDLB_MAX_POOLS */
};

struct cidlb_lb;

/* Open and load a cidlb object file (not attached, not pinned). */
int cidlb_lb_open(const char *obj_path, const struct cidlb_lb_opts *opts, struct cidlb_lb **out);
/* Adopt the program and maps pinned under pin_dir by cidlb_lb_pin(). */
int cidlb_lb_open_pinned(const char *pin_dir, struct cidlb_lb **out);
/* Check adopted pins against the map definitions of the object file
 * obj_path (type, key and value size, max_entries where it is fixed) and
 * the pinned program's type, before any map is read or written: pins of
 * another version would overflow this process's buffers or mislead the
 * program. obj_path NULL (the cidlb command, which has no object): key and
 * value sizes against the buffers of include/cidlb_maps.h only. 0, or
 * -EINVAL with *why naming the map, its path and the sizes. */
int cidlb_lb_check_pins(const struct cidlb_lb *lb, const char *obj_path, const char *pin_dir,
			char *why, size_t why_len);
/* Pin the program and every map under pin_dir (created if missing). */
int cidlb_lb_pin(struct cidlb_lb *lb, const char *pin_dir);
/* Remove the pins made by cidlb_lb_pin() and the directory if empty. */
int cidlb_lb_unpin(const char *pin_dir);
void cidlb_lb_close(struct cidlb_lb *lb);

int cidlb_lb_prog_fd(const struct cidlb_lb *lb);
/* Load the program of obj_path with this lb's maps (neither attached nor
 * pinned): *prog_fd gets it. For a program to take the place of the one
 * adopted pins run, same maps (cidlbd, user/daemon/upgrade.c). */
int cidlb_lb_load_prog(const struct cidlb_lb *lb, const char *obj_path, int *prog_fd);
/* Adopted pins only: fd (owned from now on) becomes the lb's program. */
int cidlb_lb_set_prog_fd(struct cidlb_lb *lb, int fd);
int cidlb_lb_map_fd(const struct cidlb_lb *lb, enum cidlb_map_id id);

int cidlb_lb_set_vip(struct cidlb_lb *lb, const struct cidlb_vip_key *k, const struct cidlb_vip *v);
int cidlb_lb_del_vip(struct cidlb_lb *lb, const struct cidlb_vip_key *k);
/* Packets read VIPs from cidlb_vip_table and short server IDs from
 * cidlb_sid_table, which the calls above keep equal to cidlb_vips and
 * cidlb_sids; this makes them so again (after adopting maps that a writer
 * may have left between the two), without a moment where one is empty. */
int cidlb_lb_refresh_tables(struct cidlb_lb *lb);
/* Writes config id into its standby copy, then makes that copy the one
 * packets read (a packet never decodes with a half-written key); the
 * generation is bumped so decode-cache entries of the previous config
 * under that ID are never used again. get_config reads the active copy. */
int cidlb_lb_set_config(struct cidlb_lb *lb, uint32_t id, const struct cidlb_config *c);
int cidlb_lb_get_config(struct cidlb_lb *lb, uint32_t id, struct cidlb_config *c);
/* The same for the configs of a pool (the calls above: pool 0). The copy
 * in use is the pool's (cidlb_pools): the flip is published with the VIP
 * table, to every VIP of the pool at once. */
int cidlb_lb_set_pool_config(struct cidlb_lb *lb, uint32_t pool, uint32_t id,
			     const struct cidlb_config *c);
int cidlb_lb_get_pool_config(struct cidlb_lb *lb, uint32_t pool, uint32_t id,
			     struct cidlb_config *c);
/* Pools the maps hold ([lb] max_pools at load; 1 for pins without them). */
uint32_t cidlb_lb_max_pools(const struct cidlb_lb *lb);
int cidlb_lb_set_backend(struct cidlb_lb *lb, uint32_t idx, const struct cidlb_backend *b);
int cidlb_lb_set_sid(struct cidlb_lb *lb, const struct cidlb_sid_key *k, uint32_t idx);
int cidlb_lb_del_sid(struct cidlb_lb *lb, const struct cidlb_sid_key *k);
int cidlb_lb_get_global(struct cidlb_lb *lb, struct cidlb_global *g);
/* After writing or deleting entries of cidlb_lru from userspace: the data
 * path's per-CPU 4-tuple caches (cidlb_fcache) forget what they hold (a
 * new cidlb_global.flow_gen, which a change of flow_idle also makes). A
 * packet in flight across the write caches nothing that outlives it:
 * bpf/pick.h reads flow_gen before the entry and writes the slot with
 * that generation. Today's only writer (upgrade.c, BPF_NOEXIST) never
 * changes an entry. */
int cidlb_lb_flows_changed(struct cidlb_lb *lb);
/* After a change that bpf_fib_lookup() would answer differently (the
 * kernel's routes or neighbours): the data path's per-CPU next-hop caches
 * (cidlb_nhcache) forget what they hold (a new cidlb_global.nh_gen).
 * Without it they follow within one next-hop tick (2^26 ns); lb.c calls it
 * itself when cidlb_neigh or the outer source addresses change. */
int cidlb_lb_next_hops_changed(struct cidlb_lb *lb);
/* The smallest MTU of the devices the program is attached to
 * (cidlb_global.mtu_floor): an encapsulated frame to a configured MAC that
 * fits it is sent without asking the kernel (bpf_check_mtu()); 0: every
 * one is asked about. It must never be above a device's MTU for longer
 * than the caller takes to notice a change (cidlbd: one second). Writes
 * nothing when it is already mtu. */
int cidlb_lb_set_mtu_floor(struct cidlb_lb *lb, uint32_t mtu);
int cidlb_lb_set_global(struct cidlb_lb *lb, const struct cidlb_global *g);
/* Write table (CIDLB_MAGLEV_SIZE slots) into the standby half, then make
 * it the active half with one write: a packet sees the old table or the
 * new one, never a mix. */
int cidlb_lb_publish_maglev(struct cidlb_lb *lb, const uint32_t *table);
/* The same for a pool's table (the call above: pool 0). */
int cidlb_lb_publish_pool_maglev(struct cidlb_lb *lb, uint32_t pool, const uint32_t *table);
/* Retired CIDs (include/cidlb_maps.h): every write keeps the filter
 * cidlb_retired_hint covering every CID held (its counts are this
 * process's: one writer at a time). Packets stop dropping a CID at its
 * expiry (CLOCK_BOOTTIME ns); deleting it only gives the entry back.
 * _ex: *added (may be NULL) says whether k was new in the map (else only
 * its expiry changed). */
int cidlb_lb_retire(struct cidlb_lb *lb, const struct cidlb_cid_key *k, uint64_t expires_ns);
int cidlb_lb_retire_ex(struct cidlb_lb *lb, const struct cidlb_cid_key *k, uint64_t expires_ns,
		       bool *added);
int cidlb_lb_unretire(struct cidlb_lb *lb, const struct cidlb_cid_key *k);
/* Delete those of keys[0..n) whose entry expired by now_ns (expires_ns <=
 * now_ns), in one batch; *deleted says how many were. It writes only
 * cidlb_retired and its filter: once the map is empty, call
 * cidlb_lb_refresh_global() where cidlb_global's writers are serialized,
 * so that packets stop looking CIDs up. */
int cidlb_lb_expire(struct cidlb_lb *lb, const struct cidlb_cid_key *keys, size_t n,
		    uint64_t now_ns, size_t *deleted);
/* Recompute the fields of cidlb_global derived from the maps. */
int cidlb_lb_refresh_global(struct cidlb_lb *lb);
int cidlb_lb_add_tx_port(struct cidlb_lb *lb, uint32_t ifindex);
/* cidlb_neigh: the copy of a next hop's neighbour entry (packets read it
 * where the kernel's lookup finds none); set rewrites only a changed one. */
int cidlb_lb_set_neigh(struct cidlb_lb *lb, const struct cidlb_neigh_key *k,
		       const struct cidlb_neigh *n);
int cidlb_lb_del_neigh(struct cidlb_lb *lb, const struct cidlb_neigh_key *k);
/* Sums of the per-CPU counters. */
int cidlb_lb_read_counters(struct cidlb_lb *lb, struct cidlb_counters *sum);
int cidlb_lb_read_backend_stats(struct cidlb_lb *lb, uint32_t idx, struct cidlb_backend_stats *sum);
int cidlb_lb_read_config_stats(struct cidlb_lb *lb, uint32_t id, struct cidlb_config_stats *sum);
int cidlb_lb_read_pool_config_stats(struct cidlb_lb *lb, uint32_t pool, uint32_t id,
				    struct cidlb_config_stats *sum);
int cidlb_lb_del_tx_port(struct cidlb_lb *lb, uint32_t ifindex);
/* Clear counters and per-backend statistics (tests, `cidlb stats reset`). */
int cidlb_lb_reset_counters(struct cidlb_lb *lb);

/* The counters of CIDLB_COUNTERS (include/cidlb_maps.h) in their order,
 * for printing: name, help line, where in struct cidlb_counters, kind. */
struct cidlb_counter_desc {
	const char *name;
	const char *help;
	size_t offset;
	int kind; /* enum cidlb_counter_kind */
};
extern const struct cidlb_counter_desc cidlb_counter_descs[];
extern const size_t cidlb_counter_count;

#endif
