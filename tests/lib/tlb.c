// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cidlb/cidlb.h"
#include "ctl/maglev.h"
#include "tlb.h"

const uint8_t t_backend_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xbe };

const char *tobj(const char *name)
{
	static char path[4][512];
	static int slot;
	const char *b = getenv("BUILD");
	char *p = path[slot++ & 3];

	snprintf(p, sizeof(path[0]), "%s/%s", b && *b ? b : "build", name);
	return p;
}

static int silent(enum libbpf_print_level l, const char *f, va_list a)
{
	if (l == LIBBPF_WARN && getenv("CIDLB_TEST_VERBOSE"))
		return vfprintf(stderr, f, a);
	return 0;
}

struct tlb *tlb_new(void)
{
	return tlb_new_opts(NULL);
}

struct tlb *tlb_new_opts(const struct cidlb_lb_opts *opts)
{
	struct tlb *t = calloc(1, sizeof(*t));
	struct cidlb_global g = { .hash_seed = T_SEED, .ttl = 64 };
	struct cidlb_vip_key vk = { .port = htons(T_VIP_PORT) };
	struct cidlb_vip v = { .id = 1 };
	uint8_t a[16];

	libbpf_set_print(silent);
	assert_non_null(t);
	assert_int_equal(cidlb_lb_open(tobj("cidlb.bpf.o"), opts, &t->lb), 0);
	tpkt_addr(4, T_LB4, a);
	memcpy(g.src4, a, 4);
	tpkt_addr(6, T_LB6, g.src6);
	assert_int_equal(cidlb_lb_set_global(t->lb, &g), 0);
	vk.family = 4;
	tpkt_addr(4, T_VIP4, vk.addr);
	assert_int_equal(cidlb_lb_set_vip(t->lb, &vk, &v), 0);
	vk.family = 6;
	tpkt_addr(6, T_VIP6, vk.addr);
	assert_int_equal(cidlb_lb_set_vip(t->lb, &vk, &v), 0);
	return t;
}

void tlb_free(struct tlb *t)
{
	if (!t)
		return;
	cidlb_lb_close(t->lb);
	free(t);
}

int tlb_setup(void **state)
{
	*state = tlb_new();
	return 0;
}

int tlb_teardown(void **state)
{
	tlb_free(*state);
	return 0;
}

void tlb_backend(struct tlb *t, uint32_t idx, const char *addr, int fwd_mode, int state)
{
	tlb_backend_gue(t, idx, addr, fwd_mode, state, 0);
}

void tlb_backend_gue(struct tlb *t, uint32_t idx, const char *addr, int fwd_mode, int state,
		     uint16_t gue_port)
{
	struct cidlb_backend b = { .state = state, .fwd_mode = fwd_mode };

	if (gue_port) {
		b.encap = CIDLB_ENCAP_GUE;
		b.gue_port = htons(gue_port);
	}

	b.family = strchr(addr, ':') ? 6 : 4;
	assert_int_equal(tpkt_addr(b.family, addr, b.addr), 0);
	memcpy(b.mac, t_backend_mac, 6);
	b.mac[4] = idx;
	assert_int_equal(cidlb_lb_set_backend(t->lb, idx, &b), 0);
}

void tlb_config(struct tlb *t, uint32_t id, int sid_len, int nonce_len, const uint8_t *key)
{
	tlb_pool_config(t, 0, id, sid_len, nonce_len, key);
}

void tlb_pool_config(struct tlb *t, uint32_t pool, uint32_t id, int sid_len, int nonce_len,
		     const uint8_t *key)
{
	struct cidlb_config c = { .sid_len = sid_len, .nonce_len = nonce_len };

	c.pt_len = sid_len + nonce_len;
	c.half_len = (c.pt_len + 1) / 2;
	c.mode = !key		? CIDLB_MODE_PLAINTEXT :
		 c.pt_len == 16 ? CIDLB_MODE_SINGLE_PASS :
				  CIDLB_MODE_FOUR_PASS;
	if (key)
		assert_int_equal(cidlb_aes128_key_schedules(key, c.enc_rk, c.dec_rk), 0);
	assert_int_equal(cidlb_lb_set_pool_config(t->lb, pool, id, &c), 0);
}

void tlb_sid(struct tlb *t, uint32_t cr, const uint8_t *sid, int len, uint32_t idx)
{
	struct cidlb_sid_key k = { .config_id = cr, .len = len };

	memcpy(k.sid, sid, len);
	assert_int_equal(cidlb_lb_set_sid(t->lb, &k, idx), 0);
}

void tlb_maglev(struct tlb *t, const uint32_t *idx, int n)
{
	struct cidlb_maglev_backend b[64];
	static char names[64][16];
	uint32_t *table = malloc(CIDLB_MAGLEV_SIZE * sizeof(*table));
	int i;

	assert_true(n <= 64);
	assert_non_null(table);
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "be%u", idx[i]);
		b[i] = (struct cidlb_maglev_backend){ names[i], idx[i], 1 };
	}
	assert_int_equal(cidlb_maglev_build(b, n, T_SEED, table), 0);
	assert_int_equal(cidlb_lb_publish_maglev(t->lb, table), 0);
	free(table);
}

int tlb_run_prog(int prog_fd, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen,
		 uint32_t ingress_ifindex)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ingress_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = TPKT_MAX, .repeat = 1);

	if (ingress_ifindex) {
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	assert_int_equal(bpf_prog_test_run_opts(prog_fd, &o), 0);
	*outlen = o.data_size_out;
	return o.retval;
}

int tlb_run(struct tlb *t, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
	return tlb_run_prog(cidlb_lb_prog_fd(t->lb), in, len, out, outlen, 0);
}

struct cidlb_counters tlb_counters(struct tlb *t)
{
	struct cidlb_counters c;

	assert_int_equal(cidlb_lb_read_counters(t->lb, &c), 0);
	return c;
}

uint64_t tlb_verdicts(const struct cidlb_counters *c)
{
	return cidlb_counters_sum(c, -1);
}

static const char *octet_at(const uint8_t *f, size_t len, size_t i, char buf[8])
{
	if (i >= len)
		return "(end)";
	snprintf(buf, 8, "0x%02x", f[i]);
	return buf;
}

void t_assert_frame(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
		    const char *what)
{
	long d = tpkt_diff(got, got_len, want, want_len);
	char g[8], w[8];
	size_t i, from;

	if (d < 0)
		return;
	print_error("%s: frames differ at octet %ld: got %s, want %s (lengths %zu, %zu)\n", what, d,
		    octet_at(got, got_len, d, g), octet_at(want, want_len, d, w), got_len,
		    want_len);
	from = (size_t)d & ~(size_t)15;
	print_error("  got  @%zu: ", from);
	for (i = from; i < got_len && i < from + 32; i++)
		print_error("%02x", got[i]);
	print_error("\n  want @%zu: ", from);
	for (i = from; i < want_len && i < from + 32; i++)
		print_error("%02x", want[i]);
	print_error("\n");
	fail();
}

size_t t_expect_sent(const uint8_t *in, size_t inlen, size_t l2_len, uint32_t idx, const char *addr,
		     int direct, uint8_t *want)
{
	return t_expect_sent_gue(in, inlen, l2_len, idx, addr, direct, 0, want);
}

size_t t_expect_sent_gue(const uint8_t *in, size_t inlen, size_t l2_len, uint32_t idx,
			 const char *addr, int direct, uint16_t gue_port, uint8_t *want)
{
	int fam = strchr(addr, ':') ? 6 : 4;
	struct tpkt_outer o = { .family = direct ? 0 : fam,
				.src = fam == 4 ? T_LB4 : T_LB6,
				.dst = addr,
				.smac = tpkt_lb_mac,
				.ttl = 64,
				.gue_port = gue_port };
	uint8_t mac[6];

	memcpy(mac, t_backend_mac, 6);
	mac[4] = idx;
	o.dmac = mac;
	return tpkt_expect(&o, in, inlen, l2_len, want);
}

void t_assert_sent(const uint8_t *in, size_t inlen, size_t l2_len, const uint8_t *out,
		   size_t outlen, uint32_t idx, const char *addr, int direct, const char *what)
{
	uint8_t want[TPKT_MAX];
	size_t wlen = t_expect_sent(in, inlen, l2_len, idx, addr, direct, want);

	t_assert_frame(out, outlen, want, wlen, what);
}

void t_assert_bytes(const uint8_t *got, const uint8_t *want, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (got[i] != want[i]) {
			print_error("%s: octet %zu differs: got 0x%02x, want 0x%02x\n", what, i,
				    got[i], want[i]);
			fail();
		}
	}
}
