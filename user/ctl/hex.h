/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * hex.h - octet strings (CIDs, server IDs, nonces, keys, frames) in hex:
 * the one rule every command, configuration key, control request and
 * state file reads them by, and the one form they are written in
 * (docs/operations.md, "Octet strings in hex").
 *
 * Read: plain hex digits ("0701a4") or octets of two digits separated by
 * single colons ("07:01:a4"), either case, an even number of digits;
 * nothing else: no "0x", no '-', no spaces, no colon at either end or
 * twice in a row, no mix of the two forms. Written: plain, lower case.
 *
 * Static inline: the fuzzers build single files of user/ctl/ on their own.
 */
#ifndef CIDLB_CTL_HEX_H
#define CIDLB_CTL_HEX_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Octets for a buffer that holds n octets written by cidlb_hex(). */
#define CIDLB_HEX_LEN(n) (2 * (n) + 1)

static inline int cidlb_hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Read s into out[0..max): 0 with *len octets, -EINVAL (not an octet
 * string by the rule above, or empty) or -E2BIG (more than max octets;
 * *len then says how many s holds). why (NULL: not wanted) gets what is
 * wrong, e.g. "odd number of hex digits".
 */
static inline int cidlb_parse_hex_why(const char *s, uint8_t *out, size_t max, size_t *len,
				      char *why, size_t why_len)
{
	size_t digits = 0, n = 0, run = 0, i;
	const char *p;
	char c;
	int colons = strchr(s, ':') != NULL, bad_run = 0;

#define HEX_BAD(...) \
	do { \
		if (why) \
			snprintf(why, why_len, __VA_ARGS__); \
		return -EINVAL; \
	} while (0)
	*len = 0;
	if (!*s)
		HEX_BAD("empty");
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		HEX_BAD("a '0x' prefix: write the hex digits only");
	for (p = s; *p; p++) {
		c = *p;
		if (c == ':' || cidlb_hex_nibble(c) >= 0)
			continue;
		if (c == ' ')
			HEX_BAD("a space at character %zu: write the octets without spaces",
				(size_t)(p - s) + 1);
		if (c > ' ' && c < 127)
			HEX_BAD("'%c' at character %zu is not a hex digit", c, (size_t)(p - s) + 1);
		HEX_BAD("character %zu (octet 0x%02x) is not a hex digit", (size_t)(p - s) + 1,
			(unsigned char)c);
	}
	if (s[0] == ':')
		HEX_BAD("a colon at the start");
	if (p[-1] == ':')
		HEX_BAD("a colon at the end");
	if (strstr(s, "::"))
		HEX_BAD("two colons in a row");
	for (p = s; *p; p++) {
		if (*p != ':') {
			digits++;
			run++;
			continue;
		}
		bad_run |= run != 2;
		run = 0;
	}
	bad_run |= colons && run != 2;
	if (digits % 2)
		HEX_BAD("odd number of hex digits (%zu)", digits);
	if (bad_run)
		HEX_BAD("colons, but not between every two digits: write 07:01:a4 or 0701a4");
#undef HEX_BAD
	n = digits / 2;
	*len = n;
	if (n > max) {
		if (why)
			snprintf(why, why_len, "%zu octets, at most %zu", n, max);
		return -E2BIG;
	}
	for (p = s, i = 0; i < n; i++) {
		if (*p == ':')
			p++;
		out[i] = (uint8_t)(cidlb_hex_nibble(p[0]) << 4 | cidlb_hex_nibble(p[1]));
		p += 2;
	}
	return 0;
}

/* cidlb_parse_hex_why() without the words. */
static inline int cidlb_parse_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	return cidlb_parse_hex_why(s, out, max, len, NULL, 0);
}

/*
 * Read s as `what` (e.g. "CID") of min..max octets: 0 with *len octets,
 * else -EINVAL or -E2BIG and msg says so in one line: "CID '07:0': odd
 * number of hex digits", "server ID '0a0b0c': 3 octets, must be 2".
 */
static inline int cidlb_parse_hex_msg(const char *what, const char *s, uint8_t *out, size_t min,
				      size_t max, size_t *len, char *msg, size_t msg_len)
{
	char why[96];
	int err = cidlb_parse_hex_why(s, out, max, len, why, sizeof(why));

	if (!err && *len < min) {
		err = -EINVAL;
		if (min == max)
			snprintf(why, sizeof(why), "%zu octet%s, must be %zu", *len,
				 *len == 1 ? "" : "s", min);
		else
			snprintf(why, sizeof(why), "%zu octet%s, at least %zu", *len,
				 *len == 1 ? "" : "s", min);
	} else if (err == -E2BIG && min == max) {
		snprintf(why, sizeof(why), "%zu octets, must be %zu", *len, max);
	}
	if (err && msg)
		snprintf(msg, msg_len, "%s '%.64s%s': %s", what, s, strlen(s) > 64 ? "..." : "",
			 why);
	return err;
}

/* Write n octets of p as lower-case hex into buf (buf_len >=
 * CIDLB_HEX_LEN(n); fewer octets, whole ones, when it is shorter), with
 * the closing NUL; returns buf. */
static inline char *cidlb_hex(const uint8_t *p, size_t n, char *buf, size_t buf_len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (!buf_len)
		return buf;
	if (n > (buf_len - 1) / 2)
		n = (buf_len - 1) / 2;
	for (i = 0; i < n; i++) {
		buf[2 * i] = digits[p[i] >> 4];
		buf[2 * i + 1] = digits[p[i] & 0xf];
	}
	buf[2 * n] = '\0';
	return buf;
}

#endif
