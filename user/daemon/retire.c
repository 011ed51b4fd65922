// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * retire.c - retired CIDs: a backend or the operator names CIDs that an
 * endpoint retired (RETIRE_CONNECTION_ID) or that must be cut off; packets
 * carrying them are dropped until the entry expires. Entries live in the
 * pinned map with their expiry (CLOCK_BOOTTIME), so they survive a daemon
 * restart. The data path compares the expiry with the clock itself, so
 * the sweep only gives memory back: it takes the entries due from an
 * index by expiry (a min-heap, built from the map at start and fed by
 * every retire), a slice at a time, so that an idle daemon with a full
 * map does no work and nobody waits long for the lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "ctl/cidkey.h"
#include "daemon.h"
#include "ctl/log.h"

#define SWEEP_SLICE 1024 /* CIDs deleted per hold of d->retire_lock */
#define LOAD_BATCH  8192 /* map entries read per syscall */

static void pt_lens(const struct cidlb_conf *c, int pool, uint8_t pt[CIDLB_CONFIG_IDS])
{
	const struct cidlb_conf_qlb *q = cidlb_conf_qlbs(c, pool);
	int cr;

	for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++)
		pt[cr] = q[cr].present ? q[cr].sid_len + q[cr].nonce_len : 0;
}

/* ---- the index: a min-heap by expiry ------------------------------------------ */

static void heap_swap(struct retire_ent *a, struct retire_ent *b)
{
	struct retire_ent t = *a;

	*a = *b;
	*b = t;
}

/* Put k in the index; when there is no memory or the index holds too many
 * stale entries, mark it to be built from the map again. */
static void index_add(struct daemon *d, const struct cidlb_cid_key *k, uint64_t expires_ns)
{
	size_t i;

	if (d->rindex_stale)
		return;
	if (d->rheap_max && d->rheap_n >= d->rheap_max) {
		d->rindex_stale = true; /* stale entries of CIDs retired again: drop them */
		return;
	}
	if (d->rheap_n == d->rheap_cap) {
		size_t nc = d->rheap_cap ? d->rheap_cap * 2 : 1024;
		struct retire_ent *e = realloc(d->rheap, nc * sizeof(*e));

		if (!e) {
			pr_warn("out of memory for the retired-CID index: it is read from the map again at the next sweep");
			d->rindex_stale = true;
			return;
		}
		d->rheap = e;
		d->rheap_cap = nc;
	}
	i = d->rheap_n++;
	d->rheap[i] = (struct retire_ent){ .expires_ns = expires_ns, .key = *k };
	while (i && d->rheap[(i - 1) / 2].expires_ns > d->rheap[i].expires_ns) {
		heap_swap(&d->rheap[(i - 1) / 2], &d->rheap[i]);
		i = (i - 1) / 2;
	}
}

static void index_pop(struct daemon *d)
{
	size_t i = 0, n = --d->rheap_n;

	d->rheap[0] = d->rheap[n];
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < n && d->rheap[l].expires_ns < d->rheap[m].expires_ns)
			m = l;
		if (l + 1 < n && d->rheap[l + 1].expires_ns < d->rheap[m].expires_ns)
			m = l + 1;
		if (m == i)
			break;
		heap_swap(&d->rheap[i], &d->rheap[m]);
		i = m;
	}
}

void retire_index_free(struct daemon *d)
{
	free(d->rheap);
	d->rheap = NULL;
	d->rheap_n = d->rheap_cap = 0;
}

/* Every entry of the map into a new index (batches of LOAD_BATCH), and
 * the map's count. At most twice the map's size of entries are kept
 * before it is built again (CIDs retired again leave stale ones). Under
 * d->retire_lock. */
static int index_load(struct daemon *d)
{
	int fd = cidlb_lb_map_fd(d->lb, CIDLB_M_RETIRED), err = 0;
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info), in = 0, out = 0, cnt;
	struct cidlb_cid_key *keys;
	struct cidlb_retired *vals;
	uint64_t t0 = boottime_ns();
	bool first = true;
	size_t total = 0, i;

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	keys = malloc(LOAD_BATCH * sizeof(*keys));
	vals = malloc(LOAD_BATCH * sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	d->rheap_n = 0;
	d->rheap_max = 2 * (size_t)info.max_entries + SWEEP_SLICE;
	d->rindex_stale = false;
	do {
		cnt = LOAD_BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &cnt, NULL);
		if (err && err != -ENOENT)
			break;
		for (i = 0; i < cnt; i++)
			index_add(d, &keys[i], vals[i].expires_ns);
		total += cnt;
		in = out;
		first = false;
	} while (!err);
	if (err == -ENOENT)
		err = 0;
	if (!err && d->rindex_stale)
		err = -ENOMEM;
out:
	free(keys);
	free(vals);
	if (err) {
		d->rindex_stale = true;
		pr_warn("cannot read the retired-CID map %s/%s: %s; retrying at the next sweep (packets still pass each CID at its expiry)",
			d->pin_dir, CIDLB_MAP_RETIRED, strerror(-err));
		return err;
	}
	__atomic_store_n(&d->retired_count, total, __ATOMIC_RELAXED);
	pr_debug("retired-CID index: %zu entries read in %llu ms", total,
		 (unsigned long long)((boottime_ns() - t0) / 1000000));
	return 0;
}

int retire_index_load(struct daemon *d)
{
	int err;

	pthread_mutex_lock(&d->retire_lock);
	err = index_load(d);
	pthread_mutex_unlock(&d->retire_lock);
	return err;
}

/* ---- the sweep ----------------------------------------------------------------- */

/* Delete up to SWEEP_SLICE of the CIDs due by now; *more: others are due
 * too. Under d->retire_lock. Returns how many were deleted. */
static size_t expire_slice(struct daemon *d, uint64_t now, bool *more)
{
	static struct cidlb_cid_key due[SWEEP_SLICE]; /* under retire_lock */
	size_t n = 0, gone = 0;
	int err;

	*more = false;
	if (d->rindex_stale && index_load(d))
		return 0;
	while (n < SWEEP_SLICE && d->rheap_n && d->rheap[0].expires_ns <= now) {
		due[n++] = d->rheap[0].key;
		index_pop(d);
	}
	if (!n)
		return 0;
	err = cidlb_lb_expire(d->lb, due, n, now, &gone);
	if (err) {
		pr_warn("deleting expired retired CIDs from %s/%s: %s; the map is read again at the next sweep",
			d->pin_dir, CIDLB_MAP_RETIRED, strerror(-err));
		d->rindex_stale = true;
	}
	if (gone)
		pr_debug("%zu retired CIDs expired (deleted in %llu ms)", gone,
			 (unsigned long long)((boottime_ns() - now) / 1000000));
	__atomic_store_n(&d->retired_expired, d->retired_expired + gone, __ATOMIC_RELAXED);
	__atomic_store_n(&d->retired_count, d->retired_count > gone ? d->retired_count - gone : 0,
			 __ATOMIC_RELAXED);
	*more = n == SWEEP_SLICE && d->rheap_n && d->rheap[0].expires_ns <= now;
	return gone;
}

/* ---- retire, unretire -------------------------------------------------------- */

int retire_cids(struct daemon *d, json_t *cids, uint16_t pool, uint32_t ttl_s, bool add,
		json_t *reply, char *why, size_t why_len)
{
	uint64_t expires = boottime_ns() + (uint64_t)ttl_s * 1000000000ULL;
	struct cidlb_cid_key *keys;
	uint8_t pt[CIDLB_CONFIG_IDS];
	size_t i, n = json_array_size(cids), done = 0, added = 0, missing = 0;
	json_t *v;
	int err = 0;

	if (!json_is_array(cids) || !n) {
		snprintf(why, why_len, "'cids' must be a non-empty array of CIDs in hex");
		return -EINVAL;
	}
	keys = calloc(n, sizeof(*keys));
	if (!keys) {
		snprintf(why, why_len, "out of memory for %zu CIDs", n);
		return -ENOMEM;
	}
	pt_lens(d->conf, pool, pt);
	/* check every CID before the first map write */
	json_array_foreach (cids, i, v) {
		const char *s = json_string_value(v);
		uint8_t cid[CIDLB_CID_MAX];
		char msg[256];
		size_t len = 0;

		if (!s) {
			snprintf(why, why_len,
				 "cids[%zu]: not a string: a CID is 1..20 octets in hex", i);
			err = -EINVAL;
			goto out;
		}
		if (cidlb_parse_hex_msg("CID", s, cid, 1, sizeof(cid), &len, msg, sizeof(msg))) {
			snprintf(why, why_len, "cids[%zu]: %s", i, msg);
			err = -EINVAL;
			goto out;
		}
		if (cidlb_cid_key_make(cid, len, pt, &keys[i])) {
			snprintf(why, why_len, "cids[%zu] '%s': a CID is 1..20 octets in hex", i,
				 s);
			err = -EINVAL;
			goto out;
		}
		keys[i].pool = pool;
	}
	pthread_mutex_lock(&d->retire_lock);
	for (i = 0; i < n; i++) {
		bool is_new = false;

		bool more;

		err = add ? cidlb_lb_retire_ex(d->lb, &keys[i], expires, &is_new) :
			    cidlb_lb_unretire(d->lb, &keys[i]);
		/* full, but CIDs are due that the sweep has not deleted yet */
		if (err == -E2BIG && expire_slice(d, boottime_ns(), &more))
			err = cidlb_lb_retire_ex(d->lb, &keys[i], expires, &is_new);
		if (err == -ENOENT && !add) {
			missing++;
			err = 0;
			continue;
		}
		if (err) {
			snprintf(why, why_len, "%s CID %zu of %zu failed: %s%s",
				 add ? "retiring" : "unretiring", i + 1, n, strerror(-err),
				 err == -E2BIG || err == -ENOMEM ?
					 " (the retired-CID map is full: raise [lb] retired_size)" :
					 "");
			break;
		}
		done++;
		if (add) {
			added += is_new;
			index_add(d, &keys[i], expires);
		}
	}
	if (add) {
		__atomic_store_n(&d->retired_added, d->retired_added + done, __ATOMIC_RELAXED);
		__atomic_store_n(&d->retired_count, d->retired_count + added, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&d->retired_count,
				 d->retired_count >= done ? d->retired_count - done : 0,
				 __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&d->retire_lock);
	if (add) {
		json_object_set_new(reply, "retired", json_integer((json_int_t)done));
		json_object_set_new(reply, "ttl", json_integer(ttl_s));
		pr_info("%zu CIDs retired for %u s", done, ttl_s);
	} else {
		json_object_set_new(reply, "removed", json_integer((json_int_t)done));
		json_object_set_new(reply, "not_found", json_integer((json_int_t)missing));
		pr_info("%zu CIDs no longer retired", done);
	}
out:
	free(keys);
	return err;
}

int retire_sweep(struct daemon *d)
{
	int fd = cidlb_lb_map_fd(d->lb, CIDLB_M_RETIRED);
	uint64_t t0 = boottime_ns(), took_ms;
	struct cidlb_cid_key k;
	bool more, empty;

	pthread_mutex_lock(&d->retire_lock);
	empty = expire_slice(d, t0, &more) && bpf_map_get_next_key(fd, NULL, &k);
	pthread_mutex_unlock(&d->retire_lock);
	if (empty) { /* packets stop looking CIDs up (a retire since keeps them at it) */
		pthread_mutex_lock(&d->lock);
		cidlb_lb_refresh_global(d->lb);
		pthread_mutex_unlock(&d->lock);
	}
	if (!more)
		return -1;
	took_ms = (boottime_ns() - t0) / 1000000;
	return took_ms < 1 ? 1 : took_ms > 1000 ? 1000 : (int)took_ms;
}
