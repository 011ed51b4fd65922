// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * upgrade.c - a cidlbd on the pins of another: the layout the pins carry
 * (CIDLB_LAYOUT, cidlb_global.layout), the migration of older pins into new
 * maps with the program swapped atomically on every interface, the refusal
 * of newer pins, and the replacement of a program of the same layout whose
 * code differs from the object's.
 *
 * Migration: the new maps are loaded unpinned and filled from the
 * configuration and the state file as at a fresh start (main.c,
 * apply_config()); the state the old maps hold is copied here (4-tuple
 * flows, retired CIDs, neighbour copies, counters); the new maps are pinned
 * in a side directory; then each interface gets the new program in the
 * place of the old one with XDP_FLAGS_REPLACE (the kernel swaps them only
 * if the old one is still the one attached); then the side pins are renamed
 * over the old ones. Until the first swap nothing the old cidlbd left is
 * touched.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctl/xdp.h"
#include "daemon.h"
#include "ctl/log.h"

int pins_layout(struct cidlb_lb *lb)
{
	size_t off = offsetof(struct cidlb_global, layout);
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), zero = 0, layout = 0;
	int fd = cidlb_lb_map_fd(lb, CIDLB_M_GLOBAL);
	uint8_t *v;

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	if (info.value_size < off + sizeof(layout))
		return 1; /* before the field: the first layout */
	v = calloc(1, info.value_size);
	if (!v)
		return 0;
	if (!bpf_map_lookup_elem(fd, &zero, v))
		memcpy(&layout, v + off, sizeof(layout));
	free(v);
	return layout > INT_MAX ? 0 : (int)layout;
}

int upgrade_open(struct daemon *d, struct cidlb_lb *old, int layout)
{
	struct cidlb_lb_opts opts = {
		.lru_size = d->conf->lru_size,
		.retired_size = d->conf->retired_size,
		.dcache_size = d->conf->dcache_size,
		.max_pools = d->conf->max_pools,
	};
	int err;

	if (layout > CIDLB_LAYOUT) {
		pr_err("the maps pinned under %s have layout %d, newer than this cidlbd's %d: a downgrade in place is not done; start the cidlbd that made them (or stop it without --keep, or run 'cidlbd --cleanup', and start this one: forwarding stops until it runs)",
		       d->pin_dir, layout, CIDLB_LAYOUT);
		pr_err("nothing was adopted or changed: the pinned program keeps forwarding as it is");
		cidlb_lb_close(old);
		return -EPROTO;
	}
	err = cidlb_lb_open(d->object, &opts, &d->lb);
	if (err) {
		pr_err("cannot load %s: %s; nothing was changed: the pinned program keeps forwarding as it is",
		       d->object, strerror(-err));
		cidlb_lb_close(old);
		d->lb = NULL;
		return err;
	}
	d->old_lb = old;
	d->old_layout = layout;
	pr_info("the maps pinned under %s have layout %d, this cidlbd's is %d: upgrading in place (new maps filled aside, then the program swapped on every interface)",
		d->pin_dir, layout, CIDLB_LAYOUT);
	return 0;
}

static int map_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	if (fd < 0)
		return -ENOENT;
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

/* Every entry of the hash map ofd into nfd (flags: BPF_ANY or BPF_NOEXIST):
 * keys of the same size, values cut or zero-extended to the new size
 * (structures only grow at their end). The number copied, or -errno. */
static long copy_hash(int ofd, int nfd, __u64 flags)
{
	struct bpf_map_info oi, ni;
	uint8_t *k, *nk, *ov, *nv;
	long n = 0, steps = 0;
	bool first = true;
	size_t vmin;

	if (map_info(ofd, &oi) || map_info(nfd, &ni))
		return -ENOENT;
	if (oi.key_size != ni.key_size)
		return -EINVAL;
	vmin = oi.value_size < ni.value_size ? oi.value_size : ni.value_size;
	k = calloc(2, oi.key_size);
	ov = calloc(1, oi.value_size);
	nv = calloc(1, ni.value_size);
	if (!k || !ov || !nv) {
		n = -ENOMEM;
		goto out;
	}
	nk = k + oi.key_size;
	/* packets change the map meanwhile: a walk restarts when its key
	 * went; bounded all the same */
	while (!bpf_map_get_next_key(ofd, first ? NULL : k, nk) &&
	       steps++ < 2 * (long)oi.max_entries + 16) {
		if (!bpf_map_lookup_elem(ofd, nk, ov)) {
			memset(nv, 0, ni.value_size);
			memcpy(nv, ov, vmin);
			if (!bpf_map_update_elem(nfd, nk, nv, flags))
				n++;
		}
		memcpy(k, nk, oi.key_size);
		first = false;
	}
out:
	free(k);
	free(ov);
	free(nv);
	return n;
}

/* Per-CPU arrays of __u64 counters: each entry's counters, as far as both
 * have them, added to the new map's. After the swap, so that the old
 * program counts no more; the new one's increments on a CPU between the
 * read and the write of an entry (a few microseconds) are lost. */
static int copy_percpu(int ofd, int nfd)
{
	struct bpf_map_info oi, ni;
	int ncpu = libbpf_num_possible_cpus();
	size_t osz, nsz, vmin;
	uint8_t *ov, *nv;
	__u32 key, n;
	int c, err = 0;

	if (ncpu <= 0 || map_info(ofd, &oi) || map_info(nfd, &ni))
		return -ENOENT;
	osz = (oi.value_size + 7) & ~7u;
	nsz = (ni.value_size + 7) & ~7u;
	vmin = oi.value_size < ni.value_size ? oi.value_size : ni.value_size;
	n = oi.max_entries < ni.max_entries ? oi.max_entries : ni.max_entries;
	ov = calloc((size_t)ncpu, osz);
	nv = calloc((size_t)ncpu, nsz);
	if (!ov || !nv) {
		err = -ENOMEM;
		goto out;
	}
	for (key = 0; key < n && !err; key++) {
		if (bpf_map_lookup_elem(ofd, &key, ov))
			continue;
		if (bpf_map_lookup_elem(nfd, &key, nv))
			memset(nv, 0, (size_t)ncpu * nsz);
		for (c = 0; c < ncpu; c++) {
			uint8_t *o = ov + (size_t)c * osz, *w = nv + (size_t)c * nsz;
			size_t j;

			for (j = 0; j + sizeof(__u64) <= vmin; j += sizeof(__u64)) {
				__u64 a, b;

				memcpy(&a, o + j, sizeof(a));
				memcpy(&b, w + j, sizeof(b));
				b += a;
				memcpy(w + j, &b, sizeof(b));
			}
		}
		if (bpf_map_update_elem(nfd, &key, nv, BPF_ANY))
			err = -errno;
	}
out:
	free(ov);
	free(nv);
	return err;
}

/* Retired CIDs through lb.c, which keeps the filter of the new maps. */
static long copy_retired(struct daemon *d)
{
	int ofd = cidlb_lb_map_fd(d->old_lb, CIDLB_M_RETIRED);
	struct cidlb_cid_key k, nk;
	struct bpf_map_info oi;
	long n = 0, steps = 0;
	uint8_t *v;
	bool first = true;

	if (map_info(ofd, &oi))
		return 0;
	if (oi.key_size != sizeof(k) || oi.value_size < sizeof(__u64))
		return -EINVAL;
	v = calloc(1, oi.value_size);
	if (!v)
		return -ENOMEM;
	while (!bpf_map_get_next_key(ofd, first ? NULL : &k, &nk) &&
	       steps++ < 2 * (long)oi.max_entries + 16) {
		__u64 expires;

		if (!bpf_map_lookup_elem(ofd, &nk, v)) {
			memcpy(&expires, v, sizeof(expires)); /* expires_ns comes first */
			if (!cidlb_lb_retire(d->lb, &nk, expires))
				n++;
		}
		k = nk;
		first = false;
	}
	free(v);
	return n;
}

static void copy_counters(struct daemon *d)
{
	static const enum cidlb_map_id counters[] = { CIDLB_M_COUNTERS, CIDLB_M_BE_STATS,
						      CIDLB_M_CFG_STATS };
	size_t i;

	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		int err = copy_percpu(cidlb_lb_map_fd(d->old_lb, counters[i]),
				      cidlb_lb_map_fd(d->lb, counters[i]));

		if (err)
			pr_warn("upgrade: counters of %s start from 0: %s",
				cidlb_map_names[counters[i]], strerror(-err));
	}
}

/* Quarantined server IDs stay in the server-ID map naming the removed
 * backend's index, whose entry (absent, down) gets their CIDs stateless
 * resets: no configuration makes them, the old maps have them. */
static int copy_quarantine(struct daemon *d)
{
	int osid = cidlb_lb_map_fd(d->old_lb, CIDLB_M_SIDS);
	int obe = cidlb_lb_map_fd(d->old_lb, CIDLB_M_BACKENDS);
	struct bpf_map_info si, bi;
	int i, n = 0, err;
	uint8_t *ov;

	if (map_info(osid, &si) || map_info(obe, &bi))
		return -ENOENT;
	if (si.key_size != sizeof(struct cidlb_sid_key) || si.value_size != sizeof(__u32))
		return -EINVAL;
	ov = calloc(1, bi.value_size > sizeof(struct cidlb_backend) ? bi.value_size :
								      sizeof(struct cidlb_backend));
	if (!ov)
		return -ENOMEM;
	for (i = 0; i < d->st.n_q; i++) {
		const struct cidlb_state_q *q = &d->st.q[i];
		struct cidlb_backend b, cur;
		struct cidlb_sid_key k;
		__u32 idx;

		if (!q->len)
			continue;
		memset(&k, 0, sizeof(k));
		k.pool = q->pool; /* 0 in layout 1: pad octets then */
		k.config_id = q->config_id;
		k.len = q->len;
		memcpy(k.sid, q->sid, q->len);
		if (bpf_map_lookup_elem(osid, &k, &idx) || idx != q->index)
			continue;
		memset(ov, 0, bi.value_size);
		if (bpf_map_lookup_elem(obe, &idx, ov))
			continue;
		/* the old entry as far as both layouts have it (structures only
		 * grow at their end), unless the new maps use the index */
		memset(&b, 0, sizeof(b));
		memcpy(&b, ov, bi.value_size < sizeof(b) ? bi.value_size : sizeof(b));
		if (bpf_map_lookup_elem(cidlb_lb_map_fd(d->lb, CIDLB_M_BACKENDS), &idx, &cur) ||
		    cur.family)
			continue;
		err = cidlb_lb_set_backend(d->lb, idx, &b);
		if (!err)
			err = cidlb_lb_set_sid(d->lb, &k, idx);
		if (err) {
			free(ov);
			return err;
		}
		n++;
	}
	free(ov);
	return n;
}

static void copy_state(struct daemon *d)
{
	long n;

	n = copy_hash(cidlb_lb_map_fd(d->old_lb, CIDLB_M_LRU), cidlb_lb_map_fd(d->lb, CIDLB_M_LRU),
		      BPF_ANY);
	if (n < 0)
		pr_warn("upgrade: cannot copy the 4-tuple flows of %s: %s; fallback flows are routed by Maglev again",
			CIDLB_MAP_LRU, strerror((int)-n));
	else
		pr_info("upgrade: %ld 4-tuple flows copied", n);
	n = copy_quarantine(d);
	if (n < 0)
		pr_warn("upgrade: cannot carry the quarantined server IDs: %s; their CIDs fall back until the quarantine ends",
			strerror((int)-n));
	else if (n)
		pr_info("upgrade: %ld quarantined server IDs carried", n);
	n = copy_retired(d);
	if (n < 0)
		pr_warn("upgrade: cannot copy the retired CIDs of %s: %s", CIDLB_MAP_RETIRED,
			strerror((int)-n));
	else
		pr_info("upgrade: %ld retired CIDs copied", n);
	/* until sync_interfaces() and neigh.c have their say, packets of
	 * the new program go out where the old ones went */
	n = copy_hash(cidlb_lb_map_fd(d->old_lb, CIDLB_M_TX_PORTS),
		      cidlb_lb_map_fd(d->lb, CIDLB_M_TX_PORTS), BPF_ANY);
	if (n < 0)
		pr_warn("upgrade: cannot copy the redirect ports of %s: %s", CIDLB_MAP_TX_PORTS,
			strerror((int)-n));
	n = copy_hash(cidlb_lb_map_fd(d->old_lb, CIDLB_M_NEIGH),
		      cidlb_lb_map_fd(d->lb, CIDLB_M_NEIGH), BPF_ANY);
	if (n < 0)
		pr_info("upgrade: neighbour copies not carried (%s): cidlbd fills them again",
			strerror((int)-n));
}

/* One interface running the old program alone. */
struct swap_if {
	char name[IF_NAMESIZE];
	int ifindex;
	enum cidlb_attach_mode mode;
	int old_fd;
};

static int xdp_replace(const struct swap_if *s, int from_fd, int to_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = from_fd);
	__u32 flags = XDP_FLAGS_REPLACE |
		      (s->mode == CIDLB_ATTACH_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);

	return bpf_xdp_attach(s->ifindex, to_fd, flags, &o);
}

static bool listed(const struct swap_if *sw, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(sw[i].name, name))
			return true;
	return false;
}

/* Where the old program runs: the previous daemon's interfaces and the
 * configured ones. A dispatcher is refused: only a program attached alone
 * is swapped. */
static int find_old(struct daemon *d, const struct cidlb_state *prev, struct swap_if *sw, int *n,
		    char *why, size_t why_len)
{
	uint32_t old_owner = cidlb_bpf_id(cidlb_lb_map_fd(d->old_lb, CIDLB_M_COUNTERS));
	const char *names[2 * CIDLB_MAX_IFACES];
	int i, k = 0;

	*n = 0;
	for (i = 0; prev && i < prev->n_ifs; i++)
		names[k++] = prev->ifs[i].name;
	for (i = 0; i < d->conf->n_ifaces; i++)
		names[k++] = d->conf->ifaces[i];
	for (i = 0; i < k && *n < CIDLB_MAX_IFACES; i++) {
		struct cidlb_xdp_info info;
		struct swap_if *s = &sw[*n];
		int ifindex = (int)if_nametoindex(names[i]);

		if (!ifindex || listed(sw, *n, names[i]) ||
		    cidlb_xdp_query(ifindex, CIDLB_PROG_MAIN, old_owner, &info) || !info.ours)
			continue;
		if (info.dispatcher)
			return cidlb_why(
				why, why_len, -EOPNOTSUPP,
				"%s runs the older cidlb through the libxdp dispatcher: an upgrade in place swaps a program attached alone only; stop the older cidlbd without --keep and start this one (forwarding stops meanwhile)",
				names[i]);
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", names[i]);
		s->ifindex = ifindex;
		s->mode = info.mode;
		s->old_fd = bpf_prog_get_fd_by_id(info.prog_id);
		if (s->old_fd < 0)
			return cidlb_why(why, why_len, -errno,
					 "%s: cannot open the attached program %u: %s", names[i],
					 info.prog_id, strerror(errno));
		(*n)++;
	}
	return 0;
}

/* The pins under side renamed over those under the pin directory. */
static int move_pins(struct daemon *d, const char *side)
{
	char from[600], to[600];
	int i, err = 0;

	for (i = 0; i <= CIDLB_M_COUNT; i++) {
		const char *name = i < CIDLB_M_COUNT ? cidlb_map_names[i] : CIDLB_PROG_MAIN;

		snprintf(from, sizeof(from), "%s/%s", side, name);
		snprintf(to, sizeof(to), "%s/%s", d->pin_dir, name);
		if (access(from, F_OK))
			continue;
		if (rename(from, to)) {
			err = -errno;
			pr_err("upgrade: cannot move the pin %s to %s: %s", from, to,
			       strerror(errno));
		}
	}
	rmdir(side);
	return err;
}

int upgrade_finish(struct daemon *d, const struct cidlb_state *prev, char *why, size_t why_len)
{
	struct swap_if sw[CIDLB_MAX_IFACES];
	int new_fd = cidlb_lb_prog_fd(d->lb);
	char side[512];
	int i, n = 0, err;

	err = find_old(d, prev, sw, &n, why, why_len);
	if (err)
		goto undo;
	copy_state(d);
	snprintf(side, sizeof(side), "%s-upgrade", d->pin_dir);
	cidlb_lb_unpin(side); /* a failed attempt's */
	err = cidlb_lb_pin(d->lb, side);
	if (err) {
		cidlb_why(why, why_len, err, "cannot pin the new maps under %s: %s", side,
			  strerror(-err));
		goto undo;
	}
	for (i = 0; i < n; i++) {
		err = xdp_replace(&sw[i], sw[i].old_fd, new_fd);
		if (err) {
			cidlb_why(why, why_len, err, "%s: cannot swap the program: %s", sw[i].name,
				  strerror(-err));
			while (i-- > 0)
				if (xdp_replace(&sw[i], new_fd, sw[i].old_fd))
					pr_err("%s: cannot put the older program back", sw[i].name);
			cidlb_lb_unpin(side);
			goto undo;
		}
		pr_info("%s: the new program took the place of the older one (atomic replace)",
			sw[i].name);
	}
	/* flows the old program made since the copy */
	copy_hash(cidlb_lb_map_fd(d->old_lb, CIDLB_M_LRU), cidlb_lb_map_fd(d->lb, CIDLB_M_LRU),
		  BPF_NOEXIST);
	cidlb_lb_flows_changed(d->lb); /* the 4-tuple caches start again */
	copy_counters(d);
	err = move_pins(d, side);
	if (err)
		pr_err("upgrade: the pins under %s are a mix of layouts: the new program forwards; fix with a plain stop and start",
		       d->pin_dir);
	for (i = 0; i < n; i++)
		close(sw[i].old_fd);
	cidlb_lb_close(d->old_lb);
	d->old_lb = NULL;
	d->adopted = true;
	d->owner_map_id = cidlb_bpf_id(cidlb_lb_map_fd(d->lb, CIDLB_M_COUNTERS));
	pr_info("upgraded the maps pinned under %s from layout %d to %d on %d interface%s",
		d->pin_dir, d->old_layout, CIDLB_LAYOUT, n, n == 1 ? "" : "s");
	return 0;
undo:
	for (i = 0; i < n; i++)
		close(sw[i].old_fd);
	return err;
}

void upgrade_abort(struct daemon *d)
{
	char side[512];

	snprintf(side, sizeof(side), "%s-upgrade", d->pin_dir);
	cidlb_lb_unpin(side);
	cidlb_lb_close(d->lb);
	d->lb = NULL;
	cidlb_lb_close(d->old_lb);
	d->old_lb = NULL;
}

static int prog_tag(int fd, uint8_t tag[BPF_TAG_SIZE])
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	memcpy(tag, info.tag, BPF_TAG_SIZE);
	return 0;
}

int upgrade_check_prog(struct daemon *d)
{
	uint8_t have[BPF_TAG_SIZE], want[BPF_TAG_SIZE];
	int fd = -1, err;

	err = cidlb_lb_load_prog(d->lb, d->object, &fd);
	if (!err)
		err = prog_tag(fd, want);
	if (!err)
		err = prog_tag(cidlb_lb_prog_fd(d->lb), have);
	if (err) {
		pr_warn("cannot compare the pinned program with %s (%s): the pinned one stays",
			d->object, strerror(-err));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (!memcmp(have, want, BPF_TAG_SIZE)) {
		close(fd);
		return 0;
	}
	d->replace_fd = fd;
	pr_info("the pinned program is not the one of %s (same maps): it is replaced on every interface",
		d->object);
	return 1;
}

int upgrade_replace_prog(struct daemon *d, char *why, size_t why_len)
{
	uint8_t want[BPF_TAG_SIZE], have[BPF_TAG_SIZE];
	char path[600], tmp[600];
	int i, err = 0;

	if (d->replace_fd < 0)
		return 0;
	prog_tag(d->replace_fd, want);
	for (i = 0; i < d->n_ifs; i++) {
		struct cidlb_xdp_info info;
		struct swap_if s = { .ifindex = d->ifs[i].ifindex, .mode = d->ifs[i].mode };
		int e;

		if (cidlb_xdp_query(s.ifindex, CIDLB_PROG_MAIN, d->owner_map_id, &info) ||
		    !info.ours)
			continue;
		if (info.dispatcher) {
			err = cidlb_why(
				why, why_len, -EOPNOTSUPP,
				"%s: through the libxdp dispatcher the program is not replaced in place; it keeps the older code",
				d->ifs[i].name);
			continue;
		}
		s.old_fd = bpf_prog_get_fd_by_id(info.prog_id);
		if (s.old_fd < 0 ||
		    (!prog_tag(s.old_fd, have) && !memcmp(have, want, BPF_TAG_SIZE))) {
			if (s.old_fd >= 0)
				close(s.old_fd);
			continue;
		}
		e = xdp_replace(&s, s.old_fd, d->replace_fd);
		close(s.old_fd);
		if (e) {
			err = cidlb_why(why, why_len, e, "%s: cannot replace the program: %s",
					d->ifs[i].name, strerror(-e));
			continue;
		}
		pr_info("%s: program %u replaced by the one of %s (atomic replace)", d->ifs[i].name,
			info.prog_id, d->object);
	}
	snprintf(path, sizeof(path), "%s/%s", d->pin_dir, CIDLB_PROG_MAIN);
	snprintf(tmp, sizeof(tmp), "%s/%s_new", d->pin_dir, CIDLB_PROG_MAIN);
	unlink(tmp);
	if (bpf_obj_pin(d->replace_fd, tmp) || rename(tmp, path)) {
		int e = -errno;

		unlink(tmp);
		if (!err)
			err = cidlb_why(why, why_len, e, "cannot pin the new program at %s: %s",
					path, strerror(-e));
	}
	cidlb_lb_set_prog_fd(d->lb, d->replace_fd);
	d->replace_fd = -1;
	return err;
}
