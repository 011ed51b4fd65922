/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* driver.h - the parts of cidlb-bench that main.c and live.c share. */
#ifndef CIDLB_BENCH_DRIVER_H
#define CIDLB_BENCH_DRIVER_H

#include <stdint.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "ctl/lb.h"
#include "bench.h"

#define BENCH_CONFIGS 5 /* config IDs 0..4 of the benchmark (see main.c) */

/* One loaded cidlb (build/cidlb.bpf.o) with one configuration, and the
 * benchmark harness (build/bench/cidlb_bench.bpf.o) sharing its maps. */
struct inst {
	const char *name; /* "10" or "10000" (backends) */
	uint32_t nbe;	  /* backends */
	uint32_t target;  /* backend the CID classes reach */
	uint32_t retired; /* entries in cidlb_retired */
	int family;	  /* address family the backends have now */
	int fwd_mode;	  /* forwarding mode they have now */
	int encap;	  /* enum cidlb_encap they have now */
	struct cidlb_lb *lb;
	struct bpf_object *bobj;
	int fd_floor, fd_nop, fd_adjust, fd_encap, fd_lb, fd_bare;
	int fd_live_floor, fd_live_encap;
	int ctl_fd, cids_fd;
	uint32_t cids_seg;	/* bench_cids entries per rotating class */
	struct bench_cid *cids; /* bench_cids, the driver's copy */
	uint32_t *cid_be;	/* backend each bench_cids entry names */
	uint32_t *maglev;	/* the Maglev table published (the driver's copy) */
	uint32_t pools;		/* pools in use, each with every config and a Maglev
				 * table; the VIPs and backends are the last one's */
	uint16_t pool;
	struct cidlb_cid_config *cc[BENCH_CONFIGS];
};

/* Frames of the benchmark classes. */
enum pkt_kind {
	P_SHORT,
	P_INITIAL,
	P_UDP_PORT,
	P_NONVIP,
	P_TCP,
	P_INITIAL_SMALL, /* P_INITIAL in 1199 octets: dropped */
	P_SHORT_NOSID,	 /* a CID of config_id whose server ID no backend has */
	P_INITIAL_NOSID, /* an Initial with such a DCID */
	P_INITIAL_TOKEN, /* P_INITIAL with a token whose prefix is a CID of
			  * config_id for the target backend */
};

struct frame {
	uint8_t b[2048];
	size_t len;
	size_t cid_off;	  /* DCID offset (short header / Initial) */
	size_t sport_off; /* UDP source port */
	size_t saddr_off; /* last 2 octets of the source address */
};

void bench_frame(struct inst *in, int family, enum pkt_kind k, int config_id, struct frame *f);
void bench_set_family(struct inst *in, int family);
void bench_set_backends(struct inst *in, int family, int fwd_mode, int encap);
void bench_set_ctl(struct inst *in, const struct bench_ctl *c);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

struct live_opts {
	const char *gen_ns, *gen_if, *lb_ns, *lb_if;
	uint32_t frames; /* per run */
	int rounds;
	int cpu;
};

/* The veth benchmark; prints its Markdown section to out. Returns 0, or
 * -1 when a check failed (the section says which). */
int live_bench(struct inst *in, const struct live_opts *o, FILE *out);

double median(double *v, int n);

#endif
