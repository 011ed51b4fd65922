// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* fixture.c - the map contents and seed packets shared by the fuzzer and
 * test_twin (see twin.h). */
#include <arpa/inet.h>
#include <string.h>
#include "cidlb/cidlb.h"
#include "tpkt.h"
#include "twin.h"
#include "cidlb_hash.h"
#include "ctl/viptab.h"

#define W(map, k, v) \
	do { \
		int e_ = write(ctx, map, k, v); \
		if (e_) \
			return e_; \
	} while (0)

static const uint8_t key4[16] = { 0xfd, 0xf7, 0x26, 0xa9, 0x89, 0x3e, 0xc0, 0x5c,
				  0x06, 0x32, 0xd3, 0x95, 0x66, 0x80, 0xba, 0xf0 };
static const uint8_t key1[16] = { 0x8f, 0x95, 0xf0, 0x92, 0x45, 0x76, 0x5f, 0x80,
				  0x25, 0x69, 0x34, 0xe5, 0x0c, 0x66, 0x20, 0x7f };

static int config(fixture_write_fn write, void *ctx, __u32 id, int sid, int nonce,
		  const uint8_t *key)
{
	/* configs 0 and 1 route Initials by their tokens (CIDLB_GF_TOKEN) */
	struct cidlb_config c = { .sid_len = sid,
				  .nonce_len = nonce,
				  .generation = 1,
				  .flags = id <= 1 ? CIDLB_CFG_F_TOKEN : 0 };

	c.pt_len = sid + nonce;
	c.half_len = (c.pt_len + 1) / 2;
	cidlb_config_masks(&c);
	c.mode = !key		? CIDLB_MODE_PLAINTEXT :
		 c.pt_len == 16 ? CIDLB_MODE_SINGLE_PASS :
				  CIDLB_MODE_FOUR_PASS;
	if (key && cidlb_aes128_key_schedules(key, c.enc_rk, c.dec_rk))
		return -1;
	id *= 2; /* copy 0 of the two per config ID (cidlb_global.config_active = 0) */
	W(CIDLB_MAP_CONFIGS, &id, &c);
	return 0;
}

int cidlb_fixture(fixture_write_fn write, void *ctx)
{
	static const struct {
		const char *addr;
		int mode, state, cr, len;
		const char *sid;
		int encap;
	} be[] = {
		{ "198.18.3.10", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE, 0, 3, "\x01\x02\x03",
		  CIDLB_ENCAP_IPIP },
		{ "fd00:3::11", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE, 1, 3, "\x31\x44\x1a",
		  CIDLB_ENCAP_GUE },
		{ "198.18.3.12", CIDLB_FWD_DIRECT, CIDLB_BE_ACTIVE, 2, 8,
		  "\xed\x79\x3a\x51\xd4\x9b\x8f\x5f", CIDLB_ENCAP_IPIP },
		{ "198.18.3.13", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_DRAINING, 0, 3, "\x44\x55\x66",
		  CIDLB_ENCAP_GUE },
		{ "198.18.3.14", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ABSENT, 0, 3, "\x77\x88\x99",
		  CIDLB_ENCAP_IPIP },
		{ "198.18.3.15", CIDLB_FWD_ENCAP_FIB, CIDLB_BE_ACTIVE, 0, 3, "\xab\xcd\xef",
		  CIDLB_ENCAP_IPIP },
	};
	struct cidlb_global g = { .hash_seed = 0x5eed, .ttl = 64 };
	static struct cidlb_vip_slot vslots[CIDLB_VIP_SLOTS];
	struct cidlb_sid_bucket sids[64] = { 0 };
	struct cidlb_vip_key vk[2];
	struct cidlb_vip v[2] = { { .id = 1 }, { .id = 1 } };
	struct cidlb_cid_key rk = { .len = 8, .cid = { 0x07, 1, 2, 3, 0xde, 0xad, 0xbe, 0xef } };
	struct cidlb_retired rv = { .expires_ns = ~0ULL }; /* never expires */
	struct cidlb_rhint_block hint = { 0 };
	__u32 zero = 0, i, blk;
	__u64 h;
	uint8_t a[16];

	/* the retired CID below, behind its filter: 8 blocks of
	 * cidlb_retired_hint (fewer than the map holds, as a mask may say) */
	g.flags = CIDLB_GF_RETIRED;
	g.rhint_mask = 8 - 1;
	g.sid_mask = 63;
	g.flags |= CIDLB_GF_SID_SPILL | CIDLB_GF_TOKEN;
	inet_pton(AF_INET, "198.18.0.1", g.src4);
	inet_pton(AF_INET6, "fd00::1", g.src6);
	memset(vk, 0, sizeof(vk));
	vk[0].port = vk[1].port = htons(443);
	vk[0].family = 4;
	inet_pton(AF_INET, "198.18.1.1", vk[0].addr);
	vk[1].family = 6;
	inet_pton(AF_INET6, "fd00:1::1", vk[1].addr);
	/* what lb.c does: the hash map, and half 0 of the table packets read */
	if (cidlb_vip_table_build(vk, v, 2, vslots, &g.vip_seed[0]))
		return -1;
	W(CIDLB_MAP_GLOBAL, &zero, &g);
	for (i = 0; i < 2; i++)
		W(CIDLB_MAP_VIPS, &vk[i], &v[i]);
	for (i = 0; i < CIDLB_VIP_SLOTS; i++)
		W(CIDLB_MAP_VIP_TABLE, &i, &vslots[i]);
	if (config(write, ctx, 0, 3, 4, NULL) || config(write, ctx, 1, 3, 4, key4) ||
	    config(write, ctx, 2, 8, 8, key1))
		return -1;
	for (i = 0; i < sizeof(be) / sizeof(be[0]); i++) {
		struct cidlb_backend b = { .state = be[i].state,
					   .fwd_mode = be[i].mode,
					   .encap = be[i].encap,
					   .mac = { 2, 0, 0, 0, i, 0xbe } };
		struct cidlb_sid_key sk = { .config_id = be[i].cr, .len = be[i].len };

		b.family = strchr(be[i].addr, ':') ? 6 : 4;
		tpkt_addr(b.family, be[i].addr, a);
		memcpy(b.addr, a, 16);
		cidlb_backend_outer(&b, &g);
		W(CIDLB_MAP_BACKENDS, &i, &b);
		memcpy(sk.sid, be[i].sid, be[i].len);
		W(CIDLB_MAP_SIDS, &sk, &i);
		/* short server IDs into the first 64 buckets of the table,
		 * as lb.c puts them, but the last one: it spilled */
		if (sk.len <= CIDLB_SID_SHORT && i != 5) {
			__u64 want = cidlb_sid_entry(&sk);
			__u32 bk = (__u32)cidlb_sid_buckets(want, g.sid_mask), j;

			for (j = 0; j < 4 && sids[bk].e[j]; j++)
				;
			if (j == 4)
				return -1;
			sids[bk].e[j] = want | (__u64)i << CIDLB_SID_E_IDX_SHIFT;
			W(CIDLB_MAP_SID_TABLE, &bk, &sids[bk]);
		}
	}
	for (i = 0; i < CIDLB_MAGLEV_SIZE; i++) { /* active half: 0, 1, 2, 3(draining), ... */
		__u32 b = i % 5 == 4 ? CIDLB_BACKEND_NONE : i % 4;

		W(CIDLB_MAP_MAGLEV, &i, &b);
	}
	W(CIDLB_MAP_RETIRED, &rk, &rv);
	/* its three bits set in its block, as lb.c sets them */
	h = cidlb_cid_hashes(&rk);
	blk = (__u32)h & g.rhint_mask;
	for (i = 0; i < 3; i++) {
		__u32 p = cidlb_rhint_bit((__u32)(h >> 32), (int)i);

		hint.w[p >> 6] |= 1ULL << (p & 63);
	}
	W(CIDLB_MAP_RETIRED_HINT, &blk, &hint);
	return 0;
}

/* An ICMP error (family, type, code) to the VIP from a router, quoting
 * the first `quote` octets (0: all) of the packet the VIP sent to the
 * client with the QUIC payload q of n octets. */
static size_t icmp_seed(int family, uint8_t type, uint8_t code, size_t n, const uint8_t *q,
			size_t quote, uint8_t *buf)
{
	uint8_t pkt[TPKT_MAX], icmp[TPKT_MAX] = { type, code };
	struct tpkt_spec s = {
		.family = family, .sport = 443, .dport = 4433, .payload = q, .payload_len = n
	};
	size_t len;

	s.src = family == 4 ? "198.18.1.1" : "fd00:1::1";
	s.dst = family == 4 ? "198.18.2.2" : "fd00:2::2";
	len = tpkt_build(&s, pkt) - 14;
	if (quote && quote < len)
		len = quote;
	memcpy(icmp + 8, pkt + 14, len);
	s.proto = family == 4 ? 1 : 58;
	s.src = family == 4 ? "198.18.9.9" : "fd00:9::9";
	s.dst = family == 4 ? "198.18.1.1" : "fd00:1::1";
	s.payload = icmp;
	s.payload_len = 8 + len;
	return tpkt_build(&s, buf);
}

size_t cidlb_fixture_seed(int i, uint8_t *buf)
{
	static const uint8_t plain[] = { 0x07, 1, 2, 3, 0xa1, 0xa2, 0xa3, 0xa4 };
	static const uint8_t four[] = { 0x27, 0x67, 0x94, 0x7d, 0x29, 0xbe, 0x05, 0x4a };
	static const uint8_t single[] = { 0x50, 0x4d, 0xd2, 0xd0, 0x5a, 0x7b, 0x0d, 0xe9, 0xb2,
					  0xb9, 0x90, 0x7a, 0xfb, 0x5e, 0xcf, 0x8c, 0xc3 };
	static const uint8_t cr7[] = { 0xe7, 9, 9, 9, 9, 9, 9, 9 };
	static const uint8_t retired[] = { 0x07, 1, 2, 3, 0xde, 0xad, 0xbe, 0xef };
	uint8_t q[TPKT_MAX];
	struct tpkt_spec s = { .family = 4, .sport = 4433, .dport = 443, .payload = q };
	size_t n;

	switch (i) {
	case 0:
		n = tquic_short(q, 0x41, plain, 8, 60);
		break;
	case 1:
		n = tquic_short(q, 0x01, four, 8, 60);
		s.family = 6;
		s.vlans = 1;
		break;
	case 2:
		n = tquic_short(q, 0x41, single, 17, 60);
		s.vlans = 2;
		break;
	case 3:
		n = tquic_long(q, 0xc0, 1, cr7, 8, plain, 8, 1200);
		break;
	case 4:
		n = tquic_long(q, 0xd0, 0x6b3343cf, four, 8, NULL, 0, 300);
		s.family = 6;
		break;
	case 5:
		n = tquic_long(q, 0xe0, 1, single, 17, four, 8, 200);
		s.ip_opts = 8;
		break;
	case 6:
		n = tquic_long(q, 0xc0, 0x1a2a3a4a, plain, 8, NULL, 0, 1200);
		break;
	case 7:
		n = tquic_short(q, 0x41, retired, 8, 40);
		break;
	case 8:
		n = tquic_short(q, 0x41, (const uint8_t *)"\x07\xab\xcd\xef\x00\x00\x00\x00", 8,
				40);
		break;
	case 9:
		n = tquic_long(q, 0xc0, 0, plain, 8, NULL, 0, 60);
		break; /* VN */
	case 10:       /* ICMP errors about a VIP's packets, quoting its SCID */
		return icmp_seed(4, 3, 4, tquic_long(q, 0xe0, 1, cr7, 4, plain, 8, 600), q, 548,
				 buf);
	case 11:
		return icmp_seed(6, 2, 0, tquic_long(q, 0xc0, 1, cr7, 4, four, 8, 1300), q, 1232,
				 buf);
	case 12:
		return icmp_seed(4, 11, 0, tquic_short(q, 0x41, cr7, 4, 60), q, 0, buf);
	case 13:
		return icmp_seed(6, 1, 4, tquic_long(q, 0xe0, 1, cr7, 4, single, 17, 100), q, 0,
				 buf);
	case 14: /* an Initial whose token starts with the four-pass prefix */
		n = tquic_long(q, 0xc0, 1, cr7, 8, NULL, 0, 0);
		q[n++] = 0x40; /* Token Length 24, two octets */
		q[n++] = 24;
		memcpy(q + n, four, 8);
		memset(q + n + 8, 0x5a, 1200 - n - 8);
		n = 1200;
		break;
	default:
		return 0;
	}
	s.payload_len = n;
	s.src = s.family == 4 ? "198.18.2.2" : "fd00:2::2";
	s.dst = s.family == 4 ? "198.18.1.1" : "fd00:1::1";
	return tpkt_build(&s, buf);
}
