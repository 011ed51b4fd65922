// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* lb.c - typed access to the maps of the cidlb XDP object. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ctl/lb.h"
#include "ctl/log.h"
#include "ctl/viptab.h"
#include "cidlb_hash.h"

const char *const cidlb_map_names[CIDLB_M_COUNT] = {
#define X(id, name, ksz, vsz, flags) [CIDLB_M_##id] = CIDLB_MAP_##id,
	CIDLB_MAPS(X)
#undef X
};

/* CIDLB_MF_* of each map, from the same list. */
static const unsigned int map_flags[CIDLB_M_COUNT] = {
#define X(id, name, ksz, vsz, flags) [CIDLB_M_##id] = (flags),
	CIDLB_MAPS(X)
#undef X
};

#define X(kind, n, h) { #n, h, offsetof(struct cidlb_counters, n), CIDLB_CK_##kind },
const struct cidlb_counter_desc cidlb_counter_descs[] = { CIDLB_COUNTERS(X) };
#undef X
const size_t cidlb_counter_count = CIDLB_N_COUNTERS;

struct cidlb_lb {
	struct bpf_object *obj; /* NULL when adopted from pins */
	int prog_fd;
	int map_fd[CIDLB_M_COUNT];
	struct cidlb_rhint_block *rhint; /* cidlb_retired_hint, mapped; NULL: none */
	size_t rhint_n;			 /* blocks */
	uint32_t rhint_mask;		 /* blocks in use - 1, as published in
					  * cidlb_global; 0: none (all looked up) */
	long rhint_held;		 /* entries counted in; -1: not known yet */
	uint8_t *rcnt;			 /* CIDs on each bit in use (255: at least) */
	bool rcnt_ok;			 /* rcnt holds every CID held */
	pthread_mutex_t glock;		 /* cidlb_global writes, filter resizes */
	struct cidlb_sid_bucket *sidt;	 /* cidlb_sid_table, mapped; NULL: none */
	size_t sidt_n;			 /* buckets */
	uint32_t max_pools;		 /* entries of cidlb_pools (1 without it) */
};

static struct cidlb_lb *lb_alloc(void)
{
	struct cidlb_lb *lb = calloc(1, sizeof(*lb));
	int i;

	if (!lb)
		return NULL;
	lb->prog_fd = -1;
	for (i = 0; i < CIDLB_M_COUNT; i++)
		lb->map_fd[i] = -1;
	lb->rhint_held = -1;
	pthread_mutex_init(&lb->glock, NULL);
	return lb;
}

static int resize(struct bpf_object *obj, const char *name, uint32_t n)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	if (!m)
		return -ENOENT;
	return n ? bpf_map__set_max_entries(m, n) : 0;
}

/* The decode cache is direct-mapped by a mask: a power of 2 slots. */
static uint32_t pow2_floor(uint32_t n)
{
	while (n & (n - 1))
		n &= n - 1;
	return n;
}

static uint32_t pow2_ceil(uint32_t n)
{
	uint32_t p = pow2_floor(n);

	return p == n ? n : p << 1;
}

/* Map an mmapable array of a power-of-2 number of vsize-octet elements
 * into this process (*mem stays NULL when the object has no such map). */
static int map_mmap(struct cidlb_lb *lb, enum cidlb_map_id id, __u32 vsize, void **mem, size_t *n)
{
	int fd = lb->map_fd[id];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	void *p;

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.value_size != vsize || !(info.map_flags & BPF_F_MMAPABLE) ||
	    info.max_entries < 2 || info.max_entries & (info.max_entries - 1) ||
	    info.max_entries > (1u << 28)) {
		pr_err("map %s is not a power-of-2 array of %u-octet elements that can be mapped",
		       cidlb_map_names[id], vsize);
		return -EINVAL;
	}
	p = mmap(NULL, (size_t)info.max_entries * vsize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		pr_err("cannot map %s into memory: %s", cidlb_map_names[id], strerror(-err));
		return err;
	}
	*mem = p;
	*n = info.max_entries;
	return 0;
}

/*
 * The blocks of the retired-CID filter in use follow the CIDs held, not
 * the map's size: 16 bits per CID, never fewer than one page of them (a
 * CID's block then stays in a few warm cache lines and one TLB entry while
 * few CIDs are retired). Grown when a CID has fewer than 16 bits, to the
 * next power of 2 of blocks; shrunk when it has more than 64, to 32 per
 * CID; each resize sets every CID's bits again (rhint_rebuild()).
 */
#define RHINT_MIN     64  /* blocks: one page */
#define RHINT_PER_CID 16  /* bits */
#define RHINT_BITS    512 /* per block */

static uint32_t rhint_min(const struct cidlb_lb *lb)
{
	return lb->rhint_n < RHINT_MIN ? (uint32_t)lb->rhint_n : RHINT_MIN;
}

/* The filter's blocks for a retired map of n entries: 16 bits each. */
static uint32_t rhint_blocks(uint32_t n)
{
	uint32_t b = (uint32_t)(((uint64_t)n * RHINT_PER_CID + RHINT_BITS - 1) / RHINT_BITS);

	return b < 2 ? 2 : pow2_ceil(b);
}

/* The mask a map adopted with its filter was set with: the one its
 * cidlb_global names, else a fresh filter's (a new one is rebuilt before
 * its first count anyway). */
static uint32_t rhint_adopted_mask(struct cidlb_lb *lb)
{
	struct cidlb_global g;
	uint32_t zero = 0, m;
	int fd = lb->map_fd[CIDLB_M_GLOBAL];

	m = fd >= 0 && !bpf_map_lookup_elem(fd, &zero, &g) ? g.rhint_mask : 0;
	if (m && !(m & (m + 1)) && m < lb->rhint_n)
		return m;
	return rhint_min(lb) - 1;
}

/* The retired-CID filter and the short server-ID table, mapped. */
static int maps_mmap(struct cidlb_lb *lb)
{
	void *p = NULL;
	size_t n = 0;
	int err = map_mmap(lb, CIDLB_M_RETIRED_HINT, sizeof(struct cidlb_rhint_block), &p, &n);

	if (err)
		return err;
	lb->rhint = p;
	lb->rhint_n = n;
	if (p)
		lb->rhint_mask = rhint_adopted_mask(lb);
	p = NULL;
	err = map_mmap(lb, CIDLB_M_SID_TABLE, sizeof(struct cidlb_sid_bucket), &p, &n);
	if (err)
		return err;
	lb->sidt = p;
	lb->sidt_n = n;
	return 0;
}

/*
 * Count bit i of the filter up (+1) or down (-1): set on its first CID,
 * cleared after its last; a count at 255 stays there (it may stand for
 * more CIDs than it can count). Before the counts are known (a filter
 * adopted from pins), bits are only set: the next resize counts them.
 */
static void rhint_bit(struct cidlb_lb *lb, uint32_t i, int delta)
{
	__u64 *w = &lb->rhint[i / RHINT_BITS].w[(i >> 6) & 7], bit = 1ULL << (i & 63);
	uint8_t *c;

	if (!lb->rcnt_ok) {
		if (delta > 0)
			__atomic_fetch_or(w, bit, __ATOMIC_SEQ_CST);
		return;
	}
	c = &lb->rcnt[i];
	if (*c == 255)
		return;
	if (delta > 0 && (*c)++ == 0)
		__atomic_fetch_or(w, bit, __ATOMIC_SEQ_CST);
	else if (delta < 0 && *c && --(*c) == 0)
		__atomic_fetch_and(w, ~bit, __ATOMIC_SEQ_CST);
}

/* Count the CID key's three bits in the filter up or down, with the
 * blocks in use given (none while the mask is 0: the next resize counts
 * every CID). */
static void rhint_count_mask(struct cidlb_lb *lb, const struct cidlb_cid_key *k, int delta,
			     uint32_t mask)
{
	uint64_t h = cidlb_cid_hashes(k);
	uint32_t b = ((uint32_t)h & mask) * RHINT_BITS;
	int n;

	if (!lb->rhint || !mask)
		return;
	for (n = 0; n < 3; n++)
		rhint_bit(lb, b + cidlb_rhint_bit((uint32_t)(h >> 32), n), delta);
}

static void rhint_count(struct cidlb_lb *lb, const struct cidlb_cid_key *k, int delta)
{
	rhint_count_mask(lb, k, delta, __atomic_load_n(&lb->rhint_mask, __ATOMIC_RELAXED));
}

/* The maps sized per pool, for n pools. */
static int pools_resize(struct bpf_object *obj, uint32_t n)
{
	int err = resize(obj, CIDLB_MAP_POOLS, n);

	if (!err)
		err = resize(obj, CIDLB_MAP_CONFIGS, n * CIDLB_POOL_CONFIGS);
	if (!err)
		err = resize(obj, CIDLB_MAP_CFG_STATS, n * 8);
	if (!err)
		err = resize(obj, CIDLB_MAP_MAGLEV, n * 2 * CIDLB_MAGLEV_SIZE);
	return err;
}

/* The pools the maps hold: entries of cidlb_pools. */
static uint32_t pools_count(const struct cidlb_lb *lb)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = lb->map_fd[CIDLB_M_POOLS];

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) || !info.max_entries)
		return 1;
	return info.max_entries < CIDLB_MAX_POOLS ? info.max_entries : CIDLB_MAX_POOLS;
}

uint32_t cidlb_lb_max_pools(const struct cidlb_lb *lb)
{
	return lb->max_pools;
}

int cidlb_lb_open(const char *obj_path, const struct cidlb_lb_opts *opts, struct cidlb_lb **out)
{
	struct bpf_program *prog;
	struct cidlb_lb *lb;
	int err, i;

	lb = lb_alloc();
	if (!lb)
		return -ENOMEM;
	lb->obj = bpf_object__open_file(obj_path, NULL);
	if (!lb->obj) {
		err = -errno;
		pr_err("cannot open BPF object %s: %s", obj_path, strerror(-err));
		free(lb);
		return err;
	}
	if (opts) {
		err = resize(lb->obj, CIDLB_MAP_LRU, opts->lru_size);
		if (!err)
			err = resize(lb->obj, CIDLB_MAP_RETIRED, opts->retired_size);
		if (!err && bpf_object__find_map_by_name(lb->obj, CIDLB_MAP_DCACHE))
			err = resize(lb->obj, CIDLB_MAP_DCACHE, pow2_floor(opts->dcache_size));
		if (!err && opts->sid_buckets &&
		    bpf_object__find_map_by_name(lb->obj, CIDLB_MAP_SID_TABLE))
			err = resize(lb->obj, CIDLB_MAP_SID_TABLE,
				     opts->sid_buckets < 2 ? 2 : pow2_floor(opts->sid_buckets));
		if (!err && opts->retired_size &&
		    bpf_object__find_map_by_name(lb->obj, CIDLB_MAP_RETIRED_HINT))
			err = resize(lb->obj, CIDLB_MAP_RETIRED_HINT,
				     rhint_blocks(opts->retired_size));
		if (!err && opts->max_pools > CIDLB_MAX_POOLS)
			err = -E2BIG;
		if (!err && opts->max_pools)
			err = pools_resize(lb->obj, opts->max_pools);
		if (err)
			goto fail;
	}
	err = bpf_object__load(lb->obj);
	if (err) {
		pr_err("the kernel refused BPF object %s: %s", obj_path, strerror(-err));
		goto fail;
	}
	prog = bpf_object__find_program_by_name(lb->obj, CIDLB_PROG_MAIN);
	if (!prog) {
		err = -ENOENT;
		pr_err("%s has no program %s", obj_path, CIDLB_PROG_MAIN);
		goto fail;
	}
	lb->prog_fd = bpf_program__fd(prog);
	for (i = 0; i < CIDLB_M_COUNT; i++)
		lb->map_fd[i] = bpf_object__find_map_fd_by_name(lb->obj, cidlb_map_names[i]);
	err = maps_mmap(lb);
	if (err)
		goto fail;
	lb->max_pools = pools_count(lb);
	*out = lb;
	return 0;
fail:
	bpf_object__close(lb->obj);
	free(lb);
	return err;
}

int cidlb_lb_open_pinned(const char *pin_dir, struct cidlb_lb **out)
{
	struct cidlb_lb *lb = lb_alloc();
	char path[4096];
	int i, err;

	if (!lb)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, CIDLB_PROG_MAIN);
	lb->prog_fd = bpf_obj_get(path);
	if (lb->prog_fd < 0) {
		err = -errno;
		free(lb);
		return err;
	}
	for (i = 0; i < CIDLB_M_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, cidlb_map_names[i]);
		lb->map_fd[i] = bpf_obj_get(path);
	}
	err = maps_mmap(lb);
	if (err) {
		cidlb_lb_close(lb);
		return err;
	}
	lb->max_pools = pools_count(lb);
	*out = lb;
	return 0;
}

/* Maps whose size the daemon sets at load ([lb] lru_size, ...): their
 * max_entries may differ from the object's. */
static bool map_resizable(enum cidlb_map_id id)
{
	return map_flags[id] & CIDLB_MF_RESIZED;
}

/* Key and value sizes this program's buffers have (include/cidlb_maps.h);
 * 0: not checked without the object (CIDLB_MF_CHECKED unset). */
static const struct {
	__u32 key, value;
} map_abi[CIDLB_M_COUNT] = {
#define X(id, name, ksz, vsz, flags) \
	[CIDLB_M_##id] = { (flags)&CIDLB_MF_CHECKED ? (ksz) : 0, \
			   (flags)&CIDLB_MF_CHECKED ? (vsz) : 0 },
	CIDLB_MAPS(X)
#undef X
};

/* Without the object: the sizes of the buffers this program reads into. */
static int check_pins_abi(const struct cidlb_lb *lb, const char *pin_dir, char *why, size_t why_len)
{
	int i;

	for (i = 0; i < CIDLB_M_COUNT; i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		bool bad_key, bad_value;

		if (lb->map_fd[i] < 0 || !map_abi[i].key ||
		    bpf_obj_get_info_by_fd(lb->map_fd[i], &info, &len))
			continue;
		bad_key = info.key_size != map_abi[i].key;
		bad_value = info.value_size != map_abi[i].value;
		if (!bad_key && !bad_value)
			continue;
		snprintf(
			why, why_len,
			"pinned map %s at %s/%s has %s size %u, this cidlb expects %u: the pins come from another version of cidlb; use the cidlb command of that version",
			cidlb_map_names[i], pin_dir, cidlb_map_names[i], bad_key ? "key" : "value",
			bad_key ? info.key_size : info.value_size,
			bad_key ? map_abi[i].key : map_abi[i].value);
		return -EINVAL;
	}
	return 0;
}

int cidlb_lb_check_pins(const struct cidlb_lb *lb, const char *obj_path, const char *pin_dir,
			char *why, size_t why_len)
{
	struct bpf_prog_info pinfo = {};
	__u32 plen = sizeof(pinfo);
	struct bpf_object *obj;
	int i, err = 0;

	if (bpf_obj_get_info_by_fd(lb->prog_fd, &pinfo, &plen) || pinfo.type != BPF_PROG_TYPE_XDP) {
		snprintf(
			why, why_len,
			"%s/%s is not an XDP program: the pins are not cidlb's; run 'cidlbd --cleanup' or remove %s",
			pin_dir, CIDLB_PROG_MAIN, pin_dir);
		return -EINVAL;
	}
	if (!obj_path)
		return check_pins_abi(lb, pin_dir, why, why_len);
	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj) {
		err = -errno;
		snprintf(why, why_len, "cannot open %s to check the pins under %s against it: %s",
			 obj_path, pin_dir, strerror(-err));
		return err;
	}
	for (i = 0; i < CIDLB_M_COUNT && !err; i++) {
		const struct bpf_map *m = bpf_object__find_map_by_name(obj, cidlb_map_names[i]);
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		const char *what = NULL;
		__u32 have = 0, want = 0;

		if (lb->map_fd[i] < 0)
			continue; /* missing pins: the caller says which it needs */
		if (!m) {
			snprintf(
				why, why_len,
				"pinned map %s at %s/%s is not in %s: the pins come from another version of cidlb; run 'cidlbd --cleanup' (forwarding stops until the next start), or start the cidlbd that made them",
				cidlb_map_names[i], pin_dir, cidlb_map_names[i], obj_path);
			err = -EINVAL;
			break;
		}
		if (bpf_obj_get_info_by_fd(lb->map_fd[i], &info, &len)) {
			err = -errno;
			snprintf(why, why_len, "cannot read pinned map %s/%s: %s", pin_dir,
				 cidlb_map_names[i], strerror(-err));
			break;
		}
		if (info.type != (__u32)bpf_map__type(m)) {
			what = "type";
			have = info.type;
			want = (__u32)bpf_map__type(m);
		} else if (info.key_size != bpf_map__key_size(m)) {
			what = "key size";
			have = info.key_size;
			want = bpf_map__key_size(m);
		} else if (info.value_size != bpf_map__value_size(m)) {
			what = "value size";
			have = info.value_size;
			want = bpf_map__value_size(m);
		} else if (!map_resizable((enum cidlb_map_id)i) &&
			   info.max_entries != bpf_map__max_entries(m)) {
			what = "max_entries";
			have = info.max_entries;
			want = bpf_map__max_entries(m);
		}
		if (what) {
			snprintf(
				why, why_len,
				"pinned map %s at %s/%s has %s %u, this cidlbd (%s) expects %u: the pins come from another version of cidlb; run 'cidlbd --cleanup' (forwarding stops until the next start), or start the cidlbd that made them",
				cidlb_map_names[i], pin_dir, cidlb_map_names[i], what, have,
				obj_path, want);
			err = -EINVAL;
		}
	}
	bpf_object__close(obj);
	return err;
}

int cidlb_lb_pin(struct cidlb_lb *lb, const char *pin_dir)
{
	char path[4096];
	int i, err;

	if (!lb->obj)
		return -EINVAL;
	if (mkdir(pin_dir, 0700) && errno != EEXIST)
		return -errno;
	for (i = 0; i < CIDLB_M_COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(lb->obj, cidlb_map_names[i]);

		if (!m)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, cidlb_map_names[i]);
		err = bpf_map__pin(m, path);
		if (err)
			goto fail;
	}
	snprintf(path, sizeof(path), "%s/%s", pin_dir, CIDLB_PROG_MAIN);
	if (bpf_obj_pin(lb->prog_fd, path)) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	cidlb_lb_unpin(pin_dir);
	return err;
}

int cidlb_lb_unpin(const char *pin_dir)
{
	char path[4096];
	int i;

	for (i = 0; i < CIDLB_M_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, cidlb_map_names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s", pin_dir, CIDLB_PROG_MAIN);
	unlink(path);
	if (rmdir(pin_dir) && errno != ENOENT && errno != ENOTEMPTY)
		return -errno;
	return 0;
}

void cidlb_lb_close(struct cidlb_lb *lb)
{
	int i;

	if (!lb)
		return;
	if (lb->rhint)
		munmap(lb->rhint, lb->rhint_n * sizeof(*lb->rhint));
	free(lb->rcnt);
	if (lb->sidt)
		munmap(lb->sidt, lb->sidt_n * sizeof(*lb->sidt));
	if (lb->obj) {
		bpf_object__close(lb->obj);
	} else {
		if (lb->prog_fd >= 0)
			close(lb->prog_fd);
		for (i = 0; i < CIDLB_M_COUNT; i++)
			if (lb->map_fd[i] >= 0)
				close(lb->map_fd[i]);
	}
	free(lb);
}

int cidlb_lb_load_prog(const struct cidlb_lb *lb, const char *obj_path, int *prog_fd)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	int i, err, fd;

	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj)
		return -errno;
	for (i = 0; i < CIDLB_M_COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, cidlb_map_names[i]);

		if (!m || lb->map_fd[i] < 0)
			continue;
		err = bpf_map__reuse_fd(m, lb->map_fd[i]);
		if (err)
			goto out;
	}
	err = bpf_object__load(obj);
	if (err)
		goto out;
	prog = bpf_object__find_program_by_name(obj, CIDLB_PROG_MAIN);
	err = -ENOENT;
	if (!prog)
		goto out;
	fd = fcntl(bpf_program__fd(prog), F_DUPFD_CLOEXEC, 0);
	err = fd < 0 ? -errno : 0;
	if (!err)
		*prog_fd = fd;
out:
	bpf_object__close(obj);
	return err;
}

int cidlb_lb_set_prog_fd(struct cidlb_lb *lb, int fd)
{
	if (lb->obj)
		return -EINVAL;
	if (lb->prog_fd >= 0)
		close(lb->prog_fd);
	lb->prog_fd = fd;
	return 0;
}

int cidlb_lb_prog_fd(const struct cidlb_lb *lb)
{
	return lb->prog_fd;
}

int cidlb_lb_map_fd(const struct cidlb_lb *lb, enum cidlb_map_id id)
{
	return id < CIDLB_M_COUNT ? lb->map_fd[id] : -1;
}

static int upd(struct cidlb_lb *lb, enum cidlb_map_id id, const void *k, const void *v)
{
	if (lb->map_fd[id] < 0)
		return -ENOENT;
	return bpf_map_update_elem(lb->map_fd[id], k, v, BPF_ANY) ? -errno : 0;
}

static int del(struct cidlb_lb *lb, enum cidlb_map_id id, const void *k)
{
	if (lb->map_fd[id] < 0)
		return -ENOENT;
	return bpf_map_delete_elem(lb->map_fd[id], k) ? -errno : 0;
}

static int get(struct cidlb_lb *lb, enum cidlb_map_id id, const void *k, void *v)
{
	if (lb->map_fd[id] < 0)
		return -ENOENT;
	return bpf_map_lookup_elem(lb->map_fd[id], k, v) ? -errno : 0;
}

static int sid_table_refresh(struct cidlb_lb *lb);
static int global_refresh(struct cidlb_lb *lb);
/* the data path's caches that a write of cidlb_global empties
 * (global_put()) */
#define GEN_FLOWS     0x1 /* cidlb_fcache: cidlb_global.flow_gen */
#define GEN_NEXT_HOPS 0x2 /* cidlb_nhcache: cidlb_global.nh_gen */
static int global_update(struct cidlb_lb *lb, int (*change)(struct cidlb_global *g, void *arg),
			 void *arg, unsigned int gens);

/* cidlb_pools[pool]; without the map (pins of before pools) pool 0 reads
 * as all zero. */
static int pool_get(struct cidlb_lb *lb, uint32_t pool, struct cidlb_pool *p)
{
	if (pool >= lb->max_pools)
		return -EINVAL;
	if (lb->map_fd[CIDLB_M_POOLS] < 0) {
		memset(p, 0, sizeof(*p));
		return 0;
	}
	return get(lb, CIDLB_M_POOLS, &pool, p);
}

/* Write n values of vsize octets into array fd at keys base.. (one half
 * of a double-buffered table). */
static int array_fill(int fd, uint32_t base, const void *vals, uint32_t n, size_t vsize)
{
	uint32_t *keys, i, done = n;
	int err = 0;

	if (fd < 0)
		return -ENOENT;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = base + i;
	if (bpf_map_update_batch(fd, keys, vals, &done, NULL)) {
		/* kernels without batch operations on arrays: one by one */
		for (i = 0; i < n && !err; i++)
			err = bpf_map_update_elem(fd, &keys[i], (const char *)vals + i * vsize,
						  BPF_ANY) ?
				      -errno :
				      0;
	}
	free(keys);
	return err;
}

/* The half of the VIP table to switch to, and its seed. */
struct vip_switch {
	uint32_t half, seed;
};

static int vip_seed_set(struct cidlb_global *g, void *arg)
{
	const struct vip_switch *v = arg;

	g->vip_seed[v->half] = v->seed;
	return 0;
}

static int vip_half_set(struct cidlb_global *g, void *arg)
{
	g->vip_active = ((const struct vip_switch *)arg)->half;
	return 0;
}

/*
 * Packets read cidlb_vip_table: fill its standby half from cidlb_vips
 * (with a seed that fits them all), write that half's seed, then make it
 * the active half. Each cidlb_global write changes one field only.
 */
static int vip_table_publish(struct cidlb_lb *lb)
{
	static struct cidlb_vip_slot slots[CIDLB_VIP_SLOTS];
	struct cidlb_vip_key keys[CIDLB_MAX_VIPS], k, *prev = NULL;
	struct cidlb_vip vals[CIDLB_MAX_VIPS];
	int hfd = lb->map_fd[CIDLB_M_VIPS], tfd = lb->map_fd[CIDLB_M_VIP_TABLE], err;
	uint32_t n = 0, half, seed, i;
	struct cidlb_global g;
	struct vip_switch vs;

	if (hfd < 0 || tfd < 0)
		return -ENOENT;
	while (!bpf_map_get_next_key(hfd, prev, &keys[n])) {
		k = keys[n];
		prev = &k;
		if (bpf_map_lookup_elem(hfd, &keys[n], &vals[n]))
			continue; /* deleted meanwhile */
		if (++n == CIDLB_MAX_VIPS)
			break;
	}
	err = cidlb_lb_get_global(lb, &g);
	if (err)
		return err;
	half = !g.vip_active;
	seed = g.vip_seed[!half] + 1;
	err = cidlb_vip_table_build(keys, vals, n, slots, &seed);
	if (err) {
		pr_err("cannot lay out %u VIPs in %s: %s", n, CIDLB_MAP_VIP_TABLE, strerror(-err));
		return err;
	}
	for (i = 0; i < CIDLB_VIP_SLOTS; i++) {
		struct cidlb_pool pl = {};
		uint32_t pool = slots[i].vip.pool;

		if (!slots[i].key.family)
			continue;
		if (pool_get(lb, pool, &pl))
			memset(&pl, 0, sizeof(pl));
		slots[i].ref.pool = (__u16)pool;
		slots[i].ref.config_active = pl.config_active;
		slots[i].ref.maglev_active = pl.maglev_active;
	}
	err = array_fill(tfd, half * CIDLB_VIP_SLOTS, slots, CIDLB_VIP_SLOTS, sizeof(slots[0]));
	if (err)
		return err;
	vs = (struct vip_switch){ half, seed };
	err = global_update(lb, vip_seed_set, &vs, 0);
	return err ? err : global_update(lb, vip_half_set, &vs, 0);
}

int cidlb_lb_refresh_tables(struct cidlb_lb *lb)
{
	int err = vip_table_publish(lb);

	return err ? err : sid_table_refresh(lb);
}

/* The VIP map changes only if the table that packets read can follow. */
int cidlb_lb_set_vip(struct cidlb_lb *lb, const struct cidlb_vip_key *k, const struct cidlb_vip *v)
{
	struct cidlb_vip old;
	int had = !get(lb, CIDLB_M_VIPS, k, &old), err;

	if ((k->family != CIDLB_FAMILY_V4 && k->family != CIDLB_FAMILY_V6) ||
	    v->pool >= lb->max_pools)
		return -EINVAL;
	err = upd(lb, CIDLB_M_VIPS, k, v);
	if (err)
		return err;
	err = vip_table_publish(lb);
	if (err) {
		if (had)
			upd(lb, CIDLB_M_VIPS, k, &old);
		else
			del(lb, CIDLB_M_VIPS, k);
	}
	return err;
}

int cidlb_lb_del_vip(struct cidlb_lb *lb, const struct cidlb_vip_key *k)
{
	struct cidlb_vip old;
	int err = get(lb, CIDLB_M_VIPS, k, &old);

	if (err)
		return err;
	err = del(lb, CIDLB_M_VIPS, k);
	if (err)
		return err;
	err = vip_table_publish(lb);
	if (err)
		upd(lb, CIDLB_M_VIPS, k, &old);
	return err;
}

/* Index in cidlb_configs of the copy of pool's config id that packets
 * read (standby = 0) or of the other one; *p gets the pool's halves. */
static int config_slot(struct cidlb_lb *lb, uint32_t pool, uint32_t id, int standby, uint32_t *slot,
		       struct cidlb_pool *p)
{
	int err;

	if (id >= CIDLB_CONFIG_IDS)
		return -EINVAL;
	err = pool_get(lb, pool, p);
	if (err)
		return err;
	*slot = pool * CIDLB_POOL_CONFIGS + 2 * id + (((p->config_active >> id) & 1) ^ !!standby);
	return 0;
}

/* Make p pool's halves: cidlb_pools, then the VIP table packets read
 * (every VIP of the pool at once); cidlb_pools goes back to old when the
 * table cannot follow. */
static int pool_flip(struct cidlb_lb *lb, uint32_t pool, const struct cidlb_pool *p,
		     const struct cidlb_pool *old)
{
	int err;

	if (lb->map_fd[CIDLB_M_POOLS] < 0)
		return -ENOENT;
	err = upd(lb, CIDLB_M_POOLS, &pool, p);
	if (err)
		return err;
	err = vip_table_publish(lb);
	if (err)
		upd(lb, CIDLB_M_POOLS, &pool, old);
	return err;
}

int cidlb_lb_get_pool_config(struct cidlb_lb *lb, uint32_t pool, uint32_t id,
			     struct cidlb_config *c)
{
	struct cidlb_pool p;
	uint32_t slot;
	int err = config_slot(lb, pool, id, 0, &slot, &p);

	return err ? err : get(lb, CIDLB_M_CONFIGS, &slot, c);
}

int cidlb_lb_set_pool_config(struct cidlb_lb *lb, uint32_t pool, uint32_t id,
			     const struct cidlb_config *c)
{
	struct cidlb_config old, nc = *c;
	struct cidlb_pool p, np;
	uint32_t standby;
	int err = config_slot(lb, pool, id, 1, &standby, &p);

	if (err)
		return err;
	if (cidlb_lb_get_pool_config(lb, pool, id, &old))
		memset(&old, 0, sizeof(old));
	nc.generation = old.generation + 1;
	cidlb_config_masks(&nc);
	err = upd(lb, CIDLB_M_CONFIGS, &standby, &nc);
	if (err)
		return err;
	np = p;
	np.config_active ^= 1u << id;
	err = pool_flip(lb, pool, &np, &p);
	/* the flags derived from the configs (CIDLB_GF_TOKEN) */
	return err ? err : global_refresh(lb);
}

int cidlb_lb_get_config(struct cidlb_lb *lb, uint32_t id, struct cidlb_config *c)
{
	return cidlb_lb_get_pool_config(lb, 0, id, c);
}

int cidlb_lb_set_config(struct cidlb_lb *lb, uint32_t id, const struct cidlb_config *c)
{
	return cidlb_lb_set_pool_config(lb, 0, id, c);
}

/*
 * A map write is a copy that packets may watch halfway. So an entry whose
 * address, family, mode or MAC changes is first written whole while it
 * still says absent (packets ignore it), and only then with its state:
 * the one octet that differs. A packet never sees a live state beside a
 * half-written address. (The daemon never changes a live entry's address
 * in place: such a backend gets a new index.) The outer-header template is
 * filled here, from b and the current global settings, whatever b holds.
 */
int cidlb_lb_set_backend(struct cidlb_lb *lb, uint32_t idx, const struct cidlb_backend *b)
{
	struct cidlb_backend cur, absent, nb = *b;
	struct cidlb_global g;
	int err;

	if (idx >= CIDLB_MAX_BACKENDS)
		return -EINVAL;
	if (cidlb_lb_get_global(lb, &g))
		memset(&g, 0, sizeof(g));
	cidlb_backend_outer(&nb, &g);
	b = &nb;
	absent = nb;
	absent.state = CIDLB_BE_ABSENT;
	if (b->state != CIDLB_BE_ABSENT && !get(lb, CIDLB_M_BACKENDS, &idx, &cur) &&
	    cur.state == CIDLB_BE_ABSENT) {
		if (memcmp(&cur, &absent, sizeof(cur))) {
			err = upd(lb, CIDLB_M_BACKENDS, &idx, &absent);
			if (err)
				return err;
		}
	}
	return upd(lb, CIDLB_M_BACKENDS, &idx, b);
}

/* ---- cidlb_sid_table: one atomic 8-octet store per change ----------- */
/* The table's entry for key part want, or NULL. */
/* Bucket i (0 or 1) of entry key want. */
static __u64 *sid_bucket(struct cidlb_lb *lb, __u64 want, int i)
{
	__u64 b = cidlb_sid_buckets(want, (uint32_t)lb->sidt_n - 1);

	return lb->sidt[(uint32_t)(i ? b >> 32 : b)].e;
}

static __u64 *sid_entry_of(struct cidlb_lb *lb, __u64 want)
{
	__u64 *e;
	int i, j;

	for (i = 0; i < 2; i++) {
		e = sid_bucket(lb, want, i);
		for (j = 0; j < 4; j++)
			if ((__atomic_load_n(&e[j], __ATOMIC_RELAXED) & CIDLB_SID_E_KEY) == want)
				return &e[j];
	}
	return NULL;
}

/* Point the short server ID k at backend idx in the table: its entry, or a
 * free one in the emptier of its two buckets. 1: both full (spilled). */
static int sid_table_put(struct cidlb_lb *lb, const struct cidlb_sid_key *k, uint32_t idx)
{
	__u64 want = cidlb_sid_entry(k), v = want | (__u64)idx << CIDLB_SID_E_IDX_SHIFT, *e;
	int i, j, used[2] = { 0, 0 }, first;

	e = sid_entry_of(lb, want);
	if (e) {
		__atomic_store_n(e, v, __ATOMIC_SEQ_CST);
		return 0;
	}
	for (i = 0; i < 2; i++)
		for (j = 0; j < 4; j++)
			used[i] += !!__atomic_load_n(&sid_bucket(lb, want, i)[j], __ATOMIC_RELAXED);
	first = used[1] < used[0]; /* the emptier bucket first */
	for (i = 0; i < 2; i++) {
		e = sid_bucket(lb, want, i ^ first);
		for (j = 0; j < 4; j++) {
			__u64 zero = 0;

			if (__atomic_compare_exchange_n(&e[j], &zero, v, 0, __ATOMIC_SEQ_CST,
							__ATOMIC_RELAXED))
				return 0;
		}
	}
	return 1;
}

static void sid_table_del(struct cidlb_lb *lb, const struct cidlb_sid_key *k)
{
	__u64 *e = sid_entry_of(lb, cidlb_sid_entry(k));

	if (e)
		__atomic_store_n(e, 0, __ATOMIC_SEQ_CST);
}

static int short_sid(const struct cidlb_lb *lb, const struct cidlb_sid_key *k)
{
	return lb->sidt && k->len >= 1 && k->len <= CIDLB_SID_SHORT && k->config_id < 8;
}

/* Packets that miss the table look into cidlb_sids only with this flag. */
static int spill_flag(struct cidlb_global *g, void *arg)
{
	int on = *(int *)arg;

	if (!!(g->flags & CIDLB_GF_SID_SPILL) == !!on)
		return 1;
	g->flags = on ? g->flags | CIDLB_GF_SID_SPILL : g->flags & ~CIDLB_GF_SID_SPILL;
	return 0;
}

static int sid_spill(struct cidlb_lb *lb, int on)
{
	return global_update(lb, spill_flag, &on, 0);
}

/* The hash map first, then the table that packets read: a new server ID
 * appears whole, a moved one changes in one store. */
int cidlb_lb_set_sid(struct cidlb_lb *lb, const struct cidlb_sid_key *k, uint32_t idx)
{
	int err = upd(lb, CIDLB_M_SIDS, k, &idx);

	if (err || !short_sid(lb, k))
		return err;
	if (sid_table_put(lb, k, idx))
		return sid_spill(lb, 1);
	return 0;
}

int cidlb_lb_del_sid(struct cidlb_lb *lb, const struct cidlb_sid_key *k)
{
	if (short_sid(lb, k))
		sid_table_del(lb, k);
	return del(lb, CIDLB_M_SIDS, k);
}

/* The table as cidlb_sids says: entries of server IDs that are gone or
 * point elsewhere are mended, missing ones added; the spill flag is set
 * only if some do not fit. Never cleared first, so packets keep their
 * routes while it runs. */
static int sid_table_refresh(struct cidlb_lb *lb)
{
	int fd = lb->map_fd[CIDLB_M_SIDS], spilled = 0;
	struct cidlb_sid_key k, nk, *prev = NULL;
	uint32_t idx;
	size_t b;
	int j;

	if (!lb->sidt || fd < 0)
		return 0;
	for (b = 0; b < lb->sidt_n; b++) {
		for (j = 0; j < 4; j++) {
			__u64 e = __atomic_load_n(&lb->sidt[b].e[j], __ATOMIC_RELAXED), bad;

			if (!e)
				continue;
			memset(&k, 0, sizeof(k));
			k.config_id = (e >> 32) & 7;
			k.len = (e >> 35) & 7;
			k.pool = (e >> CIDLB_SID_E_POOL_SHIFT) & (CIDLB_MAX_POOLS - 1);
			memcpy(k.sid, &(uint32_t){ (uint32_t)e }, 4); /* little-endian */
			bad = !(e & CIDLB_SID_E_VALID) || get(lb, CIDLB_M_SIDS, &k, &idx) ||
			      idx != e >> CIDLB_SID_E_IDX_SHIFT ||
			      sid_entry_of(lb, cidlb_sid_entry(&k)) != &lb->sidt[b].e[j];
			if (bad)
				__atomic_compare_exchange_n(&lb->sidt[b].e[j], &e, 0, 0,
							    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
		}
	}
	while (!bpf_map_get_next_key(fd, prev, &nk)) {
		k = nk;
		prev = &k;
		if (!short_sid(lb, &k) || get(lb, CIDLB_M_SIDS, &k, &idx))
			continue;
		spilled |= sid_table_put(lb, &k, idx);
	}
	return sid_spill(lb, spilled);
}

int cidlb_lb_get_global(struct cidlb_lb *lb, struct cidlb_global *g)
{
	uint32_t zero = 0;

	return get(lb, CIDLB_M_GLOBAL, &zero, g);
}

/* Does a config of any pool, in the copy packets read, route Initials by
 * their tokens? */
static bool configs_read_tokens(struct cidlb_lb *lb)
{
	struct cidlb_config c;
	struct cidlb_pool p;
	uint32_t i, slot, pool;

	for (pool = 0; pool < lb->max_pools; pool++) {
		if (pool_get(lb, pool, &p))
			continue;
		for (i = 0; i < CIDLB_CONFIG_IDS; i++) {
			slot = pool * CIDLB_POOL_CONFIGS + 2 * i + ((p.config_active >> i) & 1);
			if (!get(lb, CIDLB_M_CONFIGS, &slot, &c) && c.mode != CIDLB_MODE_NONE &&
			    (c.flags & CIDLB_CFG_F_TOKEN))
				return true;
		}
	}
	return false;
}

/* The fields of the global settings that the control layer derives from
 * the maps themselves, whoever writes the rest. */
static int global_derived(struct cidlb_lb *lb, struct cidlb_global *g)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct cidlb_cid_key k;
	int fd = lb->map_fd[CIDLB_M_DCACHE];

	g->layout = CIDLB_LAYOUT;
	g->dcache_mask = 0;
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) && info.max_entries)
		g->dcache_mask = pow2_floor(info.max_entries) - 1;
	g->rhint_mask = lb->rhint ? __atomic_load_n(&lb->rhint_mask, __ATOMIC_RELAXED) : 0;
	g->sid_mask = lb->sidt ? (uint32_t)(lb->sidt_n - 1) : 0;
	g->flags &= ~CIDLB_GF_RETIRED;
	fd = lb->map_fd[CIDLB_M_RETIRED];
	if (fd >= 0 && !bpf_map_get_next_key(fd, NULL, &k))
		g->flags |= CIDLB_GF_RETIRED;
	g->flags &= ~CIDLB_GF_TOKEN;
	if (configs_read_tokens(lb))
		g->flags |= CIDLB_GF_TOKEN;
	return 0;
}

/* Under lb->glock. The generations of the data path's caches are kept
 * from the map (g may be older than its last write) and moved on where
 * `gens` (GEN_*) says: flow_gen, of the 4-tuple caches (bpf/pick.h), also
 * when flow_idle changes (the caches would not see entries turn idle);
 * nh_gen, of the next-hop caches (bpf/encap.h), also when the outer
 * source addresses change (the FIB's answer may depend on them). */
static int global_put(struct cidlb_lb *lb, const struct cidlb_global *g, unsigned int gens)
{
	struct cidlb_global ng = *g, cur;
	uint32_t zero = 0;

	global_derived(lb, &ng);
	if (get(lb, CIDLB_M_GLOBAL, &zero, &cur)) {
		ng.flow_gen = g->flow_gen + 1;
		ng.nh_gen = g->nh_gen + 1;
	} else {
		ng.flow_gen = cur.flow_gen;
		if ((gens & GEN_FLOWS) || ng.flow_idle != cur.flow_idle)
			ng.flow_gen++;
		ng.nh_gen = cur.nh_gen;
		if ((gens & GEN_NEXT_HOPS) || memcmp(ng.src4, cur.src4, sizeof(ng.src4)) ||
		    memcmp(ng.src6, cur.src6, sizeof(ng.src6)))
			ng.nh_gen++;
	}
	return upd(lb, CIDLB_M_GLOBAL, &zero, &ng);
}

static int global_write_locked(struct cidlb_lb *lb, const struct cidlb_global *g)
{
	return global_put(lb, g, 0);
}

/* Read cidlb_global, change it and write it back under lb->glock, so that
 * two threads changing different fields (health, control requests,
 * reloads) never write back each other's old values. change() (NULL: no
 * change, the derived fields only) returns < 0 to give up, 0 to write, > 0
 * when nothing is to be written; gens as for global_put(). */
static int global_update(struct cidlb_lb *lb, int (*change)(struct cidlb_global *g, void *arg),
			 void *arg, unsigned int gens)
{
	struct cidlb_global g;
	int err;

	pthread_mutex_lock(&lb->glock);
	err = cidlb_lb_get_global(lb, &g);
	if (!err && change)
		err = change(&g, arg);
	if (!err)
		err = global_put(lb, &g, gens);
	pthread_mutex_unlock(&lb->glock);
	return err > 0 ? 0 : err;
}

/* The fields that name the halves packets read (Maglev, configs, VIP
 * table) are lb.c's: they keep their current values whatever g says. */
/* The outer-header template of every backend entry, after a change of
 * the outer source or TTL. A packet may see an entry halfway through its
 * rewrite (a map write is a copy): the outer source changes seldom, and
 * such a packet only carries a mix of the old and new template. */
static int backends_outer_refresh(struct cidlb_lb *lb, const struct cidlb_global *g)
{
	struct cidlb_backend cur, nb;
	uint32_t idx;
	int err;

	for (idx = 0; idx < CIDLB_MAX_BACKENDS; idx++) {
		if (get(lb, CIDLB_M_BACKENDS, &idx, &cur) || !cur.family)
			continue;
		nb = cur;
		cidlb_backend_outer(&nb, g);
		if (!memcmp(&nb, &cur, sizeof(cur)))
			continue;
		err = upd(lb, CIDLB_M_BACKENDS, &idx, &nb);
		if (err)
			return err;
	}
	return 0;
}

/* The operator's settings in g, over what lb.c keeps in cur (the spill
 * flag, the active halves, the VIP seeds). */
struct settings {
	struct cidlb_global g;
	bool outer; /* the backends' outer headers change */
};

static int settings_set(struct cidlb_global *cur, void *arg)
{
	struct settings *a = arg;
	struct cidlb_global *ng = &a->g;

	ng->flags = (ng->flags & ~CIDLB_GF_SID_SPILL) | (cur->flags & CIDLB_GF_SID_SPILL);
	ng->mtu_floor = cur->mtu_floor;
	ng->config_active = cur->config_active;
	ng->vip_active = cur->vip_active;
	memcpy(ng->vip_seed, cur->vip_seed, sizeof(ng->vip_seed));
	a->outer = memcmp(ng->src4, cur->src4, 4) || memcmp(ng->src6, cur->src6, 16) ||
		   ng->ttl != cur->ttl;
	*cur = *ng;
	return 0;
}

int cidlb_lb_set_global(struct cidlb_lb *lb, const struct cidlb_global *g)
{
	struct settings a = { .g = *g };
	int err = global_update(lb, settings_set, &a, 0);

	if (err || !a.outer)
		return err;
	return backends_outer_refresh(lb, &a.g);
}

/* Recompute the derived fields after a change of the maps they follow. */
static int global_refresh(struct cidlb_lb *lb)
{
	return global_update(lb, NULL, NULL, 0);
}

int cidlb_lb_flows_changed(struct cidlb_lb *lb)
{
	return global_update(lb, NULL, NULL, GEN_FLOWS);
}

int cidlb_lb_next_hops_changed(struct cidlb_lb *lb)
{
	return global_update(lb, NULL, NULL, GEN_NEXT_HOPS);
}

static int mtu_floor_set(struct cidlb_global *g, void *arg)
{
	uint32_t mtu = *(const uint32_t *)arg;

	if (g->mtu_floor == mtu)
		return 1; /* nothing to write */
	g->mtu_floor = mtu;
	return 0;
}

int cidlb_lb_set_mtu_floor(struct cidlb_lb *lb, uint32_t mtu)
{
	return global_update(lb, mtu_floor_set, &mtu, 0);
}

int cidlb_lb_publish_pool_maglev(struct cidlb_lb *lb, uint32_t pool, const uint32_t *table)
{
	struct cidlb_pool p, np;
	int err = pool_get(lb, pool, &p);

	if (err)
		return err;
	np = p;
	np.maglev_active = !p.maglev_active;
	err = array_fill(lb->map_fd[CIDLB_M_MAGLEV],
			 (pool * 2 + np.maglev_active) * CIDLB_MAGLEV_SIZE, table,
			 CIDLB_MAGLEV_SIZE, sizeof(*table));
	if (err)
		return err;
	return pool_flip(lb, pool, &np, &p);
}

int cidlb_lb_publish_maglev(struct cidlb_lb *lb, const uint32_t *table)
{
	return cidlb_lb_publish_pool_maglev(lb, 0, table);
}

/*
 * Set every CID held again into the first mask + 1 blocks of the filter
 * (cleared first, counts too) and publish the mask. Meanwhile
 * cidlb_global says 0, no filter, and packets look every CID up; after an
 * error it stays so (slower, never wrong) until the next resize. A packet
 * that read the old mask just before may still read a bit being cleared:
 * that window is the time one packet takes.
 */
static int rhint_rebuild(struct cidlb_lb *lb, uint32_t mask)
{
	int fd = lb->map_fd[CIDLB_M_RETIRED], err;
	struct cidlb_cid_key k, nk, *prev = NULL;
	size_t bits = ((size_t)mask + 1) * RHINT_BITS;
	struct cidlb_global g;
	long held = 0;
	uint8_t *cnt;

	pthread_mutex_lock(&lb->glock);
	__atomic_store_n(&lb->rhint_mask, 0, __ATOMIC_RELAXED);
	err = cidlb_lb_get_global(lb, &g);
	if (!err)
		err = global_write_locked(lb, &g);
	if (err)
		goto out;
	cnt = calloc(bits, 1);
	if (!cnt) {
		err = -ENOMEM;
		goto out;
	}
	free(lb->rcnt);
	lb->rcnt = cnt;
	lb->rcnt_ok = true;
	memset(lb->rhint, 0, ((size_t)mask + 1) * sizeof(*lb->rhint));
	while (!bpf_map_get_next_key(fd, prev, &nk)) {
		k = nk;
		prev = &k;
		rhint_count_mask(lb, &k, 1, mask);
		held++;
	}
	if (errno != ENOENT) {
		err = -errno;
		lb->rcnt_ok = false;
		goto out;
	}
	lb->rhint_held = held;
	__atomic_store_n(&lb->rhint_mask, mask, __ATOMIC_RELAXED);
	err = global_write_locked(lb, &g);
out:
	pthread_mutex_unlock(&lb->glock);
	if (err)
		pr_warn("cannot resize the retired-CID filter %s to %u blocks: %s; every CID is looked up in %s until the next retire or expiry",
			CIDLB_MAP_RETIRED_HINT, mask + 1, strerror(-err), CIDLB_MAP_RETIRED);
	return err;
}

/* The entries of the retired-CID map, counted (-1 when unreadable). */
static long retired_count(struct cidlb_lb *lb)
{
	int fd = lb->map_fd[CIDLB_M_RETIRED];
	struct cidlb_cid_key k, nk, *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(fd, prev, &nk)) {
		k = nk;
		prev = &k;
		n++;
	}
	return errno == ENOENT ? n : -1;
}

/* After `delta` CIDs were added to (or removed from) the retired-CID map:
 * the blocks in use, resized to the CIDs held when they have outside
 * 16..64 bits per CID (see RHINT_PER_CID), or counted when their counts
 * are not known yet. */
static void rhint_fit(struct cidlb_lb *lb, long delta)
{
	uint64_t c, want, max = lb->rhint_n, min;
	long held;

	if (!lb->rhint || lb->map_fd[CIDLB_M_RETIRED] < 0)
		return;
	if (lb->rhint_held < 0)
		lb->rhint_held = retired_count(lb);
	else
		lb->rhint_held = lb->rhint_held + delta < 0 ? 0 : lb->rhint_held + delta;
	held = lb->rhint_held;
	if (held < 0)
		return;
	min = rhint_min(lb);
	c = (uint64_t)lb->rhint_mask + 1;
	want = c;
	if (!lb->rhint_mask || ((uint64_t)held * RHINT_PER_CID > c * RHINT_BITS && c < max))
		want = ((uint64_t)held * RHINT_PER_CID + RHINT_BITS - 1) / RHINT_BITS;
	else if ((uint64_t)held * RHINT_PER_CID * 4 < c * RHINT_BITS && c > min)
		want = ((uint64_t)held * RHINT_PER_CID * 2 + RHINT_BITS - 1) / RHINT_BITS;
	if (want != c)
		want = want < min ? min : want > max ? max : pow2_ceil((uint32_t)want);
	if (want != c || !lb->rcnt_ok)
		rhint_rebuild(lb, (uint32_t)(want - 1));
}

/*
 * A new retired CID is counted in the filter before it is inserted, and
 * an existing one only gets its new expiry (BPF_EXIST): whatever another
 * writer does at the same time, each entry is counted once.
 */
int cidlb_lb_retire_ex(struct cidlb_lb *lb, const struct cidlb_cid_key *k, uint64_t expires_ns,
		       bool *added)
{
	struct cidlb_retired v = { .expires_ns = expires_ns };
	int fd = lb->map_fd[CIDLB_M_RETIRED], tries, err = 0;
	bool is_new = false;
	struct cidlb_global g;

	if (fd < 0)
		return -ENOENT;
	for (tries = 0; tries < 4; tries++) {
		if (!bpf_map_update_elem(fd, k, &v, BPF_EXIST))
			break;
		if (errno != ENOENT)
			return -errno;
		rhint_count(lb, k, 1);
		if (!bpf_map_update_elem(fd, k, &v, BPF_NOEXIST)) {
			is_new = true;
			break;
		}
		err = -errno;
		rhint_count(lb, k, -1);
		if (err != -EEXIST)
			return err;
	}
	if (tries == 4)
		return err;
	if (added)
		*added = is_new;
	if (is_new)
		rhint_fit(lb, 1);
	if (!cidlb_lb_get_global(lb, &g) && (g.flags & CIDLB_GF_RETIRED))
		return 0;
	return global_refresh(lb);
}

int cidlb_lb_retire(struct cidlb_lb *lb, const struct cidlb_cid_key *k, uint64_t expires_ns)
{
	return cidlb_lb_retire_ex(lb, k, expires_ns, NULL);
}

int cidlb_lb_unretire(struct cidlb_lb *lb, const struct cidlb_cid_key *k)
{
	int err = del(lb, CIDLB_M_RETIRED, k);

	if (err)
		return err;
	rhint_count(lb, k, -1);
	rhint_fit(lb, -1);
	return global_refresh(lb);
}

/*
 * The expired ones among keys: one lookup each (an entry retired again
 * with a later expiry, or gone, stays as it is), then one batch delete of
 * the rest, each counted out of the filter after its delete. A key that
 * vanished in between (another writer) is skipped, not an error. The
 * global flags are left to cidlb_lb_refresh_global(), so that this may
 * run beside the writers of cidlb_global.
 */
int cidlb_lb_expire(struct cidlb_lb *lb, const struct cidlb_cid_key *keys, size_t n,
		    uint64_t now_ns, size_t *deleted)
{
	int fd = lb->map_fd[CIDLB_M_RETIRED], err = 0;
	struct cidlb_cid_key *due;
	size_t i, m = 0, off = 0, done = 0;

	*deleted = 0;
	if (fd < 0)
		return -ENOENT;
	if (!n)
		return 0;
	due = malloc(n * sizeof(*due));
	if (!due)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct cidlb_retired v;

		if (!bpf_map_lookup_elem(fd, &keys[i], &v) && v.expires_ns <= now_ns)
			due[m++] = keys[i];
	}
	while (off < m) {
		__u32 cnt = (__u32)(m - off);

		err = bpf_map_delete_batch(fd, &due[off], &cnt, NULL);
		for (i = 0; i < cnt && off + i < m; i++)
			rhint_count(lb, &due[off + i], -1);
		done += cnt;
		off += cnt;
		if (!err)
			break;
		if (err != -ENOENT)
			break;
		off++; /* gone already: the next one */
		err = 0;
	}
	free(due);
	*deleted = done;
	if (done)
		rhint_fit(lb, -(long)done);
	return err;
}

int cidlb_lb_refresh_global(struct cidlb_lb *lb)
{
	return global_refresh(lb);
}

int cidlb_lb_add_tx_port(struct cidlb_lb *lb, uint32_t ifindex)
{
	uint32_t cur;

	/* Rewriting a present entry is not free: the kernel unlinks the old
	 * devmap-hash entry before it links the new one, and a packet
	 * redirected in between finds no port (drop_no_route). */
	if (!get(lb, CIDLB_M_TX_PORTS, &ifindex, &cur) && cur == ifindex)
		return 0;
	return upd(lb, CIDLB_M_TX_PORTS, &ifindex, &ifindex);
}

int cidlb_lb_del_tx_port(struct cidlb_lb *lb, uint32_t ifindex)
{
	return del(lb, CIDLB_M_TX_PORTS, &ifindex);
}

int cidlb_lb_set_neigh(struct cidlb_lb *lb, const struct cidlb_neigh_key *k,
		       const struct cidlb_neigh *n)
{
	struct cidlb_neigh cur;
	int err;

	if (lb->map_fd[CIDLB_M_NEIGH] < 0)
		return -ENOENT;
	if (!get(lb, CIDLB_M_NEIGH, k, &cur) && !memcmp(&cur, n, sizeof(cur)))
		return 0;
	err = upd(lb, CIDLB_M_NEIGH, k, n);
	return err ? err : cidlb_lb_next_hops_changed(lb);
}

int cidlb_lb_del_neigh(struct cidlb_lb *lb, const struct cidlb_neigh_key *k)
{
	int err = lb->map_fd[CIDLB_M_NEIGH] < 0 ? -ENOENT : del(lb, CIDLB_M_NEIGH, k);

	if (err)
		return err == -ENOENT ? 0 : err;
	return cidlb_lb_next_hops_changed(lb);
}

/* Sum a per-CPU value made of __u64 fields. */
static int percpu_sum(int fd, uint32_t key, __u64 *sum, size_t nfields)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	int c;
	size_t f;

	if (fd < 0)
		return -ENOENT;
	if (ncpu < 0)
		return ncpu;
	vals = calloc((size_t)ncpu * nfields, sizeof(__u64));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		int err = -errno;

		free(vals);
		return err;
	}
	memset(sum, 0, nfields * sizeof(__u64));
	for (c = 0; c < ncpu; c++)
		for (f = 0; f < nfields; f++)
			sum[f] += vals[(size_t)c * nfields + f];
	free(vals);
	return 0;
}

int cidlb_lb_read_counters(struct cidlb_lb *lb, struct cidlb_counters *sum)
{
	return percpu_sum(lb->map_fd[CIDLB_M_COUNTERS], 0, (__u64 *)sum,
			  sizeof(*sum) / sizeof(__u64));
}

int cidlb_lb_read_backend_stats(struct cidlb_lb *lb, uint32_t idx, struct cidlb_backend_stats *sum)
{
	return percpu_sum(lb->map_fd[CIDLB_M_BE_STATS], idx, (__u64 *)sum,
			  sizeof(*sum) / sizeof(__u64));
}

int cidlb_lb_read_pool_config_stats(struct cidlb_lb *lb, uint32_t pool, uint32_t id,
				    struct cidlb_config_stats *sum)
{
	if (id >= 8 || pool >= lb->max_pools)
		return -EINVAL;
	return cidlb_lb_read_config_stats(lb, pool * 8 + id, sum);
}

int cidlb_lb_read_config_stats(struct cidlb_lb *lb, uint32_t id, struct cidlb_config_stats *sum)
{
	return percpu_sum(lb->map_fd[CIDLB_M_CFG_STATS], id, (__u64 *)sum,
			  sizeof(*sum) / sizeof(__u64));
}

static int percpu_zero(int fd, uint32_t key, size_t size)
{
	int ncpu = libbpf_num_possible_cpus();
	void *zero;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	zero = calloc(ncpu, size);
	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, &key, zero, BPF_ANY))
		err = -errno;
	free(zero);
	return err;
}

int cidlb_lb_reset_counters(struct cidlb_lb *lb)
{
	uint32_t i;
	int err;

	err = percpu_zero(lb->map_fd[CIDLB_M_COUNTERS], 0, sizeof(struct cidlb_counters));
	for (i = 0; !err && i < CIDLB_MAX_BACKENDS; i++)
		err = percpu_zero(lb->map_fd[CIDLB_M_BE_STATS], i,
				  sizeof(struct cidlb_backend_stats));
	for (i = 0; !err && i < lb->max_pools * 8; i++)
		err = percpu_zero(lb->map_fd[CIDLB_M_CFG_STATS], i,
				  sizeof(struct cidlb_config_stats));
	return err;
}
