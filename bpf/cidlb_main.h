/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cidlb_main.h - the path of one packet (docs/design.md):
 * parse -> match VIP -> QUIC header -> CID -> pick backend -> forward.
 * cidlb_handle() is the whole program as one inline function, so that the
 * benchmark harness can wrap it; bpf/cidlb.bpf.c is the XDP entry point.
 * Every packet moves exactly one verdict counter (pass_*, drop_*, tx,
 * redirect) of struct cidlb_counters.
 */
#ifndef CIDLB_BPF_MAIN_H
#define CIDLB_BPF_MAIN_H

#include "maps.h"
#include "parse.h"
#include "vip.h"
#include "quic.h"
#include "pick.h"
#include "token.h"
#include "encap.h"
#include "transit.h"
#include "reset.h"
#include "icmp.h"

static __always_inline struct cidlb_counters *counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cidlb_counters, &zero);
}

/* Count the parse verdicts that end in XDP_PASS. */
static __always_inline int pass_verdict(int rc, struct cidlb_counters *cnt)
{
	switch (rc) {
	case PARSE_NOT_IP:
		cnt->pass_not_ip++;
		break;
	case PARSE_NOT_UDP:
		cnt->pass_not_udp++;
		break;
	case PARSE_FRAG_TAIL:
		cnt->pass_frag_tail++;
		break;
	case PARSE_ICMP:
		cnt->pass_icmp++;
		break;
	default:
		cnt->pass_bad_l3++;
	}
	return XDP_PASS;
}

static __always_inline int quic_drop_verdict(int rc, struct cidlb_counters *cnt)
{
	if (rc == QUIC_VERSION_NEG)
		cnt->drop_version_neg++;
	else if (rc == QUIC_CID_TOO_LONG)
		cnt->drop_cid_too_long++;
	else
		cnt->drop_truncated++;
	return XDP_DROP;
}

static __always_inline void count_kind(__u8 kind, struct cidlb_counters *cnt)
{
	switch (kind) {
	case QUIC_SHORT:
		cnt->quic_short++;
		break;
	case QUIC_INITIAL:
		cnt->quic_initial++;
		break;
	case QUIC_0RTT:
		cnt->quic_0rtt++;
		break;
	case QUIC_HANDSHAKE:
		cnt->quic_handshake++;
		break;
	case QUIC_RETRY:
		cnt->quic_retry++;
		break;
	default:
		cnt->quic_unknown_version++;
	}
}

/* The UDP length field must cover its header and stay inside the IP
 * packet; when it does, it is kept in p->udp_len: the datagram ends there,
 * not at the end of the frame (Ethernet pads short frames to 60 octets). */
static __always_inline int udp_len_ok(void *data, void *data_end, struct pkt *p)
{
	struct udphdr *udp = data + (p->l4_off & PKT_OFF_MASK);
	__u32 ulen;

	if ((void *)(udp + 1) > data_end)
		return 0;
	ulen = bpf_ntohs(udp->len);
	if (ulen < sizeof(*udp) || p->l4_off - p->l2_len + ulen > p->ip_len)
		return 0;
	p->udp_len = ulen;
	return 1;
}

/* The next-hop counters of a frame sent: nothing to add in the
 * configured-MAC mode, where both are 0 (no writes there). */
static __always_inline void count_next_hop(const struct next_hop *nh, struct cidlb_counters *cnt)
{
	if (nh->cached | nh->hit) {
		cnt->nh_cached += nh->cached;
		cnt->fib_cached += nh->hit;
	}
}

/* Step 6: send the packet to backend idx, whose entry be is when the
 * caller has it (NULL: looked up here). */
static __always_inline int forward(struct xdp_md *ctx, const struct pkt *p, __u32 idx,
				   const struct cidlb_backend *be, const struct cidlb_global *g,
				   struct cidlb_counters *cnt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct cidlb_backend_stats *st;
	struct next_hop nh = {};
	int rc;

	if (!be)
		be = bpf_map_lookup_elem(&cidlb_backends, &idx);
	if (!be) {
		cnt->drop_encap++;
		return XDP_DROP;
	}
	st = bpf_map_lookup_elem(&cidlb_be_stats, &idx);
	if (st) {
		st->packets++;
		st->bytes += data_end - data;
	}
	if (be->fwd_mode == CIDLB_FWD_DIRECT) {
		struct ethhdr *eth = data;

		if ((void *)(eth + 1) > data_end) {
			cnt->drop_encap++;
			return XDP_DROP;
		}
		mac_copy(eth->h_source, eth->h_dest);
		mac_copy(eth->h_dest, be->mac);
		cnt->tx++;
		return XDP_TX;
	}
	rc = encap(ctx, p, be, idx, g, &nh);
	if (rc == FWD_MTU) {
		/* a client's datagram is answered, never an ICMP error */
		if (p->udp_len)
			return cidlb_too_big(ctx, p->l2_len, nh.mtu);
		cnt->drop_mtu++;
		return XDP_DROP;
	}
	if (rc == FWD_NO_ROUTE) {
		cnt->drop_no_route++;
		return XDP_DROP;
	}
	if (rc == FWD_NO_NEIGH) {
		cnt->drop_no_neigh++;
		return XDP_DROP;
	}
	if (rc) {
		cnt->drop_encap++;
		return XDP_DROP;
	}
	if (!nh.ifindex) {
		count_next_hop(&nh, cnt);
		cnt->tx++;
		return XDP_TX;
	}
	rc = bpf_redirect_map(&cidlb_tx_ports, nh.ifindex, XDP_DROP);
	if (rc != XDP_REDIRECT) {
		cnt->drop_no_port++;
		return XDP_DROP;
	}
	count_next_hop(&nh, cnt);
	cnt->redirect++;
	return XDP_REDIRECT;
}

/*
 * Steps 3 to 6 for a packet that parsing found addressed to a VIP, with
 * the counters and settings that cidlb_handle() looked up. Inline: a
 * global function (verified once for any packet layout) cost 3-5 ns per
 * packet for the call and a second lookup of both, and the verifier does
 * no more work without it (44,689 instructions processed as a global
 * function, 43,143 inline, when it was changed).
 */
static __always_inline int cidlb_quic_path(struct xdp_md *ctx, const struct pkt *p,
					   const struct cidlb_global *g, struct cidlb_counters *cnt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct quic_hdr q = {};
	struct cid_ctx c; /* all of it written before it is read: the key by
			   * quic_copy_dcid(), cfg and hash by cid_classify() */
	const struct cidlb_backend *be;
	struct fcache_ref fc;
	__u32 idx;
	int rc;

	/* 3. quic */
	rc = quic_parse(data, data_end, p->l4_off + sizeof(struct udphdr), p->l4_off + p->udp_len,
			&q);
	if (rc)
		return quic_drop_verdict(rc, cnt);
	count_kind(q.kind, cnt);

	/* 4. cid, 5. pick */
	quic_copy_dcid(ctx, &q, &c.key);
	rc = cid_classify(&c, q.dcid_avail, q.is_long ? q.dcid_len : 0, g, &p->pool, cnt);
	if (cid_retired(&c, g, cnt)) {
		cnt->drop_retired++;
		return XDP_DROP;
	}
	if (rc == PICK_ROUTED) {
		rc = pick_by_sid(&c, g, &idx, &be, cnt);
		if (rc > SID_LIVE && q.kind == QUIC_SHORT) {
			int v = reset_send(ctx, p, &c, g, cnt);

			if (v >= 0) {
				cnt->route_cid++;
				return v;
			}
		}
		if (rc == SID_LIVE || rc == SID_DOWN) {
			cnt->route_cid++;
			return forward(ctx, p, idx, be, g, cnt);
		}
		cnt->unroutable_sid++;
	}
	rc = flow_admit(p, &q);
	if (rc == FLOW_DROP) {
		cnt->drop_small_initial++;
		return XDP_DROP;
	}
	/* an Initial's token first: every Initial of a connection carries
	 * the same one, and its 4-tuple entry (made or moved here) takes the
	 * 0-RTT packets, which have none; an entry a reused 4-tuple left
	 * behind does not outweigh it */
	if (rc == FLOW_INSERT && q.kind == QUIC_INITIAL && (g->flags & CIDLB_GF_TOKEN) &&
	    !token_pick(ctx, &q, p->l4_off + p->udp_len, g, &p->pool, &idx, cnt)) {
		cnt->route_token++;
		flow_record(&p->flow, idx, g, cnt);
	} else if (flow_lookup(&p->flow, rc, g, &p->pool, &idx, &fc, cnt) &&
		   flow_place(&p->flow, rc, g, &p->pool, &idx, &fc, cnt)) {
		cnt->drop_no_backend++;
		return XDP_DROP;
	}
	/* 6. forward */
	return forward(ctx, p, idx, NULL, g, cnt);
}

/*
 * An ICMP or ICMPv6 packet (bpf/icmp.h): an error about a VIP's packet
 * goes to the backend that sent it, by the quoted SCID, else by the
 * quoted flow (p->flow becomes it). Returns the verdict, or the parse
 * code of a packet to pass as before: PARSE_NOT_UDP (not an error routed
 * here: echo, ...) or PARSE_ICMP (an error about something else, or cut
 * short).
 */
static __always_inline int cidlb_icmp_path(struct xdp_md *ctx, struct pkt *p,
					   const struct cidlb_global *g, struct cidlb_counters *cnt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct icmp_quote q = {};
	__s64 vip;
	__u32 idx;

	vip = icmp_quote(data, data_end, p, g, &q);
	if (vip < (__s64)VIP_MATCH)
		return (int)vip;
	p->pool = vip_pool((__u64)vip);
	if (!icmp_pick_scid(ctx, q.udp_off + sizeof(struct udphdr), q.end, g, &p->pool, &idx,
			    cnt)) {
		cnt->route_icmp_cid++;
	} else if (!icmp_pick_flow(&p->flow, g, &p->pool, &idx)) {
		cnt->route_icmp_flow++;
	} else {
		cnt->drop_no_backend++;
		return XDP_DROP;
	}
	return forward(ctx, p, idx, NULL, g, cnt);
}

static __always_inline int cidlb_handle(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct cidlb_counters *cnt = counters();
	const struct cidlb_global *g;
	struct pkt p = {};
	__u32 zero = 0;
	__u64 vip;
	int rc;

	if (!cnt)
		return XDP_ABORTED;
	cnt->rx_packets++;

	g = bpf_map_lookup_elem(&cidlb_global, &zero);
	if (!g)
		return XDP_ABORTED;

	/* 1. parse */
	rc = parse_packet(data, data_end, &p);
	if (rc == PARSE_ICMP) {
		rc = cidlb_icmp_path(ctx, &p, g, cnt);
		if (rc >= 0)
			return rc;
	}
	if (rc) {
		if (rc != PARSE_NOT_IP && pass_not_local(ctx, p.l2_len, g)) {
			cnt->drop_not_local++;
			return XDP_DROP;
		}
		return pass_verdict(rc, cnt);
	}

	/* 2. match */
	vip = vip_match(&p.flow, g);
	if (!vip) {
		if (pass_not_local(ctx, p.l2_len, g)) {
			cnt->drop_not_local++;
			return XDP_DROP;
		}
		cnt->pass_not_vip++;
		return XDP_PASS;
	}
	if (p.first_frag) {
		cnt->drop_fragment++;
		return XDP_DROP;
	}
	if (!udp_len_ok(data, data_end, &p)) {
		cnt->drop_bad_udp++;
		return XDP_DROP;
	}
	p.pool = vip_pool(vip);
	return cidlb_quic_path(ctx, &p, g, cnt);
}

#endif
