/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * icmp.h - ICMP (RFC 792) and ICMPv6 (RFC 4443) errors addressed to a
 * VIP. With direct server return the backends send from the VIP, so the
 * errors about their packets (unreachable, fragmentation needed / Packet
 * Too Big, time exceeded) come back to the VIP, i.e. to the LB. Each one
 * quotes the packet a backend sent (VIP:port -> client:port): it goes to
 * the backend that owns it, by the server's CID when the quote is a QUIC
 * long header whose SCID is routable (QUIC-LB section 6), else by the
 * quoted flow turned to the client's direction, through the 4-tuple table
 * and Maglev without an insert (docs/design.md).
 */
#ifndef CIDLB_BPF_ICMP_H
#define CIDLB_BPF_ICMP_H

#include "maps.h"
#include "parse.h"
#include "vip.h"
#include "quic.h"
#include "pick.h"
#include "icmp_quote.h"

/* The ICMP error of p, as icmp_error_quote() reads it, about a VIP's
 * packet: 0, or PARSE_NOT_UDP / PARSE_ICMP as it says. */
static __always_inline int icmp_quote(void *data, void *data_end, struct pkt *p,
				      const struct cidlb_global *g, struct icmp_quote *q)
{
	int rc = icmp_error_quote(data, data_end, p, q);

	if (rc)
		return rc;
	return vip_match(&p->flow, g) ? 0 : PARSE_ICMP;
}

/*
 * The backend of the long header's SCID in the quote (the server's own
 * CID, read as a DCID is), from the quoted UDP payload at packet offset
 * off to end; -1: not a long header, SCID cut short or not routable. (A
 * global function of its own would save the verifier a second walk of
 * the CID decoders, 103,494 instructions processed against 75,711, but
 * its stack and the program's add up to more than 512 octets.)
 */
static __always_inline int icmp_pick_scid(struct xdp_md *ctx, __u32 off, __u32 end,
					  const struct cidlb_global *g, __u32 *idx,
					  struct cidlb_counters *cnt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct quic_hdr q = {};
	struct cid_ctx c = {};
	__u32 scid_len;

	if (quic_parse(data, data_end, off, end, &q) || !q.is_long)
		return -1;
	/* after the DCID: the SCID's length octet, then the SCID to hdr_end;
	 * q describes the SCID from here on, as quic_copy_dcid() reads it */
	q.dcid_off += q.dcid_len + 1;
	scid_len = q.hdr_end - q.dcid_off;
	q.dcid_avail = scid_len < CIDLB_CID_MAX ? scid_len : CIDLB_CID_MAX;
	quic_copy_dcid(ctx, &q, &c.key);
	if (cid_classify(&c, q.dcid_avail, g, cnt) != PICK_ROUTED)
		return -1;
	return pick_by_sid(&c, g, idx, cnt);
}

/* The fallback's choice for the flow, without a new entry: the 4-tuple
 * table, else Maglev. An error never opens a flow (a forged one would
 * fill the table). -1 when no backend is live. */
static __always_inline int icmp_pick_flow(const struct cidlb_flow_key *flow,
					  const struct cidlb_global *g, __u32 *idx)
{
	struct cidlb_backend *be;
	struct cidlb_flow *f;
	__u32 slot, *v;

	f = bpf_map_lookup_elem(&cidlb_lru, flow);
	if (f) {
		be = bpf_map_lookup_elem(&cidlb_backends, &f->backend);
		if (backend_live(be)) {
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
	*idx = *v;
	return 0;
}

#endif
