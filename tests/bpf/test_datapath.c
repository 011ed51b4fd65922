// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_datapath.c - the real cidlb.bpf.o through BPF_PROG_TEST_RUN: a
 * table of packets, each with the verdict, the counter it must move and
 * the backend it must reach; every output frame is compared whole with
 * the one expected (tpkt_expect(): outer headers around the client's
 * packet, or the received frame untouched).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tlb.h"
#include "cidlb_hash.h"

/* The fixture's backends: index = position. */
static const struct {
	const char *addr;
	int mode, state;
	const char *sid; /* config 0, 3 octets */
} backends[] = {
	{ "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE, "010203" },
	{ "fd00:3::11", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE, "0a0b0c" },
	{ "198.18.3.12", CIDLB_FWD_DIRECT, CIDLB_BE_ACTIVE, "112233" },
	{ "198.18.3.13", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_DRAINING, "445566" },
	{ "198.18.3.14", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ABSENT, "778899" },
	{ "198.18.3.15", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE, "" }, /* fallback only */
};
#define NBE	    (int)(sizeof(backends) / sizeof(backends[0]))
#define FALLBACK_BE 5
#define RETIRED_CID "07010203deadbeef"
#define NEVER	    (~0ULL) /* expiry of a CID retired for good */

#define CNT(f) offsetof(struct cidlb_counters, f)
#define NONE   ((size_t)-1)

struct dp_case {
	const char *name;
	int family;	 /* 4 (default) or 6 */
	const char *dst; /* default: the VIP */
	uint16_t dport;	 /* default: 443 */
	int vlans, ip_opts, frag, proto;
	const char *quic; /* UDP payload in hex */
	size_t pad_to;	  /* pad the payload to this length */
	int bad_udp_len;
	const char *eth_pad; /* hex octets after the IP packet (Ethernet padding) */
	int udp_len_add;     /* added to the UDP length field */
	const uint8_t *ext6; /* IPv6 extension headers (tpkt_spec.ext6) */
	int ext6_n;
	int ext6_hlen; /* if set: Hdr Ext Len of the first one */
	int verdict;
	size_t verdict_cnt; /* offset of the verdict counter */
	size_t path_cnt;    /* another counter that must move, or NONE */
	int backend;	    /* -1: not forwarded */
};

#define EXT6(...) \
	.ext6 = (const uint8_t[]){ __VA_ARGS__ }, .ext6_n = sizeof((const uint8_t[]){ __VA_ARGS__ })
#define CID_BE1 "070a0b0ca1a2a3a4"

/* Long header CIDs: 07 010203 a1a2a3a4 is config 0, server ID 010203. */
#define CID_BE0 "07010203a1a2a3a4"
#define LONG_V1(first) \
	first "00000001" \
	      "08" CID_BE0 "00"

static const struct dp_case cases[] = {
	/* QUIC header forms and versions, all routed by CID to backend 0 */
	{ "short, fixed bit set", .quic = "41" CID_BE0, .pad_to = 40, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(quic_short), .backend = 0 },
	{ "short, fixed bit greased", .quic = "01" CID_BE0, .pad_to = 40, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid), .backend = 0 },
	{ "v1 Initial", .quic = LONG_V1("c0"), .pad_to = 1200, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(quic_initial), .backend = 0 },
	{ "v1 0-RTT", .quic = LONG_V1("d0"), .pad_to = 100, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(quic_0rtt), .backend = 0 },
	{ "v1 Handshake", .quic = LONG_V1("e0"), .pad_to = 100, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(quic_handshake), .backend = 0 },
	{ "v1 Retry", .quic = LONG_V1("f0"), .pad_to = 100, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(quic_retry), .backend = 0 },
	{ "v1 Initial, fixed bit greased", .quic = LONG_V1("80"), .pad_to = 1200, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(quic_initial), .backend = 0 },
	{ "v2 Initial",
	  .quic = "d0"
		  "6b3343cf"
		  "08" CID_BE0 "00",
	  .pad_to = 1200, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(quic_initial),
	  .backend = 0 },
	{ "v2 0-RTT",
	  .quic = "e0"
		  "6b3343cf"
		  "08" CID_BE0 "00",
	  .pad_to = 100, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(quic_0rtt),
	  .backend = 0 },
	{ "v2 Handshake",
	  .quic = "f0"
		  "6b3343cf"
		  "08" CID_BE0 "00",
	  .pad_to = 100, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(quic_handshake),
	  .backend = 0 },
	{ "v2 Retry",
	  .quic = "c0"
		  "6b3343cf"
		  "08" CID_BE0 "00",
	  .pad_to = 100, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(quic_retry),
	  .backend = 0 },
	{ "unknown version",
	  .quic = "c0"
		  "1a2a3a4a"
		  "08" CID_BE0 "00",
	  .pad_to = 1200, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(quic_unknown_version), .backend = 0 },
	{ "unknown version, DCID of 21",
	  .quic = "c0"
		  "1a2a3a4a"
		  "15" CID_BE0 "0000000000000000000000000000"
		  "00",
	  .pad_to = 100, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid),
	  .backend = 0 },
	{ "DCID longer than the config needs",
	  .quic = "c0"
		  "00000001"
		  "0a" CID_BE0 "eeee"
		  "00",
	  .pad_to = 1200, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid),
	  .backend = 0 },
	/* layers */
	{ "one VLAN tag", .vlans = 1, .quic = "41" CID_BE0, .pad_to = 40, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid), .backend = 0 },
	{ "two VLAN tags (802.1ad)", .vlans = 2, .quic = "41" CID_BE0, .pad_to = 40,
	  .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid), .backend = 0 },
	{ "three VLAN tags", .vlans = 3, .quic = "41" CID_BE0, .pad_to = 40, .verdict = XDP_PASS,
	  .verdict_cnt = CNT(pass_not_ip), .path_cnt = NONE, .backend = -1 },
	{ "IPv4 with options", .ip_opts = 12, .quic = "41" CID_BE0, .pad_to = 40, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid), .backend = 0 },
	{ "IPv6, IPv4 backend (IPv6 in IPv4)", .family = 6, .quic = "41" CID_BE0, .pad_to = 40,
	  .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid), .backend = 0 },
	{ "IPv6, IPv6 backend (IP6IP6)", .family = 6,
	  .quic = "41"
		  "070a0b0ca1a2a3a4",
	  .pad_to = 40, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid),
	  .backend = 1 },
	{ "IPv4, IPv6 backend (IPv4 in IPv6)",
	  .quic = "41"
		  "070a0b0ca1a2a3a4",
	  .pad_to = 40, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid),
	  .backend = 1 },
	{ "IPv6 with VLAN", .family = 6, .vlans = 2,
	  .quic = "41"
		  "070a0b0ca1a2a3a4",
	  .pad_to = 40, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid),
	  .backend = 1 },
	{ "direct mode backend",
	  .quic = "41"
		  "07112233a1a2a3a4",
	  .pad_to = 40, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid),
	  .backend = 2 },
	/* IPv6 extension headers: up to four are walked */
	{ "IPv6, hop-by-hop options", .family = 6, EXT6(0), .quic = "41" CID_BE1, .pad_to = 40,
	  .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid), .backend = 1 },
	{ "IPv6, destination options", .family = 6, EXT6(60), .quic = "41" CID_BE0, .pad_to = 40,
	  .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid), .backend = 0 },
	{ "IPv6, routing header", .family = 6, EXT6(43), .quic = "41" CID_BE1, .pad_to = 40,
	  .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid), .backend = 1 },
	{ "IPv6, hop-by-hop options over two VLAN tags", .family = 6, .vlans = 2, EXT6(0),
	  .quic = LONG_V1("c0"), .pad_to = 1200, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(quic_initial), .backend = 0 },
	{ "IPv6, four: hop-by-hop, destination, routing, destination", .family = 6,
	  EXT6(0, 60, 43, 60), .quic = "41" CID_BE1, .pad_to = 40, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid), .backend = 1 },
	{ "IPv6, three and a first fragment's header", .family = 6, EXT6(0, 60, 43), .frag = 1,
	  .quic = "41" CID_BE0, .pad_to = 40, .verdict = XDP_DROP,
	  .verdict_cnt = CNT(drop_fragment), .path_cnt = NONE, .backend = -1 },
	{ "IPv6, three and a later fragment's header", .family = 6, EXT6(0, 60, 43), .frag = 2,
	  .quic = "41" CID_BE0, .pad_to = 40, .verdict = XDP_PASS,
	  .verdict_cnt = CNT(pass_frag_tail), .path_cnt = NONE, .backend = -1 },
	/* RFC 8200 4.5, RFC 6946: offset 0 and M=0 is a whole datagram */
	{ "IPv6, atomic fragment", .family = 6, EXT6(44), .quic = "41" CID_BE1, .pad_to = 40,
	  .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid), .backend = 1 },
	{ "IPv6, four with an atomic fragment", .family = 6, EXT6(0, 60, 44, 43),
	  .quic = "41" CID_BE0, .pad_to = 40, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(route_cid), .backend = 0 },
	{ "IPv6, five: one too many", .family = 6, EXT6(0, 60, 43, 60, 60), .quic = "41" CID_BE0,
	  .pad_to = 40, .verdict = XDP_PASS, .verdict_cnt = CNT(pass_not_udp), .path_cnt = NONE,
	  .backend = -1 },
	{ "IPv6, four and a fragment header: one too many", .family = 6, EXT6(0, 60, 43, 60),
	  .frag = 1, .quic = "41" CID_BE0, .pad_to = 40, .verdict = XDP_PASS,
	  .verdict_cnt = CNT(pass_not_udp), .path_cnt = NONE, .backend = -1 },
	{ "IPv6, hop-by-hop options past the end of the frame", .family = 6, EXT6(0),
	  .ext6_hlen = 20, .quic = "41" CID_BE0, .pad_to = 40, .verdict = XDP_PASS,
	  .verdict_cnt = CNT(pass_bad_l3), .path_cnt = NONE, .backend = -1 },
	{ "IPv6, second header cut by the end of the frame", .family = 6, EXT6(60, 0),
	  .ext6_hlen = 2, .quic = "41", .verdict = XDP_PASS, .verdict_cnt = CNT(pass_bad_l3),
	  .path_cnt = NONE, .backend = -1 },
	/* the IP packet (its UDP header included) ends inside the destination
	 * options, which claim 24 octets; the Ethernet padding holds their
	 * rest and a UDP header to the VIP, neither part of the packet */
	{ "IPv6, destination options past the IP packet", .family = 6, EXT6(60), .ext6_hlen = 2,
	  .quic = "",
	  .eth_pad = "0000000000000000"
		     "c35001bb00090000"
		     "41",
	  .verdict = XDP_PASS, .verdict_cnt = CNT(pass_bad_l3), .path_cnt = NONE, .backend = -1 },
	{ "IPv6, second header past the IP packet", .family = 6, EXT6(60, 0), .ext6_hlen = 2,
	  .quic = "",
	  .eth_pad = "1100010400000000"
		     "c35001bb00090000"
		     "41",
	  .verdict = XDP_PASS, .verdict_cnt = CNT(pass_bad_l3), .path_cnt = NONE, .backend = -1 },
	/* not for us */
	{ "not a VIP address", .dst = "198.18.1.2", .quic = "41" CID_BE0, .pad_to = 40,
	  .verdict = XDP_PASS, .verdict_cnt = CNT(pass_not_vip), .path_cnt = NONE, .backend = -1 },
	{ "not a VIP port", .dport = 444, .quic = "41" CID_BE0, .pad_to = 40, .verdict = XDP_PASS,
	  .verdict_cnt = CNT(pass_not_vip), .path_cnt = NONE, .backend = -1 },
	{ "IPv6 not a VIP", .family = 6, .dst = "fd00:1::2", .quic = "41" CID_BE0, .pad_to = 40,
	  .verdict = XDP_PASS, .verdict_cnt = CNT(pass_not_vip), .path_cnt = NONE, .backend = -1 },
	{ "TCP to the VIP", .proto = 6, .quic = "01bb01bb0000000000000000500200000000",
	  .pad_to = 20, .verdict = XDP_PASS, .verdict_cnt = CNT(pass_not_udp), .path_cnt = NONE,
	  .backend = -1 },
	{ "IPv6 ICMP to the VIP", .family = 6, .proto = 58, .quic = "80000000", .pad_to = 8,
	  .verdict = XDP_PASS, .verdict_cnt = CNT(pass_not_udp), .path_cnt = NONE, .backend = -1 },
	{ "ICMP cut inside its header", .proto = 1, .quic = "0304", .eth_pad = "0000000000000000",
	  .verdict = XDP_PASS, .verdict_cnt = CNT(pass_not_udp), .path_cnt = NONE, .backend = -1 },
	{ "IPv4 first fragment", .frag = 1, .quic = "41" CID_BE0, .pad_to = 40, .verdict = XDP_DROP,
	  .verdict_cnt = CNT(drop_fragment), .path_cnt = NONE, .backend = -1 },
	{ "IPv4 later fragment", .frag = 2, .quic = "41" CID_BE0, .pad_to = 40, .verdict = XDP_PASS,
	  .verdict_cnt = CNT(pass_frag_tail), .path_cnt = NONE, .backend = -1 },
	{ "IPv6 first fragment", .family = 6, .frag = 1, .quic = "41" CID_BE0, .pad_to = 40,
	  .verdict = XDP_DROP, .verdict_cnt = CNT(drop_fragment), .path_cnt = NONE, .backend = -1 },
	{ "IPv6 later fragment", .family = 6, .frag = 2, .quic = "41" CID_BE0, .pad_to = 40,
	  .verdict = XDP_PASS, .verdict_cnt = CNT(pass_frag_tail), .path_cnt = NONE,
	  .backend = -1 },
	{ "UDP length past the IP packet", .bad_udp_len = 1, .quic = "41" CID_BE0, .pad_to = 40,
	  .verdict = XDP_DROP, .verdict_cnt = CNT(drop_bad_udp), .path_cnt = NONE, .backend = -1 },
	/* malformed QUIC */
	{ "Version Negotiation",
	  .quic = "80"
		  "00000000"
		  "08" CID_BE0 "00"
		  "00000001",
	  .pad_to = 0, .verdict = XDP_DROP, .verdict_cnt = CNT(drop_version_neg), .path_cnt = NONE,
	  .backend = -1 },
	{ "v1 DCID length 21",
	  .quic = "c0"
		  "00000001"
		  "15" CID_BE0 "0000000000000000000000000000"
		  "00",
	  .pad_to = 1200, .verdict = XDP_DROP, .verdict_cnt = CNT(drop_cid_too_long),
	  .path_cnt = NONE, .backend = -1 },
	{ "v2 SCID length 21",
	  .quic = "d0"
		  "6b3343cf"
		  "08" CID_BE0 "15",
	  .pad_to = 1200, .verdict = XDP_DROP, .verdict_cnt = CNT(drop_cid_too_long),
	  .path_cnt = NONE, .backend = -1 },
	{ "empty UDP payload", .quic = "", .pad_to = 0, .verdict = XDP_DROP,
	  .verdict_cnt = CNT(drop_truncated), .path_cnt = NONE, .backend = -1 },
	{ "short header, first octet only", .quic = "41", .pad_to = 0, .verdict = XDP_DROP,
	  .verdict_cnt = CNT(drop_truncated), .path_cnt = NONE, .backend = -1 },
	{ "long header cut in the version", .quic = "c0000000", .pad_to = 0, .verdict = XDP_DROP,
	  .verdict_cnt = CNT(drop_truncated), .path_cnt = NONE, .backend = -1 },
	{ "long header cut before DCID length", .quic = "c000000001", .pad_to = 0,
	  .verdict = XDP_DROP, .verdict_cnt = CNT(drop_truncated), .path_cnt = NONE,
	  .backend = -1 },
	{ "long header cut in the DCID", .quic = "c00000000108070102", .pad_to = 0,
	  .verdict = XDP_DROP, .verdict_cnt = CNT(drop_truncated), .path_cnt = NONE,
	  .backend = -1 },
	{ "long header cut before SCID length", .quic = "c00000000108" CID_BE0, .pad_to = 0,
	  .verdict = XDP_DROP, .verdict_cnt = CNT(drop_truncated), .path_cnt = NONE,
	  .backend = -1 },
	{ "long header cut in the SCID", .quic = "c00000000108" CID_BE0 "04aabb", .pad_to = 0,
	  .verdict = XDP_DROP, .verdict_cnt = CNT(drop_truncated), .path_cnt = NONE,
	  .backend = -1 },
	/* unroutable: fallback to backend FALLBACK_BE (the only Maglev backend) */
	{ "config ID 7",
	  .quic = "41"
		  "e7010203a1a2a3a4",
	  .pad_to = 40, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(unroutable_cr7),
	  .backend = FALLBACK_BE },
	{ "config ID 7, one octet",
	  .quic = "c0"
		  "00000001"
		  "01"
		  "ff"
		  "00",
	  .pad_to = 1200, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(unroutable_cr7), .backend = FALLBACK_BE },
	{ "unknown config ID",
	  .quic = "41"
		  "67010203a1a2a3a4",
	  .pad_to = 40, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(unroutable_config), .backend = FALLBACK_BE },
	{ "long header DCID too short for config",
	  .quic = "c0"
		  "00000001"
		  "05"
		  "0701020304"
		  "00",
	  .pad_to = 1200, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(unroutable_short_cid), .backend = FALLBACK_BE },
	{ "short header datagram too short for config",
	  .quic = "41"
		  "070102",
	  .pad_to = 0, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(unroutable_short_cid), .backend = FALLBACK_BE },
	/* Ethernet pads a frame to 60 octets: the padding (here the rest of
	 * a routable CID) is not part of the datagram */
	{ "short header, CID octets only in the Ethernet padding",
	  .quic = "41"
		  "070102",
	  .eth_pad = "03a1a2a3a4"
		     "000000000000000000",
	  .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(unroutable_short_cid),
	  .backend = FALLBACK_BE },
	{ "long header, SCID octets only in the Ethernet padding",
	  .quic = "c0"
		  "00000001"
		  "08" CID_BE0 "03aa",
	  .eth_pad = "bbcc", .verdict = XDP_DROP, .verdict_cnt = CNT(drop_truncated),
	  .path_cnt = NONE, .backend = -1 },
	{ "UDP length over the padding, past the IP packet",
	  .quic = "41"
		  "070102",
	  .eth_pad = "03a1a2a3a4"
		     "000000000000000000",
	  .udp_len_add = 16, .verdict = XDP_DROP, .verdict_cnt = CNT(drop_bad_udp),
	  .path_cnt = NONE, .backend = -1 },
	{ "zero-length DCID",
	  .quic = "c0"
		  "00000001"
		  "00"
		  "00",
	  .pad_to = 1200, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(unroutable_short_cid), .backend = FALLBACK_BE },
	{ "unknown server ID",
	  .quic = "41"
		  "07fefefea1a2a3a4",
	  .pad_to = 40, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(unroutable_sid),
	  .backend = FALLBACK_BE },
	{ "server ID of an absent backend",
	  .quic = "41"
		  "07778899a1a2a3a4",
	  .pad_to = 40, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(unroutable_sid),
	  .backend = FALLBACK_BE },
	{ "server ID of a draining backend",
	  .quic = "41"
		  "07445566a1a2a3a4",
	  .pad_to = 40, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid),
	  .backend = 3 },
	/* new-flow admission: only an Initial or 0-RTT of 1200 octets or more
	 * may create 4-tuple state (test_admit checks the table) */
	{ "Initial, unroutable, 1199 octets (RFC 9000 14.1)",
	  .quic = "c0"
		  "00000001"
		  "08"
		  "e7010203a1a2a3a4"
		  "00",
	  .pad_to = 1199, .verdict = XDP_DROP, .verdict_cnt = CNT(drop_small_initial),
	  .path_cnt = CNT(unroutable_cr7), .backend = -1 },
	{ "v2 Initial, unroutable, 100 octets",
	  .quic = "d0"
		  "6b3343cf"
		  "08"
		  "67010203a1a2a3a4"
		  "00",
	  .pad_to = 100, .verdict = XDP_DROP, .verdict_cnt = CNT(drop_small_initial),
	  .path_cnt = CNT(unroutable_config), .backend = -1 },
	{ "Initial, routable, 1199 octets: its server discards it", .quic = LONG_V1("c0"),
	  .pad_to = 1199, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(route_cid),
	  .backend = 0 },
	{ "0-RTT, unroutable, 100 octets: not dropped",
	  .quic = "d0"
		  "00000001"
		  "08"
		  "e7010203a1a2a3a4"
		  "00",
	  .pad_to = 100, .verdict = XDP_TX, .verdict_cnt = CNT(tx), .path_cnt = CNT(quic_0rtt),
	  .backend = FALLBACK_BE },
	{ "Handshake, unroutable, 1200 octets",
	  .quic = "e0"
		  "00000001"
		  "08"
		  "e7010203a1a2a3a4"
		  "00",
	  .pad_to = 1200, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(quic_handshake), .backend = FALLBACK_BE },
	{ "retired CID, short header", .quic = "41" RETIRED_CID, .pad_to = 40, .verdict = XDP_DROP,
	  .verdict_cnt = CNT(drop_retired), .path_cnt = NONE, .backend = -1 },
	{ "retired CID, long header with extra octets",
	  .quic = "e0"
		  "00000001"
		  "0a" RETIRED_CID "9999"
		  "00",
	  .pad_to = 100, .verdict = XDP_DROP, .verdict_cnt = CNT(drop_retired), .path_cnt = NONE,
	  .backend = -1 },
};

static void setup_fixture(struct tlb *t)
{
	uint32_t fb = FALLBACK_BE;
	struct cidlb_cid_key rk = {};
	uint8_t sid[16];
	int i;

	tlb_config(t, 0, 3, 4, NULL);
	for (i = 0; i < NBE; i++) {
		tlb_backend(t, i, backends[i].addr, backends[i].mode, backends[i].state);
		if (*backends[i].sid) {
			thex(backends[i].sid, sid, sizeof(sid));
			tlb_sid(t, 0, sid, 3, i);
		}
	}
	tlb_maglev(t, &fb, 1);
	rk.len = thex(RETIRED_CID, rk.cid, sizeof(rk.cid));
	assert_int_equal(cidlb_lb_retire(t->lb, &rk, NEVER), 0);
}

static size_t build_case(const struct dp_case *c, struct tpkt_spec *s, uint8_t *frame)
{
	static uint8_t payload[TPKT_MAX];
	size_t n = thex(c->quic, payload, sizeof(payload));
	size_t len;

	if (c->pad_to > n) {
		memset(payload + n, 0x33, c->pad_to - n);
		n = c->pad_to;
	}
	memset(s, 0, sizeof(*s));
	s->family = c->family ? c->family : 4;
	s->src = s->family == 4 ? T_CLIENT4 : T_CLIENT6;
	s->dst = c->dst ? c->dst : s->family == 4 ? T_VIP4 : T_VIP6;
	s->sport = 50000;
	s->dport = c->dport ? c->dport : T_VIP_PORT;
	s->vlans = c->vlans;
	s->ip_opts = c->ip_opts;
	s->frag = c->frag;
	s->proto = c->proto;
	s->tos = 0xb9; /* DSCP 46, ECN 01: must reach the outer header */
	s->ext6 = c->ext6;
	s->ext6_n = c->ext6_n;
	s->payload = payload;
	s->payload_len = n;
	len = tpkt_build(s, frame);
	if (c->bad_udp_len) {
		size_t l4 = tpkt_l2_len(s) + (s->family == 4 ? 20 + s->ip_opts : 40);

		frame[l4 + 4] = 0x7f;
	}
	if (c->udp_len_add) {
		size_t l4 = tpkt_l2_len(s) + (s->family == 4 ? 20 + s->ip_opts : 40);
		unsigned int ulen = (frame[l4 + 4] << 8 | frame[l4 + 5]) + c->udp_len_add;

		frame[l4 + 4] = ulen >> 8;
		frame[l4 + 5] = ulen;
	}
	if (c->ext6_hlen)
		frame[tpkt_l2_len(s) + 40 + 1] = c->ext6_hlen;
	if (c->eth_pad)
		len += thex(c->eth_pad, frame + len, TPKT_MAX - len);
	return len;
}

/* The last output frame (out, outlen) is the input (in, len, no VLAN)
 * encapsulated to backend idx at addr. */
#define SENT_TO(idx, addr) t_assert_sent(in, len, 14, out, outlen, idx, addr, 0, "sent to " addr)

/*
 * The verifier's work on the data path stays well inside its limit of
 * 1,000,000 instructions processed: 236,911 at bd7f524 (kernel 6.18,
 * clang 14). A change that keeps a maybe-NULL pointer live across the
 * AES decode doubled that (374,343): this fails first, and says so,
 * before the program stops loading. The budget has room for the paths a
 * feature adds; raise it in the commit that needs more, with the reason.
 */
#define VERIFIER_BUDGET 300000

static void test_verifier_budget(void **state)
{
	struct tlb *t = *state;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(cidlb_lb_prog_fd(t->lb), &info, &len), 0);
	printf("cidlb_xdp: %u instructions processed by the verifier (budget %u), %u xlated\n",
	       info.verified_insns, VERIFIER_BUDGET, info.xlated_prog_len / 8);
	assert_true(info.verified_insns > 0);
	if (info.verified_insns > VERIFIER_BUDGET)
		fail_msg(
			"the verifier processed %u instructions of cidlb_xdp, over the budget of %u: "
			"some change multiplied its paths (a pointer or a branch kept live across "
			"the decode?)",
			info.verified_insns, VERIFIER_BUDGET);
}

static void test_table(void **state)
{
	struct tlb *t = *state;
	size_t i;

	setup_fixture(t);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dp_case *c = &cases[i];
		uint8_t in[TPKT_MAX], out[TPKT_MAX];
		struct cidlb_counters before, after;
		struct cidlb_backend_stats bs0[NBE], bs1;
		struct tpkt_spec s;
		size_t len, outlen;
		int rc, b;

		print_message("  case: %s\n", c->name);
		len = build_case(c, &s, in);
		before = tlb_counters(t);
		for (b = 0; b < NBE; b++)
			assert_int_equal(cidlb_lb_read_backend_stats(t->lb, b, &bs0[b]), 0);
		rc = tlb_run(t, in, len, out, &outlen);
		after = tlb_counters(t);
		if (rc != c->verdict)
			print_error("%s: verdict %d, want %d\n", c->name, rc, c->verdict);
		assert_int_equal(rc, c->verdict);
		assert_int_equal(after.rx_packets - before.rx_packets, 1);
		assert_int_equal(tlb_verdicts(&after) - tlb_verdicts(&before), 1);
		assert_int_equal(*(uint64_t *)((char *)&after + c->verdict_cnt) -
					 *(uint64_t *)((char *)&before + c->verdict_cnt),
				 1);
		if (c->path_cnt != NONE)
			assert_int_equal(*(uint64_t *)((char *)&after + c->path_cnt) -
						 *(uint64_t *)((char *)&before + c->path_cnt),
					 1);
		if (c->backend < 0) /* passed or dropped: untouched */
			t_assert_frame(out, outlen, in, len, c->name);
		else
			t_assert_sent(in, len, tpkt_l2_len(&s), out, outlen, c->backend,
				      backends[c->backend].addr,
				      backends[c->backend].mode == CIDLB_FWD_DIRECT, c->name);
		for (b = 0; b < NBE; b++) { /* the backend's stats moved, nobody else's */
			int got = b == c->backend;

			assert_int_equal(cidlb_lb_read_backend_stats(t->lb, b, &bs1), 0);
			assert_int_equal(bs1.packets - bs0[b].packets, got);
			assert_int_equal(bs1.bytes - bs0[b].bytes, got ? len : 0);
		}
	}
}

/* ICMP and ICMPv6 errors to a VIP: each quotes a packet a backend sent
 * (VIP:443 -> client:50000), cut to `quote` octets of its IP packet. */
struct icmp_case {
	const char *name;
	int family;	    /* 4 (default) or 6 */
	uint8_t type, code; /* of the error */
	const char *quic;   /* quoted UDP payload in hex (the server's packet) */
	size_t pad_to;
	const char *qsrc; /* quoted source, default: the VIP */
	uint16_t qsport;  /* quoted source port, default 443 */
	int qproto;	  /* quoted IP protocol, 0: UDP */
	const char *dst;  /* the error's destination, default: the VIP */
	size_t quote;	  /* quoted IP octets kept, 0: all */
	int verdict;
	size_t verdict_cnt, path_cnt;
	int backend; /* -1: not forwarded */
};

/* The server's long headers: DCID = the client's CID, SCID = its own. */
#define SRV_HS(scid) \
	"e0" \
	"00000001" \
	"04c1c2c3c4" \
	"08" scid

static const struct icmp_case icmp_cases[] = {
	{ "fragmentation needed, Handshake with a routable SCID", .type = 3, .code = 4,
	  .quic = SRV_HS(CID_BE0), .pad_to = 1200, .quote = 548, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(route_icmp_cid), .backend = 0 },
	{ "Packet Too Big, Initial with a routable SCID", .family = 6, .type = 2,
	  .quic = "c0"
		  "00000001"
		  "04c1c2c3c4"
		  "08" CID_BE1,
	  .pad_to = 1300, .quote = 1232, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(route_icmp_cid), .backend = 1 },
	{ "host unreachable, whole quote, draining backend's SCID", .type = 3, .code = 1,
	  .quic = SRV_HS("07445566a1a2a3a4"), .pad_to = 60, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(route_icmp_cid), .backend = 3 },
	{ "time exceeded, short header: by flow", .type = 11, .quic = "41c1c2c3c4", .pad_to = 100,
	  .quote = 28 + 64, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(route_icmp_flow), .backend = FALLBACK_BE },
	{ "ICMPv6 unreachable, short header: by flow", .family = 6, .type = 1, .code = 4,
	  .quic = "41c1c2c3c4", .pad_to = 100, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(route_icmp_flow), .backend = FALLBACK_BE },
	{ "ICMPv6 time exceeded, long header: by SCID", .family = 6, .type = 3,
	  .quic = SRV_HS(CID_BE0), .pad_to = 100, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(route_icmp_cid), .backend = 0 },
	{ "quote cut in the SCID: by flow", .type = 3, .code = 4, .quic = SRV_HS(CID_BE0),
	  .pad_to = 1200, .quote = 28 + 6 + 5 + 1 + 3, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(route_icmp_flow), .backend = FALLBACK_BE },
	{ "quote of 28 octets (RFC 792): by flow", .type = 3, .code = 3, .quic = SRV_HS(CID_BE0),
	  .pad_to = 1200, .quote = 28, .verdict = XDP_TX, .verdict_cnt = CNT(tx),
	  .path_cnt = CNT(route_icmp_flow), .backend = FALLBACK_BE },
	{ "SCID of an unknown server ID: by flow", .type = 3, .code = 4,
	  .quic = SRV_HS("07fefefea1a2a3a4"), .pad_to = 100, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(route_icmp_flow), .backend = FALLBACK_BE },
	{ "SCID of config ID 7: by flow", .family = 6, .type = 2,
	  .quic = SRV_HS("e7010203a1a2a3a4"), .pad_to = 100, .verdict = XDP_TX,
	  .verdict_cnt = CNT(tx), .path_cnt = CNT(route_icmp_flow), .backend = FALLBACK_BE },
	/* the rest goes to the kernel, as before */
	{ "quote cut in the UDP header", .type = 3, .code = 4, .quic = SRV_HS(CID_BE0),
	  .pad_to = 1200, .quote = 26, .verdict = XDP_PASS, .verdict_cnt = CNT(pass_icmp),
	  .path_cnt = NONE, .backend = -1 },
	{ "ICMPv6 quote cut in the IPv6 header", .family = 6, .type = 2, .quic = SRV_HS(CID_BE0),
	  .pad_to = 1300, .quote = 30, .verdict = XDP_PASS, .verdict_cnt = CNT(pass_icmp),
	  .path_cnt = NONE, .backend = -1 },
	{ "quoted packet from a VIP address, not a VIP port", .type = 3, .code = 4,
	  .quic = SRV_HS(CID_BE0), .pad_to = 100, .qsport = 444, .verdict = XDP_PASS,
	  .verdict_cnt = CNT(pass_icmp), .path_cnt = NONE, .backend = -1 },
	{ "quoted packet from another address than the error's", .type = 3, .code = 4,
	  .quic = SRV_HS(CID_BE0), .pad_to = 100, .qsrc = "198.18.1.2", .verdict = XDP_PASS,
	  .verdict_cnt = CNT(pass_icmp), .path_cnt = NONE, .backend = -1 },
	{ "error to an address that is not a VIP's", .type = 3, .code = 4, .quic = SRV_HS(CID_BE0),
	  .pad_to = 100, .qsrc = "198.18.1.2", .dst = "198.18.1.2", .verdict = XDP_PASS,
	  .verdict_cnt = CNT(pass_icmp), .path_cnt = NONE, .backend = -1 },
	{ "ICMPv6 error, quoted packet from another address", .family = 6, .type = 2,
	  .quic = SRV_HS(CID_BE0), .pad_to = 100, .qsrc = "fd00:1::2", .verdict = XDP_PASS,
	  .verdict_cnt = CNT(pass_icmp), .path_cnt = NONE, .backend = -1 },
	{ "quoted TCP segment", .type = 3, .code = 4, .quic = "01bb c350", .pad_to = 40,
	  .qproto = 6, .verdict = XDP_PASS, .verdict_cnt = CNT(pass_icmp), .path_cnt = NONE,
	  .backend = -1 },
	{ "echo request to the VIP", .type = 8, .quic = SRV_HS(CID_BE0), .pad_to = 100,
	  .verdict = XDP_PASS, .verdict_cnt = CNT(pass_not_udp), .path_cnt = NONE, .backend = -1 },
	{ "parameter problem (not routed)", .type = 12, .quic = SRV_HS(CID_BE0), .pad_to = 100,
	  .verdict = XDP_PASS, .verdict_cnt = CNT(pass_not_udp), .path_cnt = NONE, .backend = -1 },
	{ "ICMPv6 echo reply to the VIP", .family = 6, .type = 129, .quic = SRV_HS(CID_BE0),
	  .pad_to = 100, .verdict = XDP_PASS, .verdict_cnt = CNT(pass_not_udp), .path_cnt = NONE,
	  .backend = -1 },
};

#define ICMP_CLIENT_PORT 50000

/* The error frame of case c; the flow of the quoted packet in the
 * client's direction into *flow. */
static size_t build_icmp(const struct icmp_case *c, uint8_t *frame, struct cidlb_flow_key *flow)
{
	static uint8_t payload[TPKT_MAX], quoted[TPKT_MAX], icmp[TPKT_MAX];
	int fam = c->family ? c->family : 4;
	const char *vip = fam == 4 ? T_VIP4 : T_VIP6;
	struct tpkt_spec q = { .family = fam,
			       .src = c->qsrc ? c->qsrc : vip,
			       .dst = fam == 4 ? T_CLIENT4 : T_CLIENT6,
			       .sport = c->qsport ? c->qsport : T_VIP_PORT,
			       .dport = ICMP_CLIENT_PORT,
			       .proto = c->qproto,
			       .payload = payload };
	struct tpkt_spec s = { .family = fam,
			       .src = fam == 4 ? "198.18.9.9" : "fd00:9::9",
			       .dst = c->dst ? c->dst : vip,
			       .proto = fam == 4 ? 1 : 58,
			       .tos = 0x20,
			       .payload = icmp };
	size_t n = 0, qlen;
	char hex[256];
	int i, j;

	for (i = j = 0; c->quic[i] && j < (int)sizeof(hex) - 1; i++)
		if (c->quic[i] != ' ')
			hex[j++] = c->quic[i];
	hex[j] = 0;
	n = thex(hex, payload, sizeof(payload));
	if (c->pad_to > n) {
		memset(payload + n, 0x33, c->pad_to - n);
		n = c->pad_to;
	}
	q.payload_len = n;
	qlen = tpkt_build(&q, quoted) - 14;
	if (c->quote && c->quote < qlen)
		qlen = c->quote;
	memset(icmp, 0, 8);
	icmp[0] = c->type;
	icmp[1] = c->code;
	if (c->type == 2 || (c->type == 3 && c->code == 4)) { /* next-hop MTU 1400 */
		icmp[6] = 1400 >> 8;
		icmp[7] = 1400 & 0xff;
	}
	memcpy(icmp + 8, quoted + 14, qlen);
	s.payload_len = 8 + qlen;
	if (fam == 4) {
		uint16_t sum = tcsum(icmp, s.payload_len);

		memcpy(icmp + 2, &sum, 2);
	}
	memset(flow, 0, sizeof(*flow));
	flow->family = fam == 4 ? CIDLB_FAMILY_V4 : CIDLB_FAMILY_V6;
	tpkt_addr(fam, q.dst, flow->src);
	tpkt_addr(fam, q.src, flow->dst);
	flow->sport = htons(ICMP_CLIENT_PORT);
	flow->dport = htons(q.sport);
	return tpkt_build(&s, frame);
}

/* The frame sent to backend idx for the error `in`: as for any packet,
 * but an IPv6 outer header carries the flow label of the client's flow
 * (the one its own packets carry), not one made of the ICMP header. */
/* The flow label and (GUE to gue_port, not 0) the UDP source port are
 * the quoted flow's: an error goes where the flow's packets go, on the
 * backend NIC's receive queue of the flow too. */
static void assert_icmp_sent(const uint8_t *in, size_t len, const uint8_t *out, size_t outlen,
			     int idx, const struct cidlb_flow_key *flow, uint16_t gue_port,
			     const char *what)
{
	const char *addr = backends[idx].addr;
	uint8_t want[TPKT_MAX];
	size_t wlen = t_expect_sent_gue(in, len, 14, idx, addr, 0, gue_port, want);
	size_t u = 14 + (strchr(addr, ':') ? 40 : 20);

	if (strchr(addr, ':')) {
		uint32_t fl = cidlb_flow_label(flow);

		want[14 + 1] = (uint8_t)((want[14 + 1] & 0xf0) | ((fl >> 16) & 0xf));
		want[14 + 2] = (uint8_t)(fl >> 8);
		want[14 + 3] = (uint8_t)fl;
	}
	if (gue_port) {
		uint16_t sport = cidlb_gue_sport(flow);

		want[u] = (uint8_t)(sport >> 8);
		want[u + 1] = (uint8_t)sport;
	}
	t_assert_frame(out, outlen, want, wlen, what);
}

/* Every ICMP case; the encapsulating backends GUE to gue_port (not 0). */
static void icmp_cases_run(struct tlb *t, uint16_t gue_port)
{
	size_t i;
	int b;

	setup_fixture(t);
	for (b = 0; gue_port && b < NBE; b++)
		if (backends[b].mode == CIDLB_FWD_ENCAP_MAC)
			tlb_backend_gue(t, b, backends[b].addr, backends[b].mode, backends[b].state,
					gue_port);
	for (i = 0; i < sizeof(icmp_cases) / sizeof(icmp_cases[0]); i++) {
		const struct icmp_case *c = &icmp_cases[i];
		uint8_t in[TPKT_MAX], out[TPKT_MAX];
		struct cidlb_counters before, after;
		struct cidlb_flow_key flow;
		struct cidlb_flow fv;
		size_t len, outlen;
		int rc;

		print_message("  case: %s\n", c->name);
		len = build_icmp(c, in, &flow);
		before = tlb_counters(t);
		rc = tlb_run(t, in, len, out, &outlen);
		after = tlb_counters(t);
		if (rc != c->verdict)
			print_error("%s: verdict %d, want %d\n", c->name, rc, c->verdict);
		assert_int_equal(rc, c->verdict);
		assert_int_equal(tlb_verdicts(&after) - tlb_verdicts(&before), 1);
		assert_int_equal(*(uint64_t *)((char *)&after + c->verdict_cnt) -
					 *(uint64_t *)((char *)&before + c->verdict_cnt),
				 1);
		if (c->path_cnt != NONE)
			assert_int_equal(*(uint64_t *)((char *)&after + c->path_cnt) -
						 *(uint64_t *)((char *)&before + c->path_cnt),
					 1);
		assert_int_equal(after.route_maglev, before.route_maglev);
		if (c->backend < 0)
			t_assert_frame(out, outlen, in, len, c->name);
		else
			assert_icmp_sent(in, len, out, outlen, c->backend, &flow, gue_port,
					 c->name);
		/* an error never opens a flow */
		assert_int_not_equal(
			bpf_map_lookup_elem(cidlb_lb_map_fd(t->lb, CIDLB_M_LRU), &flow, &fv), 0);
	}
}

static void test_icmp_errors(void **state)
{
	icmp_cases_run(*state, 0);
}

static void test_icmp_errors_gue(void **state)
{
	icmp_cases_run(*state, 6080);
}

/* An error about a flow the 4-tuple table holds goes where the flow's
 * packets go, though the Maglev table has changed since; with no live
 * backend it is dropped. */
static void test_icmp_follows_lru(void **state)
{
	static const struct icmp_case c = {
		.type = 3, .code = 4, .quic = "41c1c2c3c4", .pad_to = 100
	};
	struct tlb *t = *state;
	uint8_t in[TPKT_MAX], out[TPKT_MAX], err[TPKT_MAX], payload[TPKT_MAX];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = ICMP_CLIENT_PORT,
			       .dport = T_VIP_PORT,
			       .payload = payload };
	struct cidlb_flow_key flow;
	struct cidlb_counters cnt;
	size_t len, elen, outlen;

	setup_fixture(t);
	/* the client's Initial: unroutable CID, Maglev says backend 5, and
	 * the 4-tuple is recorded */
	s.payload_len =
		tquic_long(payload, 0xc0, 1, (const uint8_t *)"\xe7\x01\x02\x03", 4, NULL, 0, 1200);
	len = tpkt_build(&s, in);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
	tlb_maglev(t, (uint32_t[]){ 0 }, 1);
	elen = build_icmp(&c, err, &flow);
	assert_int_equal(tlb_run(t, err, elen, out, &outlen), XDP_TX);
	assert_icmp_sent(err, elen, out, outlen, FALLBACK_BE, &flow, 0, "the flow's backend (LRU)");
	/* its backend gone: Maglev's choice, still no insert */
	tlb_backend(t, FALLBACK_BE, backends[FALLBACK_BE].addr, CIDLB_FWD_ENCAP_MAC,
		    CIDLB_BE_ABSENT);
	assert_int_equal(tlb_run(t, err, elen, out, &outlen), XDP_TX);
	assert_icmp_sent(err, elen, out, outlen, 0, &flow, 0, "Maglev's backend");
	tlb_backend(t, 0, backends[0].addr, CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ABSENT);
	assert_int_equal(tlb_run(t, err, elen, out, &outlen), XDP_DROP);
	cnt = tlb_counters(t);
	assert_int_equal(cnt.route_icmp_flow, 2);
	assert_int_equal(cnt.drop_no_backend, 1);
	assert_int_equal(cnt.route_maglev, 1); /* the client's packet only */
}

/* Not IPv4/IPv6, and an IPv4 header cut short. */
static void test_not_ip(void **state)
{
	struct tlb *t = *state;
	uint8_t arp[60] = {}, out[TPKT_MAX], in[TPKT_MAX];
	struct cidlb_counters c;
	struct tpkt_spec s = {
		.family = 4, .src = T_CLIENT4, .dst = T_VIP4, .sport = 1, .dport = 443
	};
	size_t outlen;

	memcpy(arp, tpkt_lb_mac, 6);
	arp[12] = 0x08;
	arp[13] = 0x06;
	assert_int_equal(tlb_run(t, arp, sizeof(arp), out, &outlen), XDP_PASS);
	tpkt_build(&s, in);
	assert_int_equal(tlb_run(t, in, 14 + 12, out, &outlen), XDP_PASS);
	in[14] = 0x44; /* IHL 4: invalid */
	assert_int_equal(tlb_run(t, in, 14 + 28, out, &outlen), XDP_PASS);
	c = tlb_counters(t);
	assert_int_equal(c.pass_not_ip, 1);
	assert_int_equal(c.pass_bad_l3, 2);
	assert_int_equal(tlb_verdicts(&c), 3);
}

/* With no live backend at all, fallback drops and counts. */
static void test_no_backend(void **state)
{
	struct tlb *t = *state;
	uint8_t in[TPKT_MAX], out[TPKT_MAX], payload[TPKT_MAX];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = 1,
			       .dport = 443,
			       .payload = payload };
	struct cidlb_counters c;
	size_t len, outlen;

	s.payload_len = tquic_short(payload, 0x41, (const uint8_t *)"\xe7\x01\x02\x03", 4, 40);
	len = tpkt_build(&s, in);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_DROP);
	/* a Maglev slot naming an absent backend: also no backend */
	tlb_backend(t, 9, "198.18.3.9", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ABSENT);
	tlb_maglev(t, (uint32_t[]){ 9 }, 1);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_DROP);
	/* a backend entry of an unknown family cannot be encapsulated */
	{
		struct cidlb_backend b = { .state = CIDLB_BE_ACTIVE, .family = 5 };

		assert_int_equal(cidlb_lb_set_backend(t->lb, 9, &b), 0);
	}
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_DROP);
	c = tlb_counters(t);
	assert_int_equal(c.drop_no_backend, 2);
	assert_int_equal(c.drop_encap, 1);
	assert_int_equal(c.route_maglev, 1);
}

/* One datagram from the client to the VIP (UDP payload in hex, padded
 * to pad octets): the backend whose statistics moved, -1 for none. */
static int lc_send(struct tlb *t, const char *hex, size_t pad)
{
	uint8_t in[TPKT_MAX], out[TPKT_MAX], payload[TPKT_MAX];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = 50001,
			       .dport = T_VIP_PORT,
			       .payload = payload };
	struct cidlb_backend_stats b0[NBE], b1;
	size_t len, outlen;
	int b, got = -1;

	s.payload_len = thex(hex, payload, sizeof(payload));
	if (pad > s.payload_len) {
		memset(payload + s.payload_len, 0x33, pad - s.payload_len);
		s.payload_len = pad;
	}
	len = tpkt_build(&s, in);
	for (b = 0; b < NBE; b++)
		assert_int_equal(cidlb_lb_read_backend_stats(t->lb, b, &b0[b]), 0);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
	for (b = 0; b < NBE; b++) {
		assert_int_equal(cidlb_lb_read_backend_stats(t->lb, b, &b1), 0);
		if (b1.packets != b0[b].packets) {
			assert_int_equal(got, -1);
			got = b;
		}
	}
	return got;
}

/*
 * len_self_encode (CIDLB_CFG_F_LEN_CHECK): a CID whose self-encoded length
 * (first octet's low 5 bits + 1) is below 1 + plaintext_len, or, in a long
 * header, differs from the DCID Length, is unroutable (unroutable_len) and
 * takes the fallback; without the flag the same CIDs route by their server
 * ID.
 */
static void test_len_check(void **state)
{
	static const struct {
		const char *name, *quic;
		size_t pad;
		int routed; /* with the check: 1 = by CID to backend 0 */
	} lc[] = {
		{ "short, length 8 as encoded", "41" CID_BE0, 40, 1 },
		{ "short, length 7 < 1 + plaintext_len",
		  "41"
		  "06010203a1a2a3a4",
		  40, 0 },
		{ "long, DCID Length 8 = encoded",
		  "c0"
		  "00000001"
		  "08" CID_BE0 "00",
		  1200, 1 },
		{ "long, DCID Length 9, encoded 8",
		  "c0"
		  "00000001"
		  "09" CID_BE0 "ff"
		  "00",
		  1200, 0 },
		{ "long, DCID Length 9 = encoded",
		  "c0"
		  "00000001"
		  "09"
		  "08010203a1a2a3a4ff"
		  "00",
		  1200, 1 },
	};
	struct tlb *t = *state;
	struct cidlb_config c = { .sid_len = 3,
				  .nonce_len = 4,
				  .pt_len = 7,
				  .half_len = 4,
				  .mode = CIDLB_MODE_PLAINTEXT };
	struct cidlb_counters a, b;
	size_t i;
	int check;

	setup_fixture(t);
	for (check = 0; check <= 1; check++) {
		c.flags = check ? CIDLB_CFG_F_LEN_CHECK : 0;
		assert_int_equal(cidlb_lb_set_config(t->lb, 0, &c), 0);
		for (i = 0; i < sizeof(lc) / sizeof(lc[0]); i++) {
			int want = !check || lc[i].routed;

			print_message("  %s, %s\n", check ? "len_self_encode" : "no check",
				      lc[i].name);
			a = tlb_counters(t);
			assert_int_equal(lc_send(t, lc[i].quic, lc[i].pad), want ? 0 : FALLBACK_BE);
			b = tlb_counters(t);
			assert_int_equal(b.route_cid - a.route_cid, want);
			assert_int_equal(b.unroutable_len - a.unroutable_len, !want);
		}
	}
}

/* A fallback flow stays on its backend when the Maglev table changes, and
 * moves when that backend is gone. */
static void test_lru_sticky(void **state)
{
	struct tlb *t = *state;
	uint8_t in[TPKT_MAX], out[TPKT_MAX], payload[TPKT_MAX];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = 1234,
			       .dport = 443,
			       .payload = payload };
	struct cidlb_counters c;
	size_t len, outlen;

	tlb_backend(t, 0, "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_backend(t, 1, "198.18.3.11", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	s.payload_len = tquic_long(payload, 0xc0, 1,
				   (const uint8_t *)"\xe1\x02\x03\x04\x05\x06\x07\x08", 8, NULL, 0,
				   1200);
	len = tpkt_build(&s, in);
	tlb_maglev(t, (uint32_t[]){ 0 }, 1);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
	SENT_TO(0, "198.18.3.10");
	tlb_maglev(t, (uint32_t[]){ 1 }, 1); /* the table now says backend 1 */
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
	SENT_TO(0, "198.18.3.10"); /* still backend 0 */
	/* draining keeps the flow */
	tlb_backend(t, 0, "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_DRAINING);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
	SENT_TO(0, "198.18.3.10");
	/* gone: the table decides, and the new choice sticks */
	tlb_backend(t, 0, "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ABSENT);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
	SENT_TO(1, "198.18.3.11");
	tlb_maglev(t, (uint32_t[]){ 0 }, 1);
	tlb_backend(t, 0, "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
	SENT_TO(1, "198.18.3.11");
	c = tlb_counters(t);
	assert_int_equal(c.route_maglev, 2);
	assert_int_equal(c.route_lru, 3);
}

/* The outer header is each backend's template: a change of the outer
 * source or TTL reaches the backends written before it. */
static void test_outer_follows_global(void **state)
{
	struct tlb *t = *state;
	uint8_t in[2][TPKT_MAX], out[TPKT_MAX], payload[TPKT_MAX], a[16];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = 1,
			       .dport = 443,
			       .payload = payload };
	static const struct {
		uint8_t ttl, want;
	} ttls[] = { { 64, 64 }, { 9, 9 }, { 0, 64 } };
	struct cidlb_global g;
	size_t len[2], outlen;
	int i, j;

	tlb_backend(t, 0, "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_backend(t, 1, "fd00:3::11", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	s.payload_len = tquic_long(payload, 0xc0, 1,
				   (const uint8_t *)"\xe1\x02\x03\x04\x05\x06\x07\x08", 8, NULL, 0,
				   1200);
	for (j = 0; j < 2; j++) { /* flow j sticks to backend j (LRU) */
		s.sport = 1 + j;
		len[j] = tpkt_build(&s, in[j]);
		tlb_maglev(t, (uint32_t[]){ j }, 1);
		assert_int_equal(tlb_run(t, in[j], len[j], out, &outlen), XDP_TX);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
		g.ttl = ttls[i].ttl;
		g.src4[3] = 100 + i;
		g.src6[15] = 100 + i;
		assert_int_equal(cidlb_lb_set_global(t->lb, &g), 0);
		/* IPv4 backend */
		assert_int_equal(tlb_run(t, in[0], len[0], out, &outlen), XDP_TX);
		assert_int_equal(outlen, len[0] + 20);
		assert_int_equal(out[14 + 8], ttls[i].want);
		t_assert_bytes(out + 14 + 12, g.src4, 4, "outer source");
		tpkt_addr(4, "198.18.3.10", a);
		t_assert_bytes(out + 14 + 16, a, 4, "outer destination");
		assert_int_equal(tcsum(out + 14, 20), 0);
		/* IPv6 backend */
		assert_int_equal(tlb_run(t, in[1], len[1], out, &outlen), XDP_TX);
		assert_int_equal(outlen, len[1] + 40);
		assert_int_equal(out[14 + 7], ttls[i].want);
		t_assert_bytes(out + 14 + 8, g.src6, 16, "outer source");
		tpkt_addr(6, "fd00:3::11", a);
		t_assert_bytes(out + 14 + 24, a, 16, "outer destination");
	}
}

/* A 1200-octet Initial from the client at sport (family 4 or 6, vlans
 * tags) to the VIP, into frame; returns its length. */
static size_t gue_frame(int family, uint16_t sport, int vlans, uint8_t *frame)
{
	static uint8_t payload[TPKT_MAX];
	struct tpkt_spec s = { .family = family,
			       .src = family == 4 ? T_CLIENT4 : T_CLIENT6,
			       .dst = family == 4 ? T_VIP4 : T_VIP6,
			       .sport = sport,
			       .dport = T_VIP_PORT,
			       .vlans = vlans,
			       .tos = 0xb9,
			       .payload = payload };

	s.payload_len = tquic_long(payload, 0xc0, 1,
				   (const uint8_t *)"\xe1\x02\x03\x04\x05\x06\x07\x08", 8, NULL, 0,
				   1200);
	return tpkt_build(&s, frame);
}

/*
 * GUE backends: the outer IPv4 or IPv6 header, UDP to the backend's GUE
 * port from a port of the flow, the GUE header (version 0, protocol 4 or
 * 41), then the client's packet; every inner and outer family, with and
 * without VLAN tags, compared whole. One frame is written out octet by
 * octet here, its UDP source port and checksum computed outside the
 * program's code.
 */
static void test_gue(void **state)
{
	static const struct {
		const char *addr;
		uint16_t port;
	} be[] = { { "198.18.3.10", 6080 }, { "fd00:3::11", 7000 } };
	struct tlb *t = *state;
	uint8_t in[TPKT_MAX], out[TPKT_MAX], want[TPKT_MAX];
	struct cidlb_backend b = { .state = CIDLB_BE_ACTIVE, .fwd_mode = CIDLB_FWD_ENCAP_MAC };
	struct cidlb_counters c;
	size_t len, outlen, wlen, hlen;
	int i, fam, vlans, n = 0;

	/* 0: the default port (gue_port 0), 1: port 7000 */
	b.family = 4;
	b.encap = CIDLB_ENCAP_GUE;
	tpkt_addr(4, be[0].addr, b.addr);
	memcpy(b.mac, t_backend_mac, 6);
	b.mac[4] = 0;
	assert_int_equal(cidlb_lb_set_backend(t->lb, 0, &b), 0);
	tlb_backend_gue(t, 1, be[1].addr, CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE, be[1].port);
	for (i = 0; i < 2; i++) {
		tlb_maglev(t, (uint32_t[]){ i }, 1);
		for (fam = 4; fam <= 6; fam += 2) {
			for (vlans = 0; vlans <= 2; vlans++) {
				/* new flows each round: Maglev, not the LRU */
				len = gue_frame(fam, 1000 + 10 * i + vlans + fam, vlans, in);
				assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
				hlen = 14 + 4 * vlans;
				wlen = t_expect_sent_gue(in, len, hlen, i, be[i].addr, 0,
							 be[i].port, want);
				t_assert_frame(out, outlen, want, wlen, "GUE frame");
				if (i == 0)
					assert_int_equal(tcsum(out + hlen, 20), 0);
				n++;
			}
		}
	}

	/* written out: IPv4 in GUE in IPv4, TOS 0xb9 copied, total length
	 * 1228 + 32, UDP 50000 -> 443 of the client makes source port
	 * 0x8a7e, UDP length 1228 + 12, no UDP checksum */
	tlb_maglev(t, (uint32_t[]){ 0 }, 1);
	len = gue_frame(4, 50000, 0, in);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
	assert_int_equal(outlen, len + 32);
	/* Ethernet; IPv4, protocol UDP; UDP 0x8a7e -> 6080, length, no
	 * checksum; GUE version 0, protocol 4 */
	wlen = thex("0200000000be02000000001b0800"
		    "45b904ec000040004011a618c6120001c612030a"
		    "8a7e17c004d80000"
		    "00040000",
		    want, sizeof(want));
	assert_int_equal(wlen, 46);
	t_assert_bytes(out, want, wlen, "GUE headers");
	t_assert_bytes(out + 46, in + 14, len - 14, "the client's packet after them");
	n++;

	c = tlb_counters(t);
	assert_int_equal(c.tx, n);
	assert_int_equal(tlb_verdicts(&c), n);
}

/* The GUE source port is one for a flow and spread over 32768..65535
 * across flows (the receiver's RSS hashes it), IPv4 and IPv6 alike. */
static void test_gue_sport(void **state)
{
	struct tlb *t = *state;
	uint8_t in[TPKT_MAX], out[TPKT_MAX], again[TPKT_MAX];
	uint16_t ports[128];
	size_t len, outlen, olen2;
	int i, j, fam, distinct, high = 0;

	tlb_backend_gue(t, 0, "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE, 6080);
	tlb_backend_gue(t, 1, "fd00:3::11", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE, 6080);
	for (fam = 4; fam <= 6; fam += 2) {
		size_t udp = 14 + (fam == 4 ? 20 : 40);

		tlb_maglev(t, (uint32_t[]){ fam == 4 ? 0 : 1 }, 1);
		for (i = 0; i < 128; i++) {
			len = gue_frame(fam, 20000 + i, 0, in);
			assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
			ports[i] = out[udp] << 8 | out[udp + 1];
			assert_true(ports[i] >= 32768);
			assert_int_equal(ports[i], tpkt_gue_sport(in, len, 14));
			high += ports[i] >= 49152;
			/* the same flow again: the same port, the same frame */
			assert_int_equal(tlb_run(t, in, len, again, &olen2), XDP_TX);
			t_assert_frame(again, olen2, out, outlen, "same flow");
		}
		for (i = 0, distinct = 0; i < 128; i++) {
			for (j = 0; j < i && ports[j] != ports[i]; j++)
				;
			distinct += j == i;
		}
		/* 128 draws from 32768: a collision or two at most */
		if (distinct < 124)
			fail_msg("IPv%d: %d distinct GUE source ports of 128 flows", fam, distinct);
	}
	/* both halves of the range in use (256 flows, expect about 128) */
	if (high < 64 || high > 192)
		fail_msg("%d of 256 GUE source ports in 49152..65535", high);
}

/* Two independently loaded copies with the same configuration pick the
 * same backend for every 4-tuple (and the hash spreads over all). */
static void test_two_lbs_agree(void **state)
{
	struct tlb *a = *state, *b = tlb_new();
	uint32_t idx[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	int hits[8] = {}, i, j;

	for (i = 0; i < 8; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "198.18.4.%d", i + 1);
		tlb_backend(a, i, addr, CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
		tlb_backend(b, i, addr, CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	}
	tlb_maglev(a, idx, 8);
	tlb_maglev(b, idx, 8);
	for (i = 0; i < 2000; i++) {
		uint8_t in[TPKT_MAX], oa[TPKT_MAX], ob[TPKT_MAX], payload[TPKT_MAX];
		char src[32];
		struct tpkt_spec s = { .family = 4,
				       .src = src,
				       .dst = T_VIP4,
				       .sport = 1024 + i * 7,
				       .dport = 443,
				       .payload = payload };
		size_t len, la, lb_;

		snprintf(src, sizeof(src), "198.18.%d.%d", 100 + i % 50, 1 + i % 250);
		s.payload_len = tquic_long(payload, 0xc0, 1,
					   (const uint8_t *)"\xff\x11\x22\x33\x44\x55\x66\x77", 8,
					   NULL, 0, 1200);
		len = tpkt_build(&s, in);
		assert_int_equal(tlb_run(a, in, len, oa, &la), XDP_TX);
		assert_int_equal(tlb_run(b, in, len, ob, &lb_), XDP_TX);
		t_assert_frame(oa, la, ob, lb_, "same frame from both LBs");
		for (j = 0; j < 8; j++)
			if (oa[14 + 19] == j + 1)
				hits[j]++;
	}
	for (j = 0; j < 8; j++) /* 250 expected each */
		assert_in_range(hits[j], 150, 350);
	tlb_free(b);
}

/* The per-CPU memos of the VIP and server-ID maps never answer for a map
 * that has changed since: remove, move and re-add, packet by packet. */
static void test_memo_follows_maps(void **state)
{
	struct tlb *t = *state;
	uint8_t in[TPKT_MAX], out[TPKT_MAX], payload[TPKT_MAX];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = 999,
			       .dport = 443,
			       .payload = payload };
	struct cidlb_sid_key k = { .config_id = 0, .len = 3, .sid = { 1, 2, 3 } };
	struct cidlb_vip_key vk = { .port = htons(T_VIP_PORT), .family = 4 };
	struct cidlb_vip v = { .id = 1 };
	size_t len, outlen;
	int i;

	tlb_config(t, 0, 3, 4, NULL);
	tlb_backend(t, 0, "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_backend(t, 1, "198.18.3.11", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_backend(t, 2, "198.18.3.12", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_maglev(t, (uint32_t[]){ 2 }, 1);
	s.payload_len = tquic_short(payload, 0x41,
				    (const uint8_t *)"\x07\x01\x02\x03\x09\x09\x09\x09", 8, 40);
	len = tpkt_build(&s, in);
	for (i = 0; i < 3; i++) {
		tlb_sid(t, 0, k.sid, 3, 0);
		assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
		SENT_TO(0, "198.18.3.10");
		assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX); /* memo hit */
		SENT_TO(0, "198.18.3.10");
		tlb_sid(t, 0, k.sid, 3, 1); /* moved */
		assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
		SENT_TO(1, "198.18.3.11");
		assert_int_equal(cidlb_lb_del_sid(t->lb, &k), 0); /* gone: fallback */
		assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
		SENT_TO(2, "198.18.3.12");
	}
	tpkt_addr(4, T_VIP4, vk.addr);
	assert_int_equal(cidlb_lb_del_vip(t->lb, &vk), 0);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_PASS);
	assert_int_equal(cidlb_lb_set_vip(t->lb, &vk, &v), 0);
	assert_int_equal(tlb_run(t, in, len, out, &outlen), XDP_TX);
}

/* Bit n (0, 1 or 2) of key k in the retired-CID filter, read through the
 * map (the mask says how many 512-bit blocks are in use). */
static uint32_t filter_mask; /* cidlb_global.rhint_mask of filter_lb() */

static uint32_t rhint_index(struct tlb *t, const struct cidlb_cid_key *k, int n)
{
	uint64_t h = cidlb_cid_hashes(k);

	(void)t;
	return ((uint32_t)h & filter_mask) * 512 + cidlb_rhint_bit((uint32_t)(h >> 32), n);
}

static int rhint_of(struct tlb *t, const struct cidlb_cid_key *k, int n)
{
	uint32_t i = rhint_index(t, k, n), blk = i / 512;
	struct cidlb_rhint_block b;

	assert_int_equal(
		bpf_map_lookup_elem(cidlb_lb_map_fd(t->lb, CIDLB_M_RETIRED_HINT), &blk, &b), 0);
	return (int)(b.w[(i >> 6) & 7] >> (i & 63) & 1);
}

/* A plaintext CID 07 010203 nonce (config 0: server ID 3, nonce 4). */
static void nonce_cid(struct cidlb_cid_key *k, uint32_t nonce)
{
	memset(k, 0, sizeof(*k));
	k->len = 8;
	memcpy(k->cid, "\x07\x01\x02\x03", 4);
	memcpy(k->cid + 4, &nonce, 4);
}

static int run_cid(struct tlb *t, const struct cidlb_cid_key *k)
{
	uint8_t in[TPKT_MAX], out[TPKT_MAX], payload[TPKT_MAX];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = 999,
			       .dport = T_VIP_PORT,
			       .payload = payload };
	size_t len, outlen;

	s.payload_len = tquic_short(payload, 0x41, k->cid, k->len, 40);
	len = tpkt_build(&s, in);
	return tlb_run(t, in, len, out, &outlen);
}

static struct tlb *filter_lb(uint32_t retired_size)
{
	struct cidlb_lb_opts o = { .retired_size = retired_size };
	struct tlb *t = tlb_new_opts(&o);
	struct cidlb_global g;

	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	filter_mask = g.rhint_mask;
	tlb_config(t, 0, 3, 4, NULL);
	tlb_backend(t, 0, "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_sid(t, 0, (const uint8_t *)"\x01\x02\x03", 3, 0);
	return t;
}

/* Do k's counters n (bit n of `which`) sit where a's do? */
static int same_counters(struct tlb *t, const struct cidlb_cid_key *a,
			 const struct cidlb_cid_key *k, int which)
{
	int n;

	for (n = 0; n < 3; n++)
		if ((which >> n & 1) && rhint_index(t, a, n) != rhint_index(t, k, n))
			return 0;
	return 1;
}

/*
 * The Bloom filter in front of the retired-CID map: a retired CID sets its
 * three bits and is dropped; retiring it again counts nothing (one
 * unretire clears its bits); a CID whose three bits other retired CIDs set
 * is looked up and routed. retired_size 64: 2 blocks, 1024 bits.
 */
static void test_retired_filter(void **state)
{
	struct tlb *t = filter_lb(64);
	struct cidlb_cid_key a, k, many[60];
	struct cidlb_counters c;
	struct cidlb_global g;
	uint32_t n;
	int found = 0, i;

	(void)state;
	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	assert_int_equal(g.rhint_mask, 1);
	nonce_cid(&a, 0xefbeadde);
	assert_int_equal(run_cid(t, &a), XDP_TX);
	assert_int_equal(rhint_of(t, &a, 0), 0);
	assert_int_equal(cidlb_lb_retire(t->lb, &a, NEVER), 0);
	for (n = 0; n < 3; n++)
		assert_int_equal(rhint_of(t, &a, n), 1);
	assert_int_equal(cidlb_lb_retire(t->lb, &a, NEVER - 1), 0); /* new expiry only */
	assert_int_equal(run_cid(t, &a), XDP_DROP);
	assert_int_equal(cidlb_lb_unretire(t->lb, &a), 0);
	for (n = 0; n < 3; n++)
		assert_int_equal(rhint_of(t, &a, n), 0);
	assert_int_equal(run_cid(t, &a), XDP_TX);
	assert_int_equal(cidlb_lb_unretire(t->lb, &a), -ENOENT); /* counts nothing */

	/* 60 CIDs set about 180 of the 1024 bits: find one that is not
	 * retired, with its three bits set */
	for (i = 0; i < 60; i++) {
		nonce_cid(&many[i], 1000 + (uint32_t)i);
		assert_int_equal(cidlb_lb_retire(t->lb, &many[i], NEVER), 0);
	}
	for (n = 0; !found && n < 1000000; n++) {
		nonce_cid(&k, 5000000 + n);
		found = rhint_of(t, &k, 0) && rhint_of(t, &k, 1) && rhint_of(t, &k, 2);
	}
	assert_true(found);
	assert_int_equal(run_cid(t, &k), XDP_TX); /* looked up: not retired */
	for (i = 0; i < 60; i++)
		assert_int_equal(run_cid(t, &many[i]), XDP_DROP);
	c = tlb_counters(t);
	assert_int_equal(c.drop_retired, 61);
	assert_int_equal(c.route_cid, 3);

	for (i = 0; i < 60; i++)
		assert_int_equal(cidlb_lb_unretire(t->lb, &many[i]), 0);
	for (i = 0; i < 60; i++)
		for (n = 0; n < 3; n++)
			assert_int_equal(rhint_of(t, &many[i], (int)n), 0);
	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	assert_int_equal(g.flags & CIDLB_GF_RETIRED, 0);
	tlb_free(t);
}

/* A bit counted to 255 stays set: 256 CIDs on a's first bit, retired and
 * unretired; then a retired CID is still dropped and others route.
 * retired_size 300: 16 blocks, 8192 bits, all in use. */
static void test_retired_filter_saturates(void **state)
{
	struct tlb *t = filter_lb(300);
	struct cidlb_cid_key a, same[257], k;
	uint32_t n, found = 0;
	int i;

	(void)state;
	nonce_cid(&a, 0xefbeadde);
	for (n = 0; found < 257 && n < (1u << 26); n++) {
		nonce_cid(&k, n);
		if (n != 0xefbeadde && same_counters(t, &a, &k, 1) && !same_counters(t, &a, &k, 6))
			same[found++] = k;
	}
	assert_int_equal(found, 257);
	for (i = 0; i < 256; i++)
		assert_int_equal(cidlb_lb_retire(t->lb, &same[i], NEVER), 0);
	assert_int_equal(filter_mask, 15);
	assert_int_equal(rhint_of(t, &a, 0), 1);
	for (i = 0; i < 256; i++)
		assert_int_equal(cidlb_lb_unretire(t->lb, &same[i]), 0);
	assert_int_equal(rhint_of(t, &a, 0), 1); /* stays */
	assert_int_equal(rhint_of(t, &a, 1), 0);
	assert_int_equal(cidlb_lb_retire(t->lb, &a, NEVER), 0);
	assert_int_equal(run_cid(t, &a), XDP_DROP);
	assert_int_equal(run_cid(t, &same[256]), XDP_TX);
	tlb_free(t);
}

/* Every CID of k[0..n-1] has its three bits set under the mask that
 * cidlb_global publishes, and is dropped. */
static void all_counted_and_dropped(struct tlb *t, const struct cidlb_cid_key *k, int n)
{
	struct cidlb_global g;
	int i, j;

	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	filter_mask = g.rhint_mask;
	for (i = 0; i < n; i++) {
		for (j = 0; j < 3; j++)
			assert_int_equal(rhint_of(t, &k[i], j), 1);
		assert_int_equal(run_cid(t, &k[i]), XDP_DROP);
	}
}

/*
 * The blocks in use follow the CIDs held: one page (64 blocks, 32768 bits)
 * for a few, doubled when a CID finds fewer than 16 bits, brought back
 * when each has more than 64; each resize sets every CID held again, so
 * retired CIDs keep dropping and the others route. retired_size 8192:
 * 256 blocks.
 */
static void test_retired_filter_resizes(void **state)
{
	struct tlb *t = filter_lb(8192);
	static struct cidlb_cid_key k[3000];
	struct cidlb_cid_key other;
	struct cidlb_global g;
	int i;

	(void)state;
	assert_int_equal(filter_mask, 63);
	for (i = 0; i < 3000; i++) {
		nonce_cid(&k[i], (uint32_t)i);
		assert_int_equal(cidlb_lb_retire(t->lb, &k[i], NEVER), 0);
		assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
		/* 16 bits a CID: 2048 in 64 blocks, 4096 in 128 */
		assert_int_equal(g.rhint_mask, i < 2048 ? 63 : 127);
	}
	all_counted_and_dropped(t, k, 3000);
	nonce_cid(&other, 100000);
	assert_int_equal(run_cid(t, &other), XDP_TX);
	assert_int_equal(cidlb_lb_retire(t->lb, &k[0], NEVER - 1), 0); /* held already */
	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	assert_int_equal(g.rhint_mask, 127);

	/* down to 1024 CIDs: 128 blocks (64 bits a CID) kept; 1023: 64 */
	for (i = 2999; i >= 1024; i--)
		assert_int_equal(cidlb_lb_unretire(t->lb, &k[i]), 0);
	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	assert_int_equal(g.rhint_mask, 127);
	assert_int_equal(cidlb_lb_unretire(t->lb, &k[1023]), 0);
	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	assert_int_equal(g.rhint_mask, 63);
	all_counted_and_dropped(t, k, 1023);
	for (i = 1023; i < 3000; i++)
		assert_int_equal(run_cid(t, &k[i]), XDP_TX);
	/* down to none: one page, every bit clear */
	for (i = 0; i < 1023; i++)
		assert_int_equal(cidlb_lb_unretire(t->lb, &k[i]), 0);
	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	assert_int_equal(g.rhint_mask, 63);
	assert_int_equal(g.flags & CIDLB_GF_RETIRED, 0);
	filter_mask = 63;
	for (i = 0; i < 3000; i++)
		assert_int_equal(rhint_of(t, &k[i], 0), 0);
	tlb_free(t);
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * The TTL is the data path's: an entry of cidlb_retired whose expiry
 * (CLOCK_BOOTTIME) has passed no longer drops, though nobody deleted it
 * (counted in retired_past_ttl); one still ahead drops; one that runs
 * out between two packets drops the first and not the second.
 */
static void test_retired_expiry(void **state)
{
	struct tlb *t = filter_lb(8);
	struct cidlb_cid_key past, ahead, soon;
	struct cidlb_retired v;
	struct cidlb_counters c;
	uint64_t now = boottime_ns(), until;
	struct timespec pause = { 0, 20 * 1000000 };

	(void)state;
	nonce_cid(&past, 1);
	nonce_cid(&ahead, 2);
	nonce_cid(&soon, 3);
	assert_int_equal(cidlb_lb_retire(t->lb, &past, now - 1000000000ULL), 0);
	assert_int_equal(cidlb_lb_retire(t->lb, &ahead, now + 3600 * 1000000000ULL), 0);
	/* still in the map: only the packet's clock says it expired */
	assert_int_equal(bpf_map_lookup_elem(cidlb_lb_map_fd(t->lb, CIDLB_M_RETIRED), &past, &v),
			 0);
	assert_int_equal(run_cid(t, &past), XDP_TX);
	assert_int_equal(run_cid(t, &ahead), XDP_DROP);
	c = tlb_counters(t);
	assert_int_equal(c.retired_past_ttl, 1);
	assert_int_equal(c.drop_retired, 1);
	assert_int_equal(c.route_cid, 1);

	/* 1 s ahead: dropped now, passes once the clock is past it */
	until = boottime_ns() + 1000000000ULL;
	assert_int_equal(cidlb_lb_retire(t->lb, &soon, until), 0);
	assert_int_equal(run_cid(t, &soon), XDP_DROP);
	while (boottime_ns() <= until)
		nanosleep(&pause, NULL);
	assert_int_equal(run_cid(t, &soon), XDP_TX);
	c = tlb_counters(t);
	assert_int_equal(c.drop_retired, 2);
	assert_int_equal(c.retired_past_ttl, 2);
	/* retired again with a new TTL: dropped again */
	assert_int_equal(cidlb_lb_retire(t->lb, &past, boottime_ns() + 3600 * 1000000000ULL), 0);
	assert_int_equal(run_cid(t, &past), XDP_DROP);
	tlb_free(t);
}

/* Backend i of the server-ID tests: 198.19.<i / 256>.<i % 256>, server ID
 * i + 1 in `len` octets (big-endian). */
static void sid_be(struct tlb *t, uint32_t i, uint32_t cr, int len, uint32_t to)
{
	char addr[32];
	uint8_t sid[8] = { 0 };
	int j;

	snprintf(addr, sizeof(addr), "198.19.%u.%u", to / 256, to % 256);
	tlb_backend(t, to, addr, CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	for (j = 0; j < len; j++)
		sid[len - 1 - j] = (uint8_t)((uint64_t)(i + 1) >> (8 * j));
	tlb_sid(t, cr, sid, len, to);
}

/* The backend a packet with server ID i + 1 (config cr, plaintext, nonce 4
 * octets) reached: its index from the outer destination, or -1. */
static int sid_route(struct tlb *t, uint32_t i, uint32_t cr, int len)
{
	uint8_t in[TPKT_MAX], out[TPKT_MAX], payload[TPKT_MAX], cid[20] = { 0 };
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = 999,
			       .dport = T_VIP_PORT,
			       .payload = payload };
	size_t n, outlen;
	int j;

	cid[0] = (uint8_t)(cr << 5 | (len + 4));
	for (j = 0; j < len; j++)
		cid[1 + len - 1 - j] = (uint8_t)((uint64_t)(i + 1) >> (8 * j));
	memcpy(cid + 1 + len, "\x5a\x5b\x5c\x5d", 4);
	s.payload_len = tquic_short(payload, 0x41, cid, 1 + len + 4, 40);
	n = tpkt_build(&s, in);
	if (tlb_run(t, in, n, out, &outlen) != XDP_TX || out[14 + 16] != 198 || out[14 + 17] != 19)
		return -1;
	return out[14 + 18] * 256 + out[14 + 19];
}

static int spill_flag(struct tlb *t)
{
	struct cidlb_global g;

	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	return !!(g.flags & CIDLB_GF_SID_SPILL);
}

/* 3,000 server IDs of 3 octets: all in cidlb_sid_table, each routes to its
 * backend; moved, it routes to the new one; removed, it falls back. */
static void test_sid_table(void **state)
{
	struct tlb *t = *state;
	struct cidlb_sid_bucket bk;
	struct cidlb_sid_key k = { .config_id = 0, .len = 3 };
	uint32_t i, b, n = 0;
	int j, fd = cidlb_lb_map_fd(t->lb, CIDLB_M_SID_TABLE);

	tlb_config(t, 0, 3, 4, NULL);
	for (i = 0; i < 3000; i++)
		sid_be(t, i, 0, 3, i);
	tlb_backend(t, 3000, "198.19.11.184", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE); /* 3000 */
	tlb_maglev(t, (uint32_t[]){ 3000 }, 1);
	for (b = 0; b < CIDLB_SID_BUCKETS; b++) {
		assert_int_equal(bpf_map_lookup_elem(fd, &b, &bk), 0);
		for (j = 0; j < 4; j++)
			n += bk.e[j] != 0;
	}
	assert_int_equal(n, 3000);
	assert_int_equal(spill_flag(t), 0);
	for (i = 0; i < 3000; i++)
		assert_int_equal(sid_route(t, i, 0, 3), (int)i);
	k.sid[2] = 8; /* server ID 8: backend 7 -> 2999 */
	assert_int_equal(cidlb_lb_set_sid(t->lb, &k, 2999), 0);
	assert_int_equal(sid_route(t, 7, 0, 3), 2999);
	assert_int_equal(cidlb_lb_del_sid(t->lb, &k), 0);
	assert_int_equal(sid_route(t, 7, 0, 3), 3000); /* Maglev */
}

/* Two buckets (8 entries) for 12 short server IDs: 4 spill into cidlb_sids
 * alone and set the flag, and all 12 route, as do 5-octet server IDs (never
 * in the table). Removing some and refreshing brings the rest in and
 * clears the flag; a stale entry written by hand is mended by it. */
static void test_sid_table_spill(void **state)
{
	struct cidlb_lb_opts o = { .sid_buckets = 2 };
	struct tlb *t = tlb_new_opts(&o);
	struct cidlb_sid_key k = { .config_id = 0, .len = 3 };
	struct cidlb_sid_bucket bk = { { 0 } };
	uint32_t i, b = 0;
	int fd = cidlb_lb_map_fd(t->lb, CIDLB_M_SID_TABLE);

	(void)state;
	tlb_config(t, 0, 3, 4, NULL);
	tlb_config(t, 1, 5, 4, NULL);
	for (i = 0; i < 3; i++)
		sid_be(t, 100 + i, 1, 5, 20 + i);
	for (i = 0; i < 12; i++)
		sid_be(t, i, 0, 3, i);
	assert_int_equal(spill_flag(t), 1);
	for (i = 0; i < 12; i++)
		assert_int_equal(sid_route(t, i, 0, 3), (int)i);
	for (i = 0; i < 3; i++)
		assert_int_equal(sid_route(t, 100 + i, 1, 5), (int)(20 + i));
	for (i = 0; i < 6; i++) { /* 6 left: they fit */
		k.sid[2] = (uint8_t)(i + 1);
		assert_int_equal(cidlb_lb_del_sid(t->lb, &k), 0);
	}
	assert_int_equal(spill_flag(t), 1); /* until a refresh */
	assert_int_equal(cidlb_lb_refresh_tables(t->lb), 0);
	assert_int_equal(spill_flag(t), 0);
	for (i = 6; i < 12; i++)
		assert_int_equal(sid_route(t, i, 0, 3), (int)i);
	for (i = 0; i < 3; i++)
		assert_int_equal(sid_route(t, 100 + i, 1, 5), (int)(20 + i));

	/* server ID 7 (backend 6) pointed at backend 11 behind lb.c's back */
	for (b = 0; b < 2; b++) {
		int j;

		assert_int_equal(bpf_map_lookup_elem(fd, &b, &bk), 0);
		for (j = 0; j < 4; j++)
			if ((bk.e[j] & 0xffffffff) == 0x070000U)
				bk.e[j] = (bk.e[j] & CIDLB_SID_E_KEY) |
					  11ULL << CIDLB_SID_E_IDX_SHIFT;
		assert_int_equal(bpf_map_update_elem(fd, &b, &bk, BPF_ANY), 0);
	}
	assert_int_equal(sid_route(t, 6, 0, 3), 11);
	assert_int_equal(cidlb_lb_refresh_tables(t->lb), 0);
	assert_int_equal(sid_route(t, 6, 0, 3), 6);
	tlb_free(t);
}

/* Verdict of a short-header packet to addr:port (no backends: a VIP's
 * packets are dropped as drop_no_backend, others pass). */
static int run_to(struct tlb *t, int family, const char *addr, uint16_t port)
{
	uint8_t in[TPKT_MAX], out[TPKT_MAX], payload[TPKT_MAX];
	struct tpkt_spec s = { .family = family,
			       .src = family == 4 ? T_CLIENT4 : T_CLIENT6,
			       .dst = addr,
			       .sport = 999,
			       .dport = port,
			       .payload = payload };
	size_t len, outlen;

	s.payload_len = tquic_short(payload, 0x41, (const uint8_t *)"\xe7\x01\x02\x03", 4, 40);
	len = tpkt_build(&s, in);
	return tlb_run(t, in, len, out, &outlen);
}

/* The table that packets read holds every VIP of the map, up to
 * CIDLB_MAX_VIPS, follows removals, and a VIP too many changes nothing. */
static void test_many_vips(void **state)
{
	struct tlb *t = *state;
	struct cidlb_vip_key k;
	struct cidlb_vip v = { .id = 9 };
	char addr[64];
	int i, fam;

	for (i = 2; i < CIDLB_MAX_VIPS; i++) { /* tlb_new made 2 */
		fam = i % 2 ? 6 : 4;
		memset(&k, 0, sizeof(k));
		k.family = fam;
		k.port = htons(4000 + i);
		snprintf(addr, sizeof(addr), fam == 4 ? "198.19.1.%d" : "fd00:9::%x", i);
		tpkt_addr(fam, addr, k.addr);
		assert_int_equal(cidlb_lb_set_vip(t->lb, &k, &v), 0);
	}
	k.port = htons(1); /* one too many */
	assert_int_equal(cidlb_lb_set_vip(t->lb, &k, &v), -E2BIG);
	for (i = 2; i < CIDLB_MAX_VIPS; i++) {
		fam = i % 2 ? 6 : 4;
		snprintf(addr, sizeof(addr), fam == 4 ? "198.19.1.%d" : "fd00:9::%x", i);
		assert_int_equal(run_to(t, fam, addr, 4000 + i), XDP_DROP);
		assert_int_equal(run_to(t, fam, addr, 1), XDP_PASS);
		assert_int_equal(run_to(t, 10 - fam, fam == 4 ? "fd00:9::1" : "198.19.1.1",
					4000 + i),
				 XDP_PASS);
	}
	assert_int_equal(run_to(t, 4, T_VIP4, T_VIP_PORT), XDP_DROP);
	assert_int_equal(run_to(t, 6, T_VIP6, T_VIP_PORT), XDP_DROP);
	for (i = 2; i < CIDLB_MAX_VIPS; i += 2) { /* the IPv4 ones go */
		memset(&k, 0, sizeof(k));
		k.family = 4;
		k.port = htons(4000 + i);
		snprintf(addr, sizeof(addr), "198.19.1.%d", i);
		tpkt_addr(4, addr, k.addr);
		assert_int_equal(cidlb_lb_del_vip(t->lb, &k), 0);
		assert_int_equal(cidlb_lb_del_vip(t->lb, &k), -ENOENT);
	}
	for (i = 2; i < CIDLB_MAX_VIPS; i++) {
		fam = i % 2 ? 6 : 4;
		snprintf(addr, sizeof(addr), fam == 4 ? "198.19.1.%d" : "fd00:9::%x", i);
		assert_int_equal(run_to(t, fam, addr, 4000 + i), fam == 4 ? XDP_PASS : XDP_DROP);
	}
	assert_int_equal(run_to(t, 4, T_VIP4, T_VIP_PORT), XDP_DROP);
}

/* ---- new-flow admission ------------------------------------------------ */

/* The cidlb_lru key of T_CLIENT4:sport -> T_VIP4:443. */
static struct cidlb_flow_key flow4(uint16_t sport)
{
	struct cidlb_flow_key k = { .family = CIDLB_FAMILY_V4 };

	tpkt_addr(4, T_CLIENT4, k.src);
	tpkt_addr(4, T_VIP4, k.dst);
	k.sport = htons(sport);
	k.dport = htons(T_VIP_PORT);
	return k;
}

/* cidlb_lru's entry for T_CLIENT4:sport: 0 and *f, or -ENOENT. */
static int lru_get(struct tlb *t, uint16_t sport, struct cidlb_flow *f)
{
	struct cidlb_flow_key k = flow4(sport);

	return bpf_map_lookup_elem(cidlb_lb_map_fd(t->lb, CIDLB_M_LRU), &k, f) ? -errno : 0;
}

static void lru_set(struct tlb *t, uint16_t sport, const struct cidlb_flow *f)
{
	struct cidlb_flow_key k = flow4(sport);

	assert_int_equal(bpf_map_update_elem(cidlb_lb_map_fd(t->lb, CIDLB_M_LRU), &k, f, BPF_ANY),
			 0);
	assert_int_equal(cidlb_lb_flows_changed(t->lb), 0); /* the 4-tuple caches forget */
}

/* The data path's clock of cidlb_flow.seen, read here. */
static uint32_t tick_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)(((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) >>
			  CIDLB_FLOW_TICK_SHIFT);
}

enum {
	P_INITIAL,
	P_0RTT,
	P_HANDSHAKE,
	P_SHORT
};

/* A packet of T_CLIENT4:sport with an unroutable DCID (config ID 7),
 * `total` octets of UDP payload; returns the verdict, *to the last octet
 * of the outer destination (the backend's 198.18.3.x) or -1. */
static int run_flow(struct tlb *t, uint16_t sport, int kind, size_t total, int *to)
{
	static const uint8_t first[] = { 0xc0, 0xd0, 0xe0 };
	const uint8_t *dcid = (const uint8_t *)"\xe1\x02\x03\x04\x05\x06\x07\x08";
	uint8_t in[TPKT_MAX], out[TPKT_MAX], payload[TPKT_MAX];
	struct tpkt_spec s = { .family = 4,
			       .src = T_CLIENT4,
			       .dst = T_VIP4,
			       .sport = sport,
			       .dport = T_VIP_PORT,
			       .payload = payload };
	size_t len, outlen;
	int rc;

	if (kind == P_SHORT)
		s.payload_len = tquic_short(payload, 0x41, dcid, 8, total);
	else
		s.payload_len = tquic_long(payload, first[kind], 1, dcid, 8, NULL, 0, total);
	assert_int_equal(s.payload_len, total);
	len = tpkt_build(&s, in);
	rc = tlb_run(t, in, len, out, &outlen);
	*to = rc == XDP_TX && outlen == len + 20 ? out[14 + 19] : -1;
	return rc;
}

static void admit_backends(struct tlb *t)
{
	tlb_backend(t, 0, "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_backend(t, 1, "198.18.3.11", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_maglev(t, (uint32_t[]){ 0 }, 1);
}

static void set_admission(struct tlb *t, uint32_t rate, uint32_t idle)
{
	struct cidlb_global g;

	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	g.new_flow_rate = rate;
	g.flow_idle = idle;
	assert_int_equal(cidlb_lb_set_global(t->lb, &g), 0);
}

/*
 * Only an Initial or a 0-RTT packet in 1200 octets of UDP payload creates
 * an entry in cidlb_lru; an Initial in fewer is dropped and makes none;
 * a short header, a Handshake, a small 0-RTT packet go by Maglev and make
 * none, but an entry made before keeps them on its backend.
 */
static void test_admit(void **state)
{
	struct tlb *t = *state;
	struct cidlb_counters c0, c;
	struct cidlb_flow f;
	uint32_t before;
	int to;

	admit_backends(t);
	c0 = tlb_counters(t);
	/* an Initial of 1199 octets: dropped, nothing recorded */
	assert_int_equal(run_flow(t, 1000, P_INITIAL, 1199, &to), XDP_DROP);
	assert_int_equal(lru_get(t, 1000, &f), -ENOENT);
	/* short header, Handshake, small 0-RTT: Maglev, nothing recorded */
	assert_int_equal(run_flow(t, 1001, P_SHORT, 1300, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(lru_get(t, 1001, &f), -ENOENT);
	assert_int_equal(run_flow(t, 1002, P_HANDSHAKE, 1200, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(lru_get(t, 1002, &f), -ENOENT);
	assert_int_equal(run_flow(t, 1003, P_0RTT, 1199, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(lru_get(t, 1003, &f), -ENOENT);
	c = tlb_counters(t);
	assert_int_equal(c.drop_small_initial - c0.drop_small_initial, 1);
	assert_int_equal(c.lru_no_admit - c0.lru_no_admit, 3);
	assert_int_equal(c.route_maglev - c0.route_maglev, 3);
	assert_int_equal(c.route_lru - c0.route_lru, 0);

	/* an Initial of 1200 and a 0-RTT of 1200: recorded, with the time */
	before = tick_now();
	assert_int_equal(run_flow(t, 1004, P_INITIAL, 1200, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(lru_get(t, 1004, &f), 0);
	assert_int_equal(f.backend, 0);
	assert_in_range(f.seen, before, tick_now());
	assert_int_equal(run_flow(t, 1005, P_0RTT, 1200, &to), XDP_TX);
	assert_int_equal(lru_get(t, 1005, &f), 0);
	assert_int_equal(f.backend, 0);

	/* the table moves to backend 1: the recorded flows stay, by every
	 * kind of packet; the others follow the table */
	tlb_maglev(t, (uint32_t[]){ 1 }, 1);
	c0 = tlb_counters(t);
	assert_int_equal(run_flow(t, 1004, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(run_flow(t, 1004, P_HANDSHAKE, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(run_flow(t, 1005, P_0RTT, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(run_flow(t, 1001, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 11);
	assert_int_equal(lru_get(t, 1001, &f), -ENOENT);
	/* an undersized Initial is dropped even where an entry exists */
	assert_int_equal(run_flow(t, 1004, P_INITIAL, 1000, &to), XDP_DROP);
	c = tlb_counters(t);
	assert_int_equal(c.route_lru - c0.route_lru, 3);
	assert_int_equal(c.route_maglev - c0.route_maglev, 1);
	assert_int_equal(c.lru_no_admit - c0.lru_no_admit, 1);
	assert_int_equal(c.drop_small_initial - c0.drop_small_initial, 1);
	assert_int_equal(c.lru_rate_limited + c.lru_idle, 0);
	assert_int_equal(tlb_verdicts(&c), c.rx_packets);
}

/*
 * The rate guard: at new_flow_rate 1 a CPU inserts one 4-tuple, then none
 * until a second has passed; the refused flows still go by Maglev and are
 * counted. At 0, no limit. (The test runs on one CPU: the guard is per
 * CPU.)
 */
static void test_rate_guard(void **state)
{
	struct tlb *t = *state;
	struct timespec pause = { 1, 100 * 1000000 };
	struct cidlb_counters c0, c;
	struct cidlb_flow f;
	cpu_set_t one, old;
	uint16_t p;
	int to;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	admit_backends(t);
	set_admission(t, 1, 0);
	c0 = tlb_counters(t);
	assert_int_equal(run_flow(t, 2000, P_INITIAL, 1200, &to), XDP_TX);
	assert_int_equal(lru_get(t, 2000, &f), 0);
	for (p = 2001; p < 2005; p++) {
		assert_int_equal(run_flow(t, p, P_INITIAL, 1200, &to), XDP_TX);
		assert_int_equal(to, 10);
		assert_int_equal(lru_get(t, p, &f), -ENOENT);
	}
	c = tlb_counters(t);
	assert_int_equal(c.lru_rate_limited - c0.lru_rate_limited, 4);
	assert_int_equal(c.route_maglev - c0.route_maglev, 5);
	/* packets that find their entry do not count against the rate */
	assert_int_equal(run_flow(t, 2000, P_INITIAL, 1200, &to), XDP_TX);
	assert_int_equal(tlb_counters(t).route_lru - c.route_lru, 1);
	/* a second later: one more */
	nanosleep(&pause, NULL);
	assert_int_equal(run_flow(t, 2001, P_INITIAL, 1200, &to), XDP_TX);
	assert_int_equal(lru_get(t, 2001, &f), 0);
	assert_int_equal(run_flow(t, 2002, P_INITIAL, 1200, &to), XDP_TX);
	assert_int_equal(lru_get(t, 2002, &f), -ENOENT);
	/* unlimited */
	set_admission(t, 0, 0);
	for (p = 2002; p < 2100; p++) {
		assert_int_equal(run_flow(t, p, P_INITIAL, 1200, &to), XDP_TX);
		assert_int_equal(lru_get(t, p, &f), 0);
	}
	c0 = tlb_counters(t);
	assert_int_equal(c0.lru_rate_limited - c.lru_rate_limited, 1);
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
}

/*
 * Idle timeout: an entry whose time is more than flow_idle ticks behind is
 * a miss (counted), the packet goes by Maglev and, if it may, writes a new
 * entry; a packet of a fresh entry moves its time on to now, at most once
 * a tick. Times are written into the map here.
 */
static void test_idle(void **state)
{
	struct tlb *t = *state;
	struct cidlb_counters c0, c;
	struct cidlb_flow f;
	uint32_t now;
	int to;

	admit_backends(t);
	set_admission(t, 0, 3);
	assert_int_equal(run_flow(t, 3000, P_INITIAL, 1200, &to), XDP_TX);
	tlb_maglev(t, (uint32_t[]){ 1 }, 1);
	c0 = tlb_counters(t);
	/* one tick behind: fresh, and brought to now */
	now = tick_now();
	lru_set(t, 3000, &(struct cidlb_flow){ .backend = 0, .seen = now - 1 });
	assert_int_equal(run_flow(t, 3000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(lru_get(t, 3000, &f), 0);
	assert_in_range(f.seen, now, tick_now());
	/* one ahead (written by another CPU as the tick turned): fresh, kept */
	now = tick_now();
	lru_set(t, 3000, &(struct cidlb_flow){ .backend = 0, .seen = now + 1 });
	assert_int_equal(run_flow(t, 3000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(lru_get(t, 3000, &f), 0);
	assert_true(f.seen == now + 1 || f.seen == tick_now());
	/* three behind: still fresh (flow_idle 3) */
	now = tick_now();
	lru_set(t, 3000, &(struct cidlb_flow){ .backend = 0, .seen = now - 3 });
	assert_int_equal(run_flow(t, 3000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	/* five behind: idle; a short header goes by Maglev and leaves it */
	now = tick_now();
	lru_set(t, 3000, &(struct cidlb_flow){ .backend = 0, .seen = now - 5 });
	assert_int_equal(run_flow(t, 3000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 11);
	assert_int_equal(lru_get(t, 3000, &f), 0);
	assert_int_equal(f.backend, 0);
	assert_int_equal(f.seen, now - 5);
	c = tlb_counters(t);
	assert_int_equal(c.route_lru - c0.route_lru, 3);
	assert_int_equal(c.lru_idle - c0.lru_idle, 1);
	assert_int_equal(c.route_maglev - c0.route_maglev, 1);
	/* an Initial on it: overwritten with Maglev's choice and now */
	assert_int_equal(run_flow(t, 3000, P_INITIAL, 1200, &to), XDP_TX);
	assert_int_equal(to, 11);
	assert_int_equal(lru_get(t, 3000, &f), 0);
	assert_int_equal(f.backend, 1);
	assert_in_range(f.seen, now, tick_now());
	assert_int_equal(tlb_counters(t).lru_idle - c0.lru_idle, 2);
	/* flow_idle 0: no timeout, whatever the time */
	set_admission(t, 0, 0);
	lru_set(t, 3000, &(struct cidlb_flow){ .backend = 0, .seen = 1 });
	assert_int_equal(run_flow(t, 3000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(lru_get(t, 3000, &f), 0);
	assert_int_equal(f.seen, 1);
}

/* Wait, if need be, until the data path's tick has 800 ms or more to run
 * (at most one tick, 1.07 s): the packets of the next few steps (a few
 * milliseconds) then share one tick, however slow the host. */
static void tick_settle(void)
{
	const uint64_t tick = 1ULL << CIDLB_FLOW_TICK_SHIFT;
	struct timespec ts;
	uint64_t ns, left;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	left = tick - (ns & (tick - 1));
	if (left < 800000000ULL) {
		left += 20000000ULL;
		ts.tv_sec = (time_t)(left / 1000000000ULL);
		ts.tv_nsec = (long)(left % 1000000000ULL);
		nanosleep(&ts, NULL);
	}
}

/* The cidlb_fcache slot this CPU holds for T_CLIENT4:sport, if any. */
static int fcache_get(struct tlb *t, uint16_t sport, struct cidlb_fcache_slot *out)
{
	struct cidlb_flow_key k = flow4(sport);
	int ncpu = libbpf_num_possible_cpus(), cpu = sched_getcpu();
	struct cidlb_fcache_slot *v;
	uint32_t i = cidlb_flow_label(&k) & (CIDLB_FCACHE_SLOTS - 1);
	int rc = -ENOENT;

	assert_true(ncpu > 0 && cpu >= 0 && cpu < ncpu);
	v = calloc((size_t)ncpu, sizeof(*v));
	assert_non_null(v);
	assert_int_equal(bpf_map_lookup_elem(cidlb_lb_map_fd(t->lb, CIDLB_M_FCACHE), &i, v), 0);
	if (!memcmp(&v[cpu].key, &k, sizeof(k))) {
		*out = v[cpu];
		rc = 0;
	}
	free(v);
	return rc;
}

/*
 * The 4-tuple cache (cidlb_fcache, bpf/pick.h): once this CPU has written
 * or read a flow's cidlb_lru entry, the flow's packets take the backend
 * from the cache within the tick (route_lru_cached, cidlb_lru not read:
 * an entry deleted behind its back is still followed), checked as an
 * entry is (a backend gone, down for an Initial, of another pool: the
 * cache is passed over), and forgotten after cidlb_lb_flows_changed().
 * On one CPU: the cache is per CPU.
 */
static void test_flow_cache(void **state)
{
	struct tlb *t = *state;
	struct cidlb_flow_key k = flow4(4000);
	struct cidlb_counters c0, c;
	struct cidlb_fcache_slot s;
	struct cidlb_backend b;
	struct cidlb_global g;
	struct cidlb_flow f;
	cpu_set_t one, old;
	uint32_t idx0 = 0, gen;
	int to, lru = cidlb_lb_map_fd(t->lb, CIDLB_M_LRU);

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	admit_backends(t);
	tick_settle();
	c0 = tlb_counters(t);
	/* the Initial that makes the entry writes the slot too */
	assert_int_equal(run_flow(t, 4000, P_INITIAL, 1200, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(fcache_get(t, 4000, &s), 0);
	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	assert_int_equal(s.backend, 0);
	assert_int_equal(s.gen, g.flow_gen);
	assert_int_equal(s.tick, tick_now());
	assert_int_equal(lru_get(t, 4000, &f), 0);
	assert_int_equal(s.tick, f.seen);
	/* its next packets: from the cache, every kind */
	assert_int_equal(run_flow(t, 4000, P_INITIAL, 1200, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(run_flow(t, 4000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	c = tlb_counters(t);
	assert_int_equal(c.route_maglev - c0.route_maglev, 1);
	assert_int_equal(c.route_lru - c0.route_lru, 2);
	assert_int_equal(c.route_lru_cached - c0.route_lru_cached, 2);
	/* the table moves to backend 1 (the entry, and so the cache, still
	 * say backend 0); a packet (re)fills the slot in this tick; then the
	 * entry is deleted behind the cache's back: the cache still answers
	 * (cidlb_lru is not read) */
	tlb_maglev(t, (uint32_t[]){ 1 }, 1);
	tick_settle();
	c0 = tlb_counters(t);
	assert_int_equal(run_flow(t, 4000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	c = tlb_counters(t);
	assert_int_equal(c.route_lru - c0.route_lru, 1);
	assert_int_equal(bpf_map_delete_elem(lru, &k), 0);
	c0 = tlb_counters(t);
	assert_int_equal(run_flow(t, 4000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	c = tlb_counters(t);
	assert_int_equal(c.route_lru_cached - c0.route_lru_cached, 1);
	/* after cidlb_lb_flows_changed(): forgotten, so Maglev (backend 1) */
	assert_int_equal(cidlb_lb_flows_changed(t->lb), 0);
	assert_int_equal(run_flow(t, 4000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 11);
	c = tlb_counters(t);
	assert_int_equal(c.route_lru_cached - c0.route_lru_cached, 1);
	assert_int_equal(c.route_maglev - c0.route_maglev, 1);
	assert_int_equal(lru_get(t, 4000, &f), -ENOENT);

	/* an Initial makes the entry (backend 1), the slot with it */
	assert_int_equal(run_flow(t, 4000, P_INITIAL, 1200, &to), XDP_TX);
	assert_int_equal(to, 11);
	assert_int_equal(fcache_get(t, 4000, &s), 0);
	assert_int_equal(s.backend, 1);
	tlb_maglev(t, (uint32_t[]){ 0 }, 1);
	/* backend 1 down: an Initial does not follow the cache there, it is
	 * placed anew (backend 0, entry and slot rewritten); before that a
	 * short header still goes to the down backend */
	tick_settle();
	assert_int_equal(run_flow(t, 4000, P_SHORT, 100, &to), XDP_TX); /* fills the slot */
	assert_int_equal(to, 11);
	assert_int_equal(bpf_map_lookup_elem(cidlb_lb_map_fd(t->lb, CIDLB_M_BACKENDS),
					     &(uint32_t){ 1 }, &b),
			 0);
	b.flags |= CIDLB_BE_F_DOWN;
	assert_int_equal(cidlb_lb_set_backend(t->lb, 1, &b), 0);
	c0 = tlb_counters(t);
	assert_int_equal(run_flow(t, 4000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 11);
	assert_int_equal(run_flow(t, 4000, P_INITIAL, 1200, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(lru_get(t, 4000, &f), 0);
	assert_int_equal(f.backend, 0);
	assert_int_equal(fcache_get(t, 4000, &s), 0);
	assert_int_equal(s.backend, 0);
	assert_int_equal(run_flow(t, 4000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	c = tlb_counters(t);
	assert_int_equal(c.route_lru - c0.route_lru, 2);
	assert_int_equal(c.route_lru_cached - c0.route_lru_cached, 2);
	assert_int_equal(c.route_maglev - c0.route_maglev, 1);

	/* backend 0 moves to another pool than the VIP's (0): the cache is
	 * passed over, and the entry, and a short header goes by Maglev (to
	 * backend 1: down, but it may); back in pool 0, the cache answers */
	tlb_maglev(t, (uint32_t[]){ 1 }, 1);
	tick_settle();
	assert_int_equal(run_flow(t, 4000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	assert_int_equal(bpf_map_lookup_elem(cidlb_lb_map_fd(t->lb, CIDLB_M_BACKENDS), &idx0, &b),
			 0);
	b.pool = 1;
	assert_int_equal(cidlb_lb_set_backend(t->lb, 0, &b), 0);
	c0 = tlb_counters(t);
	assert_int_equal(run_flow(t, 4000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 11);
	c = tlb_counters(t);
	assert_int_equal(c.route_lru - c0.route_lru, 0);
	assert_int_equal(c.route_maglev - c0.route_maglev, 1);
	b.pool = 0;
	assert_int_equal(cidlb_lb_set_backend(t->lb, 0, &b), 0);
	assert_int_equal(run_flow(t, 4000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 10);
	c = tlb_counters(t);
	assert_int_equal(c.route_lru_cached - c0.route_lru_cached, 1);
	/* backend 0 removed: passed over too */
	b.state = CIDLB_BE_ABSENT;
	assert_int_equal(cidlb_lb_set_backend(t->lb, 0, &b), 0);
	assert_int_equal(run_flow(t, 4000, P_SHORT, 100, &to), XDP_TX);
	assert_int_equal(to, 11);
	c = tlb_counters(t);
	assert_int_equal(c.route_lru_cached - c0.route_lru_cached, 1);
	assert_int_equal(c.route_maglev - c0.route_maglev, 2);
	assert_int_equal(tlb_verdicts(&c), c.rx_packets);

	/* the generation: kept by other writes of the global settings (a
	 * Maglev table), moved by a change of flow_idle and by
	 * cidlb_lb_flows_changed() */
	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	gen = g.flow_gen;
	tlb_maglev(t, (uint32_t[]){ 0 }, 1);
	set_admission(t, 0, 0);
	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	assert_int_equal(g.flow_gen, gen);
	set_admission(t, 0, 3);
	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	assert_int_equal(g.flow_gen, gen + 1);
	assert_int_equal(cidlb_lb_flows_changed(t->lb), 0);
	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	assert_int_equal(g.flow_gen, gen + 2);
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verifier_budget, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_table, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_icmp_errors, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_icmp_errors_gue, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_icmp_follows_lru, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_not_ip, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_no_backend, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_len_check, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_lru_sticky, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_outer_follows_global, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_gue, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_gue_sport, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_two_lbs_agree, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_memo_follows_maps, tlb_setup, tlb_teardown),
		cmocka_unit_test(test_retired_filter),
		cmocka_unit_test(test_retired_filter_saturates),
		cmocka_unit_test(test_retired_filter_resizes),
		cmocka_unit_test(test_retired_expiry),
		cmocka_unit_test_setup_teardown(test_many_vips, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_sid_table, tlb_setup, tlb_teardown),
		cmocka_unit_test(test_sid_table_spill),
		cmocka_unit_test_setup_teardown(test_admit, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_rate_guard, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_idle, tlb_setup, tlb_teardown),
		cmocka_unit_test_setup_teardown(test_flow_cache, tlb_setup, tlb_teardown),
	};

	return cmocka_run_group_tests_name("datapath", tests, NULL, NULL);
}
