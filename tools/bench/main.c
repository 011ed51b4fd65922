// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cidlb-bench - the numbers of `make bench` (tools/bench/run).
 *
 * Loads build/cidlb.bpf.o twice through the control layer (user/ctl/lb.h),
 * once with 10 backends and once with 10,000 backends and a full
 * retired-CID map, and next to each the harness of cidlb_bench.bpf.o with
 * every cidlb_* map shared (bpf_map__reuse_fd). Each class is a frame
 * through BPF_PROG_TEST_RUN with `repeat` iterations; several rounds run
 * every class of both instances and both families in turn, and the table
 * gives the median, min and max of the kernel's ns per iteration. Every
 * round the real cidlb_xdp's output for each class must equal, octet by
 * octet, a frame built here; after every run the counters must have moved
 * by exactly `repeat` and the output frame must equal the input: anything
 * else exits non-zero.
 *
 *   cidlb-bench [--repeat N] [--rounds N] [--cpu N] [--quick]
 *               [--live GEN_NS,GEN_IF,LB_NS,LB_IF] [--live-frames N]
 *               [--fib NS,IF] [--tsv FILE] [--classes ID,ID...]
 *               [--lines FILE]
 *
 * --fib runs in network namespace NS and measures the FIB rows (the
 * default forwarding mode) with IF as their ingress device; --tsv writes
 * the medians and minima for tools/bench/side_by_side.sh.
 *
 * --lines writes where each source line of the timed program starts in
 * its JIT image, for tools/bench/profile.
 *
 * --classes measures only those classes (ids in classes[] below) and the
 * reference rows (floors, harness) their ratios need, on the 10-backend
 * instance, and prints only the table: for comparing builds of the data
 * path (BUILD=dir of a scratch build).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "cidlb/cidlb.h"
#include "cidlb_hash.h"
#include "ctl/lb.h"
#include "ctl/maglev.h"
#include "ctl/xdp.h"
#include "tpkt.h"
#include "driver.h"

#define VIP4	 "198.18.1.1"
#define VIP6	 "fd00:1::1"
#define CLI4	 "198.18.2.2"
#define CLI6	 "fd00:2::2"
#define OTHER4	 "198.18.9.9" /* not a VIP */
#define OTHER6	 "fd00:9::9"
#define LB4	 "198.18.0.1"
#define LB6	 "fd00::1"
#define SEED	 0x5eed
#define QUIC_LEN 1200 /* UDP payload of every QUIC frame */

void die(const char *fmt, ...)
{
	va_list a;

	va_start(a, fmt);
	fputs("cidlb-bench: ", stderr);
	vfprintf(stderr, fmt, a);
	fputc('\n', stderr);
	va_end(a);
	exit(1);
}

/* ---- configuration -------------------------------------------------------
 * Config IDs: 0 plaintext, 1 single-pass, 2 four-pass, 3 and 4 the same
 * as 1 and 2 with CIDLB_CFG_F_NO_DCACHE. Server ID of backend k: k + 1 in
 * 3 octets. Config 5 is not configured: the DCID of the Initials (a
 * client-chosen DCID that names no config) falls back.
 */
static const struct {
	uint8_t sid_len, nonce_len, keyed, flags;
} cfgs[BENCH_CONFIGS] = {
	{ 3, 5, 0, 0 },
	{ 3, 13, 1, 0 },
	{ 3, 5, 1, 0 },
	{ 3, 13, 1, CIDLB_CFG_F_NO_DCACHE },
	{ 3, 5, 1, CIDLB_CFG_F_NO_DCACHE },
};
static const uint8_t key[16] = {
	0x8f, 0x95, 0xf0, 0x92, 0x45, 0x76, 0x5f, 0x80,
	0x25, 0x69, 0x34, 0xe5, 0x0c, 0x66, 0x20, 0x7f,
};
#define INITIAL_DCID0 0xa7     /* config 5, 8 octets */
#define NOSID_BE      0xfffffe /* server ID ff ff ff: no backend's */

static const char *build_dir(void)
{
	const char *b = getenv("BUILD");

	return b && *b ? b : "build";
}

static int quiet(enum libbpf_print_level l, const char *f, va_list a)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, f, a) : 0;
}

static void sid_of(uint32_t be, uint8_t sid[3])
{
	sid[0] = (be + 1) >> 16;
	sid[1] = (be + 1) >> 8;
	sid[2] = be + 1;
}

/* A CID of config id for backend be with nonce number n. */
static int cid_of(struct inst *in, int id, uint32_t be, uint64_t n, uint8_t *cid)
{
	uint8_t sid[3], nonce[CIDLB_NONCE_MAX] = { 0 };
	int i, len, nl = cfgs[id].nonce_len;

	sid_of(be, sid);
	for (i = 0; i < 8 && i < nl; i++)
		nonce[nl - 1 - i] = n >> (8 * i);
	memset(cid, 0, BENCH_CID_LEN);
	len = cidlb_cid_encode(in->cc[id], sid, 3, nonce, nl, cid, BENCH_CID_LEN);
	if (len < 0)
		die("cidlb_cid_encode (config %d): %s", id, strerror(-len));
	return len;
}

static void check(int err, const char *what)
{
	if (err)
		die("%s: %s", what, strerror(err < 0 ? -err : err));
}

/* Backend k: 198.18.64.0/18 or fd00:be::/112, next-hop MAC 02:00:00:be:k. */
static void backend_addr(int family, uint32_t k, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (family == 4) {
		addr[0] = 198;
		addr[1] = 18;
		addr[2] = 64 + (k >> 8);
		addr[3] = k;
	} else {
		addr[0] = 0xfd;
		addr[3] = 0xbe;
		addr[14] = k >> 8;
		addr[15] = k;
	}
}

static void backend_mac(uint32_t k, uint8_t mac[6])
{
	memcpy(mac, (uint8_t[6]){ 0x02, 0, 0, 0xbe, k >> 8, k }, 6);
}

/* Every backend of the family of the client, in one forwarding mode and
 * encapsulation (GUE: to the default port). */
void bench_set_backends(struct inst *in, int family, int fwd_mode, int encap)
{
	struct cidlb_backend b = { .state = CIDLB_BE_ACTIVE,
				   .fwd_mode = fwd_mode,
				   .encap = encap,
				   .pool = (__u8)in->pool };
	uint32_t k;

	if (in->family == family && in->fwd_mode == fwd_mode && in->encap == encap)
		return;
	b.family = family;
	for (k = 0; k < in->nbe; k++) {
		backend_addr(family, k, b.addr);
		backend_mac(k, b.mac);
		check(cidlb_lb_set_backend(in->lb, k, &b), "set backend");
	}
	in->family = family;
	in->fwd_mode = fwd_mode;
	in->encap = encap;
}

void bench_set_family(struct inst *in, int family)
{
	bench_set_backends(in, family, CIDLB_FWD_ENCAP_MAC, CIDLB_ENCAP_IPIP);
}

void bench_set_ctl(struct inst *in, const struct bench_ctl *c)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(in->ctl_fd, &zero, c, BPF_ANY))
		die("bench_ctl: %s", strerror(errno));
}

static uint32_t map_max_entries(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		die("map info: %s", strerror(errno));
	return info.max_entries;
}

/* Rotating classes: segment s of bench_cids holds cids_seg CIDs of config
 * rot_cfg[s], all different, spread over every backend in turn. */
static const int rot_cfg[] = { 0, 1, 3, 2, 4 };
#define ROT_SEGS (int)(sizeof(rot_cfg) / sizeof(rot_cfg[0]))

static int rot_seg(int config_id)
{
	int s;

	for (s = 0; s < ROT_SEGS; s++)
		if (rot_cfg[s] == config_id)
			return s;
	return -1;
}

/*
 * The decode cache is direct-mapped: a CID misses only if another CID took
 * its slot since it was last seen. So each segment lists CIDs in pairs
 * that share a slot (A1 A2 B1 B2 ...): every packet evicts its partner,
 * and every iteration misses.
 */
static void fill_segment(struct inst *in, int seg, uint32_t mask, struct bench_cid *v, uint32_t *be)
{
	int id = rot_cfg[seg], plen = 1 + 3 + cfgs[id].nonce_len;
	struct bench_cid *pend = calloc((size_t)mask + 1, sizeof(*pend));
	uint32_t *pend_be = calloc((size_t)mask + 1, sizeof(*pend_be));
	uint8_t *has = calloc((size_t)mask + 1, 1);
	uint64_t nonce = 1000;
	uint32_t i = 0, next = 0;

	if (!pend || !pend_be || !has)
		die("out of memory");
	while (i < in->cids_seg) {
		struct cidlb_cid_key key = { .len = plen, .pool = in->pool };
		struct bench_cid c;
		uint32_t slot, b = next;

		cid_of(in, id, b, nonce++, c.b);
		next = (next + 1) % in->nbe;
		memcpy(key.cid, c.b, plen);
		slot = cidlb_cid_hash(&key) & mask;
		if (!has[slot]) {
			pend[slot] = c;
			pend_be[slot] = b;
			has[slot] = 1;
			continue;
		}
		be[i] = pend_be[slot];
		v[i++] = pend[slot];
		be[i] = b;
		v[i++] = c;
		has[slot] = 0;
	}
	free(pend);
	free(pend_be);
	free(has);
}

static void fill_cids(struct inst *in)
{
	uint32_t n = in->cids_seg * ROT_SEGS, i, cnt;
	struct bench_cid *v = calloc(n, sizeof(*v));
	uint32_t *k = calloc(n, sizeof(*k));
	uint32_t mask = map_max_entries(cidlb_lb_map_fd(in->lb, CIDLB_M_DCACHE)) - 1;
	int seg;

	in->cid_be = calloc(n, sizeof(*in->cid_be));
	if (!v || !k || !in->cid_be)
		die("out of memory");
	for (i = 0; i < n; i++)
		k[i] = i;
	for (seg = 0; seg < ROT_SEGS; seg++)
		fill_segment(in, seg, mask, v + (size_t)seg * in->cids_seg,
			     in->cid_be + (size_t)seg * in->cids_seg);
	cnt = n;
	if (bpf_map_update_batch(in->cids_fd, k, v, &cnt, NULL))
		die("bench_cids: %s", strerror(errno));
	in->cids = v;
	free(k);
}

static void fill_retired(struct inst *in, const uint8_t *keep)
{
	uint32_t max = map_max_entries(cidlb_lb_map_fd(in->lb, CIDLB_M_RETIRED)), i;
	struct cidlb_cid_key k = { .len = 1 + cfgs[0].sid_len + cfgs[0].nonce_len,
				   .pool = in->pool };

	/* the retired class's CID, then random CIDs of config 0 */
	memcpy(k.cid, keep, k.len);
	check(cidlb_lb_retire(in->lb, &k, ~0ULL), "retire");
	srandom(42);
	for (i = 1; i < in->retired && i < max; i++) {
		int j;

		k.cid[0] = k.len - 1;
		for (j = 1; j < k.len; j++)
			k.cid[j] = random();
		check(cidlb_lb_retire(in->lb, &k, ~0ULL), "retire");
	}
	if (in->retired > max)
		in->retired = max;
}

/* An instance of nbe backends in the last of `pools` pools (each with
 * every config and a Maglev table over the same backends). */
/* cidlb_global.mtu_floor as cidlbd keeps it (user/daemon/iface.c): the
 * MTU of the device the packets come in on. BPF_PROG_TEST_RUN without an
 * ingress device (the MAC rows) runs on this namespace's loopback. */
static void set_mtu_floor(struct inst *in)
{
	int mtu = cidlb_dev_mtu("lo");

	if (mtu <= 0)
		die("MTU of lo: %s", strerror(mtu ? -mtu : EINVAL));
	check(cidlb_lb_set_mtu_floor(in->lb, (uint32_t)mtu), "set the MTU floor");
}

static void inst_open(struct inst *in, uint32_t nbe, uint32_t retired, int rotating, uint32_t pools)
{
	char path[512];
	struct cidlb_global g = { .hash_seed = SEED, .ttl = 64 };
	struct cidlb_vip_key vk = { .port = htons(443) };
	struct cidlb_vip v = { .id = 1, .pool = (uint16_t)(pools - 1) };
	struct cidlb_lb_opts opts = { .max_pools = pools };
	struct cidlb_maglev_backend *mb;
	uint32_t *table, k, id, pl;
	struct bpf_map *m;
	uint8_t a[16], cid[BENCH_CID_LEN];
	int i, err;

	in->nbe = nbe;
	in->target = nbe - 1;
	in->retired = retired;
	in->family = 0;
	in->pools = pools;
	in->pool = (uint16_t)(pools - 1);
	snprintf(path, sizeof(path), "%s/cidlb.bpf.o", build_dir());
	check(cidlb_lb_open(path, pools > 1 ? &opts : NULL, &in->lb), "open cidlb.bpf.o");

	snprintf(path, sizeof(path), "%s/bench/cidlb_bench.bpf.o", build_dir());
	in->bobj = bpf_object__open_file(path, NULL);
	if (!in->bobj)
		die("open %s: %s", path, strerror(errno));
	for (i = 0; i < CIDLB_M_COUNT; i++) {
		m = bpf_object__find_map_by_name(in->bobj, cidlb_map_names[i]);
		if (m && cidlb_lb_map_fd(in->lb, i) >= 0)
			check(bpf_map__reuse_fd(m, cidlb_lb_map_fd(in->lb, i)), "reuse map");
	}
	in->cids_seg = 0;
	if (rotating) {
		/* more CIDs than cache slots, in slot-sharing pairs (fill_cids) */
		in->cids_seg = 4 * map_max_entries(cidlb_lb_map_fd(in->lb, CIDLB_M_DCACHE));
		m = bpf_object__find_map_by_name(in->bobj, "bench_cids");
		check(bpf_map__set_max_entries(m, in->cids_seg * ROT_SEGS), "resize bench_cids");
	}
	err = bpf_object__load(in->bobj);
	if (err)
		die("the kernel refused %s: %s", path, strerror(-err));
#define PFD(n) bpf_program__fd(bpf_object__find_program_by_name(in->bobj, n))
	in->fd_floor = PFD("bench_floor");
	in->fd_nop = PFD("bench_nop");
	in->fd_adjust = PFD("bench_adjust");
	in->fd_encap = PFD("bench_encap");
	in->fd_lb = PFD("bench_lb");
	in->fd_bare = PFD("bench_bare");
	in->fd_live_floor = PFD("live_floor");
	in->fd_live_encap = PFD("live_encap");
#undef PFD
	in->ctl_fd = bpf_object__find_map_fd_by_name(in->bobj, ".bss"); /* bench_ctl */
	in->cids_fd = bpf_object__find_map_fd_by_name(in->bobj, "bench_cids");

	/* global, VIPs */
	tpkt_addr(4, LB4, a);
	memcpy(g.src4, a, 4);
	tpkt_addr(6, LB6, g.src6);
	check(cidlb_lb_set_global(in->lb, &g), "set global");
	set_mtu_floor(in);
	vk.family = 4;
	tpkt_addr(4, VIP4, vk.addr);
	check(cidlb_lb_set_vip(in->lb, &vk, &v), "set vip");
	vk.family = 6;
	tpkt_addr(6, VIP6, vk.addr);
	check(cidlb_lb_set_vip(in->lb, &vk, &v), "set vip");

	/* QUIC-LB configs, in the LB and in libcidlb */
	for (id = 0; id < BENCH_CONFIGS; id++) {
		struct cidlb_cid_params p = {
			.config_id = id,
			.server_id_len = cfgs[id].sid_len,
			.nonce_len = cfgs[id].nonce_len,
			.len_self_encode = true,
			.has_key = cfgs[id].keyed,
		};
		struct cidlb_config c = {
			.sid_len = cfgs[id].sid_len,
			.nonce_len = cfgs[id].nonce_len,
			.flags = cfgs[id].flags,
		};
		const char *why = "";

		memcpy(p.key, key, 16);
		err = cidlb_cid_config_new(&p, &in->cc[id], &why);
		if (err)
			die("libcidlb config %u: %s", id, why);
		c.pt_len = c.sid_len + c.nonce_len;
		c.half_len = (c.pt_len + 1) / 2;
		c.mode = !cfgs[id].keyed ? CIDLB_MODE_PLAINTEXT :
			 c.pt_len == 16	 ? CIDLB_MODE_SINGLE_PASS :
					   CIDLB_MODE_FOUR_PASS;
		if (cfgs[id].keyed)
			check(cidlb_aes128_key_schedules(key, c.enc_rk, c.dec_rk), "key schedules");
		for (pl = 0; pl < pools; pl++)
			check(cidlb_lb_set_pool_config(in->lb, pl, id, &c), "set config");
	}

	/* backends, their server IDs in every config, Maglev over all */
	bench_set_family(in, 4);
	mb = calloc(nbe, sizeof(*mb));
	table = malloc(CIDLB_MAGLEV_SIZE * sizeof(*table));
	if (!mb || !table)
		die("out of memory");
	for (k = 0; k < nbe; k++) {
		struct cidlb_sid_key sk = { .len = 3 };
		char *name = malloc(16);

		snprintf(name, 16, "be%u", k);
		mb[k] = (struct cidlb_maglev_backend){ name, k, 1 };
		sid_of(k, sk.sid);
		for (id = 0; id < BENCH_CONFIGS * pools; id++) {
			sk.config_id = id % BENCH_CONFIGS;
			sk.pool = (uint16_t)(id / BENCH_CONFIGS);
			check(cidlb_lb_set_sid(in->lb, &sk, k), "set sid");
		}
	}
	check(cidlb_maglev_build(mb, nbe, SEED, table), "maglev");
	for (pl = 0; pl < pools; pl++)
		check(cidlb_lb_publish_pool_maglev(in->lb, pl, table), "publish maglev");
	for (k = 0; k < nbe; k++)
		free((char *)mb[k].name);
	free(mb);
	in->maglev = table; /* the expected frames' backend for new flows */

	/* retired CIDs: nonce 1 of config 0 is retired (the other classes
	 * use nonce 0) */
	cid_of(in, 0, in->target, 1, cid);
	fill_retired(in, cid);
	if (rotating)
		fill_cids(in);
}

/* ---- frames ---------------------------------------------------------- */
void bench_frame(struct inst *in, int family, enum pkt_kind kind, int config_id, struct frame *f)
{
	uint8_t q[QUIC_LEN], cid[BENCH_CID_LEN], scid[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct tpkt_spec s = {
		.family = family,
		.src = family == 4 ? CLI4 : CLI6,
		.dst = family == 4 ? VIP4 : VIP6,
		.sport = 50000,
		.dport = 443,
		.payload = q,
	};
	size_t l3 = 14, l4 = l3 + (family == 4 ? 20 : 40);
	int len;

	memset(q, 0, sizeof(q));
	switch (kind) {
	case P_SHORT:
	case P_NONVIP:
		/* nonce 0; config_id < 0: the retired CID (nonce 1 of config 0) */
		len = cid_of(in, config_id < 0 ? 0 : config_id, in->target, config_id < 0 ? 1 : 0,
			     cid);
		s.payload_len = tquic_short(q, 0x41, cid, len, QUIC_LEN);
		if (kind == P_NONVIP)
			s.dst = family == 4 ? OTHER4 : OTHER6;
		f->cid_off = l4 + 8 + 1;
		break;
	case P_INITIAL:
	case P_INITIAL_SMALL:
		memset(cid, 0x5c, 8);
		cid[0] = INITIAL_DCID0;
		s.payload_len = tquic_long(q, 0xc0, 1, cid, 8, scid, 8,
					   kind == P_INITIAL ? QUIC_LEN : QUIC_LEN - 1);
		f->cid_off = l4 + 8 + 6;
		break;
	case P_SHORT_NOSID:
	case P_INITIAL_NOSID:
		/* what a made-up CID under a held config costs: the decode and
		 * a miss of the server-ID lookup (NOSID_BE's is nobody's) */
		len = cid_of(in, config_id, NOSID_BE, 0, cid);
		if (kind == P_SHORT_NOSID) {
			/* a 4-tuple no Initial of another class recorded */
			s.sport = 50002;
			s.payload_len = tquic_short(q, 0x41, cid, len, QUIC_LEN);
			f->cid_off = l4 + 8 + 1;
		} else {
			s.payload_len = tquic_long(q, 0xc0, 1, cid, len, scid, 8, QUIC_LEN);
			f->cid_off = l4 + 8 + 6;
		}
		break;
	case P_INITIAL_TOKEN: {
		/* the client-chosen DCID of P_INITIAL, then the token: the
		 * prefix (a CID of config_id naming the target) and 16 octets
		 * of the server's own */
		size_t n;

		memset(cid, 0x5c, 8);
		cid[0] = INITIAL_DCID0;
		s.sport = 50003; /* a 4-tuple of its own: its entry names the target */
		n = tquic_long(q, 0xc0, 1, cid, 8, scid, 8, 0);
		len = cid_of(in, config_id, in->target, 0, cid);
		q[n++] = len + 16;
		memcpy(q + n, cid, len);
		memset(q + n + len, 0x7b, 16);
		s.payload_len = QUIC_LEN;
		f->cid_off = l4 + 8 + 6;
		break;
	}
	case P_UDP_PORT: /* a DNS-sized datagram to the VIP address, port 53 */
		s.dport = 53;
		s.payload_len = 100;
		break;
	case P_TCP: /* a TCP segment to the VIP address */
		s.proto = 6;
		s.payload_len = 60;
		break;
	}
	f->sport_off = l4;
	f->saddr_off = l3 + (family == 4 ? 12 + 2 : 8 + 14);
	f->len = tpkt_build(&s, f->b);
}

/* ---- classes --------------------------------------------------------- */
enum kind {
	K_FLOOR,
	K_NOP,
	K_ADJUST,
	K_ENCAP,
	K_LB
};
#define CNT(f) (offsetof(struct cidlb_counters, f) + 1) /* 0: none */
#define LARGE  1 /* measured on the 10,000-backend instance too */
#define POOLS  2 /* and on the instance with 64 pools */

struct cls {
	const char *id; /* short name, used by the summaries */
	const char *name;
	enum kind kind;
	enum pkt_kind pkt;
	int config_id; /* of the DCID; -1: the retired CID */
	int rewrite;
	int verdict;
	size_t cnt[3]; /* counters that must move by exactly repeat */
	unsigned int flags;
	int fib;   /* backends in the default mode: next hop from the FIB */
	int admit; /* enum admit: new-flow rate guard and idle timeout */
	int token; /* configs 0-2 with token_prefix (CIDLB_CFG_F_TOKEN) */
	int gue;   /* backends with encap = gue (UDP to 6080, GUE header) */
};

/* [lb] new_flow_rate and flow_idle_timeout as a class runs with them. */
enum admit {
	ADM_OFF,  /* neither (the rows measured before they existed) */
	ADM_ON,	  /* the 30 s timeout, a guard never reached */
	ADM_OVER, /* the 30 s timeout, a guard of 1 a second: over it */
};
static const struct {
	uint32_t rate, idle_s;
} admits[] = { [ADM_OFF] = { 0, 0 }, [ADM_ON] = { 100000000, 30 }, [ADM_OVER] = { 1, 30 } };

static const struct cls classes[] = {
	{ "floor",
	  "floor: swap MACs, XDP_TX (no harness)",
	  K_FLOOR,
	  P_SHORT,
	  0,
	  0,
	  XDP_TX,
	  { 0 },
	  LARGE | POOLS },
	{ "nop", "harness + swap MACs", K_NOP, P_SHORT, 0, 0, XDP_TX, { 0 }, 0 },
	{ "nop_rot",
	  "harness + new CID each + swap MACs",
	  K_NOP,
	  P_SHORT,
	  0,
	  BENCH_RW_CID,
	  XDP_TX,
	  { 0 },
	  0 },
	{ "adjust", "harness + bpf_xdp_adjust_head", K_ADJUST, P_SHORT, 0, 0, XDP_TX, { 0 }, 0 },
	{ "encap",
	  "floor: harness + encapsulation (encap())",
	  K_ENCAP,
	  P_SHORT,
	  0,
	  0,
	  XDP_TX,
	  { 0 },
	  LARGE | POOLS },
	{ "plain",
	  "short, plaintext CID",
	  K_LB,
	  P_SHORT,
	  0,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(cid_plaintext) },
	  LARGE | POOLS },
	{ "sp_hit",
	  "short, single-pass, decode cache hit",
	  K_LB,
	  P_SHORT,
	  1,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(dcache_hit) },
	  LARGE | POOLS },
	{ "sp_nc",
	  "short, single-pass, no cache",
	  K_LB,
	  P_SHORT,
	  3,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(cid_single_pass) },
	  0 },
	{ "sp_nc_rot",
	  "short, single-pass, no cache, new CID each",
	  K_LB,
	  P_SHORT,
	  3,
	  BENCH_RW_CID,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(cid_single_pass) },
	  0 },
	{ "sp_miss",
	  "short, single-pass, decode cache miss",
	  K_LB,
	  P_SHORT,
	  1,
	  BENCH_RW_CID,
	  XDP_TX,
	  { CNT(tx), CNT(dcache_miss), CNT(cid_single_pass) },
	  LARGE },
	{ "fp_hit",
	  "short, four-pass, decode cache hit",
	  K_LB,
	  P_SHORT,
	  2,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(dcache_hit) },
	  LARGE | POOLS },
	{ "fp_nc",
	  "short, four-pass, no cache",
	  K_LB,
	  P_SHORT,
	  4,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(cid_four_pass) },
	  0 },
	{ "fp_nc_rot",
	  "short, four-pass, no cache, new CID each",
	  K_LB,
	  P_SHORT,
	  4,
	  BENCH_RW_CID,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(cid_four_pass) },
	  0 },
	{ "fp_miss",
	  "short, four-pass, decode cache miss",
	  K_LB,
	  P_SHORT,
	  2,
	  BENCH_RW_CID,
	  XDP_TX,
	  { CNT(tx), CNT(dcache_miss), CNT(cid_four_pass) },
	  LARGE },
	{ "plain_rot",
	  "short, plaintext, new CID each (rotation cost)",
	  K_LB,
	  P_SHORT,
	  0,
	  BENCH_RW_CID,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(cid_plaintext) },
	  LARGE },
	{ "lru_hit",
	  "Initial, fallback, LRU hit",
	  K_LB,
	  P_INITIAL,
	  5,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_lru), CNT(unroutable_config) },
	  LARGE | POOLS },
	{ "new_tuple",
	  "Initial, fallback, new 4-tuple (Maglev + LRU insert)",
	  K_LB,
	  P_INITIAL,
	  5,
	  BENCH_RW_TUPLE,
	  XDP_TX,
	  { CNT(tx), CNT(route_maglev), CNT(unroutable_config) },
	  LARGE },
	{ "retired",
	  "short, retired CID (drop)",
	  K_LB,
	  P_SHORT,
	  -1,
	  0,
	  XDP_DROP,
	  { CNT(drop_retired), CNT(quic_short) },
	  LARGE },
	{ "udp_port",
	  "UDP to a VIP address, other port (pass)",
	  K_LB,
	  P_UDP_PORT,
	  0,
	  0,
	  XDP_PASS,
	  { CNT(pass_not_vip) },
	  LARGE },
	{ "nonvip",
	  "UDP to a non-VIP address (pass)",
	  K_LB,
	  P_NONVIP,
	  0,
	  0,
	  XDP_PASS,
	  { CNT(pass_not_vip) },
	  0 },
	{ "tcp",
	  "TCP to a VIP address (pass)",
	  K_LB,
	  P_TCP,
	  0,
	  0,
	  XDP_PASS,
	  { CNT(pass_not_udp) },
	  0 },
	/* new-flow admission (docs/design.md): the guard's and the timeout's
	 * cost, what a flood of made-up Initials or CIDs costs */
	{ "lru_hit_idle",
	  "Initial, fallback, LRU hit, idle timeout on",
	  K_LB,
	  P_INITIAL,
	  5,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_lru), CNT(unroutable_config) },
	  0,
	  0,
	  ADM_ON },
	{ "new_tuple_guard",
	  "Initial, fallback, new 4-tuple, under the rate guard (Maglev + LRU insert)",
	  K_LB,
	  P_INITIAL,
	  5,
	  BENCH_RW_TUPLE,
	  XDP_TX,
	  { CNT(tx), CNT(route_maglev), CNT(unroutable_config) },
	  0,
	  0,
	  ADM_ON },
	{ "new_tuple_over",
	  "Initial, fallback, new 4-tuple, over the rate guard (Maglev, no insert)",
	  K_LB,
	  P_INITIAL,
	  5,
	  BENCH_RW_TUPLE,
	  XDP_TX,
	  { CNT(tx), CNT(route_maglev), CNT(unroutable_config) },
	  0,
	  0,
	  ADM_OVER },
	{ "small_initial",
	  "Initial in 1199 octets, unroutable (drop)",
	  K_LB,
	  P_INITIAL_SMALL,
	  5,
	  0,
	  XDP_DROP,
	  { CNT(drop_small_initial), CNT(unroutable_config), CNT(quic_initial) },
	  0,
	  0,
	  ADM_ON },
	{ "nosid_plain",
	  "short, plaintext CID of no backend (Maglev, no insert)",
	  K_LB,
	  P_SHORT_NOSID,
	  0,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(unroutable_sid), CNT(lru_no_admit) },
	  0,
	  0,
	  ADM_ON },
	{ "nosid_sp",
	  "short, single-pass CID of no backend (decode, never cached)",
	  K_LB,
	  P_SHORT_NOSID,
	  1,
	  0,
	  XDP_TX,
	  { CNT(dcache_miss), CNT(unroutable_sid), CNT(lru_no_admit) },
	  0,
	  0,
	  ADM_ON },
	{ "nosid_fp",
	  "short, four-pass CID of no backend (decode, never cached)",
	  K_LB,
	  P_SHORT_NOSID,
	  2,
	  0,
	  XDP_TX,
	  { CNT(dcache_miss), CNT(unroutable_sid), CNT(lru_no_admit) },
	  0,
	  0,
	  ADM_ON },
	{ "ini_nosid_plain",
	  "Initial, plaintext CID of no backend, new 4-tuple, guard off",
	  K_LB,
	  P_INITIAL_NOSID,
	  0,
	  BENCH_RW_TUPLE,
	  XDP_TX,
	  { CNT(tx), CNT(unroutable_sid), CNT(route_maglev) },
	  0,
	  0,
	  ADM_OFF },
	{ "ini_nosid_plain_over",
	  "Initial, plaintext CID of no backend, new 4-tuple, over the guard",
	  K_LB,
	  P_INITIAL_NOSID,
	  0,
	  BENCH_RW_TUPLE,
	  XDP_TX,
	  { CNT(tx), CNT(unroutable_sid), CNT(route_maglev) },
	  0,
	  0,
	  ADM_OVER },
	{ "ini_nosid_sp",
	  "Initial, single-pass CID of no backend, new 4-tuple, guard off",
	  K_LB,
	  P_INITIAL_NOSID,
	  1,
	  BENCH_RW_TUPLE,
	  XDP_TX,
	  { CNT(dcache_miss), CNT(unroutable_sid), CNT(route_maglev) },
	  0,
	  0,
	  ADM_OFF },
	{ "ini_nosid_sp_over",
	  "Initial, single-pass CID of no backend, new 4-tuple, over the guard",
	  K_LB,
	  P_INITIAL_NOSID,
	  1,
	  BENCH_RW_TUPLE,
	  XDP_TX,
	  { CNT(dcache_miss), CNT(unroutable_sid), CNT(route_maglev) },
	  0,
	  0,
	  ADM_OVER },
	{ "ini_nosid_fp",
	  "Initial, four-pass CID of no backend, new 4-tuple, guard off",
	  K_LB,
	  P_INITIAL_NOSID,
	  2,
	  BENCH_RW_TUPLE,
	  XDP_TX,
	  { CNT(dcache_miss), CNT(unroutable_sid), CNT(route_maglev) },
	  0,
	  0,
	  ADM_OFF },
	{ "ini_nosid_fp_over",
	  "Initial, four-pass CID of no backend, new 4-tuple, over the guard",
	  K_LB,
	  P_INITIAL_NOSID,
	  2,
	  BENCH_RW_TUPLE,
	  XDP_TX,
	  { CNT(dcache_miss), CNT(unroutable_sid), CNT(route_maglev) },
	  0,
	  0,
	  ADM_OVER },
	/* Initials routed by their token's prefix (bpf/token.h): each a new
	 * 4-tuple (the route, a decode and an LRU insert), or the same one
	 * again (a flow's later Initials: its entry already says so) */
	{ "tok_plain",
	  "Initial, token prefix plaintext, new 4-tuple (LRU insert)",
	  K_LB,
	  P_INITIAL_TOKEN,
	  0,
	  BENCH_RW_TUPLE,
	  XDP_TX,
	  { CNT(tx), CNT(route_token), CNT(cid_plaintext) },
	  0,
	  0,
	  ADM_OFF,
	  1 },
	{ "tok_sp",
	  "Initial, token prefix single-pass, new 4-tuple (LRU insert)",
	  K_LB,
	  P_INITIAL_TOKEN,
	  1,
	  BENCH_RW_TUPLE,
	  XDP_TX,
	  { CNT(tx), CNT(route_token), CNT(cid_single_pass) },
	  0,
	  0,
	  ADM_OFF,
	  1 },
	{ "tok_fp",
	  "Initial, token prefix four-pass, new 4-tuple (LRU insert)",
	  K_LB,
	  P_INITIAL_TOKEN,
	  2,
	  BENCH_RW_TUPLE,
	  XDP_TX,
	  { CNT(tx), CNT(route_token), CNT(cid_four_pass) },
	  LARGE,
	  0,
	  ADM_OFF,
	  1 },
	{ "tok_fp_again",
	  "Initial, token prefix four-pass, its 4-tuple's entry already there",
	  K_LB,
	  P_INITIAL_TOKEN,
	  2,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_token), CNT(cid_four_pass) },
	  0,
	  0,
	  ADM_ON,
	  1 },
	/* the default forwarding mode (no `mac =`): bpf_fib_lookup() from the
	 * ingress device of --fib, back out of it (XDP_TX) */
	{ "fib_encap",
	  "floor: harness + encapsulation (encap())",
	  K_ENCAP,
	  P_SHORT,
	  0,
	  0,
	  XDP_TX,
	  { 0 },
	  0,
	  1 },
	{ "fib_plain",
	  "short, plaintext CID",
	  K_LB,
	  P_SHORT,
	  0,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(cid_plaintext) },
	  0,
	  1 },
	{ "fib_sp_hit",
	  "short, single-pass, decode cache hit",
	  K_LB,
	  P_SHORT,
	  1,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(dcache_hit) },
	  0,
	  1 },
	{ "fib_fp_hit",
	  "short, four-pass, decode cache hit",
	  K_LB,
	  P_SHORT,
	  2,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(dcache_hit) },
	  0,
	  1 },
	{ "fib_lru_hit",
	  "Initial, fallback, LRU hit",
	  K_LB,
	  P_INITIAL,
	  5,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_lru), CNT(unroutable_config) },
	  0,
	  1 },
	/* encap = gue: IP, UDP and GUE headers (12 octets more than IPIP),
	 * the UDP source port from the flow */
	{ "gue_encap",
	  "floor: harness + GUE encapsulation (encap())",
	  K_ENCAP,
	  P_SHORT,
	  0,
	  0,
	  XDP_TX,
	  { 0 },
	  LARGE,
	  0,
	  ADM_OFF,
	  0,
	  1 },
	{ "gue_plain",
	  "short, plaintext CID, GUE",
	  K_LB,
	  P_SHORT,
	  0,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(cid_plaintext) },
	  LARGE,
	  0,
	  ADM_OFF,
	  0,
	  1 },
	{ "gue_sp_hit",
	  "short, single-pass, decode cache hit, GUE",
	  K_LB,
	  P_SHORT,
	  1,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(dcache_hit) },
	  0,
	  0,
	  ADM_OFF,
	  0,
	  1 },
	{ "gue_lru_hit",
	  "Initial, fallback, LRU hit, GUE",
	  K_LB,
	  P_INITIAL,
	  5,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_lru), CNT(unroutable_config) },
	  0,
	  0,
	  ADM_OFF,
	  0,
	  1 },
	{ "fib_gue_plain",
	  "short, plaintext CID, GUE",
	  K_LB,
	  P_SHORT,
	  0,
	  0,
	  XDP_TX,
	  { CNT(tx), CNT(route_cid), CNT(cid_plaintext) },
	  0,
	  1,
	  ADM_OFF,
	  0,
	  1 },
};
#define NCLS	    (int)(sizeof(classes) / sizeof(classes[0]))
#define NINST	    3 /* 10 backends, 10,000, 10 in the last of 64 pools */
#define BENCH_POOLS 64
#define XSTR(x)	    STR(x)
#define STR(x)	    #x
#define MAX_ROUNDS  64

static double res[NINST][2][NCLS][MAX_ROUNDS]; /* [inst][v4, v6][class][round] */
static int nres[NINST][2][NCLS];

static int cls_index(const char *id)
{
	int i;

	for (i = 0; i < NCLS; i++)
		if (!strcmp(classes[i].id, id))
			return i;
	die("no class %s", id);
}

static int prog_of(const struct inst *in, enum kind k)
{
	switch (k) {
	case K_FLOOR:
		return in->fd_floor;
	case K_NOP:
		return in->fd_nop;
	case K_ADJUST:
		return in->fd_adjust;
	case K_ENCAP:
		return in->fd_encap;
	default:
		return in->fd_lb;
	}
}

static void set_ctl_for(struct inst *in, const struct cls *c, const struct frame *f, int family)
{
	struct bench_ctl ctl = {
		.rewrite = c->rewrite,
		.cid_off = f->cid_off,
		.sport_off = f->sport_off,
		.saddr_off = f->saddr_off,
		.backend = in->target,
		.olen = family == 4 ? 20 : 40,
	};

	if (c->rewrite == BENCH_RW_CID) {
		int s = rot_seg(c->config_id);

		if (s < 0 || !in->cids_seg)
			die("%s: no rotating CIDs", c->name);
		ctl.cid_base = s * in->cids_seg;
		ctl.cid_count = in->cids_seg;
	}
	bench_set_ctl(in, &ctl);
}

static int fib_ifindex;	    /* --fib: the ingress device of the FIB rows */
static uint8_t fib_smac[6]; /* its MAC: the outer source of the FIB rows */
/* the gateway toward the backends' prefixes, a permanent neighbour made by
 * tools/bench/run in the --fib namespace */
static const uint8_t fib_gw_mac[6] = { 0x02, 0, 0, 0, 0xfe, 0xfe };

static int run(int fd, const struct frame *f, uint32_t repeat, uint8_t *out, uint32_t *outlen,
	       uint32_t *dur, int fib)
{
	struct xdp_md ctx = { .data_end = f->len, .ingress_ifindex = fib_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len, .data_out = out,
		    .data_size_out = 4096, .repeat = repeat);

	if (fib) {
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	if (bpf_prog_test_run_opts(fd, &o))
		die("BPF_PROG_TEST_RUN: %s", strerror(errno));
	*outlen = o.data_size_out;
	if (dur)
		*dur = o.duration;
	return o.retval;
}

static const char *verdict_str(int v)
{
	static const char *n[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };

	return v >= 0 && v <= 4 ? n[v] : "?";
}

/* ---- the real program's output, octet by octet -------------------------- */
static uint16_t csum16(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* The 4-tuple of the frame's IP packet, as a flow key. */
static void flow_of(const struct frame *f, struct cidlb_flow_key *k)
{
	const uint8_t *ip = f->b + 14;

	memset(k, 0, sizeof(*k));
	if (ip[0] >> 4 == 4) {
		k->family = CIDLB_FAMILY_V4;
		memcpy(k->src, ip + 12, 4);
		memcpy(k->dst, ip + 16, 4);
	} else {
		k->family = CIDLB_FAMILY_V6;
		memcpy(k->src, ip + 8, 16);
		memcpy(k->dst, ip + 24, 16);
	}
	memcpy(&k->sport, f->b + f->sport_off, 2);
	memcpy(&k->dport, f->b + f->sport_off + 2, 2);
}

/*
 * The frame cidlb must send for input f to backend be, built here from the
 * encapsulation's definition (RFC 2003, RFC 2473, RFC 6040 normal mode;
 * GUE variant 0, draft-ietf-intarea-gue), not from bpf/: Ethernet to the
 * next hop (the backend's configured MAC, from the MAC the input was sent
 * to; or the FIB's gateway, from the --fib device's MAC), an outer IPv4
 * (DF, TTL 64, checksum) or IPv6 (flow label from the 4-tuple, hop limit
 * 64) header from the LB's address to the backend's with the inner TOS /
 * traffic class, for GUE a UDP header (source port from the 4-tuple, to
 * 6080, no checksum) and a GUE header (version 0, the inner protocol),
 * then the input's IP packet unchanged.
 */
static size_t expected_frame(const struct frame *f, int family, uint32_t be, int fib, int gue,
			     uint8_t *x)
{
	const uint8_t *ip = f->b + 14;
	size_t ilen = f->len - 14, olen = family == 4 ? 20 : 40, glen = gue ? 12 : 0;
	uint8_t *o = x + 14, *u = o + olen, a[16], tos, proto;
	uint16_t c;

	if (fib) {
		memcpy(x, fib_gw_mac, 6);
		memcpy(x + 6, fib_smac, 6);
	} else {
		backend_mac(be, x);
		memcpy(x + 6, f->b, 6);
	}
	x[12] = family == 4 ? 0x08 : 0x86;
	x[13] = family == 4 ? 0x00 : 0xdd;
	if (ip[0] >> 4 == 4) {
		tos = ip[1];
		proto = 4; /* IPIP */
	} else {
		tos = (ip[0] & 0x0f) << 4 | ip[1] >> 4;
		proto = 41; /* IPv6 */
	}
	memset(o, 0, olen + glen);
	if (gue) {
		struct cidlb_flow_key k __attribute__((aligned(8)));
		uint16_t sport;

		flow_of(f, &k);
		sport = cidlb_gue_sport(&k); /* what defines the source port */
		u[0] = sport >> 8;
		u[1] = sport;
		u[2] = 6080 >> 8;
		u[3] = 6080 & 0xff;
		u[4] = (ilen + glen) >> 8;
		u[5] = ilen + glen;
		u[9] = proto; /* GUE: version 0, C 0, hlen 0, the protocol */
		proto = 17;
	}
	if (family == 4) {
		o[0] = 0x45;
		o[1] = tos;
		o[2] = (ilen + glen + 20) >> 8;
		o[3] = ilen + glen + 20;
		o[6] = 0x40; /* DF */
		o[8] = 64;
		o[9] = proto;
		tpkt_addr(4, LB4, a);
		memcpy(o + 12, a, 4);
		backend_addr(4, be, a);
		memcpy(o + 16, a, 4);
		c = csum16(o, 20);
		o[10] = c >> 8;
		o[11] = c;
	} else {
		struct cidlb_flow_key k __attribute__((aligned(8)));
		uint32_t fl;

		flow_of(f, &k);
		fl = cidlb_flow_label(&k); /* what defines the outer flow label */
		o[0] = 0x60 | tos >> 4;
		o[1] = (uint8_t)(tos << 4) | fl >> 16;
		o[2] = fl >> 8;
		o[3] = fl;
		o[4] = (ilen + glen) >> 8;
		o[5] = ilen + glen;
		o[6] = proto;
		o[7] = 64;
		tpkt_addr(6, LB6, o + 8);
		backend_addr(6, be, o + 24);
	}
	memcpy(o + olen + glen, ip, ilen);
	return 14 + olen + glen + ilen;
}

/* The backend Maglev gives the frame's flow (the driver's copy of the
 * table it published). */
static uint32_t maglev_pick(const struct inst *in, const struct frame *f)
{
	struct cidlb_flow_key k;

	flow_of(f, &k);
	return in->maglev[cidlb_maglev_slot(&k, SEED)];
}

static void hexline(const char *what, const uint8_t *b, size_t len, size_t at)
{
	size_t i, lo = at & ~(size_t)15;

	fprintf(stderr, "  %s @%zu:", what, lo);
	for (i = lo; i < lo + 16 && i < len; i++)
		fprintf(stderr, " %02x", b[i]);
	fputc('\n', stderr);
}

/* The real cidlb_xdp once on f: the class's verdict, and, octet by octet,
 * the encapsulated frame toward backend be (XDP_TX) or the input
 * unchanged (XDP_PASS, XDP_DROP). */
static void check_one(struct inst *in, const struct cls *c, const struct frame *f, int family,
		      uint32_t be, const char *what)
{
	uint8_t out[4096], x[4096];
	uint32_t outlen;
	size_t xlen, i;
	int rv;

	rv = run(cidlb_lb_prog_fd(in->lb), f, 1, out, &outlen, NULL, c->fib);
	if (rv != c->verdict)
		die("%s (IPv%d, %s backends%s, %s): cidlb_xdp returned %s, expected %s", c->name,
		    family, in->name, c->fib ? ", FIB" : "", what, verdict_str(rv),
		    verdict_str(c->verdict));
	if (rv == XDP_TX) {
		xlen = expected_frame(f, family, be, c->fib, c->gue, x);
	} else {
		memcpy(x, f->b, f->len);
		xlen = f->len;
	}
	if (outlen == xlen && !memcmp(out, x, xlen))
		return;
	for (i = 0; i < xlen && i < outlen && out[i] == x[i]; i++)
		;
	fprintf(stderr,
		"cidlb-bench: %s (IPv%d, %s backends%s, %s): cidlb_xdp's output differs "
		"from the expected frame (backend %u) at octet %zu; %u octets out, %zu expected\n",
		c->name, family, in->name, c->fib ? ", FIB" : "", what, be, i, outlen, xlen);
	hexline("out     ", out, outlen, i);
	hexline("expected", x, xlen, i);
	exit(1);
}

/*
 * Every round, for every class of the real data path: the class's frame,
 * and for the rotating classes one of the rewritten inputs the timed runs
 * see (a rotating CID and its slot partner, each toward the backend it
 * names; a new 4-tuple toward its Maglev backend). The partner comes
 * last, so that the decode cache slot holds what the harness's sequence
 * would leave there: every timed iteration of a "miss" class still misses.
 */
static void check_real(struct inst *in, const struct cls *c, const struct frame *f, int family,
		       int round)
{
	struct frame g;
	uint32_t be;
	int k;

	if (c->kind != K_LB)
		return;
	be = c->pkt == P_SHORT || (c->pkt == P_INITIAL_TOKEN && c->token) ? in->target :
									    maglev_pick(in, f);
	check_one(in, c, f, family, be, "its frame");
	if (c->rewrite == BENCH_RW_CID) {
		uint32_t base = rot_seg(c->config_id) * in->cids_seg;
		uint32_t j = ((uint32_t)round * 2654435761u) % in->cids_seg & ~1u;

		for (k = 0; k < 2; k++) {
			g = *f;
			memcpy(g.b + f->cid_off, in->cids[base + j + k].b, BENCH_CID_LEN);
			check_one(in, c, &g, family, in->cid_be[base + j + k], "a rotating CID");
		}
	} else if (c->rewrite == BENCH_RW_TUPLE) {
		g = *f;
		g.b[f->sport_off] = 0xfe;
		g.b[f->sport_off + 1] = round;
		g.b[f->saddr_off] = 0xff; /* the harness's addresses are below */
		g.b[f->saddr_off + 1] = round;
		check_one(in, c, &g, family, c->token ? in->target : maglev_pick(in, &g),
			  "a new 4-tuple");
	}
}

static uint64_t cnt_at(const struct cidlb_counters *c, size_t off1)
{
	return *(const uint64_t *)((const uint8_t *)c + off1 - 1);
}

static const char *cnt_name(size_t off1)
{
	size_t i;

	for (i = 0; i < cidlb_counter_count; i++)
		if (cidlb_counter_descs[i].offset == off1 - 1)
			return cidlb_counter_descs[i].name;
	return "?";
}

/* token_prefix on configs 0 to 2 as the class wants it (when it differs). */
static void set_token(struct inst *in, int on)
{
	struct cidlb_config c;
	uint32_t id;

	for (id = 0; id < 3; id++) {
		check(cidlb_lb_get_config(in->lb, id, &c), "get config");
		if (!!(c.flags & CIDLB_CFG_F_TOKEN) == !!on)
			continue;
		c.flags = on ? c.flags | CIDLB_CFG_F_TOKEN : c.flags & ~CIDLB_CFG_F_TOKEN;
		check(cidlb_lb_set_config(in->lb, id, &c), "set config");
	}
}

/* The class's new-flow settings into cidlb_global (when they differ). */
static void set_admit(struct inst *in, int admit)
{
	struct cidlb_global g;
	uint32_t idle = cidlb_flow_idle_ticks(admits[admit].idle_s);

	check(cidlb_lb_get_global(in->lb, &g), "get global");
	if (g.new_flow_rate == admits[admit].rate && g.flow_idle == idle)
		return;
	g.new_flow_rate = admits[admit].rate;
	g.flow_idle = idle;
	check(cidlb_lb_set_global(in->lb, &g), "set global");
}

static double measure(struct inst *in, const struct cls *c, int family, uint32_t repeat, int round)
{
	struct cidlb_counters before, after;
	uint8_t out[4096], in_m[4096];
	struct frame f;
	uint32_t outlen, dur;
	int fd = prog_of(in, c->kind), rv, i;
	size_t lo = 0, hi = 0;

	bench_set_backends(in, family, c->fib ? CIDLB_FWD_ENCAP_FIB : CIDLB_FWD_ENCAP_MAC,
			   c->gue ? CIDLB_ENCAP_GUE : CIDLB_ENCAP_IPIP);
	set_admit(in, c->admit);
	set_token(in, c->token);
	bench_frame(in, family, c->pkt, c->config_id, &f);
	set_ctl_for(in, c, &f, family);
	check_real(in, c, &f, family, round);
	run(fd, &f, 100, out, &outlen, NULL, c->fib); /* warm: caches, LRU entry */
	check(cidlb_lb_read_counters(in->lb, &before), "read counters");
	rv = run(fd, &f, repeat, out, &outlen, &dur, c->fib);
	check(cidlb_lb_read_counters(in->lb, &after), "read counters");

	if (rv != c->verdict)
		die("%s (IPv%d, %s backends): verdict %s, expected %s", c->name, family, in->name,
		    verdict_str(rv), verdict_str(c->verdict));
	if (c->kind != K_FLOOR) {
		/* the harness restored the input (but the rewritten octets) */
		memcpy(in_m, f.b, f.len);
		if (c->rewrite == BENCH_RW_CID) {
			lo = f.cid_off;
			hi = lo + BENCH_CID_LEN;
		} else if (c->rewrite == BENCH_RW_TUPLE) {
			lo = f.saddr_off;
			hi = f.sport_off + 2;
		}
		memset(in_m + lo, 0, hi - lo);
		memset(out + lo, 0, hi - lo);
		if (outlen != f.len || memcmp(out, in_m, f.len))
			die("%s (IPv%d, %s backends): the harness did not restore the frame "
			    "(%u octets out, %zu in)",
			    c->name, family, in->name, outlen, f.len);
	}
	if (c->kind == K_LB) {
		uint64_t d = after.rx_packets - before.rx_packets;

		if (d != repeat)
			die("%s: rx_packets moved by %llu, expected %u", c->name,
			    (unsigned long long)d, repeat);
		for (i = 0; i < 3 && c->cnt[i]; i++) {
			d = cnt_at(&after, c->cnt[i]) - cnt_at(&before, c->cnt[i]);
			if (d != repeat)
				die("%s (IPv%d, %s backends): counter %s moved by %llu, expected %u: "
				    "not every iteration took the intended path",
				    c->name, family, in->name, cnt_name(c->cnt[i]),
				    (unsigned long long)d, repeat);
		}
		/* an LRU hit is one from the 4-tuple cache (bpf/pick.h) but where
		 * the cache's tick turned: at most once per 2^30 ns of the run */
		d = after.route_lru - before.route_lru;
		if (d) {
			uint64_t cached = after.route_lru_cached - before.route_lru_cached;
			uint64_t turns = 2 + (((uint64_t)dur * repeat) >> CIDLB_FLOW_TICK_SHIFT);

			if (cached > d || d - cached > turns)
				die("%s (IPv%d, %s backends): %llu of %llu LRU hits from the 4-tuple "
				    "cache, expected all but at most %llu (tick turns)",
				    c->name, family, in->name, (unsigned long long)cached,
				    (unsigned long long)d, (unsigned long long)turns);
		}
	}
	return dur;
}

/* ---- statistics -------------------------------------------------------- */
static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(double *v, int n)
{
	double t[MAX_ROUNDS > 256 ? MAX_ROUNDS : 256];

	if (n <= 0)
		return 0;
	memcpy(t, v, n * sizeof(*v));
	qsort(t, n, sizeof(*t), dcmp);
	return n & 1 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static double vmin(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

static double vmax(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

static double med(int inst, int fam, const char *id)
{
	int c = cls_index(id);

	return median(res[inst][fam][c], nres[inst][fam][c]);
}

/* ---- report ------------------------------------------------------------ */
static double ref(int inst, int fam, const char *id)
{
	double m = nres[inst][fam][cls_index(id)] ? med(inst, fam, id) : 0;

	return m > 0 ? m : NAN;
}

static struct inst insts[NINST];

/* What the harness adds to a body (10 backends, ns): "nop" around any,
 * "adjust" around one that encapsulates. */
static double harness_cost(int fam, const char *id)
{
	return ref(0, fam, id) - ref(0, fam, "floor");
}
static int ninst = NINST;
static char *only;     /* --classes */
static int pools_only; /* --pools: instances 0 and 2, the pooled classes */

static int selected(const struct cls *c)
{
	char buf[512], *t, *save;

	/* the references every ratio and the harness's cost are taken from */
	if (!only || c->kind != K_LB)
		return 1;
	snprintf(buf, sizeof(buf), "%s", only);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!strcmp(t, c->id))
			return 1;
	return 0;
}

/* A loaded machine does not slow every class alike (docs/benchmark.md,
 * "Side by side"): say so when the swap-MACs floor's median is over 1.5x
 * its lowest round, the rule tools/bench/side_by_side.sh applies. */
static void print_steadiness(FILE *o)
{
	int c = cls_index("floor"), fam;

	for (fam = 0; fam < 2; fam++) {
		double m = med(0, fam, "floor"), lo = vmin(res[0][fam][c], nres[0][fam][c]);

		if (m > 1.5 * lo) {
			fprintf(o,
				"**Machine loaded: the IPv%d swap-MACs floor's median (%.0f ns) is "
				"over 1.5× its lowest round (%.0f ns). A loaded machine does not slow "
				"every class alike: these figures are not the program's speed; run "
				"again when the machine is quiet.**\n\n",
				fam ? 6 : 4, m, lo);
			return;
		}
	}
	fprintf(o,
		"Machine steady: swap-MACs floor %.0f / %.0f ns (IPv4 / IPv6 medians), "
		"within 1.5× of its lowest round.\n\n",
		med(0, 0, "floor"), med(0, 1, "floor"));
}

static void print_table(FILE *o)
{
	int i, c, fam;

	fprintf(o, "| class | next hop | backends | IPv4 ns median (min–max) | ×floor | "
		   "×encap | IPv6 ns median (min–max) | ×floor | ×encap |\n");
	fprintf(o, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	for (i = 0; i < ninst; i++) {
		for (c = 0; c < NCLS; c++) {
			if (!nres[i][0][c])
				continue;
			fprintf(o, "| %s | %s | %s |", classes[c].name,
				classes[c].kind == K_FLOOR || classes[c].kind == K_NOP ||
						classes[c].kind == K_ADJUST ?
					"" :
				classes[c].fib ? "FIB" :
						 "MAC",
				insts[i].name);
			for (fam = 0; fam < 2; fam++) {
				double *v = res[i][fam][c];
				int n = nres[i][fam][c];
				double m = median(v, n);

				fprintf(o, " %.0f (%.0f–%.0f) | %.2f | %.2f |", m, vmin(v, n),
					vmax(v, n), m / ref(i, fam, "floor"),
					m / ref(i, fam, classes[c].fib ? "fib_encap" : "encap"));
			}
			fputc('\n', o);
		}
	}
}

/* --tsv: one line per measured class, for tools/bench/side_by_side.sh:
 * backends, class id, IPv4 and IPv6 medians, IPv4 and IPv6 minima over
 * the rounds (ns). */
static void write_tsv(const char *path)
{
	FILE *o = fopen(path, "w");
	int i, c;

	if (!o)
		die("--tsv %s: %s", path, strerror(errno));
	for (i = 0; i < ninst; i++)
		for (c = 0; c < NCLS; c++)
			if (nres[i][0][c])
				fprintf(o, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\n", insts[i].name,
					classes[c].id, med(i, 0, classes[c].id),
					med(i, 1, classes[c].id), vmin(res[i][0][c], nres[i][0][c]),
					vmin(res[i][1][c], nres[i][1][c]));
	if (fclose(o))
		die("--tsv %s: %s", path, strerror(errno));
}

static int failed_targets;

static void target(FILE *o, const char *what, double got, double limit, const char *unit,
		   const char *how)
{
	int met = got <= limit;

	if (!met)
		failed_targets++;
	fprintf(o, "| %s | %.2f%s | ≤ %.2f%s | %s%s |\n", what, got, unit, limit, unit,
		met ? "met" : "**missed**", how);
}

/* Instance b against instance a for one class, in %: the median of the
 * rounds' paired differences (each class runs on every instance in a row,
 * so a slow period of the host hits both figures of a round). */
static double paired_pct(int b, int a, int fam, const char *id)
{
	int c = cls_index(id), n = nres[a][fam][c], r;
	double d[MAX_ROUNDS];

	if (n != nres[b][fam][c])
		die("%s measured %d and %d times on two instances", id, n, nres[b][fam][c]);
	for (r = 0; r < n; r++)
		d[r] = 100.0 * (res[b][fam][c][r] - res[a][fam][c][r]) / res[a][fam][c][r];
	return median(d, n);
}

/* The cost of pools: the pooled classes in the last of BENCH_POOLS pools
 * against the same classes with one pool, same run. */
static void print_pool_rows(FILE *o)
{
	static const char *fam_s[] = { "IPv4", "IPv6" };
	static const char *pooled[] = { "plain", "sp_hit", "fp_hit", "lru_hit" };
	char w[160], how[160];
	int fam;
	size_t k;

	for (fam = 0; fam < 2; fam++) {
		for (k = 0; k < sizeof(pooled) / sizeof(pooled[0]); k++) {
			double a = med(0, fam, pooled[k]), b = med(2, fam, pooled[k]);

			snprintf(w, sizeof(w), "%s %s: in the last of %d pools vs one pool",
				 fam_s[fam], classes[cls_index(pooled[k])].name, BENCH_POOLS);
			snprintf(how, sizeof(how), " (medians %.0f vs %.0f ns)", b, a);
			target(o, w, paired_pct(2, 0, fam, pooled[k]), 5, " %", how);
		}
	}
}

/* --pools: only the pool rows (a longer run of just them on a noisy host). */
static void print_pool_targets(FILE *o)
{
	fprintf(o, "\n### Pools (same run)\n\n");
	fprintf(o, "| target | measured | limit | |\n| --- | ---: | ---: | --- |\n");
	print_pool_rows(o);
}

static void print_targets(FILE *o)
{
	static const char *fam_s[] = { "IPv4", "IPv6" };
	static const char *indep[] = { "plain",	  "sp_hit",   "fp_hit",	   "lru_hit", "new_tuple",
				       "retired", "udp_port", "plain_rot", "sp_miss", "fp_miss" };
	char w[160], how[160];
	int fam;
	size_t k;

	fprintf(o, "\n### Targets (10 backends unless said; same run)\n\n");
	fprintf(o, "| target | measured | limit | |\n| --- | ---: | ---: | --- |\n");
	for (fam = 0; fam < 2; fam++) {
		double enc = med(0, fam, "encap"), pl = med(0, fam, "plain");

		snprintf(w, sizeof(w), "%s plaintext: ratio to encap floor", fam_s[fam]);
		target(o, w, pl / enc, 2.5, "×", "");
		snprintf(w, sizeof(w), "%s plaintext: ns above encap floor", fam_s[fam]);
		snprintf(how, sizeof(how), " (%.0f − %.0f)", pl, enc);
		target(o, w, pl - enc, 40, " ns", how);
		snprintf(w, sizeof(w), "%s single-pass cache hit − plaintext", fam_s[fam]);
		target(o, w, med(0, fam, "sp_hit") - pl, 15, " ns", "");
		snprintf(w, sizeof(w), "%s four-pass cache hit − plaintext", fam_s[fam]);
		target(o, w, med(0, fam, "fp_hit") - pl, 15, " ns", "");
		snprintf(w, sizeof(w), "%s Initial, LRU hit − encap floor", fam_s[fam]);
		target(o, w, med(0, fam, "lru_hit") - enc, 50, " ns", "");
	}
	print_pool_rows(o);
	for (fam = 0; fam < 2; fam++) {
		for (k = 0; k < sizeof(indep) / sizeof(indep[0]); k++) {
			double a = med(0, fam, indep[k]), b = med(1, fam, indep[k]);
			double d = paired_pct(1, 0, fam, indep[k]);

			snprintf(w, sizeof(w), "%s %s: 10,000 backends + full retired map vs 10",
				 fam_s[fam], classes[cls_index(indep[k])].name);
			snprintf(how, sizeof(how), " (medians %.0f vs %.0f ns)", b, a);
			target(o, w, d < 0 ? -d : d, 10, " %", how);
		}
	}
}

static void print_harness(FILE *o)
{
	fprintf(o, "\n### Harness overhead (10 backends, medians)\n\n");
	fprintf(o, "| | IPv4 ns | IPv6 ns |\n| --- | ---: | ---: |\n");
	fprintf(o, "| floor (swap MACs, XDP_TX, no harness) | %.0f | %.0f |\n", med(0, 0, "floor"),
		med(0, 1, "floor"));
	fprintf(o, "| harness: save/restore %d octets, control read | %+.0f | %+.0f |\n",
		BENCH_SAVE_LEN, med(0, 0, "nop") - med(0, 0, "floor"),
		med(0, 1, "nop") - med(0, 1, "floor"));
	fprintf(o, "| harness: undo of the head adjustment (+ the adjustment) | %+.0f | %+.0f |\n",
		med(0, 0, "adjust") - med(0, 0, "nop"), med(0, 1, "adjust") - med(0, 1, "nop"));
	fprintf(o,
		"| encapsulation writes, backend and global lookups, MTU check | %+.0f | %+.0f |\n",
		med(0, 0, "encap") - med(0, 0, "adjust"), med(0, 1, "encap") - med(0, 1, "adjust"));
	fprintf(o,
		"| new CID each iteration: the harness's part (sequence, array lookup, copy) | %+.0f | %+.0f |\n",
		med(0, 0, "nop_rot") - med(0, 0, "nop"), med(0, 1, "nop_rot") - med(0, 1, "nop"));
	fprintf(o,
		"| new CID each iteration: the data path's part (plaintext; cold hash buckets) | %+.0f | %+.0f |\n",
		med(0, 0, "plain_rot") - med(0, 0, "plain") -
			(med(0, 0, "nop_rot") - med(0, 0, "nop")),
		med(0, 1, "plain_rot") - med(0, 1, "plain") -
			(med(0, 1, "nop_rot") - med(0, 1, "nop")));
}

static void print_aes(FILE *o)
{
	static const char *fam_s[] = { "IPv4", "IPv6" };
	static const struct {
		const char *mode, *hit, *nc, *ncr, *miss;
	} m[] = {
		{ "single-pass (16-octet block, 1 AES)", "sp_hit", "sp_nc", "sp_nc_rot",
		  "sp_miss" },
		{ "four-pass (8-octet block, 3 AES: sid ≤ nonce)", "fp_hit", "fp_nc", "fp_nc_rot",
		  "fp_miss" },
	};
	size_t i;
	int fam;

	fprintf(o, "\n### Decode cache (10 backends, medians, ns)\n\n");
	fprintf(o, "| mode | family | plaintext | cache hit | no cache | no cache, new CID each | "
		   "cache miss (new CID each) | hit saves | miss costs | break-even hit rate |\n");
	fprintf(o, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		for (fam = 0; fam < 2; fam++) {
			double hit = med(0, fam, m[i].hit), nc = med(0, fam, m[i].nc);
			double ncr = med(0, fam, m[i].ncr), miss = med(0, fam, m[i].miss);
			double save = nc - hit, cost = miss - ncr;
			char be[32];

			if (save <= 0)
				snprintf(be, sizeof(be), "never pays");
			else if (cost <= 0)
				snprintf(be, sizeof(be), "always pays");
			else
				snprintf(be, sizeof(be), "%.0f %%", 100.0 * cost / (save + cost));
			fprintf(o,
				"| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %s |\n",
				m[i].mode, fam_s[fam], med(0, fam, "plain"), hit, nc, ncr, miss,
				save, cost, be);
		}
	}
}

/* memlock of a map as the kernel accounts it (what bpftool prints). */
static unsigned long long memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void print_memory(FILE *o)
{
	static const char *types[] = { [BPF_MAP_TYPE_HASH] = "hash",
				       [BPF_MAP_TYPE_ARRAY] = "array",
				       [BPF_MAP_TYPE_PERCPU_ARRAY] = "percpu array",
				       [BPF_MAP_TYPE_LRU_HASH] = "LRU hash",
				       [BPF_MAP_TYPE_LRU_PERCPU_HASH] = "LRU percpu hash",
				       [BPF_MAP_TYPE_DEVMAP_HASH] = "devmap hash" };
	unsigned long long tot[NINST] = { 0 };
	int i, j;

	fprintf(o, "\n### Map memory (memlock from /proc/self/fdinfo, %d possible CPUs)\n\n",
		libbpf_num_possible_cpus());
	fprintf(o,
		"| map | type | max entries | key | value | %s backends | %s backends + %u retired | %s |\n",
		insts[0].name, insts[1].name, insts[1].retired, insts[2].name);
	fprintf(o, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	for (j = 0; j < CIDLB_M_COUNT; j++) {
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);
		int fd = cidlb_lb_map_fd(insts[0].lb, j);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		fprintf(o, "| %s | %s | %u | %u | %u |", cidlb_map_names[j],
			info.type < sizeof(types) / sizeof(types[0]) && types[info.type] ?
				types[info.type] :
				"?",
			info.max_entries, info.key_size, info.value_size);
		for (i = 0; i < NINST; i++) {
			unsigned long long m = memlock(cidlb_lb_map_fd(insts[i].lb, j));

			tot[i] += m;
			fprintf(o, " %.1f KiB |", m / 1024.0);
		}
		fputc('\n', o);
	}
	fprintf(o, "| **total** | | | | | **%.1f MiB** | **%.1f MiB** | **%.1f MiB** |\n",
		tot[0] / 1048576.0, tot[1] / 1048576.0, tot[2] / 1048576.0);
	for (i = 0; i < NINST; i++) {
		struct cidlb_global g;

		if (!cidlb_lb_get_global(insts[i].lb, &g))
			fprintf(o, "\n%s backends: %s.", insts[i].name,
				g.flags & CIDLB_GF_SID_SPILL ?
					"some server IDs spilled out of cidlb_sid_table (looked up in cidlb_sids)" :
					"every server ID in cidlb_sid_table");
	}
	fputc('\n', o);
}

static int prog_info(int fd, struct bpf_prog_info *info, void **xlated)
{
	uint32_t len = sizeof(*info), n;

	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		return -errno;
	if (!xlated)
		return 0;
	n = info->xlated_prog_len;
	*xlated = calloc(1, n ? n : 1);
	if (!*xlated)
		return -ENOMEM;
	memset(info, 0, sizeof(*info));
	info->xlated_prog_len = n;
	info->xlated_prog_insns = (uint64_t)(unsigned long)*xlated;
	len = sizeof(*info);
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		return -errno;
	return 0;
}

static int prog_mismatch;

/* Two maps an instruction refers to are the same, or both a read-only
 * data section (.rodata: each object has its own) with the same content. */
static int same_map(uint32_t a, uint32_t b)
{
	struct bpf_map_info ia = {}, ib = {};
	uint32_t la = sizeof(ia), lb = sizeof(ib), zero = 0;
	int fa, fb, same = 0;
	void *va = NULL, *vb = NULL;

	if (a == b)
		return 1;
	fa = bpf_map_get_fd_by_id(a);
	fb = bpf_map_get_fd_by_id(b);
	if (fa >= 0 && fb >= 0 && !bpf_obj_get_info_by_fd(fa, &ia, &la) &&
	    !bpf_obj_get_info_by_fd(fb, &ib, &lb) && ia.type == ib.type && ia.max_entries == 1 &&
	    ib.max_entries == 1 && ia.value_size == ib.value_size && strstr(ia.name, ".rodata") &&
	    strstr(ib.name, ".rodata")) {
		va = malloc(ia.value_size);
		vb = malloc(ib.value_size);
		same = va && vb && !bpf_map_lookup_elem(fa, &zero, va) &&
		       !bpf_map_lookup_elem(fb, &zero, vb) && !memcmp(va, vb, ia.value_size);
	}
	free(va);
	free(vb);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

/* Translated programs equal instruction by instruction (a map reference
 * by same_map()). */
static int same_code(const struct bpf_insn *x, const struct bpf_insn *y, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (x[i].code == (BPF_LD | BPF_DW | BPF_IMM) && x[i].src_reg && i + 1 < n) {
			if (x[i].code != y[i].code || x[i].dst_reg != y[i].dst_reg ||
			    x[i].src_reg != y[i].src_reg || x[i].off != y[i].off ||
			    memcmp(&x[i + 1], &y[i + 1], sizeof(x[i])) ||
			    !same_map(x[i].imm, y[i].imm))
				return 0;
			i++;
			continue;
		}
		if (memcmp(&x[i], &y[i], sizeof(x[i])))
			return 0;
	}
	return 1;
}

/*
 * The loaded cidlb_xdp of each instance beside the harness object's
 * programs: bench_bare is cidlb_handle() alone, compiled into the harness
 * object as bench_lb inlines it; its translated instructions must equal
 * cidlb_xdp's one by one (the same maps; each object's own read-only
 * data with the same content), which shows that
 * the timed copy is the real code. bench_lb is what is timed (that code
 * plus the harness).
 */
static void print_prog(FILE *o)
{
	int i;

	fprintf(o, "\n### The timed program beside the loaded cidlb_xdp\n\n");
	fprintf(o, "| configuration | program | verified insns | xlated | jited | |\n"
		   "| --- | --- | ---: | ---: | ---: | --- |\n");
	for (i = 0; i < ninst; i++) {
		struct bpf_prog_info real, bare, timed;
		void *xr = NULL, *xb = NULL;
		int same;

		if (prog_info(cidlb_lb_prog_fd(insts[i].lb), &real, &xr) ||
		    prog_info(insts[i].fd_bare, &bare, &xb) ||
		    prog_info(insts[i].fd_lb, &timed, NULL))
			die("program info: %s", strerror(errno));
		same = real.xlated_prog_len == bare.xlated_prog_len &&
		       same_code(xr, xb, real.xlated_prog_len / sizeof(struct bpf_insn));
		if (!same)
			prog_mismatch++;
		fprintf(o, "| %s backends | cidlb_xdp (build/cidlb.bpf.o) | %u | %uB | %uB | |\n",
			insts[i].name, real.verified_insns, real.xlated_prog_len,
			real.jited_prog_len);
		fprintf(o,
			"| %s backends | bench_bare: cidlb_handle() in the harness object "
			"| %u | %uB | %uB | %s |\n",
			insts[i].name, bare.verified_insns, bare.xlated_prog_len,
			bare.jited_prog_len,
			same ? "translated instructions identical to cidlb_xdp's" :
			       "**translated instructions differ from cidlb_xdp's**");
		fprintf(o,
			"| %s backends | bench_lb: harness + cidlb_handle() (timed) "
			"| %u | %uB | %uB | |\n",
			insts[i].name, timed.verified_insns, timed.xlated_prog_len,
			timed.jited_prog_len);
		free(xr);
		free(xb);
	}
	if (prog_mismatch)
		fprintf(o, "\nThe inlined copy is not the loaded program's code: the figures "
			   "above do not time cidlb_xdp.\n");
}

/* --lines FILE: where each source line of the timed program (bench_lb of
 * the 10-backend instance) starts in its JIT image, one line each,
 * "ADDRESS<tab>FILE:LINE<tab>SOURCE", address in hex as the kernel's
 * symbols give it, in address order: tools/bench/profile attributes the
 * samples of `perf record` to them. */
static void write_lines(const char *path, int fd)
{
	struct bpf_prog_info info = {};
	struct bpf_line_info *li = NULL;
	uint32_t len = sizeof(info), n, i;
	uint64_t *jl = NULL;
	struct btf *btf;
	FILE *o;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		die("--lines: program info: %s", strerror(errno));
	n = info.nr_line_info < info.nr_jited_line_info ? info.nr_line_info :
							  info.nr_jited_line_info;
	if (!n || !info.btf_id)
		die("--lines: the timed program has no line information (BTF)");
	li = calloc(n, sizeof(*li));
	jl = calloc(n, sizeof(*jl));
	if (!li || !jl)
		die("--lines: out of memory");
	memset(&info, 0, sizeof(info));
	info.nr_line_info = n;
	info.line_info_rec_size = sizeof(*li);
	info.line_info = (uint64_t)(unsigned long)li;
	info.nr_jited_line_info = n;
	info.jited_line_info_rec_size = sizeof(*jl);
	info.jited_line_info = (uint64_t)(unsigned long)jl;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		die("--lines: line information: %s", strerror(errno));
	btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!btf)
		die("--lines: the program's BTF: %s", strerror(errno));
	o = fopen(path, "w");
	if (!o)
		die("--lines %s: %s", path, strerror(errno));
	for (i = 0; i < n; i++) {
		const char *f = btf__name_by_offset(btf, li[i].file_name_off);
		const char *l = btf__name_by_offset(btf, li[i].line_off);
		const char *b = f ? strrchr(f, '/') : NULL;

		l = l ? l : "";
		while (*l == ' ' || *l == '\t')
			l++;
		fprintf(o, "%llx\t%s:%u\t%s\n", (unsigned long long)jl[i],
			b ? b + 1 : (f ? f : "?"), BPF_LINE_INFO_LINE_NUM(li[i].line_col), l);
	}
	if (fclose(o))
		die("--lines %s: %s", path, strerror(errno));
	btf__free(btf);
	free(li);
	free(jl);
}

/* --fib NS,IF: run in network namespace NS, the FIB rows with IF as the
 * ingress device (tools/bench/run gives it routes toward the backends'
 * prefixes through a gateway with a permanent neighbour entry). */
static void enter_fib(char *arg)
{
	char *ifn = strchr(arg, ','), path[256];
	struct ifreq ifr = {};
	int fd, sk;

	if (!ifn)
		die("--fib NS,IF");
	*ifn++ = 0;
	snprintf(path, sizeof(path), "/var/run/netns/%s", arg);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		die("--fib: network namespace %s: %s", arg, strerror(errno));
	close(fd);
	fib_ifindex = if_nametoindex(ifn);
	if (!fib_ifindex)
		die("--fib: no device %s in namespace %s", ifn, arg);
	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifn);
	if (sk < 0 || ioctl(sk, SIOCGIFHWADDR, &ifr))
		die("--fib: MAC address of %s: %s", ifn, strerror(errno));
	memcpy(fib_smac, ifr.ifr_hwaddr.sa_data, 6);
	close(sk);
}

static void pin_cpu(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof(s), &s))
		die("pin to CPU %d: %s", cpu, strerror(errno));
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "repeat", 1, NULL, 'r' },	 { "rounds", 1, NULL, 'n' },
		{ "cpu", 1, NULL, 'c' },	 { "live", 1, NULL, 'l' },
		{ "live-frames", 1, NULL, 'f' }, { "quick", 0, NULL, 'q' },
		{ "classes", 1, NULL, 'o' },	 { "fib", 1, NULL, 'b' },
		{ "tsv", 1, NULL, 't' },	 { "pools", 0, NULL, 'p' },
		{ "lines", 1, NULL, 'L' },	 { NULL, 0, NULL, 0 },
	};
	struct live_opts lv = { .frames = 2000000, .rounds = 3 };
	uint32_t repeat = 1000000;
	int rounds = 5, cpu = -1, opt, r, i, fam, c, rc = 0;
	char *live = NULL, *fib = NULL, *tsv = NULL, *lines = NULL;
	struct timespec t0, t1;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'r':
			repeat = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			rounds = atoi(optarg);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 'l':
			live = optarg;
			break;
		case 'f':
			lv.frames = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			only = optarg;
			ninst = 1;
			break;
		case 'b':
			fib = optarg;
			break;
		case 'p':
			pools_only = 1;
			only = "floor,nop,adjust,encap,plain,sp_hit,fp_hit,lru_hit";
			break;
		case 't':
			tsv = optarg;
			break;
		case 'L':
			lines = optarg;
			break;
		case 'q':
			repeat = 100000;
			rounds = 3;
			lv.frames = 200000;
			lv.rounds = 2;
			break;
		default:
			fprintf(stderr,
				"usage: cidlb-bench [--repeat N] [--rounds N] [--cpu N] [--quick] "
				"[--live GEN_NS,GEN_IF,LB_NS,LB_IF] [--live-frames N] [--fib NS,IF] "
				"[--tsv FILE] [--classes ID,...] [--pools] [--lines FILE]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || repeat < 1000)
		die("--rounds 1..%d, --repeat >= 1000", MAX_ROUNDS);
	if (cpu < 0)
		cpu = sysconf(_SC_NPROCESSORS_ONLN) - 1;
	/* one CPU: per-CPU maps (decode cache, counters) see every run */
	pin_cpu(cpu);
	if (fib)
		enter_fib(fib);
	lv.cpu = cpu;
	libbpf_set_print(quiet);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	insts[0].name = "10";
	inst_open(&insts[0], 10, 1, 1, 1);
	if (lines)
		write_lines(lines, insts[0].fd_lb);
	insts[1].name = "10000";
	if (ninst > 1 && !pools_only)
		inst_open(&insts[1], 10000, ~0U, 1, 1); /* retired map filled to max_entries */
	insts[2].name = "10, " XSTR(BENCH_POOLS) " pools";
	if (ninst > 2)
		inst_open(&insts[2], 10, 1, 0, BENCH_POOLS);

	/* each class on every instance in a row: the instances' figures of
	 * a class are paired within a round (print_pool_rows) */
	for (r = 0; r < rounds; r++) {
		for (fam = 0; fam < 2; fam++) {
			for (c = 0; c < NCLS; c++) {
				for (i = 0; i < ninst; i++) {
					const struct cls *k = &classes[c];

					if ((i == 1 && (pools_only || !(k->flags & LARGE))) ||
					    (i == 2 && !(k->flags & POOLS)) || !selected(k) ||
					    (k->fib && !fib_ifindex))
						continue;
					res[i][fam][c][nres[i][fam][c]++] =
						measure(&insts[i], k, fam ? 6 : 4, repeat, r);
				}
			}
		}
		fprintf(stderr, "cidlb-bench: round %d of %d done\n", r + 1, rounds);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	printf("## Per-packet cost through BPF_PROG_TEST_RUN\n\n");
	printf("repeat %u, %d interleaved rounds, pinned to CPU %d, every counter check passed "
	       "and every round the real cidlb_xdp's output matched the expected frame octet "
	       "by octet (%.0f s). Next hop: MAC = `mac =` configured (`CIDLB_FWD_ENCAP_MAC`, "
	       "what the headline figures use), FIB = the default mode (`bpf_fib_lookup()`%s). "
	       "×floor: ratio to the swap-MACs floor; ×encap: ratio to the encapsulation floor "
	       "of the same next-hop mode, which runs in the same harness as the data path. "
	       "The harness's own cost, in every row but the floor: %.0f ns IPv4, %.0f ns IPv6 "
	       "(save/restore, control read: \"harness + swap MACs\" − floor), and %.0f / "
	       "%.0f ns in the rows that encapsulate (with the undo of the head adjustment: "
	       "\"harness + bpf_xdp_adjust_head\" − floor).\n\n",
	       repeat, rounds, cpu, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       fib_ifindex ? "" : "; not measured: no --fib", harness_cost(0, "nop"),
	       harness_cost(1, "nop"), harness_cost(0, "adjust"), harness_cost(1, "adjust"));
	print_steadiness(stdout);
	print_table(stdout);
	if (tsv)
		write_tsv(tsv);
	if (pools_only) {
		print_pool_targets(stdout);
		return 0;
	}
	if (only)
		return 0;
	print_targets(stdout);
	print_harness(stdout);
	print_aes(stdout);
	print_memory(stdout);
	print_prog(stdout);
	fflush(stdout);

	if (live) {
		lv.gen_ns = strtok(live, ",");
		lv.gen_if = strtok(NULL, ",");
		lv.lb_ns = strtok(NULL, ",");
		lv.lb_if = strtok(NULL, ",");
		if (!lv.lb_if)
			die("--live GEN_NS,GEN_IF,LB_NS,LB_IF");
		set_admit(&insts[0], ADM_OFF);
		rc = live_bench(&insts[0], &lv, stdout);
	}
	printf("\n%d target(s) missed.\n", failed_targets);
	if (prog_mismatch) {
		fprintf(stderr, "cidlb-bench: the timed copy of cidlb_handle() is not the code of "
				"the loaded cidlb_xdp (see \"The timed program\")\n");
		rc = -1;
	}
	for (i = 0; i < ninst; i++) {
		for (c = 0; c < BENCH_CONFIGS; c++)
			cidlb_cid_config_free(insts[i].cc[c]);
		bpf_object__close(insts[i].bobj);
		cidlb_lb_close(insts[i].lb);
	}
	return rc ? 1 : 0;
}
