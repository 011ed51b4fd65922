// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_decap.c - the backend-side program cidlb_decap.bpf.o: a packet
 * encapsulated by cidlb.bpf.o and then decapsulated is byte for byte the
 * client's packet (IPv4/IPv6 inside IPv4/IPv6, with VLAN tags); packets
 * from other sources and non-tunnel packets pass untouched; tunnel packets
 * from a cidlb source to another address or around a packet that is not
 * for a VIP are dropped; the outer ECN field reaches the inner header as
 * RFC 6040 says; GUE packets of a GUE backend alike.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tlb.h"

struct decap {
	struct bpf_object *obj;
	int prog, srcs, counters, locals, vips;
};

#define BE4	     "198.18.3.10" /* the backends: the tunnels' destinations */
#define BE6	     "fd00:3::11"
#define ANYPORT_VIP4 "198.18.1.99" /* a VIP given without a port */

static struct tlb *lb;
static struct decap dc;

static void decap_open(void)
{
	struct cidlb_decap_srcv srcv = { .one = 1 }; /* IPIP only */
	struct cidlb_decap_src s = {};
	__u32 one = 1;

	dc.obj = bpf_object__open_file(tobj("cidlb_decap.bpf.o"), NULL);
	assert_non_null(dc.obj);
	assert_int_equal(bpf_object__load(dc.obj), 0);
	dc.prog = bpf_program__fd(bpf_object__find_program_by_name(dc.obj, CIDLB_PROG_DECAP));
	dc.srcs = bpf_object__find_map_fd_by_name(dc.obj, CIDLB_MAP_DECAP_SRCS);
	dc.counters = bpf_object__find_map_fd_by_name(dc.obj, CIDLB_MAP_DECAP_CNT);
	dc.locals = bpf_object__find_map_fd_by_name(dc.obj, CIDLB_MAP_DECAP_LOCALS);
	dc.vips = bpf_object__find_map_fd_by_name(dc.obj, CIDLB_MAP_DECAP_VIPS);
	assert_true(dc.prog >= 0 && dc.srcs >= 0 && dc.counters >= 0 && dc.locals >= 0 &&
		    dc.vips >= 0);
	s.family = 4;
	tpkt_addr(4, T_LB4, s.addr);
	assert_int_equal(bpf_map_update_elem(dc.srcs, &s, &srcv, BPF_ANY), 0);
	s.family = 6;
	tpkt_addr(6, T_LB6, s.addr);
	assert_int_equal(bpf_map_update_elem(dc.srcs, &s, &srcv, BPF_ANY), 0);
	memset(&s, 0, sizeof(s));
	s.family = 4;
	tpkt_addr(4, BE4, s.addr);
	assert_int_equal(bpf_map_update_elem(dc.locals, &s, &one, BPF_ANY), 0);
	s.family = 6;
	tpkt_addr(6, BE6, s.addr);
	assert_int_equal(bpf_map_update_elem(dc.locals, &s, &one, BPF_ANY), 0);
	{
		struct cidlb_vip_key k = { .port = htons(T_VIP_PORT), .family = 4 };

		tpkt_addr(4, T_VIP4, k.addr);
		assert_int_equal(bpf_map_update_elem(dc.vips, &k, &one, BPF_ANY), 0);
		memset(k.addr, 0, 16);
		k.family = 6;
		tpkt_addr(6, T_VIP6, k.addr);
		assert_int_equal(bpf_map_update_elem(dc.vips, &k, &one, BPF_ANY), 0);
		memset(k.addr, 0, 16);
		k.family = 4;
		k.port = 0;
		tpkt_addr(4, ANYPORT_VIP4, k.addr);
		assert_int_equal(bpf_map_update_elem(dc.vips, &k, &one, BPF_ANY), 0);
	}
}

static struct cidlb_decap_counters decap_counters(void)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct cidlb_decap_counters *v = calloc(ncpu, sizeof(*v)), sum = {};
	__u32 zero = 0;
	size_t f;

	assert_int_equal(bpf_map_lookup_elem(dc.counters, &zero, v), 0);
	for (c = 0; c < ncpu; c++)
		for (f = 0; f < sizeof(sum) / 8; f++)
			((__u64 *)&sum)[f] += ((__u64 *)&v[c])[f];
	free(v);
	return sum;
}

static int setup(void **state)
{
	(void)state;
	lb = tlb_new();
	tlb_config(lb, 0, 3, 4, NULL);
	tlb_backend(lb, 0, BE4, CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_backend(lb, 1, BE6, CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_sid(lb, 0, (const uint8_t *)"\x01\x02\x03", 3, 0);
	tlb_sid(lb, 0, (const uint8_t *)"\x0a\x0b\x0c", 3, 1);
	decap_open();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tlb_free(lb);
	bpf_object__close(dc.obj);
	return 0;
}

static size_t client_frame(int family, int vlans, const char *cid_hex, uint8_t *frame)
{
	uint8_t payload[64], cid[20];
	size_t n = thex(cid_hex, cid, sizeof(cid));
	struct tpkt_spec s = { .family = family,
			       .vlans = vlans,
			       .sport = 40000,
			       .dport = T_VIP_PORT,
			       .payload = payload,
			       .tos = 0x22 };

	s.src = family == 4 ? T_CLIENT4 : T_CLIENT6;
	s.dst = family == 4 ? T_VIP4 : T_VIP6;
	s.payload_len = tquic_short(payload, 0x43, cid, n, 60);
	return tpkt_build(&s, frame);
}

/* in -> cidlb (XDP_TX, `overhead` octets of tunnel headers more) -> decap
 * (XDP_PASS) == in, but for the MACs, which cidlb rewrote on the way. */
static void round_trip(const uint8_t *in, size_t len, size_t overhead, const char *what)
{
	uint8_t mid[TPKT_MAX], out[TPKT_MAX], want[TPKT_MAX];
	size_t midlen, outlen;

	assert_int_equal(tlb_run(lb, in, len, mid, &midlen), XDP_TX);
	assert_int_equal(midlen, len + overhead);
	assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_PASS);
	/* the client's frame with the MACs of the tunnel packet */
	memcpy(want, mid, 12);
	memcpy(want + 12, in + 12, len - 12);
	t_assert_frame(out, outlen, want, len, what);
}

/* Client frames of every inner and outer family, with tags, through
 * round_trip() to backend 0 (IPv4 outer, tunnel headers o4 octets) or 1
 * (IPv6, o6): each decapsulated once, counted by its outer family. */
static void client_round_trips(size_t o4, size_t o6, const char *what)
{
	static const struct {
		int family, vlans;
		const char *cid;
		int v6_outer;
	} rt[] = {
		{ 4, 0, "07010203a1a2a3a4", 0 }, { 6, 0, "07010203a1a2a3a4", 0 },
		{ 4, 0, "070a0b0ca1a2a3a4", 1 }, { 6, 0, "070a0b0ca1a2a3a4", 1 },
		{ 4, 1, "07010203a1a2a3a4", 0 }, { 6, 2, "070a0b0ca1a2a3a4", 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		uint8_t in[TPKT_MAX];
		struct cidlb_decap_counters before = decap_counters(), after;
		size_t len = client_frame(rt[i].family, rt[i].vlans, rt[i].cid, in);

		round_trip(in, len, rt[i].v6_outer ? o6 : o4, what);
		after = decap_counters();
		assert_int_equal(after.rx_packets - before.rx_packets, 1);
		if (rt[i].v6_outer)
			assert_int_equal(after.decap_v6 - before.decap_v6, 1);
		else
			assert_int_equal(after.decap_v4 - before.decap_v4, 1);
	}
}

/* IPIP and IP6IP6 (IPv4 and IPv6 outer headers, 20 and 40 octets). */
static void test_round_trip(void **state)
{
	(void)state;
	client_round_trips(20, 40, "decapsulated packet");
}

/* An ICMP error (fam, type) to the VIP quoting the packet the VIP sent
 * from port `sport` to the client, a Handshake whose SCID is `scid`. */
static size_t icmp_error_frame(int family, uint8_t type, uint16_t sport, const uint8_t *scid,
			       uint8_t *frame)
{
	uint8_t payload[128], quoted[TPKT_MAX], icmp[TPKT_MAX] = { type };
	struct tpkt_spec q = {
		.family = family, .sport = sport, .dport = 40000, .payload = payload
	};
	struct tpkt_spec s = { .family = family, .proto = family == 4 ? 1 : 58, .payload = icmp };
	size_t n;

	q.src = s.dst = family == 4 ? T_VIP4 : T_VIP6;
	q.dst = family == 4 ? T_CLIENT4 : T_CLIENT6;
	s.src = family == 4 ? "198.18.9.9" : "fd00:9::9";
	q.payload_len =
		tquic_long(payload, 0xe0, 1, (const uint8_t *)"\xc1\xc2\xc3\xc4", 4, scid, 8, 100);
	n = tpkt_build(&q, quoted) - 14;
	memcpy(icmp + 8, quoted + 14, n);
	s.payload_len = 8 + n;
	return tpkt_build(&s, frame);
}

/* An ICMP error about a VIP's packet: cidlb sends it to the backend of the
 * quoted SCID, whose decap strips it like the client's packets; one
 * about another port of the VIP address is dropped there. */
static void test_icmp_round_trip(void **state)
{
	static const struct {
		int family;
		uint8_t type;
		const char *scid;
		int v6_outer;
	} rt[] = {
		{ 4, 3, "\x07\x01\x02\x03\xa1\xa2\xa3\xa4", 0 },
		{ 6, 2, "\x07\x01\x02\x03\xa1\xa2\xa3\xa4", 0 },
		{ 4, 11, "\x07\x0a\x0b\x0c\xa1\xa2\xa3\xa4", 1 },
		{ 6, 1, "\x07\x0a\x0b\x0c\xa1\xa2\xa3\xa4", 1 },
	};
	uint8_t in[TPKT_MAX], mid[TPKT_MAX], out[TPKT_MAX];
	struct cidlb_decap_counters before, after;
	size_t i, len, midlen, outlen;

	(void)state;
	for (i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		before = decap_counters();
		len = icmp_error_frame(rt[i].family, rt[i].type, T_VIP_PORT,
				       (const uint8_t *)rt[i].scid, in);
		round_trip(in, len, rt[i].v6_outer ? 40 : 20, "decapsulated ICMP error");
		after = decap_counters();
		assert_int_equal(
			after.decap_v4 + after.decap_v6 - before.decap_v4 - before.decap_v6, 1);
	}
	/* the same error about port 444 of the VIP address, tunnelled as
	 * cidlb would (the LB itself never sends it: not a VIP) */
	before = decap_counters();
	len = icmp_error_frame(4, 3, T_VIP_PORT, (const uint8_t *)rt[0].scid, in);
	assert_int_equal(tlb_run(lb, in, len, mid, &midlen), XDP_TX);
	mid[14 + 20 + 20 + 8 + 20 + 1] = 444 & 0xff; /* quoted source port 443 -> 444 */
	assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_DROP);
	after = decap_counters();
	assert_int_equal(after.drop_inner_dst - before.drop_inner_dst, 1);
}

/* Not from a cidlb source, or not a tunnel: untouched. */
static void test_pass_untouched(void **state)
{
	uint8_t in[TPKT_MAX], mid[TPKT_MAX], out[TPKT_MAX];
	struct cidlb_decap_counters before = decap_counters(), after;
	size_t len, midlen, outlen;

	(void)state;
	/* plain client packet: not a tunnel */
	len = client_frame(4, 0, "07010203a1a2a3a4", in);
	assert_int_equal(tlb_run_prog(dc.prog, in, len, out, &outlen, 0), XDP_PASS);
	t_assert_frame(out, outlen, in, len, "non-tunnel packet");
	/* a tunnel packet from another source (outer source rewritten) */
	assert_int_equal(tlb_run(lb, in, len, mid, &midlen), XDP_TX);
	mid[14 + 15] ^= 0x01; /* outer saddr last octet */
	assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_PASS);
	t_assert_frame(out, outlen, mid, midlen, "foreign tunnel packet");
	/* ARP */
	memset(in, 0, 60);
	in[12] = 0x08;
	in[13] = 0x06;
	assert_int_equal(tlb_run_prog(dc.prog, in, 60, out, &outlen, 0), XDP_PASS);
	after = decap_counters();
	assert_int_equal(after.pass_not_tunnel - before.pass_not_tunnel, 2);
	assert_int_equal(after.pass_unknown_src - before.pass_unknown_src, 1);
	assert_int_equal(after.decap_v4 + after.decap_v6, before.decap_v4 + before.decap_v6);
}

/* A tunnel packet from a cidlb source too short to hold a packet inside. */
static void test_malformed(void **state)
{
	uint8_t in[TPKT_MAX], mid[TPKT_MAX], out[TPKT_MAX];
	struct cidlb_decap_counters before = decap_counters(), after;
	size_t len, midlen, outlen;

	(void)state;
	len = client_frame(4, 0, "07010203a1a2a3a4", in);
	assert_int_equal(tlb_run(lb, in, len, mid, &midlen), XDP_TX);
	assert_int_equal(tlb_run_prog(dc.prog, mid, 14 + 20 + 20, out, &outlen, 0), XDP_DROP);
	after = decap_counters();
	assert_int_equal(after.drop_malformed - before.drop_malformed, 1);
}

/* The GUE port of both LB sources in decap_srcs (0: IPIP only). */
static void srcs_gue_port(uint16_t port)
{
	struct cidlb_decap_srcv v = { .one = 1, .gue_port = htons(port) };
	struct cidlb_decap_src s = { .family = 4 };

	tpkt_addr(4, T_LB4, s.addr);
	assert_int_equal(bpf_map_update_elem(dc.srcs, &s, &v, BPF_EXIST), 0);
	memset(&s, 0, sizeof(s));
	s.family = 6;
	tpkt_addr(6, T_LB6, s.addr);
	assert_int_equal(bpf_map_update_elem(dc.srcs, &s, &v, BPF_EXIST), 0);
}

/*
 * GUE backends: client frame -> cidlb (IP, UDP and GUE headers) -> decap
 * == client frame, every inner and outer family and with tags. GUE to
 * another port, or from a source whose GUE port is another or none, is
 * an ordinary UDP packet and passes untouched; a GUE header cidlb does
 * not write (another version, flags) to the port is dropped.
 */
static void test_gue_round_trip(void **state)
{
	uint8_t in[TPKT_MAX], mid[TPKT_MAX], out[TPKT_MAX];
	struct cidlb_decap_counters before, after;
	size_t len, midlen, outlen, u;

	(void)state;
	tlb_backend_gue(lb, 0, BE4, CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE, 6080);
	tlb_backend_gue(lb, 1, BE6, CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE, 6080);
	srcs_gue_port(6080);
	/* the outer IP header, UDP (8) and GUE (4) */
	client_round_trips(32, 52, "decapsulated GUE packet");

	before = decap_counters();
	len = client_frame(4, 0, "07010203a1a2a3a4", in);
	assert_int_equal(tlb_run(lb, in, len, mid, &midlen), XDP_TX);
	u = 14 + 20;
	/* to port 6081: not GUE */
	mid[u + 3]++;
	assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_PASS);
	t_assert_frame(out, outlen, mid, midlen, "UDP to another port");
	mid[u + 3]--;
	/* from another address (the outer source's last octet) */
	mid[14 + 15] ^= 0x01;
	assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_PASS);
	t_assert_frame(out, outlen, mid, midlen, "UDP from another source");
	mid[14 + 15] ^= 0x01;
	/* GUE version 1, a flag, protocol UDP: not what cidlb sends */
	mid[u + 8] = 0x40;
	assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_DROP);
	mid[u + 8] = 0;
	mid[u + 10] = 0x80;
	assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_DROP);
	mid[u + 10] = 0;
	mid[u + 9] = 17;
	assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_DROP);
	mid[u + 9] = 4;
	/* cut inside the GUE header: not GUE */
	assert_int_equal(tlb_run_prog(dc.prog, mid, u + 10, out, &outlen, 0), XDP_PASS);
	/* a source without GUE (port 0) */
	srcs_gue_port(0);
	assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_PASS);
	t_assert_frame(out, outlen, mid, midlen, "GUE to a source without GUE");
	/* another GUE port */
	srcs_gue_port(7000);
	assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_PASS);
	srcs_gue_port(6080);
	assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_PASS);
	assert_int_equal(outlen, len);
	after = decap_counters();
	assert_int_equal(after.pass_not_tunnel - before.pass_not_tunnel, 5);
	assert_int_equal(after.drop_malformed - before.drop_malformed, 3);
	assert_int_equal(after.decap_v4 - before.decap_v4, 1);
	assert_int_equal(after.pass_unknown_src, before.pass_unknown_src);

	/* back to IPIP for the other tests */
	tlb_backend(lb, 0, BE4, CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_backend(lb, 1, BE6, CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	srcs_gue_port(0);
}

/* One tunnel packet built by hand, octet by octet: */
struct tun_case {
	const char *name;
	int outer;		 /* 4 or 6 */
	const char *osrc, *odst; /* outer addresses */
	uint8_t oecn;		 /* outer ECN field */
	int inner;		 /* 4 or 6 */
	const char *idst;	 /* inner destination */
	uint16_t idport;
	uint8_t itos; /* inner TOS / traffic class */
	int verdict;
	size_t cnt;	  /* the counter that moves */
	uint8_t want_tos; /* inner TOS after decapsulation */
};

#define DCNT(f) offsetof(struct cidlb_decap_counters, f)

static const struct tun_case tun_cases[] = {
	{ "good packet, IPv4 in IPv4", 4, T_LB4, BE4, 0, 4, T_VIP4, T_VIP_PORT, 0xb8, XDP_PASS,
	  DCNT(decap_v4), 0xb8 },
	{ "good packet, IPv6 in IPv6", 6, T_LB6, BE6, 0, 6, T_VIP6, T_VIP_PORT, 0xb8, XDP_PASS,
	  DCNT(decap_v6), 0xb8 },
	{ "a VIP given without a port: any port", 4, T_LB4, BE4, 0, 4, ANYPORT_VIP4, 7778, 0,
	  XDP_PASS, DCNT(decap_v4), 0 },
	{ "spoofed: inner destination the backend's own address", 4, T_LB4, BE4, 0, 4, BE4, 7778, 0,
	  XDP_DROP, DCNT(drop_inner_dst), 0 },
	{ "spoofed: the VIP on another port", 4, T_LB4, BE4, 0, 4, T_VIP4, 7778, 0, XDP_DROP,
	  DCNT(drop_inner_dst), 0 },
	{ "spoofed: IPv6 inner to the backend", 6, T_LB6, BE6, 0, 6, BE6, T_VIP_PORT, 0, XDP_DROP,
	  DCNT(drop_inner_dst), 0 },
	{ "outer destination not a local address", 4, T_LB4, "198.18.3.99", 0, 4, T_VIP4,
	  T_VIP_PORT, 0, XDP_DROP, DCNT(drop_outer_dst), 0 },
	{ "IPv6 outer destination not a local address", 6, T_LB6, "fd00:3::99", 0, 4, T_VIP4,
	  T_VIP_PORT, 0, XDP_DROP, DCNT(drop_outer_dst), 0 },
	{ "outer CE over ECT(0): CE inside, IPv4", 4, T_LB4, BE4, 3, 4, T_VIP4, T_VIP_PORT, 0xba,
	  XDP_PASS, DCNT(ecn_marked), 0xbb },
	{ "outer CE over ECT(1): CE inside, IPv6", 6, T_LB6, BE6, 3, 6, T_VIP6, T_VIP_PORT, 0xb9,
	  XDP_PASS, DCNT(ecn_marked), 0xbb },
	{ "outer CE over ECT(0), IPv6 in IPv4", 4, T_LB4, BE4, 3, 6, T_VIP6, T_VIP_PORT, 0x02,
	  XDP_PASS, DCNT(ecn_marked), 0x03 },
	{ "outer ECT(1) over ECT(0): ECT(1) inside", 4, T_LB4, BE4, 1, 4, T_VIP4, T_VIP_PORT, 0x02,
	  XDP_PASS, DCNT(ecn_marked), 0x01 },
	{ "outer ECT(0) over ECT(1): unchanged", 4, T_LB4, BE4, 2, 4, T_VIP4, T_VIP_PORT, 0x01,
	  XDP_PASS, DCNT(decap_v4), 0x01 },
	{ "outer CE over CE: unchanged", 4, T_LB4, BE4, 3, 4, T_VIP4, T_VIP_PORT, 0x03, XDP_PASS,
	  DCNT(decap_v4), 0x03 },
	{ "outer ECT(0) over Not-ECT: unchanged", 4, T_LB4, BE4, 2, 4, T_VIP4, T_VIP_PORT, 0xb8,
	  XDP_PASS, DCNT(decap_v4), 0xb8 },
	{ "outer CE over Not-ECT: dropped (RFC 6040 4.2)", 4, T_LB4, BE4, 3, 4, T_VIP4, T_VIP_PORT,
	  0xb8, XDP_DROP, DCNT(drop_ecn), 0 },
	{ "outer CE over Not-ECT, IPv6: dropped", 6, T_LB6, BE6, 3, 6, T_VIP6, T_VIP_PORT, 0x00,
	  XDP_DROP, DCNT(drop_ecn), 0 },
};

/* The client's frame (inner) and the tunnel frame around it. */
static size_t tun_frames(const struct tun_case *c, uint8_t *inner, size_t *inner_len,
			 uint8_t *frame)
{
	static const uint8_t payload[24] = { 0x41, 0x07, 0x01, 0x02, 0x03, 0xa1, 0xa2, 0xa3, 0xa4 };
	struct tpkt_spec s = { .family = c->inner,
			       .sport = 40000,
			       .dport = c->idport,
			       .tos = c->itos,
			       .payload = payload,
			       .payload_len = sizeof(payload) };
	size_t n, olen = c->outer == 4 ? 20 : 40;
	uint8_t *o = frame + 14;

	s.src = c->inner == 4 ? T_CLIENT4 : T_CLIENT6;
	s.dst = c->idst;
	n = tpkt_build(&s, inner);
	*inner_len = n;
	memset(frame, 0, TPKT_MAX);
	memcpy(frame, inner, 12);
	frame[12] = c->outer == 4 ? 0x08 : 0x86;
	frame[13] = c->outer == 4 ? 0x00 : 0xdd;
	if (c->outer == 4) {
		uint8_t a[16];
		uint16_t ck;

		o[0] = 0x45;
		o[1] = c->oecn;
		o[2] = (n - 14 + 20) >> 8;
		o[3] = n - 14 + 20;
		o[6] = 0x40; /* DF */
		o[8] = 64;
		o[9] = c->inner == 4 ? 4 : 41;
		tpkt_addr(4, c->osrc, a);
		memcpy(o + 12, a, 4);
		tpkt_addr(4, c->odst, a);
		memcpy(o + 16, a, 4);
		ck = tcsum(o, 20);
		memcpy(o + 10, &ck, 2);
	} else {
		o[0] = 0x60;
		o[1] = c->oecn << 4;
		o[4] = (n - 14) >> 8;
		o[5] = n - 14;
		o[6] = c->inner == 4 ? 4 : 41;
		o[7] = 64;
		tpkt_addr(6, c->osrc, o + 8);
		tpkt_addr(6, c->odst, o + 24);
	}
	memcpy(frame + 14 + olen, inner + 14, n - 14);
	return n + olen;
}

static void test_tunnel_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tun_cases) / sizeof(tun_cases[0]); i++) {
		const struct tun_case *c = &tun_cases[i];
		uint8_t inner[TPKT_MAX], frame[TPKT_MAX], out[TPKT_MAX], want[TPKT_MAX];
		struct cidlb_decap_counters before = decap_counters(), after;
		size_t ilen, len, outlen;
		int rc;

		print_message("  case: %s\n", c->name);
		len = tun_frames(c, inner, &ilen, frame);
		rc = tlb_run_prog(dc.prog, frame, len, out, &outlen, 0);
		after = decap_counters();
		if (rc != c->verdict)
			print_error("%s: verdict %d, want %d\n", c->name, rc, c->verdict);
		assert_int_equal(rc, c->verdict);
		assert_int_equal(((__u64 *)&after)[c->cnt / 8] - ((__u64 *)&before)[c->cnt / 8], 1);
		assert_int_equal(after.rx_packets - before.rx_packets, 1);
		if (rc != XDP_PASS)
			continue;
		/* the client's frame, its ECN field as RFC 6040 makes it and,
		 * for IPv4, its header checksum recomputed from scratch */
		memcpy(want, inner, ilen);
		if (c->inner == 4) {
			uint16_t ck;

			want[15] = c->want_tos;
			want[24] = want[25] = 0;
			ck = tcsum(want + 14, 20);
			memcpy(want + 24, &ck, 2);
		} else {
			want[14] = 0x60 | c->want_tos >> 4;
			want[15] = (c->want_tos & 0xf) << 4;
		}
		t_assert_frame(out, outlen, want, ilen, c->name);
		if (c->inner == 4)
			assert_int_equal(tcsum(out + 14, 20), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),     cmocka_unit_test(test_icmp_round_trip),
		cmocka_unit_test(test_pass_untouched), cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_tunnel_cases),   cmocka_unit_test(test_gue_round_trip),
	};

	return cmocka_run_group_tests_name("decap", tests, setup, teardown);
}
