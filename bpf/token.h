/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * token.h - step 5 for an Initial that opens a flow without a routable
 * DCID: the server that issued its token (NEW_TOKEN or Retry) put a CID
 * of a QUIC-LB config first in it (cidlb_token_prefix() of libcidlb), so
 * a client that comes back from another address and port reaches the
 * server holding its session ticket; the 4-tuple entry made here takes
 * the 0-RTT packets of the flow there too. It goes before the 4-tuple
 * table: all Initials of a connection carry the same token. Only configs
 * with CIDLB_CFG_F_TOKEN ([quic-lb N] token_prefix = yes) read tokens:
 * other servers' tokens are random octets, which would name random server
 * IDs. docs/tokens.md has the format and what it gives away.
 */
#ifndef CIDLB_BPF_TOKEN_H
#define CIDLB_BPF_TOKEN_H

#include "pick.h"

/*
 * The token of the Initial q, in the datagram that ends at packet offset
 * end: its Token Length (a variable-length integer, RFC 9000 16) follows
 * the SCID. 0 with *off and *len (> 0) set; 1 when it is empty; -1 when
 * its length field or the token itself ends past the datagram. Tokens of
 * 2^30 octets and more cannot be in a datagram: the 8-octet form is -1.
 */
static __always_inline int quic_token(void *data, void *data_end, const struct quic_hdr *q,
				      __u32 end, __u32 *off, __u32 *len)
{
	__u8 *h = data + (q->hdr_end & PKT_OFF_MASK);
	__u32 n, v;

	if ((void *)(h + 1) > data_end || q->hdr_end + 1 > end)
		return -1;
	n = 1u << (h[0] >> 6);
	v = h[0] & 0x3f;
	if (n == 2) {
		if ((void *)(h + 2) > data_end)
			return -1;
		v = v << 8 | h[1];
	} else if (n == 4) {
		if ((void *)(h + 4) > data_end)
			return -1;
		v = v << 24 | (__u32)h[1] << 16 | (__u32)h[2] << 8 | h[3];
	} else if (n == 8) {
		return -1;
	}
	*off = q->hdr_end + n;
	if (*off > end || v > end - *off)
		return -1;
	if (!v)
		return 1;
	*len = v;
	return 0;
}

/* The config of pool pr of a token prefix (first octet in
 * c->key.cid[0], `avail` octets of token) when it is one that prefixes
 * tokens and the token is long enough for it; the key trimmed to the
 * prefix as cid_classify() trims a DCID. -1 otherwise. */
static __always_inline int token_classify(struct cid_ctx *c, __u32 avail,
					  const struct cidlb_pool_ref *pr)
{
	__u32 cr = c->key.cid[0] >> 5, copy;
	__u64 *w;

	if (cr == CIDLB_CR_UNROUTABLE)
		return -1;
	copy = (__u32)pr->pool * CIDLB_POOL_CONFIGS + 2 * cr + ((pr->config_active >> cr) & 1);
	c->cfg = bpf_map_lookup_elem(&cidlb_configs, &copy);
	if (!c->cfg || c->cfg->mode == CIDLB_MODE_NONE || !(c->cfg->flags & CIDLB_CFG_F_TOKEN) ||
	    1u + c->cfg->pt_len > avail)
		return -1;
	w = (__u64 *)&c->key;
	w[0] = (w[0] & c->cfg->key_mask[0]) | (1u + c->cfg->pt_len);
	w[1] &= c->cfg->key_mask[1];
	w[2] &= c->cfg->key_mask[2];
	c->key.pool = pr->pool;
	c->hash = 0;
	return 0;
}

/*
 * Route an Initial by its token under the configs of its VIP's pool pr:
 * the backend index into *idx, 0 when its prefix names the server ID of
 * an active backend that is not down (a
 * returning client opens a new connection: a draining or down backend
 * takes none); -1 without a token, or, counted in token_unroutable, with
 * one that does not route or ends past the datagram. Token prefixes are decoded without the decode cache:
 * each is new, and a flow's next packets find its 4-tuple entry.
 */
static __always_inline int token_pick(struct xdp_md *ctx, const struct quic_hdr *q, __u32 end,
				      const struct cidlb_global *g, const struct cidlb_pool_ref *pr,
				      __u32 *idx, struct cidlb_counters *cnt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct cidlb_sid_key key __attribute__((aligned(8))) = {};
	const struct cidlb_backend *be;
	struct quic_hdr t = {};
	struct cid_ctx c = {};
	__u32 off = 0, len = 0, i = 0;
	int rc = quic_token(data, data_end, q, end, &off, &len);

	if (rc > 0)
		return -1;
	if (rc < 0)
		goto unroutable;
	/* the token read as quic_copy_dcid() reads a DCID */
	t.dcid_off = off;
	t.dcid_avail = len < CIDLB_CID_MAX ? len : CIDLB_CID_MAX;
	quic_copy_dcid(ctx, &t, &c.key);
	if (token_classify(&c, t.dcid_avail, pr) || cid_decode(&c, g, &key, cnt, NULL) < 0 ||
	    sid_to_backend(&key, g, &i))
		goto unroutable;
	be = bpf_map_lookup_elem(&cidlb_backends, &i);
	if (!be || be->state != CIDLB_BE_ACTIVE || (be->flags & CIDLB_BE_F_DOWN))
		goto unroutable;
	*idx = i;
	return 0;
unroutable:
	cnt->token_unroutable++;
	return -1;
}

/* The 4-tuple entry of a flow routed by its token: made, or moved to its
 * backend, within the rate guard; an entry that already says so is left
 * alone (the flow's later Initials write nothing). */
static __always_inline void flow_record(const struct cidlb_flow_key *flow, __u32 idx,
					const struct cidlb_global *g, struct cidlb_counters *cnt)
{
	struct fcache_ref fc = { .now = flow_tick(bpf_ktime_get_coarse_ns()), .gen = g->flow_gen };
	struct cidlb_flow *f = bpf_map_lookup_elem(&cidlb_lru, flow);

	if (f && f->backend == idx && flow_fresh(f, g, fc.now, cnt))
		return;
	fc.s = fcache_slot(flow);
	flow_insert(flow, idx, g, &fc, cnt);
}

#endif
