// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* twin.c - see twin.h. Compiled with -Itests/fuzz/shim before -Ibpf, so
 * that bpf/ sees the userspace stand-ins of bpf_helpers.h/bpf_endian.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "cidlb_main.h"
#include "twin.h"

/* Under ASan, only the packet's own octets are addressable, so a read or
 * write past data_end (or before data) is caught as in the verifier. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define PKT_POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define PKT_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#endif
#endif
#ifndef PKT_POISON
#define PKT_POISON(p, n)   ((void)(p), (void)(n))
#define PKT_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define HASH_CAP_MAX 65536 /* entries kept per hash map */
#define BUF_SIZE     4096
#define HEADROOM     256 /* XDP_PACKET_HEADROOM */

struct umap {
	const char *name;
	void *def; /* the BTF-style definition in bpf/maps.h */
	int type;
	__u32 max, ksz, vsz;
	__u32 cap, used; /* hash maps */
	uint8_t *slots;	 /* hash: cap * (1 + ksz + vsz); array: max * vsz */
};

#define UMAP(m) \
	{ \
#m, &m, sizeof(*m.type) / sizeof(int), sizeof(*m.max_entries) / sizeof(int), \
			sizeof(*m.key), sizeof(*m.value), 0, 0, NULL \
	}

/* Every map of the program (include/cidlb_maps.h): a map missing here
 * would abort in map_of(). */
static struct umap maps[] = {
#define X(id, name, ksz, vsz, flags) UMAP(name),
	CIDLB_MAPS(X)
#undef X
};
#define NMAPS (sizeof(maps) / sizeof(maps[0]))

static int is_array(const struct umap *m)
{
	return m->type == BPF_MAP_TYPE_ARRAY || m->type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

static int is_lru(const struct umap *m)
{
	return m->type == BPF_MAP_TYPE_LRU_HASH || m->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static void map_init(struct umap *m)
{
	if (m->slots)
		return;
	if (is_array(m)) {
		m->slots = calloc(m->max, m->vsz);
	} else {
		m->cap = m->max < HASH_CAP_MAX ? m->max : HASH_CAP_MAX;
		m->slots = calloc(m->cap, 1 + m->ksz + m->vsz);
	}
	if (!m->slots)
		abort();
}

static struct umap *map_of(const void *def)
{
	size_t i;

	for (i = 0; i < NMAPS; i++)
		if (maps[i].def == def) {
			map_init(&maps[i]);
			return &maps[i];
		}
	abort(); /* a map the twin does not know: extend maps[] */
}

static __u32 key_hash(const void *k, __u32 n)
{
	const uint8_t *b = k;
	__u32 h = 2166136261u, i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* Slot of key in a hash map: its own, or the empty one to fill. */
static uint8_t *hash_slot(struct umap *m, const void *key, int *found)
{
	__u32 esz = 1 + m->ksz + m->vsz, i, h = key_hash(key, m->ksz) % m->cap;

	for (i = 0; i < m->cap; i++) {
		uint8_t *s = m->slots + (size_t)((h + i) % m->cap) * esz;

		if (!s[0]) {
			*found = 0;
			return s;
		}
		if (!memcmp(s + 1, key, m->ksz)) {
			*found = 1;
			return s;
		}
	}
	*found = 0;
	return NULL;
}

void *bpf_map_lookup_elem(void *def, const void *key)
{
	struct umap *m = map_of(def);
	uint8_t *s;
	int found;

	if (is_array(m)) {
		__u32 i = *(const __u32 *)key;

		return i < m->max ? m->slots + (size_t)i * m->vsz : NULL;
	}
	s = hash_slot(m, key, &found);
	return found ? s + 1 + m->ksz : NULL;
}

long bpf_map_update_elem(void *def, const void *key, const void *value, __u64 flags)
{
	struct umap *m = map_of(def);
	uint8_t *s;
	int found;

	(void)flags;
	if (is_array(m)) {
		__u32 i = *(const __u32 *)key;

		if (i >= m->max)
			return -E2BIG;
		memcpy(m->slots + (size_t)i * m->vsz, value, m->vsz);
		return 0;
	}
	s = hash_slot(m, key, &found);
	if (!found && (m->used >= m->cap || !s)) {
		if (!is_lru(m))
			return -E2BIG;
		/* an LRU that is full forgets everything: crude, but eviction
		 * only ever costs a fallback decision, as in the kernel */
		memset(m->slots, 0, (size_t)m->cap * (1 + m->ksz + m->vsz));
		m->used = 0;
		s = hash_slot(m, key, &found);
	}
	if (!found) {
		s[0] = 1;
		memcpy(s + 1, key, m->ksz);
		m->used++;
	}
	memcpy(s + 1 + m->ksz, value, m->vsz);
	return 0;
}

/* The packet buffer lives below 4 GiB: struct xdp_md holds 32-bit
 * addresses, as the program sees them. */
static uint8_t *pkt_buf;

long bpf_xdp_adjust_head(struct xdp_md *ctx, int delta)
{
	long nd = (long)ctx->data + delta;

	if (nd < (long)(uintptr_t)pkt_buf || nd > (long)ctx->data_end - 14)
		return -EINVAL;
	if (delta < 0)
		PKT_UNPOISON((void *)(uintptr_t)nd, -delta);
	else
		PKT_POISON((void *)(uintptr_t)ctx->data, delta);
	ctx->data = nd;
	return 0;
}

/* Cut (delta < 0) or grow the frame at its end; as the kernel, never
 * below the Ethernet header. */
long bpf_xdp_adjust_tail(struct xdp_md *ctx, int delta)
{
	long ne = (long)ctx->data_end + delta;

	if (ne < (long)ctx->data + 14 || ne > (long)(uintptr_t)pkt_buf + BUF_SIZE)
		return -EINVAL;
	if (delta > 0)
		PKT_UNPOISON((void *)(uintptr_t)ctx->data_end, delta);
	else
		PKT_POISON((void *)(uintptr_t)ne, -delta);
	ctx->data_end = ne;
	return 0;
}

/* Unpredictable in the program, fixed here: the twin's frames compare. */
__u32 bpf_get_prandom_u32(void)
{
	return 0x5a5a5a5a;
}

/* As the kernel's: the 32-bit ones' complement sum of `to` minus that of
 * `from` (both multiples of 4 octets, 512 at most), added to seed. */
__s64 bpf_csum_diff(__be32 *from, __u32 from_size, __be32 *to, __u32 to_size, __wsum seed)
{
	__u64 sum = seed;
	__u32 i, w;

	if ((from_size | to_size) & 3 || from_size > 512 || to_size > 512)
		return -EINVAL;
	for (i = 0; i < to_size / 4; i++) {
		memcpy(&w, (uint8_t *)to + 4 * i, 4);
		sum += w;
	}
	for (i = 0; i < from_size / 4; i++) {
		memcpy(&w, (uint8_t *)from + 4 * i, 4);
		sum += (__u32)~w;
	}
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return (__u32)sum;
}

long bpf_xdp_load_bytes(struct xdp_md *ctx, __u32 off, void *buf, __u32 len)
{
	if ((long)ctx->data + off + len > (long)ctx->data_end)
		return -EFAULT;
	memcpy(buf, (void *)(uintptr_t)(ctx->data + off), len);
	return 0;
}

/* As in BPF_PROG_TEST_RUN on the loopback device: no route is found. */
long bpf_fib_lookup(void *ctx, struct bpf_fib_lookup *params, int plen, __u32 flags)
{
	(void)ctx, (void)params, (void)plen, (void)flags;
	return BPF_FIB_LKUP_RET_NOT_FWDED;
}

/* The loopback device's MTU (65536), as in BPF_PROG_TEST_RUN. */
long bpf_check_mtu(void *ctx, __u32 ifindex, __u32 *mtu_len, __s32 len_diff, __u64 flags)
{
	struct xdp_md *x = ctx;

	(void)ifindex, (void)flags;
	*mtu_len = 65536;
	return x->data_end - x->data - 14 + len_diff > 65536;
}

long bpf_redirect_map(void *def, __u64 key, __u64 flags)
{
	__u32 k = key;

	return bpf_map_lookup_elem(def, &k) ? XDP_REDIRECT : (long)(flags & 3);
}

/* The clock of cidlb_retired.expires_ns. */
__u64 bpf_ktime_get_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* The clock of cidlb_flow.seen and of the rate limits (cidlb_rate). */
__u64 bpf_ktime_get_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

int twin_map_write(const char *name, const void *key, const void *value)
{
	size_t i;

	for (i = 0; i < NMAPS; i++)
		if (!strcmp(maps[i].name, name))
			return bpf_map_update_elem(maps[i].def, key, value, BPF_ANY);
	return -ENOENT;
}

void twin_reset(void)
{
	size_t i;

	for (i = 0; i < NMAPS; i++) {
		free(maps[i].slots);
		maps[i].slots = NULL;
		maps[i].used = 0;
	}
}

int twin_run(const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
	struct xdp_md ctx = {};
	int rc;

	if (!pkt_buf) {
		pkt_buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		if (pkt_buf == MAP_FAILED)
			abort();
	}
	if (len > BUF_SIZE - HEADROOM)
		return -1;
	PKT_UNPOISON(pkt_buf, BUF_SIZE);
	memcpy(pkt_buf + HEADROOM, in, len);
	PKT_POISON(pkt_buf, BUF_SIZE);
	PKT_UNPOISON(pkt_buf + HEADROOM, len);
	ctx.data = (__u32)(uintptr_t)(pkt_buf + HEADROOM);
	ctx.data_end = ctx.data + len;
	ctx.ingress_ifindex = 1;
	rc = cidlb_handle(&ctx);
	*outlen = ctx.data_end - ctx.data;
	memcpy(out, (void *)(uintptr_t)ctx.data, *outlen);
	PKT_UNPOISON(pkt_buf, BUF_SIZE);
	return rc;
}

void twin_counters(struct cidlb_counters *c)
{
	__u32 zero = 0;

	memcpy(c, bpf_map_lookup_elem(&cidlb_counters, &zero), sizeof(*c));
}
