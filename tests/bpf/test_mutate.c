// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_mutate.c - random and mutated packets through the real cidlb.bpf.o.
 * Seeds are valid packets of every kind (IPv4/IPv6, VLAN, short and long
 * headers, plaintext and encrypted CIDs); each iteration flips, inserts,
 * truncates or overwrites octets. For every packet: exactly one verdict
 * counter moves and it matches the return code; a packet passed or
 * dropped leaves the program untouched; a forwarded packet is well formed
 * (outer lengths and checksum right) and carries the input unchanged.
 * TEST_SEED=n repeats a run; TEST_ITER=n sets its length.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include "cidlb/cidlb.h"
#include "tlb.h"

static struct tlb *t;
static uint8_t seeds[16][TPKT_MAX];
static size_t seed_len[16];
static struct tpkt_spec seed_spec[16];
static int nseeds;
static uint8_t four_key[16] = { 0xfd, 0xf7, 0x26, 0xa9, 0x89, 0x3e, 0xc0, 0x5c,
				0x06, 0x32, 0xd3, 0x95, 0x66, 0x80, 0xba, 0xf0 };

static void add_seed(int family, int vlans, const uint8_t *quic, size_t qlen)
{
	struct tpkt_spec *s = &seed_spec[nseeds];

	*s = (struct tpkt_spec){ .family = family,
				 .vlans = vlans,
				 .sport = 4433,
				 .dport = T_VIP_PORT,
				 .payload = quic,
				 .payload_len = qlen };
	s->src = family == 4 ? T_CLIENT4 : T_CLIENT6;
	s->dst = family == 4 ? T_VIP4 : T_VIP6;
	seed_len[nseeds] = tpkt_build(s, seeds[nseeds]);
	nseeds++;
}

static int setup(void **state)
{
	static const uint8_t cid_plain[] = { 0x07, 1, 2, 3, 0xa1, 0xa2, 0xa3, 0xa4 };
	static const uint8_t cid_four[] = { 0x27, 0x67, 0x94, 0x7d, 0x29, 0xbe, 0x05, 0x4a };
	uint8_t q[TPKT_MAX], sid4[3] = { 0x31, 0x44, 0x1a };
	uint32_t mg[3] = { 0, 1, 2 };
	struct cidlb_cid_key rk = { .len = 8 };
	size_t n;

	tlb_setup(state); /* the group's state: tlb_teardown frees it */
	t = *state;
	tlb_config(t, 0, 3, 4, NULL);
	tlb_config(t, 1, 3, 4, four_key);
	tlb_backend(t, 0, "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_backend(t, 1, "fd00:3::11", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	tlb_backend(t, 2, "198.18.3.12", CIDLB_FWD_DIRECT, CIDLB_BE_ACTIVE);
	tlb_sid(t, 0, (const uint8_t *)"\x01\x02\x03", 3, 0);
	tlb_sid(t, 1, sid4, 3, 1);
	tlb_maglev(t, mg, 3);
	memcpy(rk.cid, "\x07\x01\x02\x03\xde\xad\xbe\xef", 8);
	assert_int_equal(cidlb_lb_retire(t->lb, &rk, 0), 0);

	n = tquic_short(q, 0x41, cid_plain, 8, 60);
	add_seed(4, 0, q, n);
	add_seed(6, 1, q, n);
	n = tquic_short(q, 0x01, cid_four, 8, 60);
	add_seed(4, 0, q, n);
	add_seed(6, 2, q, n);
	n = tquic_long(q, 0xc0, 1, cid_plain, 8, cid_four, 8, 1200);
	add_seed(4, 0, q, n);
	n = tquic_long(q, 0xd0, 0x6b3343cf, cid_four, 8, NULL, 0, 300);
	add_seed(6, 0, q, n);
	n = tquic_long(q, 0xc0, 1, (const uint8_t *)"\xe3\x99\x98\x97", 4, NULL, 0, 1200);
	add_seed(4, 1, q, n);
	n = tquic_short(q, 0x41, rk.cid, 8, 40);
	add_seed(4, 0, q, n);
	return 0;
}

static uint32_t rnd(void)
{
	return (uint32_t)random();
}

/* One to four random edits, biased toward the headers. */
static size_t mutate(uint8_t *p, size_t len)
{
	int edits = 1 + rnd() % 4, e;

	for (e = 0; e < edits; e++) {
		size_t at = rnd() % (rnd() % 2 ? 80 : len);

		if (at >= len)
			at = len - 1;
		switch (rnd() % 6) {
		case 0: /* flip a bit */
			p[at] ^= 1 << (rnd() % 8);
			break;
		case 1: /* random octet */
			p[at] = rnd();
			break;
		case 2: /* interesting octet */
			p[at] = (uint8_t[]){
				0, 0xff, 0x7f, 0x80, 0x14, 0x15, 0x40, 0xc0
			}[rnd() % 8];
			break;
		case 3: /* truncate */
			if (at >= 14)
				len = at;
			break;
		case 4: /* grow with junk */
			if (len + 64 < TPKT_MAX) {
				size_t k, add = 1 + rnd() % 64;

				for (k = 0; k < add; k++)
					p[len + k] = rnd();
				len += add;
			}
			break;
		default: /* insert an octet */
			if (len + 1 < TPKT_MAX) {
				memmove(p + at + 1, p + at, len - at);
				p[at] = rnd();
				len++;
			}
		}
	}
	return len < 14 ? 14 : len;
}

/* The outer header of a forwarded frame is right and the input follows it. */
static void check_output(const uint8_t *in, size_t inlen, const uint8_t *out, size_t outlen)
{
	size_t grow = outlen - inlen, l2 = 14;
	uint16_t type;

	assert_true(outlen >= inlen);
	if (grow == 0) { /* direct mode: only the MACs changed */
		t_assert_bytes(out + 12, in + 12, inlen - 12, "direct-mode frame");
		return;
	}
	assert_true(grow == 20 || grow == 40);
	while (l2 < 22 && ((out[l2 - 2] == 0x81 && out[l2 - 1] == 0x00) ||
			   (out[l2 - 2] == 0x88 && out[l2 - 1] == 0xa8)))
		l2 += 4;
	type = (out[l2 - 2] << 8) | out[l2 - 1];
	if (grow == 20) {
		assert_int_equal(type, 0x0800);
		assert_int_equal(out[l2], 0x45);
		assert_int_equal(tcsum(out + l2, 20), 0);
		/* outer length = the inner IP packet's own length */
		assert_true((size_t)((out[l2 + 2] << 8) | out[l2 + 3]) <= inlen - l2 + 20);
	} else {
		assert_int_equal(type, 0x86dd);
		assert_int_equal(out[l2] >> 4, 6);
		assert_true((size_t)((out[l2 + 4] << 8) | out[l2 + 5]) <= inlen - l2);
	}
	t_assert_bytes(out + l2 + grow, in + l2, inlen - l2, "inner packet");
}

static uint64_t sum_of(const struct cidlb_counters *c, const char *prefix)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < cidlb_counter_count; i++)
		if (!strncmp(cidlb_counter_descs[i].name, prefix, strlen(prefix)))
			s += *(const uint64_t *)((const char *)c + cidlb_counter_descs[i].offset);
	return s;
}

static void test_mutations(void **state)
{
	unsigned int seed = getenv("TEST_SEED") ? atoi(getenv("TEST_SEED")) : time(NULL);
	long iters = getenv("TEST_ITER") ? atol(getenv("TEST_ITER")) : 300000, i;
	uint64_t ret[4] = {}, checked = 0;
	struct cidlb_counters c0, c1;

	(void)state;
	print_message("  seed %u, %ld packets (TEST_SEED=%u to repeat)\n", seed, iters, seed);
	srandom(seed);
	c0 = tlb_counters(t);
	for (i = 0; i < iters; i++) {
		uint8_t in[TPKT_MAX], out[TPKT_MAX];
		int k = rnd() % nseeds, rc;
		size_t len, outlen;

		memcpy(in, seeds[k], seed_len[k]);
		len = mutate(in, seed_len[k]);
		rc = tlb_run(t, in, len, out, &outlen);
		assert_in_range(rc, XDP_DROP, XDP_TX); /* never XDP_ABORTED, never REDIRECT here */
		ret[rc]++;
		if (rc == XDP_TX) {
			check_output(in, len, out, outlen);
			checked++;
		} else {
			assert_int_equal(outlen, len);
			t_assert_bytes(out, in, len, "passed/dropped packet untouched");
		}
		if (i % 997 == 0) { /* per-packet counter check on a sample */
			struct cidlb_counters a = tlb_counters(t), b;

			memcpy(in, seeds[k], seed_len[k]);
			len = mutate(in, seed_len[k]);
			rc = tlb_run(t, in, len, out, &outlen);
			ret[rc]++;
			b = tlb_counters(t);
			assert_int_equal(tlb_verdicts(&b) - tlb_verdicts(&a), 1);
			assert_int_equal(sum_of(&b, "pass_") - sum_of(&a, "pass_"), rc == XDP_PASS);
			assert_int_equal(sum_of(&b, "drop_") - sum_of(&a, "drop_"), rc == XDP_DROP);
			assert_int_equal(b.tx - a.tx, rc == XDP_TX);
		}
	}
	c1 = tlb_counters(t);
	assert_int_equal(c1.rx_packets - c0.rx_packets, ret[0] + ret[1] + ret[2] + ret[3]);
	assert_int_equal(tlb_verdicts(&c1) - tlb_verdicts(&c0), c1.rx_packets - c0.rx_packets);
	assert_int_equal(sum_of(&c1, "pass_") - sum_of(&c0, "pass_"), ret[XDP_PASS]);
	assert_int_equal(sum_of(&c1, "drop_") - sum_of(&c0, "drop_"), ret[XDP_DROP]);
	assert_int_equal(c1.tx - c0.tx, ret[XDP_TX]);
	print_message("  pass %llu, drop %llu, tx %llu (%llu outputs checked)\n",
		      (unsigned long long)ret[XDP_PASS], (unsigned long long)ret[XDP_DROP],
		      (unsigned long long)ret[XDP_TX], (unsigned long long)checked);
	/* the mutations reached every kind of verdict */
	assert_true(ret[XDP_PASS] > 0 && ret[XDP_DROP] > 0 && ret[XDP_TX] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests_name("mutate", tests, setup, tlb_teardown);
}
