// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * program.c - the BPF object: find it, check that only root may change it, load
 * and pin it or adopt what a previous cidlbd pinned (pins of another layout:
 * upgrade.c), and compare an adopted program's map sizes with the
 * configuration.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "ctl/xdp.h"
#include "daemon.h"
#include "ctl/log.h"

int find_object(struct daemon *d, const char *cli)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (cli) {
		snprintf(d->object, sizeof(d->object), "%s", cli);
		return access(d->object, R_OK) ? -errno : 0;
	}
	if (*d->conf->object) {
		snprintf(d->object, sizeof(d->object), "%s", d->conf->object);
		return access(d->object, R_OK) ? -errno : 0;
	}
	snprintf(d->object, sizeof(d->object), "%s", CIDLB_DEFAULT_OBJECT);
	if (!access(d->object, R_OK))
		return 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(d->object, sizeof(d->object), "%.4000s/cidlb.bpf.o", exe);
			if (!access(d->object, R_OK))
				return 0;
		}
	}
	snprintf(d->object, sizeof(d->object), "%s", CIDLB_DEFAULT_OBJECT);
	return -ENOENT;
}

/* The object becomes kernel code: like a key file, only root may change it. */
int check_object(const struct daemon *d)
{
	char why[1200];
	struct stat st;

	if (stat(d->object, &st)) {
		pr_err("cannot stat the BPF object %s: %s", d->object, strerror(errno));
		return -errno;
	}
	if (cidlb_check_root_only(d->object, &st, S_IWGRP | S_IWOTH,
				  "the BPF object must be owned by root and writable only by root",
				  "644", why, sizeof(why))) {
		pr_err("%s; nothing was loaded", why);
		return -EPERM;
	}
	return 0;
}

/* Load the object and pin it, or adopt what is pinned (checked against
 * the object first, unless @check_pins is false: --cleanup removes pins of
 * any version). */
int open_lb(struct daemon *d, bool check_pins)
{
	char prog[512], why[1024];
	struct cidlb_lb_opts opts = {
		.lru_size = d->conf->lru_size,
		.retired_size = d->conf->retired_size,
		.dcache_size = d->conf->dcache_size,
		.max_pools = d->conf->max_pools,
	};
	int err, i;

	err = cidlb_bpffs_ensure(d->pin_dir, why, sizeof(why));
	if (err) {
		pr_err("%s", why);
		return err;
	}
	snprintf(prog, sizeof(prog), "%s/%s", d->pin_dir, CIDLB_PROG_MAIN);
	if (!access(prog, F_OK)) {
		struct cidlb_lb *pinned;
		int layout;

		err = cidlb_lb_open_pinned(d->pin_dir, &pinned);
		if (err) {
			pr_err("cannot open the program pinned at %s: %s", prog, strerror(-err));
			return err;
		}
		/* 0: pins that carry no layout, checked as they are below */
		layout = check_pins ? pins_layout(pinned) : 0;
		if (layout && layout != CIDLB_LAYOUT)
			return upgrade_open(d, pinned, layout);
		d->lb = pinned;
		if (check_pins) {
			err = cidlb_lb_check_pins(d->lb, d->object, d->pin_dir, why, sizeof(why));
			if (err) {
				pr_err("%s", why);
				pr_err("nothing was adopted or changed: the pinned program keeps forwarding as it is");
				return err;
			}
		}
		for (i = 0; i < CIDLB_M_COUNT; i++) {
			if (i == CIDLB_M_DCACHE || i == CIDLB_M_SCRATCH ||
			    cidlb_lb_map_fd(d->lb, (enum cidlb_map_id)i) >= 0)
				continue;
			pr_err("%s has the program but not the map %s: an incomplete pin directory; run 'cidlbd --cleanup' (forwarding stops until the next start)",
			       d->pin_dir, cidlb_map_names[i]);
			return -ENOENT;
		}
		d->adopted = true;
		pr_info("adopting the program and maps pinned under %s (a previous cidlbd left them running)",
			d->pin_dir);
		err = cidlb_lb_refresh_tables(d->lb);
		if (err)
			pr_warn("cannot bring %s and %s in line with %s and %s: %s",
				CIDLB_MAP_VIP_TABLE, CIDLB_MAP_SID_TABLE, CIDLB_MAP_VIPS,
				CIDLB_MAP_SIDS, strerror(-err));
		if (check_pins)
			upgrade_check_prog(d);
		return 0;
	}
	err = cidlb_lb_open(d->object, &opts, &d->lb);
	if (err) {
		pr_err("cannot load %s: %s", d->object, strerror(-err));
		return err;
	}
	err = cidlb_lb_pin(d->lb, d->pin_dir);
	if (err) {
		pr_err("cannot pin the program and maps under %s: %s", d->pin_dir, strerror(-err));
		return err;
	}
	pr_info("loaded %s, pinned under %s", d->object, d->pin_dir);
	return 0;
}

void check_sizes(struct daemon *d)
{
	static const struct {
		enum cidlb_map_id id;
		const char *key;
	} m[] = {
		{ CIDLB_M_LRU, "lru_size" },
		{ CIDLB_M_RETIRED, "retired_size" },
		{ CIDLB_M_DCACHE, "dcache_size" },
		{ CIDLB_M_POOLS, "max_pools" },
	};
	uint32_t want[4] = { d->conf->lru_size, d->conf->retired_size, d->conf->dcache_size,
			     d->conf->max_pools };
	size_t i;

	for (i = 0; i < 4; i++) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = cidlb_lb_map_fd(d->lb, m[i].id);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		if (info.max_entries != want[i])
			pr_warn("[lb] %s = %u, but the adopted map has %u entries: sizes change only with a plain stop and start",
				m[i].key, want[i], info.max_entries);
	}
}
