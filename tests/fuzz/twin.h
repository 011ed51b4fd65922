/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * twin.h - the data path's own source (bpf/cidlb_main.h) built as a
 * userspace program: maps and helpers emulated, one CPU. For the fuzzer
 * (tests/fuzz/fuzz_datapath.c) and for test_twin, which checks that the
 * twin and the real BPF program decide alike.
 */
#ifndef CIDLB_TESTS_TWIN_H
#define CIDLB_TESTS_TWIN_H

#include <stddef.h>
#include <stdint.h>
#include "cidlb_maps.h"

/* Write one map entry by map name (CIDLB_MAP_*); 0 or -errno. */
int twin_map_write(const char *map, const void *key, const void *value);
/* Forget every map entry (counters included). */
void twin_reset(void);
/* Run one frame; returns the XDP verdict, the frame after it in out. */
int twin_run(const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);
void twin_counters(struct cidlb_counters *c);

/*
 * The fixture shared by the fuzzer and test_twin: VIPs, global settings,
 * plaintext, four-pass and single-pass configs, backends in every state
 * and mode, server IDs, a Maglev table and a retired CID, written through
 * `write` (to the twin, or to the BPF maps).
 */
typedef int (*fixture_write_fn)(void *ctx, const char *map, const void *key, const void *value);
int cidlb_fixture(fixture_write_fn write, void *ctx);

/* Seed packets of every kind: frame i of n into buf, returns its length
 * (0 when i >= n). */
size_t cidlb_fixture_seed(int i, uint8_t *buf);

#endif
