/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * aes.h - AES-128 block cipher (FIPS-197) for the XDP program.
 *
 * QUIC-LB (draft-ietf-quic-load-balancers-21 §5.4, §5.5) needs the forward
 * cipher (four-pass Feistel) and the inverse cipher (single-pass decode).
 * Table-driven, as measured (docs/benchmark.md): the
 * T-tables are one read-only array whose base stays in a register, every
 * index is a byte offset masked to its table (`(x >> 22) & 0x3fc` is
 * `(x >> 24) * 4`) so the verifier bounds it without range tracking, the
 * state is four __u32 in registers and the nine middle rounds are a
 * bounded loop (about 1,000 verifier instructions per block).
 *
 * Round keys are the rijndael-alg-fst schedule: 44 words, word i holding
 * round-key octets 4i..4i+3 big-endian (GETU32). The decrypt schedule is the
 * equivalent inverse cipher's: rounds reversed, InvMixColumns applied to
 * rounds 1..9. Userspace writes both into struct cidlb_config.
 *
 * T-table AES is not constant-time. Here the key protects the linkability
 * of server IDs, not traffic, so cache timing is an accepted risk.
 */
#ifndef CIDLB_AES_H
#define CIDLB_AES_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "aes_tables.h"

#define AES128_ROUNDS	10
#define AES128_RK_WORDS (4 * (AES128_ROUNDS + 1))

/* One block: w[i] = octets 4i..4i+3, big-endian. */
struct aes_block {
	__u32 w[4];
};

/*
 * Table lookups. tb is the tables' base in a register (see aes_base());
 * off the table's byte offset, folded by clang into the load instruction;
 * the index a masked byte offset. Five instructions per lookup.
 */
#define AES_TE	     0
#define AES_TD	     (4 * 256 * 4)
#define AES_SBOX     (8 * 256 * 4)
#define AES_INV_SBOX (AES_SBOX + 256)

#define AES_LD32(tb, off, ix) (*(const __u32 *)(aes_at((tb), (ix)) + (off)))
#define AES_LD8(tb, off, ix)  ((__u32)(*(aes_at((tb), (ix)) + (off))))

/*
 * tb + ix, added by hand: left to itself clang reassociates
 * (tb + ix) + off into (tb + off) + ix and keeps (and spills) one hoisted
 * base per table instead of folding off into the load instruction. The add
 * goes into the index register, which dies here.
 */
static __always_inline const __u8 *aes_at(const __u8 *tb, __u32 ix)
{
	__u64 p = ix;

#ifdef __bpf__
	asm("%[p] += %[tb]" : [p] "+r"(p) : [tb] "r"(tb));
#else /* the userspace build of the data path (tests/fuzz) */
	p += (__u64)tb;
#endif
	return (const __u8 *)p;
}

/* T-table k (0..3) of the set at off, indexed by big-endian byte k of x. */
#define AES_T0(tb, off, x) AES_LD32(tb, (off), ((x) >> 22) & 0x3fc)
#define AES_T1(tb, off, x) AES_LD32(tb, (off) + 1024, ((x) >> 14) & 0x3fc)
#define AES_T2(tb, off, x) AES_LD32(tb, (off) + 2048, ((x) >> 6) & 0x3fc)
#define AES_T3(tb, off, x) AES_LD32(tb, (off) + 3072, ((x) << 2) & 0x3fc)

/* S-box of big-endian byte k of x, placed back at byte k. */
#define AES_S0(tb, off, x) (AES_LD8(tb, (off), (x) >> 24) << 24)
#define AES_S1(tb, off, x) (AES_LD8(tb, (off), ((x) >> 16) & 0xff) << 16)
#define AES_S2(tb, off, x) (AES_LD8(tb, (off), ((x) >> 8) & 0xff) << 8)
#define AES_S3(tb, off, x) AES_LD8(tb, (off), (x)&0xff)

/*
 * The tables' address, opaque to clang: otherwise it rematerializes the
 * 64-bit constant (two instructions) at every lookup instead of keeping
 * one base register and folding each table's offset into the loads.
 */
static __always_inline const __u8 *aes_base(void)
{
	const __u8 *tb = (const __u8 *)&aes_tab;

	asm volatile("" : "+r"(tb));
	return tb;
}

/*
 * One middle round. The sums are written source word by source word
 * (s_i's byte k feeds t[(i -/+ k) mod 4]), so each s_i dies after its four
 * lookups, and the round key comes last: the round fits the ten BPF
 * registers (4 sums, 4 state words, base, index) with only the round-key
 * pointer spilled. s0's column starts the sums (=), the others add (^=).
 */
#define AES_ROUND(tb, off, rk, s0, s1, s2, s3, COL) \
	do { \
		__u32 t0, t1, t2, t3; \
		COL(tb, off, s0, t0, t1, t2, t3, =); \
		COL(tb, off, s1, t1, t2, t3, t0, ^=); \
		COL(tb, off, s2, t2, t3, t0, t1, ^=); \
		COL(tb, off, s3, t3, t0, t1, t2, ^=); \
		s0 = t0 ^ (rk)[0]; \
		s1 = t1 ^ (rk)[1]; \
		s2 = t2 ^ (rk)[2]; \
		s3 = t3 ^ (rk)[3]; \
	} while (0)

/* Forward: byte k of s_i goes to t[i - k]. */
#define AES_ENC_COL(tb, off, s, a, b, c, d, op) \
	do { \
		a op AES_T0(tb, off, s); \
		d op AES_T1(tb, off, s); \
		c op AES_T2(tb, off, s); \
		b op AES_T3(tb, off, s); \
	} while (0)

/* Inverse: byte k of s_i goes to t[i + k]. */
#define AES_DEC_COL(tb, off, s, a, b, c, d, op) \
	do { \
		a op AES_T0(tb, off, s); \
		b op AES_T1(tb, off, s); \
		c op AES_T2(tb, off, s); \
		d op AES_T3(tb, off, s); \
	} while (0)

/*
 * Forward cipher. rk: 44 words (struct cidlb_config.enc_rk, a map value).
 * b: in and out.
 */
static __always_inline void aes128_encrypt(const __u32 *rk, struct aes_block *b)
{
	const __u8 *tb = aes_base();
	__u32 s0, s1, s2, s3;
	int r;

	s0 = b->w[0] ^ rk[0];
	s1 = b->w[1] ^ rk[1];
	s2 = b->w[2] ^ rk[2];
	s3 = b->w[3] ^ rk[3];

#pragma clang loop unroll(disable)
	for (r = 1; r < AES128_ROUNDS; r++) {
		rk += 4;
		AES_ROUND(tb, AES_TE, rk, s0, s1, s2, s3, AES_ENC_COL);
	}
	rk += 4;

	/* Last round: SubBytes, ShiftRows, AddRoundKey (no MixColumns). */
	b->w[0] = AES_S0(tb, AES_SBOX, s0) ^ AES_S1(tb, AES_SBOX, s1) ^ AES_S2(tb, AES_SBOX, s2) ^
		  AES_S3(tb, AES_SBOX, s3) ^ rk[0];
	b->w[1] = AES_S0(tb, AES_SBOX, s1) ^ AES_S1(tb, AES_SBOX, s2) ^ AES_S2(tb, AES_SBOX, s3) ^
		  AES_S3(tb, AES_SBOX, s0) ^ rk[1];
	b->w[2] = AES_S0(tb, AES_SBOX, s2) ^ AES_S1(tb, AES_SBOX, s3) ^ AES_S2(tb, AES_SBOX, s0) ^
		  AES_S3(tb, AES_SBOX, s1) ^ rk[2];
	b->w[3] = AES_S0(tb, AES_SBOX, s3) ^ AES_S1(tb, AES_SBOX, s0) ^ AES_S2(tb, AES_SBOX, s1) ^
		  AES_S3(tb, AES_SBOX, s2) ^ rk[3];
}

/*
 * Inverse cipher, equivalent form. rk: 44 words of the decrypt schedule
 * (struct cidlb_config.dec_rk). b: in and out.
 */
static __always_inline void aes128_decrypt(const __u32 *rk, struct aes_block *b)
{
	const __u8 *tb = aes_base();
	__u32 s0, s1, s2, s3;
	int r;

	s0 = b->w[0] ^ rk[0];
	s1 = b->w[1] ^ rk[1];
	s2 = b->w[2] ^ rk[2];
	s3 = b->w[3] ^ rk[3];

#pragma clang loop unroll(disable)
	for (r = 1; r < AES128_ROUNDS; r++) {
		rk += 4;
		AES_ROUND(tb, AES_TD, rk, s0, s1, s2, s3, AES_DEC_COL);
	}
	rk += 4;

	/* Last round: InvShiftRows, InvSubBytes, AddRoundKey. */
	b->w[0] = AES_S0(tb, AES_INV_SBOX, s0) ^ AES_S1(tb, AES_INV_SBOX, s3) ^
		  AES_S2(tb, AES_INV_SBOX, s2) ^ AES_S3(tb, AES_INV_SBOX, s1) ^ rk[0];
	b->w[1] = AES_S0(tb, AES_INV_SBOX, s1) ^ AES_S1(tb, AES_INV_SBOX, s0) ^
		  AES_S2(tb, AES_INV_SBOX, s3) ^ AES_S3(tb, AES_INV_SBOX, s2) ^ rk[1];
	b->w[2] = AES_S0(tb, AES_INV_SBOX, s2) ^ AES_S1(tb, AES_INV_SBOX, s1) ^
		  AES_S2(tb, AES_INV_SBOX, s0) ^ AES_S3(tb, AES_INV_SBOX, s3) ^ rk[2];
	b->w[3] = AES_S0(tb, AES_INV_SBOX, s3) ^ AES_S1(tb, AES_INV_SBOX, s2) ^
		  AES_S2(tb, AES_INV_SBOX, s1) ^ AES_S3(tb, AES_INV_SBOX, s0) ^ rk[3];
}

#endif /* CIDLB_AES_H */
