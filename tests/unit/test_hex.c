// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_hex.c - octet strings in hex (user/ctl/hex.h), the one rule of
 * every CID, server ID, key and frame cidlb reads: each accepted form
 * gives the exact octets, each refused form is refused with -EINVAL or
 * -E2BIG and says why, the length limit holds to the octet, and what
 * cidlb_hex() writes reads back the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "ctl/hex.h"

static const uint8_t want3[3] = { 0x07, 0x01, 0xa4 };

static void parses_to(const char *s, const uint8_t *want, size_t n)
{
	uint8_t out[32];
	size_t len = 99;
	char why[96] = "";

	memset(out, 0xee, sizeof(out));
	if (cidlb_parse_hex_why(s, out, sizeof(out), &len, why, sizeof(why)))
		fail_msg("'%s' refused: %s", s, why);
	assert_int_equal(len, n);
	assert_memory_equal(out, want, n);
	assert_int_equal(out[n], 0xee); /* nothing written past the octets */
}

/* refused(s, err, why): cidlb_parse_hex_why returns err and why holds the
 * words; out is not written beyond what the caller may see. */
static void refused(const char *s, int err, const char *words)
{
	uint8_t out[4];
	size_t len;
	char why[96] = "";

	if (cidlb_parse_hex_why(s, out, sizeof(out), &len, why, sizeof(why)) != err)
		fail_msg("'%s': not refused with %d (why: '%s')", s, err, why);
	if (!strstr(why, words))
		fail_msg("'%s': why '%s' lacks '%s'", s, why, words);
	assert_int_equal(cidlb_parse_hex(s, out, sizeof(out), &len), err);
}

static void test_good_forms(void **state)
{
	static const uint8_t one[1] = { 0xff },
			     all[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

	(void)state;
	parses_to("0701a4", want3, 3);
	parses_to("0701A4", want3, 3);
	parses_to("07:01:a4", want3, 3);
	parses_to("07:01:A4", want3, 3);
	parses_to("ff", one, 1);
	parses_to("FF", one, 1);
	parses_to("0123456789abcdef", all, 8);
	parses_to("0123456789ABCDEF", all, 8);
	parses_to("01:23:45:67:89:aB:Cd:eF", all, 8);
}

static void test_bad_forms(void **state)
{
	(void)state;
	refused("", -EINVAL, "empty");
	refused("0x0701", -EINVAL, "'0x' prefix");
	refused("0X0701", -EINVAL, "'0x' prefix");
	refused("07-01-a4", -EINVAL, "'-' at character 3 is not a hex digit");
	refused("-0701", -EINVAL, "'-' at character 1 is not a hex digit");
	refused("07 01", -EINVAL, "a space at character 3");
	refused(" 0701", -EINVAL, "a space at character 1");
	refused("0701 ", -EINVAL, "a space at character 5");
	refused("0701\n", -EINVAL, "character 5 (octet 0x0a) is not a hex digit");
	refused("07\t01", -EINVAL, "character 3 (octet 0x09)");
	refused("zz", -EINVAL, "'z' at character 1 is not a hex digit");
	refused("07g1", -EINVAL, "'g' at character 3 is not a hex digit");
	refused("070", -EINVAL, "odd number of hex digits (3)");
	refused("7", -EINVAL, "odd number of hex digits (1)");
	refused("07:0", -EINVAL, "odd number of hex digits");
	refused(":07:01", -EINVAL, "a colon at the start");
	refused("07:01:", -EINVAL, "a colon at the end");
	refused(":", -EINVAL, "a colon at the start");
	refused("07::01", -EINVAL, "two colons in a row");
	refused("0701:a4", -EINVAL, "colons, but not between every two digits");
	refused("07:01a4", -EINVAL, "colons, but not between every two digits");
	refused("7:01:a4:0", -EINVAL, "colons, but not between every two digits");
	refused("0701a4bb00", -E2BIG, "5 octets, at most 4");
	refused("07:01:a4:bb:00", -E2BIG, "5 octets, at most 4");
}

/* Exactly max octets fit, one more is -E2BIG and *len says how many
 * there were; nothing is written on a refusal. */
static void test_max_length(void **state)
{
	/* c: the last snprintf writes its NUL past the final colon */
	char s[2 * 21 + 1], c[3 * 21 + 1];
	uint8_t out[21];
	size_t len, i;

	(void)state;
	for (i = 0; i < 21; i++) {
		snprintf(s + 2 * i, 3, "%02x", (unsigned)(i + 1));
		snprintf(c + 3 * i, 4, "%02x:", (unsigned)(i + 1));
	}
	c[3 * 21 - 1] = '\0';
	memset(out, 0, sizeof(out));
	assert_int_equal(cidlb_parse_hex(s, out, 21, &len), 0);
	assert_int_equal(len, 21);
	for (i = 0; i < 21; i++)
		assert_int_equal(out[i], i + 1);
	memset(out, 0, sizeof(out));
	assert_int_equal(cidlb_parse_hex(s, out, 20, &len), -E2BIG);
	assert_int_equal(len, 21);
	assert_int_equal(out[0], 0);
	assert_int_equal(cidlb_parse_hex(c, out, 20, &len), -E2BIG);
	assert_int_equal(len, 21);
	assert_int_equal(out[0], 0);
	assert_int_equal(cidlb_parse_hex(c, out, 21, &len), 0);
	assert_int_equal(len, 21);
	assert_int_equal(out[20], 21);
	s[40] = '\0'; /* 20 octets */
	assert_int_equal(cidlb_parse_hex(s, out, 20, &len), 0);
	assert_int_equal(len, 20);
}

/* The message callers print: "WHAT 'S': PROBLEM", long input cut short. */
static void test_messages(void **state)
{
	uint8_t out[20];
	char msg[256];
	size_t len;

	(void)state;
	assert_int_equal(cidlb_parse_hex_msg("CID", "07:0", out, 1, 20, &len, msg, sizeof(msg)),
			 -EINVAL);
	assert_string_equal(msg, "CID '07:0': odd number of hex digits (3)");
	assert_int_equal(cidlb_parse_hex_msg("CID", "000102030405060708090a0b0c0d0e0f1011121314",
					     out, 1, 20, &len, msg, sizeof(msg)),
			 -E2BIG);
	assert_string_equal(
		msg, "CID '000102030405060708090a0b0c0d0e0f1011121314': 21 octets, at most 20");
	/* the text quoted up to 64 characters: a CID of 21 octets with colons whole */
	assert_int_equal(
		cidlb_parse_hex_msg(
			"CID", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
			out, 1, 20, &len, msg, sizeof(msg)),
		-E2BIG);
	assert_string_equal(
		msg,
		"CID '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f...': 33 octets, at most 20");
	assert_int_equal(cidlb_parse_hex_msg("key", "00112233", out, 16, 16, &len, msg,
					     sizeof(msg)),
			 -EINVAL);
	assert_string_equal(msg, "key '00112233': 4 octets, must be 16");
	assert_int_equal(cidlb_parse_hex_msg("frame", "00", out, 14, 20, &len, msg, sizeof(msg)),
			 -EINVAL);
	assert_string_equal(msg, "frame '00': 1 octet, at least 14");
	assert_int_equal(
		cidlb_parse_hex_msg("server ID", "0a0b", out, 1, 15, &len, msg, sizeof(msg)), 0);
	assert_int_equal(len, 2);
}

/* Every octet value, written and read back; plain lower case out. */
static void test_round_trip(void **state)
{
	uint8_t in[256], back[256];
	char h[CIDLB_HEX_LEN(256)], small[6];
	size_t i, len;

	(void)state;
	for (i = 0; i < 256; i++)
		in[i] = (uint8_t)(255 - i);
	assert_ptr_equal(cidlb_hex(in, 256, h, sizeof(h)), h);
	assert_int_equal(strlen(h), 512);
	assert_memory_equal(h, "fffefdfc", 8);
	assert_string_equal(h + 504, "03020100");
	assert_int_equal(cidlb_parse_hex(h, back, sizeof(back), &len), 0);
	assert_int_equal(len, 256);
	assert_memory_equal(back, in, 256);
	/* a short buffer: whole octets only, always terminated */
	assert_string_equal(cidlb_hex(want3, 3, small, sizeof(small)), "0701");
	assert_string_equal(cidlb_hex(want3, 0, small, sizeof(small)), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_forms), cmocka_unit_test(test_bad_forms),
		cmocka_unit_test(test_max_length), cmocka_unit_test(test_messages),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
