/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pick.h - steps 4 and 5: from the DCID to a backend.
 * QUIC-LB draft-21 section 4 (docs/quic-lb.md):
 * a DCID is routable when its config ID names a config held here, it is
 * long enough for that config, and its server ID belongs to a live
 * backend. Everything else takes the baseline fallback (an Initial whose
 * token routes it first, bpf/token.h): the 4-tuple LRU table
 * (flow_lookup()), then the Maglev table on a seeded hash of the 4-tuple
 * (flow_place()); only an Initial or 0-RTT packet of 1200 octets adds to
 * the table (flow_admit()).
 */
#ifndef CIDLB_BPF_PICK_H
#define CIDLB_BPF_PICK_H

#include "maps.h"
#include "quic.h"
#include "cidlb_hash.h"
#include "cid_crypto.h"
#include "rate.h"

enum pick_result {
	PICK_ROUTED = 0, /* server ID -> live backend */
	PICK_CR7,
	PICK_NO_CONFIG,
	PICK_SHORT_CID,
	PICK_BAD_LEN, /* len_self_encode: the length octet disagrees */
	PICK_NO_SID,
};

struct cid_ctx {
	/* The DCID's identifying octets (zero past key.len): the key of the
	 * retired-CID map and of the decode cache, and the decoder's input. */
	struct cidlb_cid_key key __attribute__((aligned(8)));
	const struct cidlb_config *cfg; /* NULL when unroutable by config */
	__u64 hash;			/* cidlb_cid_hashes(&key), where it is
					 * read: retired CIDs held, or an AES
					 * config (decode cache); else 0 */
};

static __always_inline int backend_live(const struct cidlb_backend *be)
{
	return be && (be->state == CIDLB_BE_ACTIVE || be->state == CIDLB_BE_DRAINING);
}

/* Keep the first len octets of the CID, zero the rest. */
static __always_inline void cid_key_trim(struct cidlb_cid_key *k, __u32 len)
{
	key24_trim(k, 1 + len, len);
}

/* Classify the DCID (in c->key.cid, `avail` octets, then whatever
 * followed it) by its first octet under the configs of pool pr and trim
 * the key to the octets that identify it: 1 + plaintext_len under a
 * config held here, else the self-encoded length, never more than
 * `avail`; the key names the pool. cid_len: the CID's length where the
 * header says it (a long header's DCID or SCID Length), 0 in a short
 * header; a config with len_self_encode (CIDLB_CFG_F_LEN_CHECK) takes
 * only CIDs whose self-encoded length covers its octets and equals it. */
static __always_inline int cid_classify(struct cid_ctx *c, __u32 avail, __u32 cid_len,
					const struct cidlb_global *g,
					const struct cidlb_pool_ref *pr, struct cidlb_counters *cnt)
{
	__u8 first = avail ? c->key.cid[0] : 0; /* an empty DCID reads as 0 */
	__u32 cr = first >> 5;
	__u32 self = (first & 0x1f) + 1, len = self, need, copy;
	int rc = PICK_ROUTED;
	__u64 *w;

	if (len > avail)
		len = avail;
	c->cfg = NULL;
	if (cr == CIDLB_CR_UNROUTABLE) {
		cnt->unroutable_cr7++;
		rc = PICK_CR7;
		goto out;
	}
	copy = (__u32)pr->pool * CIDLB_POOL_CONFIGS + 2 * cr + ((pr->config_active >> cr) & 1);
	c->cfg = bpf_map_lookup_elem(&cidlb_configs, &copy);
	if (!c->cfg || c->cfg->mode == CIDLB_MODE_NONE) {
		c->cfg = NULL;
		cnt->unroutable_config++;
		rc = PICK_NO_CONFIG;
		goto out;
	}
	need = 1 + c->cfg->pt_len;
	if (need > avail || need > CIDLB_CID_MAX) {
		c->cfg = NULL;
		cnt->unroutable_short_cid++;
		rc = PICK_SHORT_CID;
		goto out;
	}
	if ((c->cfg->flags & CIDLB_CFG_F_LEN_CHECK) &&
	    (self < need || (cid_len && self != cid_len))) {
		c->cfg = NULL;
		cnt->unroutable_len++;
		rc = PICK_BAD_LEN;
		goto out;
	}
	/* trimmed to 1 + pt_len octets by the config's masks */
	w = (__u64 *)&c->key;
	w[0] = (w[0] & c->cfg->key_mask[0]) | need;
	w[1] &= c->cfg->key_mask[1];
	w[2] &= c->cfg->key_mask[2];
	goto hash;
out:
	cid_key_trim(&c->key, len);
hash:
	c->key.pool = pr->pool;
	/* a plaintext CID with no retired CIDs held never reads its hash */
	c->hash = 0;
	if ((g->flags & CIDLB_GF_RETIRED) || (c->cfg && c->cfg->mode != CIDLB_MODE_PLAINTEXT))
		c->hash = cidlb_cid_hashes(&c->key);
	return rc;
}

/* Is one of the CID's three bits clear in its block of the retired-CID
 * filter? (Not when the block is unreadable.) One cache line. */
static __always_inline int rhint_clear(const struct cid_ctx *c, __u32 mask)
{
	__u32 b = (__u32)c->hash & mask, hi = (__u32)(c->hash >> 32), p0, p1, p2;
	const struct cidlb_rhint_block *blk = bpf_map_lookup_elem(&cidlb_retired_hint, &b);

	if (!blk)
		return 0;
	p0 = cidlb_rhint_bit(hi, 0);
	p1 = cidlb_rhint_bit(hi, 1);
	p2 = cidlb_rhint_bit(hi, 2);
	return !((blk->w[p0 >> 6] >> (p0 & 63)) & (blk->w[p1 >> 6] >> (p1 & 63)) &
		 (blk->w[p2 >> 6] >> (p2 & 63)) & 1);
}

/* An exact match in the retired-CID map whose expiry is still ahead: not
 * looked up while the map is empty, nor when one of the CID's three bits
 * in the filter is clear. An entry past its expiry no longer drops,
 * whether or not the daemon has swept it yet: the clock is read only
 * for a CID found in the map. */
static __always_inline int cid_retired(const struct cid_ctx *c, const struct cidlb_global *g,
				       struct cidlb_counters *cnt)
{
	const struct cidlb_retired *r;
	__u32 mask = g->rhint_mask;

	if (!(g->flags & CIDLB_GF_RETIRED) || !c->key.len)
		return 0;
	if (mask && rhint_clear(c, mask))
		return 0;
	r = bpf_map_lookup_elem(&cidlb_retired, &c->key);
	if (!r)
		return 0;
	if (r->expires_ns > bpf_ktime_get_boot_ns())
		return 1;
	cnt->retired_past_ttl++;
	return 0;
}

/* The decode cache slot of a CID key (the map's size is a power of 2). */
static __always_inline struct cidlb_dcache_slot *dcache_slot(const struct cid_ctx *c,
							     const struct cidlb_global *g)
{
	__u32 i = (__u32)c->hash & g->dcache_mask;

	return bpf_map_lookup_elem(&cidlb_dcache, &i);
}

static __always_inline int cid_key_eq(const struct cidlb_cid_key *a, const struct cidlb_cid_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]));
}

/* Config ID, length and server ID between a decode cache slot and a
 * server-ID key: they lie at octet 28 of the slot as at octet 0 of the
 * key, so the first 16 octets move as four words, the last one alone
 * (9 instructions each way, where octet-wise copies took 18 and 36). */
static __always_inline void sid_words_copy(void *to, const void *from)
{
	const __u32 *f = from;
	__u32 *t = to;

	t[0] = f[0];
	t[1] = f[1];
	t[2] = f[2];
	t[3] = f[3];
	((__u8 *)to)[16] = ((const __u8 *)from)[16];
}
_Static_assert(__builtin_offsetof(struct cidlb_dcache_slot, config_id) % 4 == 0 &&
		       __builtin_offsetof(struct cidlb_dcache_slot, sid) ==
			       __builtin_offsetof(struct cidlb_dcache_slot, config_id) + 2 &&
		       __builtin_offsetof(struct cidlb_dcache_slot, sid_len) ==
			       __builtin_offsetof(struct cidlb_dcache_slot, config_id) + 1 &&
		       __builtin_offsetof(struct cidlb_sid_key, len) == 1 &&
		       __builtin_offsetof(struct cidlb_sid_key, sid) == 2 && CIDLB_SID_MAX == 15,
	       "sid_words_copy() moves config ID, length and server ID as words");

/* A hit must come from the same CID, config ID and generation, so no
 * entry outlives a change of its config. */
static __always_inline int dcache_get(const struct cid_ctx *c, const struct cidlb_dcache_slot *s,
				      struct cidlb_sid_key *key, struct cidlb_counters *cnt)
{
	if (s && s->generation == c->cfg->generation && s->config_id == key->config_id &&
	    cid_key_eq(&s->cid, &c->key)) {
		/* config ID and length are the key's own after a hit (same
		 * config, same generation) */
		sid_words_copy(key, &s->config_id);
		cnt->dcache_hit++;
		return 0;
	}
	cnt->dcache_miss++;
	return -1;
}

static __always_inline void dcache_put(const struct cid_ctx *c, struct cidlb_dcache_slot *s,
				       const struct cidlb_sid_key *key)
{
	const __u64 *from = (const __u64 *)&c->key;
	__u64 *to;

	if (!s)
		return;
	to = (__u64 *)&s->cid;
	/* the CID key as the three words cid_key_eq() reads (a per-CPU
	 * array's values are 8-aligned, and the CID key starts the slot) */
	to[0] = from[0];
	to[1] = from[1];
	to[2] = from[2];
	s->generation = c->cfg->generation;
	sid_words_copy(&s->config_id, key);
}
_Static_assert(__builtin_offsetof(struct cidlb_dcache_slot, cid) == 0 &&
		       sizeof(struct cidlb_dcache_slot) % 8 == 0 &&
		       sizeof(struct cidlb_cid_key) == 24,
	       "dcache_put() writes the CID key as three 8-octet words");

/* The AES decoders, behind the decode cache unless the config opts out
 * or put is NULL (token prefixes: bpf/token.h): 0 decoded, 1 found in
 * the cache, -1 not decodable. After a miss, *put is the slot the decode
 * may go into: the caller writes it only once the server ID has proved
 * to be a live backend's (pick_by_sid), so that made-up CIDs do not evict
 * real clients' entries. */
static __always_inline int cid_decrypt(const struct cid_ctx *c, const struct cidlb_global *g,
				       struct cidlb_sid_key *key, struct cidlb_counters *cnt,
				       struct cidlb_dcache_slot **put)
{
	const struct cidlb_config *cfg = c->cfg;
	struct cidlb_dcache_slot *s;

	if (put && !(cfg->flags & CIDLB_CFG_F_NO_DCACHE)) {
		s = dcache_slot(c, g);
		if (!dcache_get(c, s, key, cnt))
			return 1;
		*put = s;
	}
	if (cfg->mode == CIDLB_MODE_SINGLE_PASS) {
		cnt->cid_single_pass++;
		return cid_decode_single_pass(cfg, &c->key, key->sid);
	}
	cnt->cid_four_pass++;
	return cid_decode_four_pass(cfg, &c->key, key->sid);
}

/* Server ID of a routable DCID into key->sid, by the config's mode: 0, or
 * 1 when the decode cache had it, or -1; *put as cid_decrypt() says. */
static __always_inline int cid_decode(const struct cid_ctx *c, const struct cidlb_global *g,
				      struct cidlb_sid_key *key, struct cidlb_counters *cnt,
				      struct cidlb_dcache_slot **put)
{
	const struct cidlb_config *cfg = c->cfg;

	key->config_id = c->key.cid[0] >> 5;
	key->len = cfg->sid_len;
	key->pool = c->key.pool;
	if (cfg->mode == CIDLB_MODE_PLAINTEXT) {
		/* The server ID follows the first octet: key.cid[1..] sits at
		 * octet 2 of struct cidlb_cid_key, as sid[] does in struct
		 * cidlb_sid_key, so it moves word by word. */
		const __u32 *cw = (const __u32 *)&c->key;
		__u32 *kw = (__u32 *)key;

		cnt->cid_plaintext++;
		kw[0] = (cw[0] & 0xffff0000) | key->config_id | ((__u32)key->len << 8);
		kw[0] &= cfg->sid_mask[0];
		kw[1] = cw[1] & cfg->sid_mask[1];
		kw[2] = cw[2] & cfg->sid_mask[2];
		kw[3] = cw[3] & cfg->sid_mask[3];
		kw[4] = cw[4] & cfg->sid_mask[4];
		key->pool = c->key.pool;
		return 0;
	}
	if (cfg->mode == CIDLB_MODE_SINGLE_PASS || cfg->mode == CIDLB_MODE_FOUR_PASS)
		return cid_decrypt(c, g, key, cnt, put);
	return -1;
}

/* Look for entry key `want` in one bucket of cidlb_sid_table. */
static __always_inline int sid_bucket_find(__u32 b, __u64 want, __u32 *idx)
{
	const struct cidlb_sid_bucket *bk = bpf_map_lookup_elem(&cidlb_sid_table, &b);
	int j;

	if (!bk)
		return -1;
#pragma unroll
	for (j = 0; j < 4; j++) {
		__u64 e = bk->e[j];

		if ((e & CIDLB_SID_E_KEY) == want) {
			*idx = (__u32)(e >> CIDLB_SID_E_IDX_SHIFT);
			return 0;
		}
	}
	return -1;
}

/* The backend index of a server ID: from cidlb_sid_table when the server
 * ID is short enough to be there, else (or after a miss while some short
 * server IDs spilled out of it) from the cidlb_sids hash map. */
static __always_inline int sid_to_backend(const struct cidlb_sid_key *key,
					  const struct cidlb_global *g, __u32 *idx)
{
	__u32 *v, mask = g->sid_mask;

	if (key->len <= CIDLB_SID_SHORT && mask) {
		__u64 want = cidlb_sid_entry(key);
		__u64 b = cidlb_sid_buckets(want, mask);

		if (!sid_bucket_find((__u32)b, want, idx) ||
		    !sid_bucket_find((__u32)(b >> 32), want, idx))
			return 0;
		if (!(g->flags & CIDLB_GF_SID_SPILL))
			return -1;
	}
	v = bpf_map_lookup_elem(&cidlb_sids, key);
	if (!v)
		return -1;
	*idx = *v;
	return 0;
}

enum sid_result {
	SID_NONE = -1, /* no live backend owns it: the fallback */
	SID_LIVE = 0,  /* *idx: a live backend */
	SID_DOWN = 1,  /* *idx: a live backend that is down, reset key */
	SID_GONE = 2,  /* a removed backend's quarantined server ID, reset
			 * key: a reset, else the fallback */
};

/* Backend index owning the routable DCID into *idx, enum sid_result: a
 * short header of SID_DOWN or SID_GONE gets a stateless reset from the
 * LB (bpf/reset.h). */
static __always_inline int pick_by_sid(const struct cid_ctx *c, const struct cidlb_global *g,
				       __u32 *idx, const struct cidlb_backend **bep,
				       struct cidlb_counters *cnt)
{
	struct cidlb_sid_key key __attribute__((aligned(8))) = {};
	struct cidlb_dcache_slot *put = NULL;
	/* the config's counters by the CID's first octet, known before the
	 * decode: read from the key a decode-cache hit wrote, their index
	 * waited for the cache slot (a sixth of a hit's samples). Looked up
	 * after the decode: a pointer live across it doubled the verifier's
	 * states (237,014 instructions processed became 374,343). */
	__u32 cr = (__u32)c->key.pool * 8 + (c->key.cid[0] >> 5), i = 0;
	struct cidlb_config_stats *cs;
	struct cidlb_backend *be;
	int rc = cid_decode(c, g, &key, cnt, &put);

	if (rc < 0)
		return -1;
	cs = bpf_map_lookup_elem(&cidlb_cfg_stats, &cr);
	if (cs) {
		cs->decodes++;
		if (rc) /* 1: from the decode cache */
			cs->dcache_hits++;
	}
	be = sid_to_backend(&key, g, &i) ? NULL : bpf_map_lookup_elem(&cidlb_backends, &i);
	if (!backend_live(be)) {
		if (cs)
			cs->no_backend++;
		if (be && (be->flags & CIDLB_BE_F_DOWN) && (c->cfg->flags & CIDLB_CFG_F_RESET))
			return SID_GONE;
		return SID_NONE;
	}
	if (put) /* decoded now, a live backend's: worth caching */
		dcache_put(c, put, &key);
	*idx = i;
	*bep = be;
	if ((be->flags & CIDLB_BE_F_DOWN) && (c->cfg->flags & CIDLB_CFG_F_RESET))
		return SID_DOWN;
	return SID_LIVE;
}

/* Load the backend's statistics line now, beside its entry, where the
 * forward step will count the packet: with many backends both lines are
 * cold, and two loads issued together cost one wait, not two (the LRU
 * insert in between would wait for each in turn). */
static __always_inline void be_stats_touch(__u32 idx)
{
	struct cidlb_backend_stats *st = bpf_map_lookup_elem(&cidlb_be_stats, &idx);

	if (st)
		asm volatile("" : : "r"(*(volatile __u64 *)&st->packets));
}

/* What a packet without a routable CID may do to the 4-tuple table. */
enum flow_admit {
	FLOW_DROP = -1,	 /* an Initial under CIDLB_MIN_INITIAL octets */
	FLOW_LOOKUP = 0, /* may not open a connection: look up, never insert */
	FLOW_INSERT = 1, /* may open one: look up, insert on a miss */
};

/* Only Initial and 0-RTT packets open connections, and a client pads
 * every datagram that carries an Initial to 1200 octets of UDP payload
 * (RFC 9000 14.1): a server must discard an Initial in a smaller one, so
 * it is dropped here. A 0-RTT packet may come in a smaller datagram after
 * the first: it looks up, as does everything else. */
static __always_inline int flow_admit(const struct pkt *p, const struct quic_hdr *q)
{
	int big = p->udp_len >= sizeof(struct udphdr) + CIDLB_MIN_INITIAL;

	if (q->kind == QUIC_INITIAL)
		return big ? FLOW_INSERT : FLOW_DROP;
	return q->kind == QUIC_0RTT && big ? FLOW_INSERT : FLOW_LOOKUP;
}

/* The tick of a time of bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC_COARSE:
 * a few loads, no clock source read). */
static __always_inline __u32 flow_tick(__u64 now_ns)
{
	return (__u32)(now_ns >> CIDLB_FLOW_TICK_SHIFT);
}

/* An LRU entry still in use at tick now: idle no longer than flow_idle
 * ticks. Its time moves on at most once a tick, so the packets of a flow
 * do not write its entry (a cache line shared by every CPU) each time. A
 * time ahead of this CPU's (another CPU wrote it as the tick turned) is
 * now. */
static __always_inline int flow_fresh(struct cidlb_flow *f, const struct cidlb_global *g, __u32 now,
				      struct cidlb_counters *cnt)
{
	__s32 age;

	if (!g->flow_idle)
		return 1;
	age = (__s32)(now - f->seen);
	if (age > (__s32)g->flow_idle) {
		cnt->lru_idle++;
		return 0;
	}
	if (age > 0)
		f->seen = now;
	return 1;
}

/* What flow_lookup() found out for the steps after it: this CPU's cache
 * slot of the flow, the tick and the generation (cidlb_global.flow_gen)
 * it read. The generation is read once, before cidlb_lru: a slot written
 * from an entry read across a change of cidlb_lru then carries the old
 * generation and is not used (lb.c moves flow_gen after the change). */
struct fcache_ref {
	struct cidlb_fcache_slot *s;
	__u32 now;
	__u32 gen;
};

/* This CPU's 4-tuple cache slot of a flow (include/cidlb_maps.h). */
static __always_inline struct cidlb_fcache_slot *fcache_slot(const struct cidlb_flow_key *flow)
{
	__u32 i = cidlb_flow_label(flow) & (CIDLB_FCACHE_SLOTS - 1);

	return bpf_map_lookup_elem(&cidlb_fcache, &i);
}

static __always_inline int flow_key_eq(const struct cidlb_flow_key *a,
				       const struct cidlb_flow_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]));
}

/* Does the slot hold the flow, written in this generation and tick? */
static __always_inline int fcache_holds(const struct cidlb_flow_key *flow,
					const struct fcache_ref *fc)
{
	const struct cidlb_fcache_slot *s = fc->s;

	return s && s->tick == fc->now && s->gen == fc->gen && flow_key_eq(&s->key, flow);
}

/* Write through: the flow's entry in cidlb_lru names backend, as of fc's
 * tick and generation. */
static __always_inline void fcache_put(const struct fcache_ref *fc,
				       const struct cidlb_flow_key *flow, __u32 backend)
{
	struct cidlb_fcache_slot *s = fc->s;

	if (!s)
		return;
	__builtin_memcpy(&s->key, flow, sizeof(s->key));
	s->backend = backend;
	s->gen = fc->gen;
	s->tick = fc->now;
}

/* Record the Maglev choice for a packet that may open a connection,
 * within the rate guard, in cidlb_lru and this CPU's 4-tuple cache (fc:
 * its slot, and the tick, of flow_lookup()). */
static __always_inline void flow_insert(const struct cidlb_flow_key *flow, __u32 backend,
					const struct cidlb_global *g, const struct fcache_ref *fc,
					struct cidlb_counters *cnt)
{
	struct cidlb_flow nf = { .backend = backend, .seen = fc->now };

	if (g->new_flow_rate && !rate_take(CIDLB_RATE_FLOW, g->new_flow_rate)) {
		cnt->lru_rate_limited++;
		return;
	}
	if (!bpf_map_update_elem(&cidlb_lru, flow, &nf, BPF_ANY))
		fcache_put(fc, flow, backend);
}

/* Is be live and of pool pr? (A 4-tuple entry made before its VIP moved
 * to another pool names a backend of the old one.) */
static __always_inline int backend_live_in(const struct cidlb_backend *be,
					   const struct cidlb_pool_ref *pr)
{
	return backend_live(be) && be->pool == pr->pool;
}

/* The Maglev table of pool pr's backend for a flow into *idx: 0, or -1
 * when its slot is empty or its backend not live. */
static __always_inline int maglev_pick(const struct cidlb_flow_key *flow,
				       const struct cidlb_global *g,
				       const struct cidlb_pool_ref *pr, __u32 *idx)
{
	__u32 slot = cidlb_maglev_slot(flow, g->hash_seed), *v;
	struct cidlb_backend *be;

	slot += ((__u32)pr->pool * 2 + (pr->maglev_active & 1)) * CIDLB_MAGLEV_SIZE;
	v = bpf_map_lookup_elem(&cidlb_maglev, &slot);
	if (!v || *v == CIDLB_BACKEND_NONE)
		return -1;
	be_stats_touch(*v);
	be = bpf_map_lookup_elem(&cidlb_backends, v);
	if (!backend_live_in(be, pr))
		return -1;
	*idx = *v;
	return 0;
}

/* May a packet follow a 4-tuple entry to be? A flow stays with its
 * backend while it is live and of the VIP's pool pr, also while it is
 * down (its handshake may still finish there); but a packet that may open
 * a connection does not follow it to a down backend: Maglev places it. */
static __always_inline int flow_usable(const struct cidlb_backend *be,
				       const struct cidlb_pool_ref *pr, int admit)
{
	return backend_live_in(be, pr) && !(admit == FLOW_INSERT && (be->flags & CIDLB_BE_F_DOWN));
}

/* Baseline fallback, first half: the 4-tuple table's entry, when its
 * backend is usable and it is not idle; this CPU's 4-tuple cache first.
 * 0 with *idx set, else -1.
 *
 * The cache gives what cidlb_lru would: a slot holds a backend that this
 * CPU read from or wrote into cidlb_lru for the flow in the current tick
 * (2^30 ns) and generation (cidlb_global.flow_gen, moved by lb.c on any
 * write of the global settings and whenever userspace may have changed
 * an entry), and its backend is checked as an entry's is, so backend
 * state, pool and removal are seen at once. Not seen until the tick
 * turns: an entry that another CPU changed (a token moving a flow that
 * this CPU also carries, a flow placed anew on another CPU) or that the
 * kernel evicted from cidlb_lru. At most once a tick per flow and CPU
 * the packet reads cidlb_lru again, which moves the entry's time on for
 * flow_idle_timeout and keeps it recently used for the LRU. */
static __always_inline int flow_lookup(const struct cidlb_flow_key *flow, int admit,
				       const struct cidlb_global *g,
				       const struct cidlb_pool_ref *pr, __u32 *idx,
				       struct fcache_ref *fc, struct cidlb_counters *cnt)
{
	struct cidlb_backend *be;
	struct cidlb_flow *f;

	fc->s = fcache_slot(flow);
	fc->now = flow_tick(bpf_ktime_get_coarse_ns());
	fc->gen = g->flow_gen;
	if (fcache_holds(flow, fc)) {
		be = bpf_map_lookup_elem(&cidlb_backends, &fc->s->backend);
		if (flow_usable(be, pr, admit)) {
			cnt->route_lru++;
			cnt->route_lru_cached++;
			*idx = fc->s->backend;
			return 0;
		}
	}
	f = bpf_map_lookup_elem(&cidlb_lru, flow);
	if (f) {
		be = bpf_map_lookup_elem(&cidlb_backends, &f->backend);
		if (flow_usable(be, pr, admit) && flow_fresh(f, g, fc->now, cnt)) {
			cnt->route_lru++;
			*idx = f->backend;
			fcache_put(fc, flow, *idx);
			return 0;
		}
	}
	return -1;
}

/* Second half: pr's Maglev table, recorded in the table when `admit`
 * (enum flow_admit) allows it. 0 with *idx set, or -1 when no backend is
 * live. */
static __always_inline int flow_place(const struct cidlb_flow_key *flow, int admit,
				      const struct cidlb_global *g, const struct cidlb_pool_ref *pr,
				      __u32 *idx, const struct fcache_ref *fc,
				      struct cidlb_counters *cnt)
{
	if (maglev_pick(flow, g, pr, idx))
		return -1;
	if (admit == FLOW_INSERT)
		flow_insert(flow, *idx, g, fc, cnt);
	else
		cnt->lru_no_admit++;
	cnt->route_maglev++;
	return 0;
}

#endif
