/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* tlb.h - a loaded cidlb program for tests: fixture addresses, map setup
 * in one call each, packets through BPF_PROG_TEST_RUN. */
#ifndef CIDLB_TESTS_TLB_H
#define CIDLB_TESTS_TLB_H

#include <stddef.h>
#include <stdint.h>
#include "ctl/lb.h"
#include "tpkt.h"

#define T_VIP4	   "198.18.1.1"
#define T_VIP6	   "fd00:1::1"
#define T_VIP_PORT 443
#define T_CLIENT4  "198.18.2.2"
#define T_CLIENT6  "fd00:2::2"
#define T_LB4	   "198.18.0.1"
#define T_LB6	   "fd00::1"
#define T_SEED	   0x5eed

extern const uint8_t t_backend_mac[6];

struct tlb {
	struct cidlb_lb *lb;
};

/* Path of a built object: $BUILD/<name> (BUILD defaults to "build"). */
const char *tobj(const char *name);

/* Load the program; global (seed, LB addresses) and both VIPs set. */
struct tlb *tlb_new(void);
struct tlb *tlb_new_opts(const struct cidlb_lb_opts *opts); /* map sizes */
void tlb_free(struct tlb *t);
/* cmocka fixtures: *state a tlb_new() for the test (or group), freed after. */
int tlb_setup(void **state);
int tlb_teardown(void **state);

/* Backend idx: address in text (family from it), forwarding mode, state. */
void tlb_backend(struct tlb *t, uint32_t idx, const char *addr, int fwd_mode, int state);
/* The same with GUE to UDP port gue_port (host order; 0: IPIP). */
void tlb_backend_gue(struct tlb *t, uint32_t idx, const char *addr, int fwd_mode, int state,
		     uint16_t gue_port);
/* Plaintext (key NULL) or keyed config: of pool 0, or of the pool given. */
void tlb_config(struct tlb *t, uint32_t id, int sid_len, int nonce_len, const uint8_t *key);
void tlb_pool_config(struct tlb *t, uint32_t pool, uint32_t id, int sid_len, int nonce_len,
		     const uint8_t *key);
void tlb_sid(struct tlb *t, uint32_t cr, const uint8_t *sid, int len, uint32_t idx);
/* Maglev over the given backend indexes (equal weights). */
void tlb_maglev(struct tlb *t, const uint32_t *idx, int n);

/* Run one frame; returns the XDP verdict, output in out/outlen. */
int tlb_run(struct tlb *t, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);
int tlb_run_prog(int prog_fd, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen,
		 uint32_t ingress_ifindex);

struct cidlb_counters tlb_counters(struct tlb *t);
uint64_t tlb_verdicts(const struct cidlb_counters *c); /* sum of verdict counters */

/* Assert helpers that print both sides. */
void t_assert_bytes(const uint8_t *got, const uint8_t *want, size_t n, const char *what);
/* The frame a tlb sends for `in` (l2_len octets of L2 header) to backend
 * idx at addr, set up with tlb_backend() in a configured-MAC mode:
 * tpkt_expect() with the fixture's outer source, TTL 64 and the backend's
 * MAC; direct: the MACs rewritten only. Compared whole with `out`. */
/* The frame itself, into want (TPKT_MAX); returns its length. */
size_t t_expect_sent(const uint8_t *in, size_t inlen, size_t l2_len, uint32_t idx, const char *addr,
		     int direct, uint8_t *want);
/* The same for a GUE backend to UDP port gue_port (host order). */
size_t t_expect_sent_gue(const uint8_t *in, size_t inlen, size_t l2_len, uint32_t idx,
			 const char *addr, int direct, uint16_t gue_port, uint8_t *want);
void t_assert_sent(const uint8_t *in, size_t inlen, size_t l2_len, const uint8_t *out,
		   size_t outlen, uint32_t idx, const char *addr, int direct, const char *what);
/* Whole frames: equal lengths and octets, else the first differing offset,
 * both octets there and both lengths are printed and the test fails. */
void t_assert_frame(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
		    const char *what);

#endif
