// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * retire.c - retired CIDs: a backend or the operator names CIDs that an
 * endpoint retired (RETIRE_CONNECTION_ID) or that must be cut off; packets
 * carrying them are dropped until the entry expires. Entries live in the
 * pinned map with their expiry (CLOCK_BOOTTIME), so they survive a daemon
 * restart; the sweep deletes the expired ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "ctl/cidkey.h"
#include "daemon.h"
#include "log.h"

static void pt_lens(const struct cidlb_conf *c, uint8_t pt[CIDLB_CONFIG_IDS])
{
	int cr;

	for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++)
		pt[cr] = c->qlb[cr].present ? c->qlb[cr].sid_len + c->qlb[cr].nonce_len : 0;
}

int retire_cids(struct daemon *d, json_t *cids, uint32_t ttl_s, bool add, json_t *reply,
		char *why, size_t why_len)
{
	uint64_t expires = boottime_ns() + (uint64_t)ttl_s * 1000000000ULL;
	struct cidlb_cid_key *keys;
	uint8_t pt[CIDLB_CONFIG_IDS];
	size_t i, n = json_array_size(cids), done = 0, missing = 0;
	json_t *v;
	int err = 0;

	if (!json_is_array(cids) || !n) {
		snprintf(why, why_len, "'cids' must be a non-empty array of CIDs in hex");
		return -EINVAL;
	}
	keys = calloc(n, sizeof(*keys));
	if (!keys) {
		snprintf(why, why_len, "out of memory for %zu CIDs", n);
		return -ENOMEM;
	}
	pt_lens(d->conf, pt);
	/* check every CID before the first map write */
	json_array_foreach(cids, i, v) {
		const char *s = json_string_value(v);
		uint8_t cid[CIDLB_CID_MAX];
		int len = s ? cidlb_parse_hex(s, cid, sizeof(cid)) : -EINVAL;

		if (len < 1 || cidlb_cid_key_make(cid, (size_t)len, pt, &keys[i])) {
			snprintf(why, why_len, "cids[%zu] '%s': a CID is 1..20 octets in hex", i,
				 s ? s : "(not a string)");
			err = -EINVAL;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		err = add ? cidlb_lb_retire(d->lb, &keys[i], expires) : cidlb_lb_unretire(d->lb, &keys[i]);
		if (err == -ENOENT && !add) {
			missing++;
			err = 0;
			continue;
		}
		if (err) {
			snprintf(why, why_len, "%s CID %zu of %zu failed: %s%s", add ? "retiring" : "unretiring",
				 i + 1, n, strerror(-err),
				 err == -E2BIG || err == -ENOMEM ? " (the retired-CID map is full: raise [lb] retired_size)" : "");
			break;
		}
		done++;
	}
	if (add) {
		d->retired_added += done;
		d->retired_count += done;	/* until the next sweep counts */
		json_object_set_new(reply, "retired", json_integer((json_int_t)done));
		json_object_set_new(reply, "ttl", json_integer(ttl_s));
		pr_info("%zu CIDs retired for %u s", done, ttl_s);
	} else {
		json_object_set_new(reply, "removed", json_integer((json_int_t)done));
		json_object_set_new(reply, "not_found", json_integer((json_int_t)missing));
		if (d->retired_count >= done)
			d->retired_count -= done;
		pr_info("%zu CIDs no longer retired", done);
	}
out:
	free(keys);
	return err;
}

void retire_sweep(struct daemon *d)
{
	int fd = cidlb_lb_map_fd(d->lb, CIDLB_M_RETIRED);
	struct cidlb_cid_key k, nk, *prev = NULL, *gone = NULL;
	size_t n_gone = 0, cap = 0, total = 0, i;
	uint64_t now = boottime_ns();

	if (fd < 0)
		return;
	while (!bpf_map_get_next_key(fd, prev, &nk)) {
		struct cidlb_retired v;

		k = nk;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		total++;
		if (v.expires_ns > now)
			continue;
		if (n_gone == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct cidlb_cid_key *a = realloc(gone, nc * sizeof(*a));

			if (!a)
				break;
			gone = a;
			cap = nc;
		}
		gone[n_gone++] = k;
	}
	for (i = 0; i < n_gone; i++)
		cidlb_lb_unretire(d->lb, &gone[i]);
	free(gone);
	if (n_gone)
		pr_debug("%zu retired CIDs expired", n_gone);
	d->retired_expired += n_gone;
	d->retired_count = total - n_gone;
}
