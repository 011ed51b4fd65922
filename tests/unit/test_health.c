// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_health.c - cidlbd's health probe and its answer (user/daemon/health.c,
 * included): the exact octets of an IPv4 and an IPv6 probe (headers,
 * checksums checked by an independent sum, the QUIC long header of a
 * reserved version, 1,200 octets), and which datagrams count as an
 * answer: only a Version Negotiation packet echoing the probe's
 * connection IDs, from the VIP the probe went to.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../user/daemon/health.c"

static int refreshes;

/* apply.c's, not linked here */
int health_publish(struct daemon *d, char *why, size_t why_len)
{
	(void)d;
	(void)why;
	(void)why_len;
	refreshes++;
	return 0;
}

/* the Internet checksum of @len octets after @init (host order sum) */
static uint16_t sum16(uint32_t init, const uint8_t *p, size_t len)
{
	uint32_t s = init;
	size_t i;

	for (i = 0; i < len; i++)
		s += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static const uint8_t DCID[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t SCID[8] = { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8 };

static void check_quic(const uint8_t *q, size_t len)
{
	static const uint8_t head[] = { 0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8 };
	size_t i;

	assert_int_equal(len, 1200);
	assert_memory_equal(q, head, sizeof(head));
	assert_memory_equal(q + 6, DCID, 8);
	assert_int_equal(q[14], 8);
	assert_memory_equal(q + 15, SCID, 8);
	for (i = 23; i < len; i++)
		assert_int_equal(q[i], 0);
}

static void test_probe_v4(void **state)
{
	struct health_be h = { 0 };
	struct cidlb_vip_key vk = { .addr = { 198, 51, 100, 1 },
				    .port = htons(443),
				    .family = CIDLB_FAMILY_V4 };
	static const uint8_t src[4] = { 192, 0, 2, 10 };
	static const uint8_t ip_head[] = { 0x45, 0, 0x04, 0xcc, 0, 0, 0x40, 0, 64, 17 };
	uint8_t buf[1400], pseudo[12] = { 192, 0, 2, 10, 198, 51, 100, 1, 0, 17, 0x04, 0xb8 };
	size_t len;

	(void)state;
	memcpy(h.dcid, DCID, 8);
	memcpy(h.scid, SCID, 8);
	len = build_probe(buf, &h, &vk, src, htons(0x1234), 0x1a2a3a4a);
	assert_int_equal(len, 20 + 8 + 1200);
	assert_memory_equal(buf, ip_head, sizeof(ip_head)); /* 1228 octets, DF, UDP */
	assert_memory_equal(buf + 12, src, 4);
	assert_memory_equal(buf + 16, vk.addr, 4);
	assert_int_equal(sum16(0, buf, 20), 0xffff); /* header checksum */
	assert_int_equal(buf[20] << 8 | buf[21], 0x1234);
	assert_int_equal(buf[22] << 8 | buf[23], 443);
	assert_int_equal(buf[24] << 8 | buf[25], 1208);
	assert_int_not_equal(buf[26] << 8 | buf[27], 0);
	assert_int_equal(sum16(sum16(0, pseudo, 12), buf + 20, 1208), 0xffff);
	check_quic(buf + 28, len - 28);
}

static void test_probe_v6(void **state)
{
	struct health_be h = { 0 };
	struct cidlb_vip_key vk = { .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 },
				    .port = htons(4433),
				    .family = CIDLB_FAMILY_V6 };
	static const uint8_t src[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0x10, [15] = 0x10 };
	static const uint8_t ip_head[] = { 0x60, 0, 0, 0, 0x04, 0xb8, 17, 64 };
	uint8_t buf[1400], pseudo[40] = { 0 };
	size_t len;

	(void)state;
	memcpy(h.dcid, DCID, 8);
	memcpy(h.scid, SCID, 8);
	len = build_probe(buf, &h, &vk, src, htons(0x1234), 0x1a2a3a4a);
	assert_int_equal(len, 40 + 8 + 1200);
	assert_memory_equal(buf, ip_head, sizeof(ip_head));
	assert_memory_equal(buf + 8, src, 16);
	assert_memory_equal(buf + 24, vk.addr, 16);
	assert_int_equal(buf[40] << 8 | buf[41], 0x1234);
	assert_int_equal(buf[42] << 8 | buf[43], 4433);
	assert_int_equal(buf[44] << 8 | buf[45], 1208);
	memcpy(pseudo, src, 16);
	memcpy(pseudo + 16, vk.addr, 16);
	pseudo[34] = 0x04;
	pseudo[35] = 0xb8;
	pseudo[39] = 17;
	assert_int_equal(sum16(sum16(0, pseudo, 40), buf + 40, 1208), 0xffff);
	check_quic(buf + 48, len - 48);
}

/* ---- answers ---------------------------------------------------------------- */

static struct daemon d;
static struct cidlb_conf conf;
static struct cidlb_conf_backend be;
static struct health_be hb;

static int setup(void **state)
{
	(void)state;
	memset(&d, 0, sizeof(d));
	memset(&conf, 0, sizeof(conf));
	cidlb_conf_defaults(&conf);
	conf.health = true;
	cidlb_conf_backend_init(&be, "b1");
	conf.backends = &be;
	conf.n_backends = 1;
	memset(&hb, 0, sizeof(hb));
	snprintf(hb.name, sizeof(hb.name), "b1");
	hb.state = HEALTH_DOWN;
	hb.outstanding = true;
	hb.ok_run = 1; /* rise 2: the next answer makes it up */
	memcpy(hb.dcid, DCID, 8);
	memcpy(hb.scid, SCID, 8);
	hb.vkey = (struct cidlb_vip_key){ .addr = { 198, 51, 100, 1 },
					  .port = htons(443),
					  .family = CIDLB_FAMILY_V4 };
	d.conf = &conf;
	d.health = &hb;
	d.n_health = 1;
	refreshes = 0;
	return 0;
}

/* a VN answer to the probe: DCID = its SCID, SCID = its DCID, 2 versions */
static size_t vn(uint8_t *p)
{
	static const uint8_t versions[] = { 0x1a, 0x2a, 0x3a, 0x4a, 0, 0, 0, 1 };

	p[0] = 0x80 | 0x35;
	memset(p + 1, 0, 4);
	p[5] = 8;
	memcpy(p + 6, SCID, 8);
	p[14] = 8;
	memcpy(p + 15, DCID, 8);
	memcpy(p + 23, versions, sizeof(versions));
	return 23 + sizeof(versions);
}

static void from_vip(struct sockaddr_storage *ss, uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	s4->sin_addr.s_addr = htonl(0xc6336401); /* 198.51.100.1 */
}

static void test_answer_counts(void **state)
{
	struct sockaddr_storage from;
	uint8_t p[64];
	size_t len = vn(p);
	bool table = false;

	(void)state;
	from_vip(&from, 443);
	answer(&d, p, len, &from, &table);
	assert_false(hb.outstanding);
	assert_int_equal(hb.state, HEALTH_UP);
	assert_int_equal(hb.transitions, 1);
	assert_true(table); /* down -> up: the Maglev table takes it back */
	/* the same answer again: no probe waits for it any more */
	hb.state = HEALTH_DOWN;
	hb.ok_run = 1;
	answer(&d, p, len, &from, &table);
	assert_int_equal(hb.state, HEALTH_DOWN);
}

static void test_answer_v4_mapped(void **state)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	uint8_t p[64];
	bool table = false;

	(void)state;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(443);
	inet_pton(AF_INET6, "::ffff:198.51.100.1", &s6->sin6_addr);
	answer(&d, p, vn(p), &ss, &table);
	assert_int_equal(hb.state, HEALTH_UP);
}

/* each of these leaves the probe waiting and the backend down */
static void test_answer_refused(void **state)
{
	struct sockaddr_storage from;
	uint8_t p[64];
	size_t len;
	bool table = false;
	int i;

	(void)state;
	for (i = 0; i < 9; i++) {
		len = vn(p);
		from_vip(&from, 443);
		switch (i) {
		case 0:
			p[8] ^= 1;
			break; /* DCID not the probe's SCID */
		case 1:
			p[20] ^= 1;
			break; /* SCID not the probe's DCID */
		case 2:
			memcpy(p + 6, DCID, 8);
			memcpy(p + 15, SCID, 8);
			break; /* not swapped */
		case 3:
			p[4] = 1;
			break; /* version 1: not VN */
		case 4:
			p[0] = 0x40;
			break; /* short header */
		case 5:
			len -= 1;
			break; /* versions not a multiple of 4 */
		case 6:
			len = 23;
			break; /* no version at all */
		case 7:
			from_vip(&from, 444);
			break; /* from another port */
		case 8:
			((struct sockaddr_in *)&from)->sin_addr.s_addr ^= htonl(1);
			break;
		}
		answer(&d, p, len, &from, &table);
		assert_true(hb.outstanding);
		assert_int_equal(hb.state, HEALTH_DOWN);
		assert_false(table);
	}
}

/* fall 2 and rise 2: one failure or one answer alone changes nothing */
static void test_fall_rise(void **state)
{
	struct hparams p = { .on = true, .fall = 2, .rise = 2 };
	bool table = false;

	(void)state;
	hb.state = HEALTH_UP;
	hb.ok_run = 0;
	probe_result(&d, &hb, &p, false, &table);
	assert_int_equal(hb.state, HEALTH_UP);
	probe_result(&d, &hb, &p, true, &table);
	probe_result(&d, &hb, &p, false, &table);
	assert_int_equal(hb.state, HEALTH_UP);
	probe_result(&d, &hb, &p, false, &table);
	assert_int_equal(hb.state, HEALTH_DOWN);
	assert_true(table);
	table = false;
	probe_result(&d, &hb, &p, true, &table);
	assert_int_equal(hb.state, HEALTH_DOWN);
	probe_result(&d, &hb, &p, true, &table);
	assert_int_equal(hb.state, HEALTH_UP);
	assert_true(table);
	assert_int_equal(hb.transitions, 2);
	/* unknown: the first answer makes it up, without touching the table */
	hb.state = HEALTH_UNKNOWN;
	table = false;
	probe_result(&d, &hb, &p, true, &table);
	assert_int_equal(hb.state, HEALTH_UP);
	assert_false(table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_v4),
		cmocka_unit_test(test_probe_v6),
		cmocka_unit_test_setup(test_answer_counts, setup),
		cmocka_unit_test_setup(test_answer_v4_mapped, setup),
		cmocka_unit_test_setup(test_answer_refused, setup),
		cmocka_unit_test_setup(test_fall_rise, setup),
	};

	log_level = LOG_ERR; /* the state changes are logged */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
