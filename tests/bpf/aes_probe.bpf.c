// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * aes_probe.bpf.c - test-only XDP program around bpf/aes.h and
 * bpf/cid_crypto.h, driven by BPF_PROG_TEST_RUN from tests/bpf/test_aes.c.
 *
 * Request (the packet):  octet 0 = op, octets 1..20 = input.
 *   AES_PROBE_ENCRYPT  octets 1..16: block -> AES-128-Encrypt(enc_rk, block)
 *   AES_PROBE_DECRYPT  octets 1..16: block -> AES-128-Decrypt(dec_rk, block)
 *   AES_PROBE_FOUR     octets 1..20: CID   -> octets 1..15: server ID
 *   AES_PROBE_SINGLE   octets 1..20: CID   -> octets 1..15: server ID
 * The config is entry 0 of probe_cfg. Verdicts: XDP_TX done, XDP_DROP the
 * decoder refused the config, XDP_ABORTED malformed request.
 *
 * aes_floor only returns XDP_TX: the baseline for cost measurements.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "cidlb_maps.h"
#include "aes.h"
#include "cid_crypto.h"

#define AES_PROBE_ENCRYPT 0
#define AES_PROBE_DECRYPT 1
#define AES_PROBE_FOUR	  2
#define AES_PROBE_SINGLE  3
#define AES_PROBE_LEN	  (1 + CIDLB_CID_MAX)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cidlb_config);
} probe_cfg SEC(".maps");

static __always_inline void put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

SEC("xdp")
int aes_probe(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *data_end = (__u8 *)(long)ctx->data_end;
	const struct cidlb_config *cfg;
	struct cidlb_cid_key key __attribute__((aligned(8)));
	__u8 sid[CIDLB_SID_MAX];
	struct aes_block b;
	__u32 zero = 0, i;
	int op, err;

	if (data + AES_PROBE_LEN > data_end)
		return XDP_ABORTED;
	cfg = bpf_map_lookup_elem(&probe_cfg, &zero);
	if (!cfg)
		return XDP_ABORTED;
	op = data[0];

	if (op == AES_PROBE_ENCRYPT || op == AES_PROBE_DECRYPT) {
		b.w[0] = cid_get32(data + 1);
		b.w[1] = cid_get32(data + 5);
		b.w[2] = cid_get32(data + 9);
		b.w[3] = cid_get32(data + 13);
		if (op == AES_PROBE_ENCRYPT)
			aes128_encrypt(cfg->enc_rk, &b);
		else
			aes128_decrypt(cfg->dec_rk, &b);
		put32(data + 1, b.w[0]);
		put32(data + 5, b.w[1]);
		put32(data + 9, b.w[2]);
		put32(data + 13, b.w[3]);
		return XDP_TX;
	}

	if (op != AES_PROBE_FOUR && op != AES_PROBE_SINGLE)
		return XDP_ABORTED;
	key.len = 0;
	for (i = 0; i < CIDLB_CID_MAX; i++)
		key.cid[i] = data[1 + i];
	key.pad = 0;
	key.pool = 0;
	/*
	 * Keep the key in memory, as the data path's is: otherwise clang
	 * splits it into 20 scalars held (and spilled) across the decode.
	 */
	asm volatile("" : : "r"(&key) : "memory");
	if (op == AES_PROBE_FOUR)
		err = cid_decode_four_pass(cfg, &key, sid);
	else
		err = cid_decode_single_pass(cfg, &key, sid);
	if (err)
		return XDP_DROP;
	for (i = 0; i < CIDLB_SID_MAX; i++)
		data[1 + i] = sid[i];
	return XDP_TX;
}

SEC("xdp")
int aes_floor(struct xdp_md *ctx)
{
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
