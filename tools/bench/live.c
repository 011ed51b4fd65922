// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * live.c - cidlb on a veth with native XDP, end to end.
 *
 *   GEN namespace                      LB namespace
 *   GEN_IF  <-------- veth -------->   LB_IF
 *   live_gen (BPF_PROG_TEST_RUN,       cidlb_xdp (or a floor program),
 *     live frames, XDP_TX) ------->      encapsulates, XDP_TX back
 *   live_count (XDP, counts, drops) <---
 *
 * tools/bench/run creates both namespaces and the veth pair and deletes
 * them on every exit. The generator, cidlb and the counter run in softirq
 * on the CPU the driver is pinned to (checked from the per-CPU counters),
 * so frames per second are per core; the cost of cidlb itself is the time
 * per frame above the floor program's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "driver.h"

struct live_cls {
	const char *name;
	int family;
	int prog; /* 0 floor, 1 encap floor, 2 cidlb */
	enum pkt_kind pkt;
	int config_id;
	int rotate;
	size_t path; /* cidlb counter that every frame must move */
};

#define OFF(f) offsetof(struct cidlb_counters, f)
static const struct live_cls lcls[] = {
	{ "floor: swap MACs, XDP_TX", 4, 0, P_SHORT, 0, 0, 0 },
	{ "floor: encapsulation, XDP_TX", 4, 1, P_SHORT, 0, 0, 0 },
	{ "short, plaintext CID", 4, 2, P_SHORT, 0, 0, OFF(cid_plaintext) },
	{ "short, single-pass, cache hit", 4, 2, P_SHORT, 1, 0, OFF(dcache_hit) },
	{ "short, four-pass, cache hit", 4, 2, P_SHORT, 2, 0, OFF(dcache_hit) },
	{ "short, four-pass, no cache", 4, 2, P_SHORT, 4, 0, OFF(cid_four_pass) },
	{ "Initial, fallback, LRU hit", 4, 2, P_INITIAL, 5, 0, OFF(route_lru) },
	{ "Initial, fallback, new 4-tuple", 4, 2, P_INITIAL, 5, 1, OFF(route_maglev) },
	{ "floor: swap MACs, XDP_TX", 6, 0, P_SHORT, 0, 0, 0 },
	{ "floor: encapsulation, XDP_TX", 6, 1, P_SHORT, 0, 0, 0 },
	{ "short, plaintext CID", 6, 2, P_SHORT, 0, 0, OFF(cid_plaintext) },
	{ "short, single-pass, cache hit", 6, 2, P_SHORT, 1, 0, OFF(dcache_hit) },
};
#define NLCLS	    (int)(sizeof(lcls) / sizeof(lcls[0]))
#define LMAX_ROUNDS 16

static void enter(int nsfd, const char *name)
{
	if (setns(nsfd, CLONE_NEWNET))
		die("setns %s: %s", name, strerror(errno));
}

static int open_ns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("network namespace %s: %s", name, strerror(errno));
	return fd;
}

/* Sum over CPUs of a per-CPU value of u64 fields; *cpus gets the CPUs
 * whose field `busy` is not zero. */
static void percpu(int fd, size_t nfields, uint64_t *sum, uint64_t *per, size_t busy)
{
	int n = libbpf_num_possible_cpus(), c;
	uint64_t *v = calloc((size_t)n * nfields, sizeof(*v));
	uint32_t zero = 0;
	size_t f;

	if (!v || bpf_map_lookup_elem(fd, &zero, v))
		die("read per-CPU map: %s", strerror(errno));
	memset(sum, 0, nfields * sizeof(*sum));
	for (c = 0; c < n; c++) {
		for (f = 0; f < nfields; f++)
			sum[f] += v[(size_t)c * nfields + f];
		if (per)
			per[c] = v[(size_t)c * nfields + busy / 8];
	}
	free(v);
}

struct snap {
	struct bench_live_cnt rx;
	struct cidlb_counters lb;
	uint64_t lb_cpu[64];
};

static void take(struct inst *in, int cnt_fd, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	percpu(cnt_fd, sizeof(s->rx) / 8, (uint64_t *)&s->rx, NULL, 0);
	percpu(cidlb_lb_map_fd(in->lb, CIDLB_M_COUNTERS), sizeof(s->lb) / 8, (uint64_t *)&s->lb,
	       libbpf_num_possible_cpus() <= 64 ? s->lb_cpu : NULL, OFF(rx_packets));
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void send_frames(int gen_fd, const struct frame *f, int ifindex, uint32_t n)
{
	struct xdp_md ctx = { .data_end = f->len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = n, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	if (bpf_prog_test_run_opts(gen_fd, &o))
		die("BPF_PROG_TEST_RUN (live frames): %s", strerror(errno));
}

int live_bench(struct inst *in, const struct live_opts *o, FILE *out)
{
	static double pps[NLCLS][LMAX_ROUNDS];
	static double recv_ratio[NLCLS];
	static int lb_cpus[NLCLS];
	char path[512];
	struct bpf_object *obj;
	int gen_fd, count_fd, tpl_fd, cnt_fd, root, nsg, nsl, ifg, ifl, r, c, err, rounds;
	int ncpu = libbpf_num_possible_cpus();
	uint32_t zero = 0;

	rounds = o->rounds < LMAX_ROUNDS ? o->rounds : LMAX_ROUNDS;
	snprintf(path, sizeof(path), "%s/bench/bench_live.bpf.o",
		 getenv("BUILD") && *getenv("BUILD") ? getenv("BUILD") : "build");
	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		die("open %s: %s", path, strerror(errno));
	err = bpf_object__load(obj);
	if (err)
		die("the kernel refused %s: %s", path, strerror(-err));
	gen_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "live_gen"));
	count_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "live_count"));
	tpl_fd = bpf_object__find_map_fd_by_name(obj, "live_tpl");
	cnt_fd = bpf_object__find_map_fd_by_name(obj, "live_cnt");

	root = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	nsg = open_ns(o->gen_ns);
	nsl = open_ns(o->lb_ns);
	enter(nsl, o->lb_ns);
	ifl = if_nametoindex(o->lb_if);
	enter(nsg, o->gen_ns);
	ifg = if_nametoindex(o->gen_if);
	if (!ifl || !ifg)
		die("no interface %s / %s in the namespaces", o->lb_if, o->gen_if);
	if (bpf_xdp_attach(ifg, count_fd, XDP_FLAGS_DRV_MODE, NULL))
		die("attach live_count to %s (native): %s", o->gen_if, strerror(errno));

	for (r = 0; r < rounds; r++) {
		for (c = 0; c < NLCLS; c++) {
			const struct live_cls *k = &lcls[c];
			struct bench_tpl tpl = { .rotate_tuple = k->rotate };
			struct bench_ctl ctl = { .backend = in->target };
			struct snap a, b;
			struct frame f;
			int prog = k->prog == 0 ? in->fd_live_floor :
				   k->prog == 1 ? in->fd_live_encap :
						  cidlb_lb_prog_fd(in->lb);
			uint64_t rx, tun, lbrx, path, tx;
			double t0, t1;
			int i, busy = 0;

			bench_set_family(in, k->family);
			bench_set_ctl(in, &ctl);
			bench_frame(in, k->family, k->pkt, k->config_id, &f);
			if (f.len < BENCH_TPL_LEN)
				die("live frame shorter than the template");
			memcpy(tpl.b, f.b, BENCH_TPL_LEN);
			tpl.sport_off = f.sport_off;
			tpl.saddr_off = f.saddr_off;
			if (bpf_map_update_elem(tpl_fd, &zero, &tpl, BPF_ANY))
				die("live_tpl: %s", strerror(errno));

			enter(nsl, o->lb_ns);
			if (bpf_xdp_attach(ifl, prog, XDP_FLAGS_DRV_MODE, NULL))
				die("attach to %s (native): %s", o->lb_if, strerror(errno));
			enter(nsg, o->gen_ns);

			send_frames(gen_fd, &f, ifg, 1000); /* warm: LRU, cache */
			usleep(20000);
			take(in, cnt_fd, &a);
			t0 = now();
			send_frames(gen_fd, &f, ifg, o->frames);
			t1 = now();
			usleep(20000);
			take(in, cnt_fd, &b);

			/* encapsulating classes count tunnel frames only: the
			 * LB namespace's own stack may send a frame now and then */
			rx = b.rx.frames - a.rx.frames;
			tun = b.rx.tunnel - a.rx.tunnel;
			if (k->prog > 0)
				rx = tun;
			pps[c][r] = rx / (t1 - t0);
			recv_ratio[c] = (double)rx / o->frames;
			if (k->prog == 2) {
				lbrx = b.lb.rx_packets - a.lb.rx_packets;
				tx = b.lb.tx - a.lb.tx;
				path = *(uint64_t *)((uint8_t *)&b.lb + k->path) -
				       *(uint64_t *)((uint8_t *)&a.lb + k->path);
				if (path != lbrx || tx != lbrx || tun != tx)
					die("live %s: cidlb saw %llu frames, %llu took the path, "
					    "sent %llu, %llu arrived encapsulated",
					    k->name, (unsigned long long)lbrx,
					    (unsigned long long)path, (unsigned long long)tx,
					    (unsigned long long)tun);
				for (i = 0; i < ncpu && i < 64; i++)
					busy += b.lb_cpu[i] != a.lb_cpu[i];
				lb_cpus[c] = busy;
			}
		}
		fprintf(stderr, "cidlb-bench: live round %d of %d done\n", r + 1, rounds);
	}

	enter(nsl, o->lb_ns);
	bpf_xdp_detach(ifl, XDP_FLAGS_DRV_MODE, NULL);
	enter(nsg, o->gen_ns);
	bpf_xdp_detach(ifg, XDP_FLAGS_DRV_MODE, NULL);
	enter(root, "root");
	close(root);
	close(nsg);
	close(nsl);
	bpf_object__close(obj);

	fprintf(out, "\n## End to end: veth, native XDP\n\n");
	fprintf(out,
		"%u frames per run, %d rounds; generator (live frames), cidlb and the "
		"receiver all run on CPU %d, so frames per second are per core. "
		"ns/frame is for the whole pipeline; \"above floor\" is what the program on "
		"the LB side adds to the swap-MACs floor. 10 backends.\n\n",
		o->frames, rounds, o->cpu);
	fprintf(out, "| class | family | Mpps median (min–max) | ns/frame | above floor | "
		     "above encap floor | received/sent | LB CPUs |\n");
	fprintf(out, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	for (c = 0; c < NLCLS; c++) {
		double m = median(pps[c], rounds), lo = pps[c][0], hi = pps[c][0];
		double fl = 0, fe = 0;
		int i;

		for (i = 0; i < NLCLS; i++) {
			if (lcls[i].family != lcls[c].family)
				continue;
			if (lcls[i].prog == 0)
				fl = median(pps[i], rounds);
			if (lcls[i].prog == 1)
				fe = median(pps[i], rounds);
		}
		for (i = 1; i < rounds; i++) {
			lo = pps[c][i] < lo ? pps[c][i] : lo;
			hi = pps[c][i] > hi ? pps[c][i] : hi;
		}
		fprintf(out,
			"| %s | IPv%d | %.2f (%.2f–%.2f) | %.0f | %+.0f | %+.0f | %.3f | %s |\n",
			lcls[c].name, lcls[c].family, m / 1e6, lo / 1e6, hi / 1e6, 1e9 / m,
			1e9 / m - 1e9 / fl, 1e9 / m - 1e9 / fe, recv_ratio[c],
			lcls[c].prog == 2 ? (lb_cpus[c] == 1 ? "1" : "several") : "");
	}
	return 0;
}
