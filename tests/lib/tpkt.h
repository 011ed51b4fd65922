/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* tpkt.h - build test packets: Ethernet (+VLAN) / IPv4|IPv6 / UDP / QUIC. */
#ifndef CIDLB_TESTS_TPKT_H
#define CIDLB_TESTS_TPKT_H

#include <stddef.h>
#include <stdint.h>

#define TPKT_MAX 2048

struct tpkt_spec {
	int family;	       /* 4 or 6 */
	const char *src, *dst; /* addresses in text */
	uint16_t sport, dport;
	int vlans;   /* 0, 1 (802.1Q) or 2 (802.1ad + 802.1Q); 3 for "too many" */
	int ip_opts; /* IPv4 option octets (multiple of 4, <= 40) */
	int frag;    /* 1: first fragment (MF), 2: later fragment */
	int proto;   /* 0: UDP; else this IP protocol, no L4 header built */
	uint8_t tos;
	/* IPv6 extension headers before the fragment header of `frag`, 8
	 * octets each, by protocol number: 0 hop-by-hop, 60 destination
	 * options (a PadN option), 43 routing (type 253, segments left 0),
	 * 44 fragment (offset 0, M=0: an atomic fragment) */
	const uint8_t *ext6;
	int ext6_n;
	const uint8_t *payload; /* UDP payload */
	size_t payload_len;
};

extern const uint8_t tpkt_client_mac[6], tpkt_lb_mac[6];

/* Build the frame into buf (TPKT_MAX); returns its length. */
size_t tpkt_build(const struct tpkt_spec *s, uint8_t *buf);

/* QUIC payloads; `total` pads with zeros to that length (0: no padding).
 * Return the payload length. */
size_t tquic_short(uint8_t *out, uint8_t first, const uint8_t *cid, size_t cid_len, size_t total);
size_t tquic_long(uint8_t *out, uint8_t first, uint32_t version, const uint8_t *dcid,
		  uint8_t dcid_len, const uint8_t *scid, uint8_t scid_len, size_t total);

/* Offsets of the L3 header after the L2 header of a built frame. */
size_t tpkt_l2_len(const struct tpkt_spec *s);

/* What cidlb does to a frame it forwards, for tpkt_expect(). */
struct tpkt_outer {
	int family;		    /* outer header 4 (IPIP, IPv6 in IPv4) or 6 (IP6IP6,
				 * IPv4 in IPv6); 0: direct mode, MACs rewritten only */
	const char *src, *dst;	    /* outer addresses in text */
	const uint8_t *dmac, *smac; /* the Ethernet addresses written */
	uint8_t ttl;		    /* outer TTL / hop limit */
	uint16_t gue_port;	    /* not 0: GUE, UDP to this port (host order) */
};

/*
 * The frame cidlb sends for the received frame `in` (l2_len octets of
 * Ethernet and VLAN tags): the L2 header with o's MACs and, unless direct
 * mode, the outer EtherType, then the outer header as the data path writes
 * it (IPv4: TOS copied from the inner packet, ID 0, DF, checksum; IPv6:
 * traffic class copied, flow label from tpkt_flow_label()), with
 * gue_port the UDP header (source port tpkt_gue_sport(), checksum 0) and
 * GUE header (version 0, protocol 4 or 41) after it, then the
 * received frame from its IP header on, any Ethernet padding included.
 * Returns the length written into out (TPKT_MAX).
 */
size_t tpkt_expect(const struct tpkt_outer *o, const uint8_t *in, size_t inlen, size_t l2_len,
		   uint8_t *out);

/* The outer IPv6 flow label cidlb writes for this frame:
 * cidlb_flow_label() of the inner addresses and UDP ports, 20 bits. */
uint32_t tpkt_flow_label(const uint8_t *in, size_t inlen, size_t l2_len);

/* The outer UDP source port of GUE for this frame: cidlb_gue_sport() of
 * the inner addresses and UDP ports, host byte order. */
uint16_t tpkt_gue_sport(const uint8_t *in, size_t inlen, size_t l2_len);

/* First offset where two frames differ (the shorter length if one is a
 * prefix of the other), or -1 if they are equal. */
long tpkt_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

int tpkt_addr(int family, const char *text, uint8_t addr[16]);
size_t thex(const char *hex, uint8_t *out, size_t cap); /* hex -> bytes */
uint16_t tcsum(const void *p, size_t len);		/* Internet checksum */

#endif
