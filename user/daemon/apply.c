// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * apply.c - make the maps match a configuration, in an order that every
 * packet sees either the old state or the new one:
 *
 *   1. QUIC-LB configs, global settings, new VIPs
 *   2. new backends and backends coming back to active; their server IDs
 *   3. the Maglev table: standby half written, then flipped
 *   4. backends leaving: draining, or absent (their CIDs fall back)
 *   5. server IDs nobody owns any more (quarantined), VIPs removed
 *
 * The diff is taken against the maps themselves, not against what the
 * daemon believes, so the same call adopts a running program after a
 * restart or a crash and repairs a half-applied change.
 *
 * Backend indexes are stable: a backend keeps its index while its address,
 * MAC and mode stay the same (the LRU table and the server-ID map hold
 * indexes). A new address gets a new index, so that no packet ever sees
 * a half-written entry; the old index stays reserved for the quarantine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "ctl/maglev.h"
#include "daemon.h"
#include "ctl/log.h"

struct plan {
	uint32_t index;
	struct cidlb_backend val;
};

uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct cidlb_conf *conf_dup(const struct cidlb_conf *c)
{
	struct cidlb_conf *n = malloc(sizeof(*n));

	if (!n)
		return NULL;
	*n = *c;
	n->errors = NULL;
	n->n_errors = 0;
	n->vips = malloc(((size_t)c->n_vips + 1) * sizeof(*n->vips));
	n->backends = malloc(((size_t)c->n_backends + 16) * sizeof(*n->backends));
	if (!n->vips || !n->backends) {
		free(n->vips);
		free(n->backends);
		free(n);
		return NULL;
	}
	memcpy(n->vips, c->vips, (size_t)c->n_vips * sizeof(*n->vips));
	memcpy(n->backends, c->backends, (size_t)c->n_backends * sizeof(*n->backends));
	n->pools = malloc(((size_t)c->n_pools + 1) * sizeof(*n->pools));
	if (!n->pools) {
		free(n->vips);
		free(n->backends);
		free(n);
		return NULL;
	}
	memcpy(n->pools, c->pools, (size_t)c->n_pools * sizeof(*n->pools));
	return n;
}

uint32_t backend_index(const struct daemon *d, const char *name)
{
	int i;

	for (i = 0; i < d->st.n_be; i++)
		if (!strcmp(d->st.be[i].name, name))
			return d->st.be[i].index;
	return CIDLB_BACKEND_NONE;
}

int save_state(struct daemon *d)
{
	int i, err;

	d->st.n_ifs = d->n_ifs;
	for (i = 0; i < d->n_ifs; i++) {
		snprintf(d->st.ifs[i].name, IF_NAMESIZE, "%s", d->ifs[i].name);
		d->st.ifs[i].mode = d->ifs[i].mode;
		d->st.ifs[i].fwd_set = d->ifs[i].fwd_set;
	}
	err = cidlb_state_write(d->conf->state_file, &d->st);
	if (err)
		pr_err("cannot write the state file %s: %s; a restart that keeps the program would have to recover backend indexes from the maps",
		       d->conf->state_file, strerror(-err));
	return err;
}

static void sid_key(struct cidlb_sid_key *k, uint16_t pool, uint8_t cr, const uint8_t *sid,
		    uint8_t len)
{
	memset(k, 0, sizeof(*k));
	k->pool = pool;
	k->config_id = cr;
	k->len = len;
	memcpy(k->sid, sid, len);
}

int quarantine_expire(struct daemon *d)
{
	int fd = cidlb_lb_map_fd(d->lb, CIDLB_M_SIDS);
	uint64_t now = boottime_ns();
	int i, j, n = 0;

	for (i = 0, j = 0; i < d->st.n_q; i++) {
		const struct cidlb_state_q *q = &d->st.q[i];

		if (q->until_ns <= now) {
			struct cidlb_sid_key k;
			uint32_t idx;
			int err;

			n++;
			if (!q->len)
				continue;
			/* its server ID leaves the map (it named the removed
			 * backend's index for the resets) */
			sid_key(&k, q->pool, q->config_id, q->sid, q->len);
			if (fd >= 0 && !bpf_map_lookup_elem(fd, &k, &idx) && idx == q->index) {
				err = cidlb_lb_del_sid(d->lb, &k);
				if (err && err != -ENOENT)
					pr_warn("quarantine over: cannot delete server ID %u:%02x...: %s",
						q->config_id, q->sid[0], strerror(-err));
			}
			pr_info("quarantine over: server ID %u:%02x... of removed backend %s may be given to another backend",
				q->config_id, q->sid[0], q->owner);
			continue;
		}
		d->st.q[j++] = d->st.q[i];
	}
	d->st.n_q = j;
	return n;
}

static void backend_value(const struct cidlb_conf_backend *b, struct cidlb_backend *v)
{
	memset(v, 0, sizeof(*v));
	v->state = b->state;
	v->family = b->family;
	v->fwd_mode = b->direct	 ? CIDLB_FWD_DIRECT :
		      b->has_mac ? CIDLB_FWD_ENCAP_MAC :
				   CIDLB_FWD_ENCAP_FIB;
	memcpy(v->addr, b->addr, 16);
	if (b->has_mac)
		memcpy(v->mac, b->mac, 6);
	if (!b->direct && b->encap == CIDLB_ENCAP_GUE) {
		v->encap = CIDLB_ENCAP_GUE;
		v->gue_port = b->gue_port;
	}
	v->pool = (__u8)b->pool;
}

/* A backend that moves to another pool is another backend: a new index. */
static bool same_identity(const struct cidlb_backend *a, const struct cidlb_backend *b)
{
	return a->family == b->family && a->fwd_mode == b->fwd_mode && a->encap == b->encap &&
	       a->gue_port == b->gue_port && a->pool == b->pool && !memcmp(a->addr, b->addr, 16) &&
	       !memcmp(a->mac, b->mac, 6);
}

/* Entry idx as backend_value() would make it: without the outer-header
 * template, which lb.c fills on every write. */
static int read_backend(struct daemon *d, uint32_t idx, struct cidlb_backend *v)
{
	int fd = cidlb_lb_map_fd(d->lb, CIDLB_M_BACKENDS);

	memset(v, 0, sizeof(*v));
	if (bpf_map_lookup_elem(fd, &idx, v))
		return -errno;
	v->outer_sum = 0;
	memset(v->outer, 0, sizeof(v->outer));
	return 0;
}

/* Owner name of an index in the current mapping, or NULL. */
static const char *owner_of(const struct daemon *d, uint32_t idx)
{
	return cidlb_state_name(&d->st, idx);
}

static const struct cidlb_state_q *quarantined(const struct daemon *d, uint16_t pool, uint8_t cr,
					       const uint8_t *sid, uint8_t len)
{
	int i;

	for (i = 0; i < d->st.n_q; i++) {
		const struct cidlb_state_q *q = &d->st.q[i];

		if (q->len && q->pool == pool && q->config_id == cr && q->len == len &&
		    !memcmp(q->sid, sid, len))
			return q;
	}
	return NULL;
}

static int add_quarantine(struct daemon *d, const struct cidlb_state_q *e)
{
	struct cidlb_state_q *n = realloc(d->st.q, ((size_t)d->st.n_q + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	d->st.q = n;
	d->st.q[d->st.n_q++] = *e;
	return 0;
}

/* ---- step 0: indexes ------------------------------------------------------ */

#define BIT_SET(m, i)  ((m)[(i) / 64] |= 1ULL << ((i) % 64))
#define BIT_TEST(m, i) (((m)[(i) / 64] >> ((i) % 64)) & 1)

/* Health: every backend of the pool that would take new connections is
 * down. Then all of them stay (fail open): the checks may be what fails. */
static bool health_fail_open(struct daemon *d, const struct cidlb_conf *next, int pool)
{
	size_t n_in = 0, n_up = 0;
	int i;

	for (i = 0; i < next->n_backends; i++) {
		const struct cidlb_conf_backend *b = &next->backends[i];

		if (b->state != CIDLB_BE_ACTIVE || !b->weight || b->pool != pool)
			continue;
		n_in++;
		if (health_of(d, b->name, i) != HEALTH_DOWN)
			n_up++;
	}
	return n_in && !n_up;
}

/* Flags of backend i's entry: CIDLB_BE_F_DOWN while its health is down
 * (its CIDs get stateless resets where a config has a reset key), not
 * while its pool fails open. */
static uint8_t backend_flags(struct daemon *d, const struct cidlb_conf *next, int i)
{
	if (health_of(d, next->backends[i].name, i) != HEALTH_DOWN)
		return 0;
	return health_fail_open(d, next, next->backends[i].pool) ? 0 : CIDLB_BE_F_DOWN;
}

static int plan_indexes(struct daemon *d, const struct cidlb_conf *next, struct plan *plan,
			char *why, size_t why_len)
{
	uint64_t used[CIDLB_MAX_BACKENDS / 64] = { 0 }; /* taken by this plan */
	uint64_t resv[CIDLB_MAX_BACKENDS / 64] = { 0 }; /* quarantined, named */
	int sid_fd = cidlb_lb_map_fd(d->lb, CIDLB_M_SIDS);
	uint32_t next_free = 0;
	int i, j, cr;

	for (i = 0; i < d->st.n_q; i++)
		BIT_SET(resv, d->st.q[i].index);
	for (i = 0; i < d->st.n_be; i++)
		BIT_SET(resv, d->st.be[i].index);
	for (i = 0; i < next->n_backends; i++) {
		backend_value(&next->backends[i], &plan[i].val);
		plan[i].val.flags = backend_flags(d, next, i);
		plan[i].index = CIDLB_BACKEND_NONE;
	}
	/* 1. the index this name had, if what it points at is the same host */
	for (i = 0; i < next->n_backends; i++) {
		uint32_t idx = backend_index(d, next->backends[i].name);
		struct cidlb_backend cur;

		if (idx == CIDLB_BACKEND_NONE || BIT_TEST(used, idx))
			continue;
		if (read_backend(d, idx, &cur) == 0 &&
		    (cur.state == CIDLB_BE_ABSENT || same_identity(&cur, &plan[i].val))) {
			plan[i].index = idx;
			BIT_SET(used, idx);
		}
	}
	/* 2. no mapping (state file lost): the index its server IDs point
	 * at, when that entry has the same address; a backend without
	 * server IDs gets a new index (its LRU flows fall back once) */
	for (i = 0; i < next->n_backends; i++) {
		const struct cidlb_conf_backend *b = &next->backends[i];

		if (plan[i].index != CIDLB_BACKEND_NONE ||
		    backend_index(d, b->name) != CIDLB_BACKEND_NONE)
			continue;
		for (cr = 0; cr < CIDLB_CONFIG_IDS && plan[i].index == CIDLB_BACKEND_NONE; cr++) {
			struct cidlb_sid_key k;
			struct cidlb_backend cur;
			uint32_t idx;

			if (!cidlb_conf_backend_has_sid(b, cr))
				continue;
			sid_key(&k, b->pool, (uint8_t)cr, b->sid[cr], b->sid_len[cr]);
			if (bpf_map_lookup_elem(sid_fd, &k, &idx) || idx >= CIDLB_MAX_BACKENDS ||
			    BIT_TEST(used, idx) || BIT_TEST(resv, idx))
				continue;
			if (read_backend(d, idx, &cur) == 0 && same_identity(&cur, &plan[i].val)) {
				plan[i].index = idx;
				BIT_SET(used, idx);
				pr_info("backend %s: index %u recovered from the server-ID map",
					b->name, idx);
			}
		}
	}
	/* 3. a name coming back within its quarantine: its old index */
	for (i = 0; i < next->n_backends; i++) {
		if (plan[i].index != CIDLB_BACKEND_NONE)
			continue;
		for (j = 0; j < d->st.n_q; j++) {
			uint32_t idx = d->st.q[j].index;

			if (!strcmp(d->st.q[j].owner, next->backends[i].name) &&
			    !BIT_TEST(used, idx)) {
				plan[i].index = idx;
				BIT_SET(used, idx);
				break;
			}
		}
	}
	/* 4. new: the lowest free index */
	for (i = 0; i < next->n_backends; i++) {
		if (plan[i].index != CIDLB_BACKEND_NONE)
			continue;
		while (next_free < CIDLB_MAX_BACKENDS &&
		       (BIT_TEST(used, next_free) || BIT_TEST(resv, next_free)))
			next_free++;
		if (next_free >= CIDLB_MAX_BACKENDS) {
			snprintf(
				why, why_len,
				"no free backend index: %d backends (live and quarantined) is the limit",
				CIDLB_MAX_BACKENDS);
			return -ENOSPC;
		}
		plan[i].index = next_free;
		BIT_SET(used, next_free);
	}
	return 0;
}

/* ---- step 0: may these server IDs be given to these backends? ------------- */

static int check_sids(struct daemon *d, const struct cidlb_conf *next, char *why, size_t why_len)
{
	int sid_fd = cidlb_lb_map_fd(d->lb, CIDLB_M_SIDS);
	long n_sids = 0;
	int i, cr;

	for (i = 0; i < next->n_backends; i++) {
		const struct cidlb_conf_backend *b = &next->backends[i];

		for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++) {
			const struct cidlb_state_q *q;
			struct cidlb_sid_key k;
			char h[2 * CIDLB_SID_MAX + 1];
			const char *owner;
			uint32_t idx;

			if (!cidlb_conf_backend_has_sid(b, cr))
				continue;
			n_sids++;
			cidlb_hex(b->sid[cr], b->sid_len[cr], h, sizeof(h));
			q = quarantined(d, b->pool, (uint8_t)cr, b->sid[cr], b->sid_len[cr]);
			if (q && strcmp(q->owner, b->name)) {
				uint64_t now = boottime_ns();

				snprintf(
					why, why_len,
					"backend %s: server ID %d:%s belonged to removed backend %s and is quarantined for another %llu s (so that its old connections get a stateless reset, not a stranger); choose another server ID or wait",
					b->name, cr, h, q->owner,
					(unsigned long long)((q->until_ns - now) / 1000000000ULL +
							     1));
				return -EBUSY;
			}
			sid_key(&k, b->pool, (uint8_t)cr, b->sid[cr], b->sid_len[cr]);
			if (bpf_map_lookup_elem(sid_fd, &k, &idx))
				continue;
			owner = owner_of(d, idx);
			if (owner && strcmp(owner, b->name) && next->quarantine_s) {
				const struct cidlb_conf_backend *o =
					cidlb_conf_backend_find(next, owner);

				snprintf(
					why, why_len,
					"backend %s: server ID %d:%s is in use by backend %s%s; a server ID moves to another backend only after its quarantine (%u s)",
					b->name, cr, h, owner,
					o ? "" : ", which this change removes", next->quarantine_s);
				return -EBUSY;
			}
		}
	}
	for (i = 0; i < d->st.n_q; i++)
		n_sids += d->st.q[i].len > 0; /* quarantined ones stay in the map */
	if (n_sids > CIDLB_MAX_SIDS) {
		snprintf(why, why_len, "%ld server IDs: the map holds %d", n_sids, CIDLB_MAX_SIDS);
		return -ENOSPC;
	}
	return 0;
}

/* ---- the steps -------------------------------------------------------------- */

/* The configs of every pool the maps hold: those of @next's pools, none
 * beyond them. */
static int sync_configs(struct daemon *d, const struct cidlb_conf *next, json_t *changes)
{
	uint32_t pool, max = cidlb_lb_max_pools(d->lb);
	int cr, err, n = 0;

	for (pool = 0; pool < max; pool++) {
		const struct cidlb_conf_qlb *qlb = cidlb_conf_qlbs(next, (int)pool);
		const struct cidlb_conf_qlb none = { 0 };

		for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++) {
			const struct cidlb_conf_qlb *q = (int)pool < next->n_pools ? &qlb[cr] :
										     &none;
			struct cidlb_config want, cur;

			err = cidlb_conf_qlb_to_map(q, &want);
			if (err)
				return err;
			if (cidlb_lb_get_pool_config(d->lb, pool, (uint32_t)cr, &cur) == 0) {
				want.generation = cur.generation;
				if (!memcmp(&want, &cur, sizeof(want)))
					continue;
			}
			err = cidlb_lb_set_pool_config(d->lb, pool, (uint32_t)cr, &want);
			explicit_bzero(&want, sizeof(want));
			if (err)
				return err;
			if (next->pools_named && (int)pool < next->n_pools &&
			    !next->pools[pool].unused)
				pr_info("QUIC-LB config %d of pool %s %s", cr,
					next->pools[pool].name, q->present ? "set" : "removed");
			else if (next->pools_named || pool)
				pr_info("QUIC-LB config %d of pool %u removed", cr, pool);
			else
				pr_info("QUIC-LB config %d %s", cr, q->present ? "set" : "removed");
			n++;
		}
	}
	if (changes && n)
		json_object_set_new(changes, "configs_changed", json_integer(n));
	return 0;
}

static int sync_global(struct daemon *d, const struct cidlb_conf *next)
{
	struct cidlb_global cur = { 0 }, want;
	int err;

	cidlb_lb_get_global(d->lb, &cur);
	want = cur;
	want.hash_seed = next->seed;
	memcpy(want.src4, next->src4, 4);
	memcpy(want.src6, next->src6, 16);
	want.ttl = next->ttl;
	want.reset_rate = next->reset_rate;
	want.new_flow_rate = next->new_flow_rate;
	want.flow_idle = cidlb_flow_idle_ticks(next->flow_idle_s);
	want.icmp_rate = next->icmp_rate;
	/* the interfaces forward for the FIB lookup: nothing else may cross */
	want.flags |= CIDLB_GF_NO_TRANSIT;
	if (!memcmp(&want, &cur, sizeof(want)))
		return 0;
	err = cidlb_lb_set_global(d->lb, &want);
	if (!err)
		pr_info("global settings written (seed %#x, ttl %u, new_flow_rate %u, flow_idle_timeout %u s, icmp_rate %u)",
			next->seed, next->ttl, next->new_flow_rate, next->flow_idle_s,
			next->icmp_rate);
	return err;
}

static int sync_vips(struct daemon *d, const struct cidlb_conf *next, bool remove, json_t *changes)
{
	int fd = cidlb_lb_map_fd(d->lb, CIDLB_M_VIPS);
	struct cidlb_vip_key k, nk, *prev = NULL;
	int i, err, n = 0;

	if (!remove) {
		for (i = 0; i < next->n_vips; i++) {
			struct cidlb_vip want = { .id = next->vips[i].id,
						  .pool = next->vips[i].pool },
					 cur;

			if (!bpf_map_lookup_elem(fd, &next->vips[i].key, &cur) &&
			    !memcmp(&cur, &want, sizeof(cur)))
				continue;
			err = cidlb_lb_set_vip(d->lb, &next->vips[i].key, &want);
			if (err)
				return err;
			n++;
		}
		if (changes && n)
			json_object_set_new(changes, "vips_set", json_integer(n));
		return 0;
	}
	/* collect first: deleting while walking restarts the walk */
	struct cidlb_vip_key gone[CIDLB_MAX_VIPS];
	int n_gone = 0;

	while (!bpf_map_get_next_key(fd, prev, &nk) && n_gone < CIDLB_MAX_VIPS) {
		bool keep = false;

		k = nk;
		prev = &k;
		for (i = 0; i < next->n_vips && !keep; i++)
			keep = !memcmp(&next->vips[i].key, &k, sizeof(k));
		if (!keep)
			gone[n_gone++] = k;
	}
	for (i = 0; i < n_gone; i++) {
		err = cidlb_lb_del_vip(d->lb, &gone[i]);
		if (err && err != -ENOENT)
			return err;
	}
	if (changes && n_gone)
		json_object_set_new(changes, "vips_removed", json_integer(n_gone));
	return 0;
}

/* Pool @pool's Maglev table over its backends that take new connections. */
static int publish_pool_maglev(struct daemon *d, const struct cidlb_conf *next,
			       const struct plan *plan, uint32_t pool, uint32_t *table,
			       size_t *moved_sum)
{
	struct cidlb_maglev_backend *mb;
	size_t n = 0, moved;
	bool fail_open = health_fail_open(d, next, (int)pool);
	uint32_t *old = d->maglev ? d->maglev[pool] : NULL;
	int i, err;

	if ((int)pool >= next->n_pools && !old)
		return 0; /* never written: no VIP reads it */
	mb = calloc((size_t)next->n_backends + 1, sizeof(*mb));
	if (!mb)
		return -ENOMEM;
	/* health: a down backend gets no new connections, unless every
	 * one of its pool would be down (fail open: all stay) */
	for (i = 0; i < next->n_backends; i++) {
		const struct cidlb_conf_backend *b = &next->backends[i];

		if (b->state != CIDLB_BE_ACTIVE || !b->weight || b->pool != pool)
			continue;
		if (!fail_open && health_of(d, b->name, i) == HEALTH_DOWN)
			continue;
		mb[n].name = b->name;
		mb[n].index = plan[i].index;
		mb[n].weight = b->weight;
		n++;
	}
	err = cidlb_maglev_build(mb, n, next->seed, table);
	free(mb);
	if (err || (old && !memcmp(old, table, CIDLB_MAGLEV_SIZE * sizeof(*table))))
		return err;
	moved = old ? cidlb_maglev_moved(old, table) : CIDLB_MAGLEV_SIZE;
	err = cidlb_lb_publish_pool_maglev(d->lb, pool, table);
	if (err)
		return err;
	if (next->pools_named && (int)pool < next->n_pools && !next->pools[pool].unused)
		pr_info("Maglev table of pool %s published: %zu backends, %zu of %d slots changed",
			next->pools[pool].name, n, moved, CIDLB_MAGLEV_SIZE);
	else
		pr_info("Maglev table published: %zu backends, %zu of %d slots changed", n, moved,
			CIDLB_MAGLEV_SIZE);
	*moved_sum += moved;
	if (!old) {
		old = malloc(CIDLB_MAGLEV_SIZE * sizeof(*table));
		if (!old)
			return 0; /* compared as new next time */
		d->maglev[pool] = old;
	}
	memcpy(old, table, CIDLB_MAGLEV_SIZE * sizeof(*table));
	return 0;
}

static int publish_maglev(struct daemon *d, const struct cidlb_conf *next, const struct plan *plan,
			  json_t *changes)
{
	uint32_t pool, max = cidlb_lb_max_pools(d->lb), *table;
	bool fail_open = false;
	size_t moved = 0;
	int err = 0;

	if (!d->maglev) {
		d->maglev = calloc(max, sizeof(*d->maglev));
		if (!d->maglev)
			return -ENOMEM;
		d->n_maglev = max;
	}
	table = malloc(CIDLB_MAGLEV_SIZE * sizeof(*table));
	if (!table)
		return -ENOMEM;
	for (pool = 0; pool < (uint32_t)next->n_pools; pool++)
		fail_open |= health_fail_open(d, next, (int)pool);
	if (fail_open != d->health_fail_open) {
		d->health_fail_open = fail_open;
		if (fail_open)
			pr_warn("health: every backend of a pool is down: FAILING OPEN, all of that pool stay in its Maglev table and get no stateless resets");
		else
			pr_warn("health: a backend is up again: no pool fails open now");
	}
	for (pool = 0; pool < max && pool < d->n_maglev && !err; pool++)
		err = publish_pool_maglev(d, next, plan, pool, table, &moved);
	free(table);
	if (!err && changes && moved)
		json_object_set_new(changes, "maglev_slots_moved", json_integer((json_int_t)moved));
	return err;
}

/* The down flag of each backend's entry as its health says. */
static int publish_down_flags(struct daemon *d, const struct cidlb_conf *c, const struct plan *plan)
{
	int i, err;

	for (i = 0; i < c->n_backends; i++) {
		struct cidlb_backend cur;
		uint8_t want = backend_flags(d, c, i);

		if (plan[i].index == CIDLB_BACKEND_NONE || read_backend(d, plan[i].index, &cur) ||
		    cur.state == CIDLB_BE_ABSENT || cur.flags == want)
			continue;
		cur.flags = want;
		err = cidlb_lb_set_backend(d->lb, plan[i].index, &cur);
		if (err)
			return err;
		if (want & CIDLB_BE_F_DOWN)
			pr_info("backend %s: down: its CIDs get stateless resets under configs with a reset key",
				c->backends[i].name);
	}
	return 0;
}

int health_publish(struct daemon *d, char *why, size_t why_len)
{
	struct plan *plan = calloc((size_t)d->conf->n_backends + 1, sizeof(*plan));
	int i, err;

	if (!plan)
		return cidlb_why(why, why_len, -ENOMEM, "out of memory for the Maglev table");
	for (i = 0; i < d->conf->n_backends; i++)
		plan[i].index = backend_index(d, d->conf->backends[i].name);
	err = publish_maglev(d, d->conf, plan, NULL);
	if (err) {
		free(plan);
		return cidlb_why(why, why_len, err, "cannot publish the Maglev table: %s",
				 strerror(-err));
	}
	err = publish_down_flags(d, d->conf, plan);
	free(plan);
	if (err)
		return cidlb_why(why, why_len, err, "cannot write a backend's down flag: %s",
				 strerror(-err));
	return 0;
}

/* Index @idx is in the plan? *which gets the backend's position. */
static bool planned(const struct cidlb_conf *next, const struct plan *plan, uint32_t idx,
		    int *which)
{
	int i;

	for (i = 0; i < next->n_backends; i++)
		if (plan[i].index == idx) {
			if (which)
				*which = i;
			return true;
		}
	return false;
}

/* The backends of @next whose entries are absent now (new, or back after
 * a removal): their next hops resolved before step 2 makes them live. */
static void resolve_new(struct daemon *d, const struct cidlb_conf *next, const struct plan *plan)
{
	const struct cidlb_conf_backend **bs = calloc((size_t)next->n_backends + 1, sizeof(*bs));
	int i, n = 0;

	if (!bs)
		return; /* the timer resolves them within a second */
	for (i = 0; i < next->n_backends; i++) {
		struct cidlb_backend cur;

		if (read_backend(d, plan[i].index, &cur) || cur.state == CIDLB_BE_ABSENT ||
		    !same_identity(&cur, &plan[i].val))
			bs[n++] = &next->backends[i];
	}
	if (n)
		neigh_resolve(d, bs, n);
	free(bs);
}

/* Step 4: every live entry not in the plan becomes absent. */
static int retire_indexes(struct daemon *d, const struct cidlb_conf *next, const struct plan *plan,
			  json_t *changes)
{
	int fd = cidlb_lb_map_fd(d->lb, CIDLB_M_BACKENDS);
	int n = 0, err;
	uint32_t idx;

	for (idx = 0; idx < CIDLB_MAX_BACKENDS; idx++) {
		struct cidlb_backend cur;

		if (bpf_map_lookup_elem(fd, &idx, &cur) || cur.state == CIDLB_BE_ABSENT)
			continue;
		if (planned(next, plan, idx, NULL))
			continue;
		cur.state = CIDLB_BE_ABSENT;
		/* its server IDs stay, quarantined (step 5): their CIDs get a
		 * stateless reset where the config has a reset key */
		cur.flags = next->quarantine_s && (owner_of(d, idx) || !d->rolling_back) ?
				    CIDLB_BE_F_DOWN :
				    0;
		err = cidlb_lb_set_backend(d->lb, idx, &cur);
		if (err)
			return err;
		pr_info("backend index %u (%s) is absent now: its CIDs take the fallback route",
			idx, owner_of(d, idx) ? owner_of(d, idx) : "no name");
		n++;
	}
	if (changes && n)
		json_object_set_new(changes, "backends_absent", json_integer(n));
	return 0;
}

/* Step 5: server IDs that no backend of the plan owns: delete, quarantine. */
static int drop_sids(struct daemon *d, const struct cidlb_conf *next, const struct plan *plan,
		     json_t *changes)
{
	int fd = cidlb_lb_map_fd(d->lb, CIDLB_M_SIDS);
	struct cidlb_sid_key k, nk, *prev = NULL, *gone = NULL;
	uint32_t *gone_idx = NULL;
	size_t n_gone = 0, cap = 0, i;
	uint64_t until = boottime_ns() + (uint64_t)next->quarantine_s * 1000000000ULL;
	int err = 0;

	while (!bpf_map_get_next_key(fd, prev, &nk)) {
		uint32_t idx;
		int which = -1;
		bool keep = false;

		k = nk;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &idx))
			continue;
		if (planned(next, plan, idx, &which)) {
			const struct cidlb_conf_backend *b = &next->backends[which];

			keep = b->pool == k.pool &&
			       cidlb_conf_backend_owns_sid(b, k.config_id, k.sid, k.len);
		}
		if (!keep) {
			const struct cidlb_state_q *q =
				quarantined(d, k.pool, k.config_id, k.sid, k.len);

			/* quarantined already: it stays until its quarantine
			 * is over (quarantine_expire) */
			keep = q && q->index == idx;
		}
		if (keep)
			continue;
		if (n_gone == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *a = realloc(gone, nc * sizeof(*gone)), *b;

			if (!a)
				goto nomem;
			gone = a;
			b = realloc(gone_idx, nc * sizeof(*gone_idx));
			if (!b)
				goto nomem;
			gone_idx = b;
			cap = nc;
		}
		gone[n_gone] = k;
		gone_idx[n_gone++] = idx;
	}
	for (i = 0; i < n_gone; i++) {
		struct cidlb_state_q q = { 0 };
		const char *owner = owner_of(d, gone_idx[i]);
		char h[2 * CIDLB_SID_MAX + 1];

		cidlb_hex(gone[i].sid, gone[i].len, h, sizeof(h));
		/* a rollback deletes what the failed change wrote: a server ID
		 * of a backend that never took effect has no old connections
		 * to protect, and a quarantine would refuse the same change
		 * when it is tried again */
		if (!next->quarantine_s || gone[i].len > CIDLB_SID_MAX ||
		    (d->rolling_back && !owner)) {
			err = cidlb_lb_del_sid(d->lb, &gone[i]);
			if (err && err != -ENOENT)
				goto out;
			err = 0;
			pr_info("server ID %u:%s removed (%s)", gone[i].config_id, h,
				d->rolling_back && !owner ?
					"written by the change that failed; no quarantine" :
					"no quarantine");
			continue;
		}
		q.pool = gone[i].pool;
		q.config_id = gone[i].config_id;
		q.len = gone[i].len;
		memcpy(q.sid, gone[i].sid, q.len);
		snprintf(q.owner, sizeof(q.owner), "%s", owner ? owner : "unknown");
		q.index = gone_idx[i];
		q.until_ns = until;
		if (add_quarantine(d, &q))
			goto nomem;
		pr_info("server ID %u:%s of %s removed and quarantined for %u s: its CIDs get stateless resets under a config with a reset key, else take the fallback route",
			q.config_id, h, q.owner, next->quarantine_s);
	}
	if (changes && n_gone)
		json_object_set_new(changes, "server_ids_removed",
				    json_integer((json_int_t)n_gone));
	goto out;
nomem:
	err = -ENOMEM;
out:
	free(gone);
	free(gone_idx);
	return err;
}

/* What steps 2 and 4 wrote, for the JSON summary. */
struct tally {
	int n_new, n_state, n_sids;
};

/*
 * Steps 2 and 4: write the planned backend entries that differ from the
 * map. A live backend turning draining (same identity) waits for step 4
 * (@drains), when the Maglev table no longer sends new flows to it; every
 * other entry is written in step 2.
 */
static int write_backends(struct daemon *d, const struct cidlb_conf *next, const struct plan *plan,
			  bool drains, struct tally *t)
{
	int i, err;

	for (i = 0; i < next->n_backends; i++) {
		const struct plan *p = &plan[i];
		struct cidlb_backend cur;
		bool later;

		read_backend(d, p->index, &cur); /* zeroes (absent) on failure */
		if (!memcmp(&cur, &p->val, sizeof(cur)))
			continue;
		later = cur.state != CIDLB_BE_ABSENT && p->val.state == CIDLB_BE_DRAINING &&
			same_identity(&cur, &p->val);
		if (later != drains)
			continue;
		err = cidlb_lb_set_backend(d->lb, p->index, &p->val);
		if (err)
			return err;
		if (cur.state == CIDLB_BE_ABSENT)
			t->n_new++;
		else
			t->n_state++;
		if (drains)
			pr_info("backend %s: draining (keeps its CIDs and known flows, no new fallback flows)",
				next->backends[i].name);
		else
			pr_info("backend %s: index %u, %s", next->backends[i].name, p->index,
				cidlb_be_state_str(p->val.state));
	}
	return 0;
}

/* Step 2: the server IDs of @next's backends, pointing at their indexes. */
static int write_sids(struct daemon *d, const struct cidlb_conf *next, const struct plan *plan,
		      struct tally *t)
{
	int fd = cidlb_lb_map_fd(d->lb, CIDLB_M_SIDS);
	int i, cr, err;

	for (i = 0; i < next->n_backends; i++) {
		const struct cidlb_conf_backend *b = &next->backends[i];

		for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++) {
			struct cidlb_sid_key k;
			uint32_t cur;

			if (!cidlb_conf_backend_has_sid(b, cr))
				continue;
			sid_key(&k, b->pool, (uint8_t)cr, b->sid[cr], b->sid_len[cr]);
			if (!bpf_map_lookup_elem(fd, &k, &cur) && cur == plan[i].index)
				continue;
			err = cidlb_lb_set_sid(d->lb, &k, plan[i].index);
			if (err)
				return err;
			t->n_sids++;
		}
	}
	return 0;
}

/* ---- step 0: pool numbers ------------------------------------------------- */

/*
 * A pool keeps its number (where its configs, server IDs and Maglev table
 * are in the maps) from one file to the next, by name: against the
 * running configuration, or at a start against the state file. A new pool
 * takes a number no running pool has, else one of a pool that left; a
 * pool that left between others leaves its number unused. Only between
 * files that name their pools: a file that starts naming them numbers
 * them in its order.
 */
static int pools_renumber(struct daemon *d, struct cidlb_conf *next, char *why, size_t why_len)
{
	static const char *names[CIDLB_MAX_POOLS];
	static int map[CIDLB_MAX_POOLS];
	static bool taken[CIDLB_MAX_POOLS];
	uint32_t max = cidlb_lb_max_pools(d->lb);
	struct cidlb_conf_pool *np;
	int i, j, n = 0, n_names = 0;
	bool same = true;

	if (!next->pools_named)
		return 0;
	if (d->conf && d->conf->pools_named) {
		for (i = 0; i < d->conf->n_pools && i < CIDLB_MAX_POOLS; i++)
			names[n_names++] = d->conf->pools[i].unused ? "" : d->conf->pools[i].name;
	} else if (!d->conf) {
		for (i = 0; i < d->st.n_pools && i < CIDLB_MAX_POOLS; i++)
			names[n_names++] = d->st.pools[i];
	}
	if (!n_names)
		return 0;
	memset(taken, 0, sizeof(taken));
	for (i = 0; i < next->n_pools; i++) {
		map[i] = -2; /* a number kept unused: dropped, the others say it */
		if (next->pools[i].unused)
			continue;
		for (j = 0; j < n_names && strcmp(names[j], next->pools[i].name); j++)
			;
		map[i] = j < n_names ? j : -1;
		if (j < n_names)
			taken[j] = true;
	}
	for (i = 0; i < next->n_pools; i++) {
		if (map[i] != -1)
			continue;
		/* a number no pool had, else one of a pool that left */
		for (j = 0; j < CIDLB_MAX_POOLS && (taken[j] || (j < n_names && *names[j])); j++)
			;
		if (j >= (int)max)
			for (j = 0; j < CIDLB_MAX_POOLS && taken[j]; j++)
				;
		if (j >= CIDLB_MAX_POOLS)
			return cidlb_why(why, why_len, -ENOSPC, "more than %d pools",
					 CIDLB_MAX_POOLS);
		map[i] = j;
		taken[j] = true;
	}
	for (i = 0; i < next->n_pools; i++) {
		/* a number kept unused stays so where the running one has it */
		bool unused = i < n_names && names[i][0] == '\0';

		n = map[i] + 1 > n ? map[i] + 1 : n;
		same &= map[i] == i || (map[i] == -2 && unused);
	}
	if (same && n == next->n_pools)
		return 0;
	if ((uint32_t)n > max)
		return cidlb_why(
			why, why_len, -ENOSPC,
			"the pools keep their numbers across changes, and this file needs %d of them, but the running maps hold %u ([lb] max_pools when they were loaded); raising it needs a plain stop and start",
			n, max);
	np = calloc((size_t)n + 1, sizeof(*np));
	if (!np)
		return cidlb_why(why, why_len, -ENOMEM, "out of memory");
	for (j = 0; j < n; j++)
		np[j].unused = true;
	for (i = 0; i < next->n_pools; i++)
		if (map[i] >= 0)
			np[map[i]] = next->pools[i];
	for (i = 0; i < next->n_vips; i++)
		next->vips[i].pool = (uint16_t)map[next->vips[i].pool];
	for (i = 0; i < next->n_backends; i++)
		next->backends[i].pool = (uint16_t)map[next->backends[i].pool];
	explicit_bzero(next->pools, (size_t)next->n_pools * sizeof(*next->pools));
	free(next->pools);
	next->pools = np;
	next->n_pools = n;
	return 0;
}

/* Check @next against what runs and plan its indexes: nothing written. */
static int apply_check(struct daemon *d, const struct cidlb_conf *next, struct plan *plan,
		       char *why, size_t why_len)
{
	uint32_t max = cidlb_lb_max_pools(d->lb);
	int err;

	if ((uint32_t)next->n_pools > max)
		return cidlb_why(
			why, why_len, -ENOSPC,
			"%d pools, but the running maps hold %u ([lb] max_pools when they were loaded); raising it needs a plain stop and start",
			next->n_pools, max);
	err = check_sids(d, next, why, why_len);
	if (!err)
		err = plan_indexes(d, next, plan, why, why_len);
	return err;
}

/* Steps 1 to 5 in order; on a failure *step names the one that failed. */
static int apply_write(struct daemon *d, const struct cidlb_conf *next, const struct plan *plan,
		       json_t *changes, struct tally *t, const char **step)
{
	int err;

	/* 1. configs, global, new VIPs */
	*step = "QUIC-LB configs";
	err = sync_configs(d, next, changes);
	if (err)
		return err;
	*step = "global settings";
	err = sync_global(d, next);
	if (err)
		return err;
	*step = "VIPs";
	err = sync_vips(d, next, false, changes);
	if (err)
		return err;

	/* 2. backends that appear or come back (their next hops resolved
	 * first: no packet reaches them before the kernel knows the way),
	 * and their server IDs */
	*step = "backends";
	resolve_new(d, next, plan);
	err = write_backends(d, next, plan, false, t);
	if (err)
		return err;
	*step = "server IDs";
	err = write_sids(d, next, plan, t);
	if (err)
		return err;

	/* 3. Maglev */
	*step = "Maglev table";
	err = publish_maglev(d, next, plan, changes);
	if (err)
		return err;

	/* 4. draining backends, then every entry that left */
	*step = "backends";
	err = write_backends(d, next, plan, true, t);
	if (!err)
		err = retire_indexes(d, next, plan, changes);
	if (err)
		return err;

	/* 5. server IDs and VIPs nobody has any more */
	*step = "server IDs";
	err = drop_sids(d, next, plan, changes);
	if (err)
		return err;
	*step = "VIPs";
	return sync_vips(d, next, true, changes);
}

/* A backend that came back took its quarantined server IDs (or its
 * reserved index) back: those entries leave the quarantine. */
static void unquarantine_returned(struct daemon *d, const struct cidlb_conf *next)
{
	int j, k = 0;

	for (j = 0; j < d->st.n_q; j++) {
		const struct cidlb_conf_backend *b =
			cidlb_conf_backend_find(next, d->st.q[j].owner);
		const struct cidlb_state_q *q = &d->st.q[j];

		if (b && q->len && b->pool == q->pool &&
		    cidlb_conf_backend_owns_sid(b, q->config_id, q->sid, q->len))
			continue;
		if (b && !q->len && backend_index(d, b->name) == q->index)
			continue;
		d->st.q[k++] = d->st.q[j];
	}
	d->st.n_q = k;
}

/*
 * The maps are written: @next becomes the running configuration, @map
 * (room for its backends, allocated before anything was written, so that
 * this cannot fail) the name -> index mapping.
 */
static void apply_commit(struct daemon *d, struct cidlb_conf *next, const struct plan *plan,
			 struct cidlb_state_be *map, const struct tally *t, json_t *changes)
{
	int i;

	/* the new mapping; indexes of renamed-away backends stay reserved */
	for (i = 0; i < next->n_backends; i++) {
		snprintf(map[i].name, sizeof(map[i].name), "%s", next->backends[i].name);
		map[i].index = plan[i].index;
	}
	for (i = 0; i < d->st.n_be; i++) {
		struct cidlb_state_q q = { .index = d->st.be[i].index };

		/* moved to a new index or removed: reserve the old one */
		if (planned(next, plan, q.index, NULL) || !next->quarantine_s)
			continue;
		q.until_ns = boottime_ns() + (uint64_t)next->quarantine_s * 1000000000ULL;
		snprintf(q.owner, sizeof(q.owner), "%s", d->st.be[i].name);
		if (add_quarantine(d, &q))
			pr_warn("out of memory: index %u is not reserved", q.index);
	}
	free(d->st.be);
	d->st.be = map;
	d->st.n_be = next->n_backends;
	unquarantine_returned(d, next);
	/* the pools' numbers, kept across a restart (pools_renumber) */
	if (next->pools_named) {
		char(*pl)[CIDLB_NAME_MAX + 1] = calloc((size_t)next->n_pools, sizeof(*pl));

		for (i = 0; pl && i < next->n_pools; i++)
			snprintf(pl[i], sizeof(pl[i]), "%s",
				 next->pools[i].unused ? "" : next->pools[i].name);
		if (pl) {
			free(d->st.pools);
			d->st.pools = pl;
			d->st.n_pools = next->n_pools;
		}
	} else {
		free(d->st.pools);
		d->st.pools = NULL;
		d->st.n_pools = 0;
	}
	if (changes) {
		if (t->n_new)
			json_object_set_new(changes, "backends_added", json_integer(t->n_new));
		if (t->n_state)
			json_object_set_new(changes, "backends_changed", json_integer(t->n_state));
		if (t->n_sids)
			json_object_set_new(changes, "server_ids_set", json_integer(t->n_sids));
	}
	if (d->conf != next)
		cidlb_conf_free(d->conf);
	d->conf = next;
	d->conf_gen++;
	save_state(d);
}

/*
 * Writing @step failed with @err: put the running configuration back (the
 * diff against the maps undoes whatever part of @next was written) and
 * say in @why which of the two the maps hold now.
 */
static void apply_rollback(struct daemon *d, const struct cidlb_conf *next, int err,
			   const char *step, char *why, size_t why_len)
{
	if (d->conf && d->conf != next && !d->rolling_back) {
		struct cidlb_conf *back = conf_dup(d->conf);
		char ignored[256];
		int rb = -ENOMEM;

		d->rolling_back = true;
		if (back)
			rb = apply_config(d, back, NULL, ignored, sizeof(ignored));
		d->rolling_back = false;
		if (rb && back)
			cidlb_conf_free(back);
		if (!rb) {
			snprintf(why, why_len,
				 "writing the %s failed: %s; the maps were put back as they were",
				 step, strerror(-err));
			return;
		}
	}
	snprintf(
		why, why_len,
		"writing the %s failed: %s; the maps are partly updated (a reload finishes the change)",
		step, strerror(-err));
}

int apply_config(struct daemon *d, struct cidlb_conf *next, json_t *changes, char *why,
		 size_t why_len)
{
	struct cidlb_state_be *map;
	struct tally t = { 0 };
	const char *step = "planning";
	struct plan *plan;
	int err;

	quarantine_expire(d);
	plan = calloc((size_t)next->n_backends + 1, sizeof(*plan));
	map = calloc((size_t)next->n_backends + 1, sizeof(*map));
	if (!plan || !map) {
		err = -ENOMEM;
		snprintf(why, why_len, "out of memory");
	} else {
		err = pools_renumber(d, next, why, why_len);
		if (!err)
			err = apply_check(d, next, plan, why, why_len);
	}
	if (!err) {
		err = apply_write(d, next, plan, changes, &t, &step);
		if (err)
			apply_rollback(d, next, err, step, why, why_len);
	}
	if (!err) {
		apply_commit(d, next, plan, map, &t, changes);
		map = NULL;
	}
	free(plan);
	free(map);
	return err;
}
