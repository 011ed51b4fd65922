// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_decap.c - the backend-side program cidlb_decap.bpf.o: a packet
 * encapsulated by cidlb.bpf.o and then decapsulated is byte for byte the
 * client's packet (IPv4/IPv6 inside IPv4/IPv6, with VLAN tags); packets
 * from other sources and non-tunnel packets pass untouched.
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
	int prog, srcs, counters;
};

static struct tlb *lb;
static struct decap dc;

static void decap_open(void)
{
	struct cidlb_decap_src s = {};
	__u32 one = 1;

	dc.obj = bpf_object__open_file(tobj("cidlb_decap.bpf.o"), NULL);
	assert_non_null(dc.obj);
	assert_int_equal(bpf_object__load(dc.obj), 0);
	dc.prog = bpf_program__fd(bpf_object__find_program_by_name(dc.obj, CIDLB_PROG_DECAP));
	dc.srcs = bpf_object__find_map_fd_by_name(dc.obj, CIDLB_MAP_DECAP_SRCS);
	dc.counters = bpf_object__find_map_fd_by_name(dc.obj, CIDLB_MAP_DECAP_CNT);
	assert_true(dc.prog >= 0 && dc.srcs >= 0 && dc.counters >= 0);
	s.family = 4;
	tpkt_addr(4, T_LB4, s.addr);
	assert_int_equal(bpf_map_update_elem(dc.srcs, &s, &one, BPF_ANY), 0);
	s.family = 6;
	tpkt_addr(6, T_LB6, s.addr);
	assert_int_equal(bpf_map_update_elem(dc.srcs, &s, &one, BPF_ANY), 0);
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
	tlb_backend(lb, 0, "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_backend(lb, 1, "fd00:3::11", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
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
	struct tpkt_spec s = { .family = family, .vlans = vlans, .sport = 40000,
			       .dport = T_VIP_PORT, .payload = payload, .tos = 0x22 };

	s.src = family == 4 ? T_CLIENT4 : T_CLIENT6;
	s.dst = family == 4 ? T_VIP4 : T_VIP6;
	s.payload_len = tquic_short(payload, 0x43, cid, n, 60);
	return tpkt_build(&s, frame);
}

/* client frame -> cidlb (encap) -> decap == client frame, but for the
 * MACs, which cidlb rewrote on the way. */
static void test_round_trip(void **state)
{
	static const struct { int family, vlans; const char *cid; int v6_outer; } rt[] = {
		{ 4, 0, "07010203a1a2a3a4", 0 }, { 6, 0, "07010203a1a2a3a4", 0 },
		{ 4, 0, "070a0b0ca1a2a3a4", 1 }, { 6, 0, "070a0b0ca1a2a3a4", 1 },
		{ 4, 1, "07010203a1a2a3a4", 0 }, { 6, 2, "070a0b0ca1a2a3a4", 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		uint8_t in[TPKT_MAX], mid[TPKT_MAX], out[TPKT_MAX];
		struct cidlb_decap_counters before = decap_counters(), after;
		size_t len, midlen, outlen;

		len = client_frame(rt[i].family, rt[i].vlans, rt[i].cid, in);
		assert_int_equal(tlb_run(lb, in, len, mid, &midlen), XDP_TX);
		assert_int_equal(midlen, len + (rt[i].v6_outer ? 40 : 20));
		assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_PASS);
		assert_int_equal(outlen, len);
		t_assert_bytes(out + 12, in + 12, len - 12, "decapsulated packet");
		t_assert_bytes(out, mid, 12, "MACs as received");
		after = decap_counters();
		assert_int_equal(after.rx_packets - before.rx_packets, 1);
		if (rt[i].v6_outer)
			assert_int_equal(after.decap_v6 - before.decap_v6, 1);
		else
			assert_int_equal(after.decap_v4 - before.decap_v4, 1);
	}
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
	assert_int_equal(outlen, len);
	t_assert_bytes(out, in, len, "non-tunnel packet");
	/* a tunnel packet from another source (outer source rewritten) */
	assert_int_equal(tlb_run(lb, in, len, mid, &midlen), XDP_TX);
	mid[14 + 15] ^= 0x01;	/* outer saddr last octet */
	assert_int_equal(tlb_run_prog(dc.prog, mid, midlen, out, &outlen, 0), XDP_PASS);
	assert_int_equal(outlen, midlen);
	t_assert_bytes(out, mid, midlen, "foreign tunnel packet");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_pass_untouched),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests_name("decap", tests, setup, teardown);
}
