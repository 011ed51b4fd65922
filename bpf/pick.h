/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pick.h - steps 4 and 5: from the DCID to a backend.
 * QUIC-LB draft-21 section 4 (shared/quic-lb-spec.md sections 2 and 4):
 * a DCID is routable when its config ID names a config held here, it is
 * long enough for that config, and its server ID belongs to a live
 * backend. Everything else takes the baseline fallback: the 4-tuple LRU
 * table, then the Maglev table on a seeded hash of the 4-tuple.
 */
#ifndef CIDLB_BPF_PICK_H
#define CIDLB_BPF_PICK_H

#include "maps.h"
#include "quic.h"
#include "cidlb_hash.h"
#if __has_include("cid_crypto.h")
#include "cid_crypto.h"
#else
static __always_inline int cid_decode_single_pass(const struct cidlb_config *cfg,
						  const __u8 *cid, __u8 *sid) { return -1; }
static __always_inline int cid_decode_four_pass(const struct cidlb_config *cfg,
						const __u8 *cid, __u8 *sid) { return -1; }
#endif

enum pick_result {
	PICK_ROUTED = 0,	/* server ID -> live backend */
	PICK_CR7,
	PICK_NO_CONFIG,
	PICK_SHORT_CID,
	PICK_NO_SID,
};

struct cid_ctx {
	__u8  cid[CIDLB_CID_MAX];	/* DCID octets, zero past dcid_avail */
	__u32 sig_len;			/* octets that identify the CID */
	const struct cidlb_config *cfg;	/* NULL when unroutable by config */
};

static __always_inline int backend_live(const struct cidlb_backend *be)
{
	return be && (be->state == CIDLB_BE_ACTIVE || be->state == CIDLB_BE_DRAINING);
}

/* Classify the DCID by its first octet and decide how many of its octets
 * identify it (the retired-CID key): 1 + plaintext_len under a config held
 * here, else the self-encoded length. */
static __always_inline int cid_classify(struct cid_ctx *c, __u32 avail,
					struct cidlb_counters *cnt)
{
	__u32 cr = c->cid[0] >> 5;
	__u32 need;

	c->cfg = NULL;
	c->sig_len = (c->cid[0] & 0x1f) + 1;
	if (c->sig_len > avail)
		c->sig_len = avail;
	if (cr == CIDLB_CR_UNROUTABLE) {
		cnt->unroutable_cr7++;
		return PICK_CR7;
	}
	c->cfg = bpf_map_lookup_elem(&cidlb_configs, &cr);
	if (!c->cfg || c->cfg->mode == CIDLB_MODE_NONE) {
		c->cfg = NULL;
		cnt->unroutable_config++;
		return PICK_NO_CONFIG;
	}
	need = 1 + c->cfg->pt_len;
	if (need > avail || need > CIDLB_CID_MAX) {
		c->cfg = NULL;
		cnt->unroutable_short_cid++;
		return PICK_SHORT_CID;
	}
	c->sig_len = need;
	return PICK_ROUTED;
}

/* An exact match in the retired-CID map. */
static __always_inline int cid_retired(const struct cid_ctx *c)
{
	struct cidlb_cid_key key = { .len = c->sig_len };
	__u32 i;

#pragma unroll
	for (i = 0; i < CIDLB_CID_MAX; i++)
		key.cid[i] = i < c->sig_len ? c->cid[i] : 0;
	return bpf_map_lookup_elem(&cidlb_retired, &key) != NULL;
}

/* Server ID of a routable DCID into key->sid, by the config's mode. */
static __always_inline int cid_decode(const struct cid_ctx *c, struct cidlb_sid_key *key,
				      struct cidlb_counters *cnt)
{
	const struct cidlb_config *cfg = c->cfg;
	__u32 i;

	key->config_id = c->cid[0] >> 5;
	key->len = cfg->sid_len;
	switch (cfg->mode) {
	case CIDLB_MODE_PLAINTEXT:
		cnt->cid_plaintext++;
#pragma unroll
		for (i = 0; i < CIDLB_SID_MAX; i++)
			key->sid[i] = i < cfg->sid_len ? c->cid[1 + i] : 0;
		return 0;
	case CIDLB_MODE_SINGLE_PASS:
		cnt->cid_single_pass++;
		return cid_decode_single_pass(cfg, c->cid, key->sid);
	case CIDLB_MODE_FOUR_PASS:
		cnt->cid_four_pass++;
		return cid_decode_four_pass(cfg, c->cid, key->sid);
	}
	return -1;
}

/* Backend index owning the routable DCID, or -1. */
static __always_inline int pick_by_sid(const struct cid_ctx *c, __u32 *idx,
				       struct cidlb_counters *cnt)
{
	struct cidlb_sid_key key = {};
	struct cidlb_backend *be;
	__u32 *v;

	if (cid_decode(c, &key, cnt))
		return -1;
	v = bpf_map_lookup_elem(&cidlb_sids, &key);
	if (!v)
		return -1;
	be = bpf_map_lookup_elem(&cidlb_backends, v);
	if (!backend_live(be))
		return -1;
	*idx = *v;
	return 0;
}

/* Baseline fallback: the 4-tuple table, else Maglev (recorded in the
 * table). Returns 0 with *idx set, or -1 when no backend is live. */
static __always_inline int pick_fallback(const struct cidlb_flow_key *flow,
					 const struct cidlb_global *g, __u32 *idx,
					 struct cidlb_counters *cnt)
{
	struct cidlb_flow *f, nf = {};
	struct cidlb_backend *be;
	__u32 slot, *v;

	f = bpf_map_lookup_elem(&cidlb_lru, flow);
	if (f) {
		be = bpf_map_lookup_elem(&cidlb_backends, &f->backend);
		if (backend_live(be)) {
			cnt->route_lru++;
			*idx = f->backend;
			return 0;
		}
	}
	slot = cidlb_maglev_slot(flow, g->hash_seed);
	if (g->maglev_active)
		slot += CIDLB_MAGLEV_SIZE;
	v = bpf_map_lookup_elem(&cidlb_maglev, &slot);
	if (!v || *v == CIDLB_BACKEND_NONE)
		return -1;
	be = bpf_map_lookup_elem(&cidlb_backends, v);
	if (!backend_live(be))
		return -1;
	nf.backend = *v;
	bpf_map_update_elem(&cidlb_lru, flow, &nf, BPF_ANY);
	cnt->route_maglev++;
	*idx = *v;
	return 0;
}

#endif
