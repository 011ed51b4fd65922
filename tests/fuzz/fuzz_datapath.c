// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_datapath.c - libFuzzer target: any frame through the data path's
 * own source built in userspace (twin.c) with the shared fixture. It
 * traps when an invariant breaks: exactly one verdict counter per packet
 * and the right one for the verdict; passed and dropped packets are left
 * untouched; a forwarded packet still carries the input after its outer
 * header. (ASan and UBSan catch every out-of-bounds access.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "twin.h"

static uint64_t sum(const struct cidlb_counters *c, int which)
{
	/* which: 0 pass, 1 drop, 2 tx/redirect */
	static const int kinds[] = { CIDLB_CK_PASS, CIDLB_CK_DROP, CIDLB_CK_FWD };

	return cidlb_counters_sum(c, kinds[which]);
}

static int write_twin(void *ctx, const char *map, const void *key, const void *value)
{
	(void)ctx;
	return twin_map_write(map, key, value);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (cidlb_fixture(write_twin, NULL))
		abort();
	return 0;
}

/* Make the IP and UDP length fields end where the frame ends, so that
 * mutations of a QUIC header are not all stopped by the length checks. */
static void fix_lengths(uint8_t *f, size_t n)
{
	size_t l3 = 12, l4;
	int i;

	for (i = 0; i < 2 && l3 + 4 <= n && f[l3] == 0x81 && f[l3 + 1] == 0; i++)
		l3 += 4;
	l3 += 2;
	if (l3 + 40 + 8 > n)
		return;
	if (f[l3 - 2] == 0x08 && f[l3 - 1] == 0x00) {
		l4 = l3 + (f[l3] & 0xf) * 4;
		f[l3 + 2] = (n - l3) >> 8;
		f[l3 + 3] = n - l3;
	} else if (f[l3 - 2] == 0x86 && f[l3 - 1] == 0xdd) {
		l4 = l3 + 40;
		f[l3 + 4] = (n - l4) >> 8;
		f[l3 + 5] = n - l4;
	} else {
		return;
	}
	if (l4 + 8 <= n) {
		f[l4 + 4] = (n - l4) >> 8;
		f[l4 + 5] = n - l4;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	static uint8_t out[4096], data[4096];
	struct cidlb_counters a, b;
	size_t outlen;
	int rc;

	/* octet 0 is ours: odd = fix the length fields, even = as it is */
	if (size < 15 || size > 3001)
		return 0;
	memcpy(data, input + 1, --size);
	if (input[0] & 1)
		fix_lengths(data, size);
	twin_counters(&a);
	rc = twin_run(data, size, out, &outlen);
	twin_counters(&b);
	if (sum(&b, 0) + sum(&b, 1) + sum(&b, 2) != sum(&a, 0) + sum(&a, 1) + sum(&a, 2) + 1)
		__builtin_trap();
	switch (rc) {
	case 2: /* XDP_PASS */
	case 1: /* XDP_DROP */
		if (sum(&b, rc == 2 ? 0 : 1) != sum(&a, rc == 2 ? 0 : 1) + 1)
			__builtin_trap();
		if (outlen != size || memcmp(out, data, size))
			__builtin_trap();
		break;
	case 3: /* XDP_TX */
	case 4: /* XDP_REDIRECT */
		if (sum(&b, 2) != sum(&a, 2) + 1)
			__builtin_trap();
		/* a Packet Too Big reply: 576 or 1280 IP octets, the input's
		 * IP packet quoted after its new IP and ICMP headers */
		if (b.tx_too_big != a.tx_too_big) {
			size_t l2 = outlen - (outlen > 1280 ? 1280 : 576),
			       hdr = outlen > 1280 ? 48 : 28;

			if (rc != 3 || (l2 != 14 && l2 != 18 && l2 != 22) ||
			    memcmp(out + l2 + hdr, data + l2, outlen - l2 - hdr))
				__builtin_trap();
			break;
		}
		/* as it came (direct), or behind IPIP / IP6IP6 (20 / 40 octets)
		 * or GUE (IP + UDP + GUE: 32 / 52 octets) */
		if (outlen != size && outlen != size + 20 && outlen != size + 40 &&
		    outlen != size + 32 && outlen != size + 52)
			__builtin_trap();
		/* the input follows the outer header, from the IP header on */
		if (outlen > size && memcmp(out + outlen - (size - 14), data + 14, size - 14) &&
		    memcmp(out + outlen - (size - 18), data + 18, size - 18) &&
		    memcmp(out + outlen - (size - 22), data + 22, size - 22))
			__builtin_trap();
		break;
	default:
		__builtin_trap();
	}
	return 0;
}
