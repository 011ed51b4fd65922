/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * user/lib/internal.h - libcidlb internals that tests reach into.
 *
 * Hidden from the shared library's symbol table; only the static archive
 * (which the unit tests link) exposes them.
 */
#ifndef CIDLB_LIB_INTERNAL_H
#define CIDLB_LIB_INTERNAL_H

#include <stdint.h>
#include <cidlb/cidlb.h>

#define CIDLB_HIDDEN __attribute__((visibility("hidden")))

/* The keyed nonce counter: its random start and how many were issued. */
CIDLB_HIDDEN void cidlb__cid_config_nonce_state(const struct cidlb_cid_config *cfg,
						uint8_t start[CIDLB_CID_NONCE_LEN_MAX],
						uint64_t *issued);

/* Test hook: pretend @issued nonces were issued, to reach exhaustion fast. */
CIDLB_HIDDEN void cidlb__cid_config_set_issued(struct cidlb_cid_config *cfg, uint64_t issued);

#endif /* CIDLB_LIB_INTERNAL_H */
