/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * statefile.h - what cidlbd must remember across a restart that keeps the
 * program attached: which backend name owns which backend index (the LRU
 * table and the server-ID map store indexes), the server IDs in
 * quarantine, and the interfaces it attached to. JSON, written atomically
 * (temporary file, fsync, rename) by the daemon after every change; read
 * by a daemon adopting pinned maps and by `cidlb stats|trace` for names.
 */
#ifndef CIDLB_CTL_STATEFILE_H
#define CIDLB_CTL_STATEFILE_H

#include <stdint.h>
#include <net/if.h>
#include "cidlb_maps.h"
#include "ctl/config.h"

struct cidlb_state_be {
	char name[CIDLB_NAME_MAX + 1];
	uint32_t index;
};

/* A removed backend's server ID: not given to another backend before
 * until_ns (CLOCK_BOOTTIME). Its index is reserved as long. */
struct cidlb_state_q {
	uint16_t pool; /* index of its pool (0: the implicit or first one) */
	uint8_t config_id;
	uint8_t len;
	uint8_t sid[CIDLB_SID_MAX];
	char owner[CIDLB_NAME_MAX + 1];
	uint32_t index;
	uint64_t until_ns;
};

/* bits of cidlb_state_if.fwd_set */
#define CIDLB_FWD_SET_V4  0x01 /* cidlbd turned net.ipv4.conf.DEV.forwarding on */
#define CIDLB_FWD_SET_V6  0x02 /* ... and net.ipv6.conf.DEV.forwarding */
#define CIDLB_FWD_SET_RA6 0x04 /* ... and net.ipv6.conf.DEV.accept_ra 1 -> 2 */

struct cidlb_state_if {
	char name[IF_NAMESIZE];
	enum cidlb_attach_mode mode;
	uint8_t fwd_set; /* CIDLB_FWD_SET_*: turned back off at detach */
};

struct cidlb_state {
	struct cidlb_state_be *be;
	int n_be;
	struct cidlb_state_q *q;
	int n_q;
	struct cidlb_state_if ifs[CIDLB_MAX_IFACES];
	int n_ifs;
	uint32_t seed;		 /* drawn at the first start when the file sets no
				 * [lb] seed, kept across restarts; 0 = none yet
				 * (older state files have none) */
	int64_t drained_since;	 /* `cidlb daemon drain`: wall clock time, kept
				 * until undrain; 0 = not drained */
	uint32_t announce_table; /* the table the VIP routes are kept in
				  * ([daemon] announce_table), so that the next
				  * start empties it if that changed; 0 = none */
	/* the pools' names by number, where the file names them ("": a
	 * number kept free), so that a restart keeps their numbers */
	char (*pools)[CIDLB_NAME_MAX + 1];
	int n_pools;
};

/* 0, -ENOENT (no file), -EINVAL (not a state file: *why says where). */
int cidlb_state_read(const char *path, struct cidlb_state *st, char *why, size_t why_len);
int cidlb_state_write(const char *path, const struct cidlb_state *st);
void cidlb_state_free(struct cidlb_state *st);
/* Name of backend index @idx, or NULL. */
const char *cidlb_state_name(const struct cidlb_state *st, uint32_t idx);

#endif
