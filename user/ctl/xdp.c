// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdp.c - attach, query and detach through libxdp (xdp.h). */
#include <errno.h>
#include <stddef.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "ctl/log.h"
#include "ctl/xdp.h"

#define BPFFS "/sys/fs/bpf"

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

int cidlb_bpffs_ensure(const char *dir, char *why, size_t why_len)
{
	char parent[4096], *slash;
	int err;

	if (!strncmp(dir, BPFFS "/", strlen(BPFFS) + 1) || !strcmp(dir, BPFFS)) {
		if (is_bpffs(BPFFS))
			return 0;
		if (mkdir(BPFFS, 0700) && errno != EEXIST) {
			err = -errno;
			return cidlb_why(why, why_len, err, "cannot create %s: %s", BPFFS,
					 strerror(-err));
		}
		if (mount("bpf", BPFFS, "bpf", 0, "mode=0700")) {
			err = -errno;
			return cidlb_why(why, why_len, err,
					 "cannot mount the bpf filesystem on %s: %s", BPFFS,
					 strerror(-err));
		}
		return 0;
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (!is_bpffs(parent))
		return cidlb_why(
			why, why_len, -ENOTSUP,
			"%s is not on a bpf filesystem: mount one (mount -t bpf bpf %s) or use a pin directory under %s",
			parent, parent, BPFFS);
	return 0;
}

uint32_t cidlb_bpf_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	/* id is the first field of both bpf_map_info and bpf_prog_info */
	_Static_assert(offsetof(struct bpf_map_info, id) == offsetof(struct bpf_prog_info, id),
		       "id at the same offset");
	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

static enum xdp_attach_mode to_xdp_mode(enum cidlb_attach_mode m)
{
	return m == CIDLB_ATTACH_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE;
}

int cidlb_dev_mtu(const char *ifname)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		err = -errno;
	close(fd);
	return err ? err : ifr.ifr_mtu;
}

int cidlb_xdp_attach(const char *obj_path, const char *prog_name,
		     const struct cidlb_xdp_reuse *reuse, size_t n_reuse, int ifindex,
		     enum cidlb_attach_mode mode, enum cidlb_attach_mode *used,
		     struct xdp_program **out, char *why, size_t why_len)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts);
	struct xdp_program *prog = NULL;
	struct bpf_object *obj;
	enum cidlb_attach_mode try;
	size_t i;
	int err;

	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj) {
		err = -errno;
		return cidlb_why(why, why_len, err, "cannot open BPF object %s: %s", obj_path,
				 strerror(-err));
	}
	for (i = 0; i < n_reuse; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, reuse[i].name);

		if (!m || reuse[i].fd < 0)
			continue;
		err = bpf_map__reuse_fd(m, reuse[i].fd);
		if (err) {
			snprintf(why, why_len, "map %s of %s does not match the pinned one: %s",
				 reuse[i].name, obj_path, strerror(-err));
			goto fail;
		}
	}
	xopts.obj = obj;
	xopts.prog_name = prog_name;
	prog = xdp_program__create(&xopts);
	err = libxdp_get_error(prog);
	if (err) {
		prog = NULL;
		snprintf(why, why_len, "%s has no XDP program %s: %s", obj_path, prog_name,
			 strerror(-err));
		goto fail;
	}
	try = mode == CIDLB_ATTACH_AUTO ? CIDLB_ATTACH_NATIVE : mode;
	err = xdp_program__attach(prog, ifindex, to_xdp_mode(try), 0);
	if (err && mode == CIDLB_ATTACH_AUTO && err != -EEXIST && err != -EBUSY) {
		try = CIDLB_ATTACH_GENERIC;
		err = xdp_program__attach(prog, ifindex, to_xdp_mode(try), 0);
	}
	if (err) {
		char name[IF_NAMESIZE] = "?";

		if_indextoname((unsigned int)ifindex, name);
		if (err == -EEXIST || err == -EBUSY)
			snprintf(
				why, why_len,
				"%s already has another XDP program attached (see 'ip link show %s', 'xdp-loader status'); detach it first",
				name, name);
		else
			snprintf(why, why_len, "cannot attach %s to %s in %s mode: %s", prog_name,
				 name, cidlb_attach_mode_str(try), strerror(-err));
		goto fail;
	}
	if (used)
		*used = try;
	if (out) {
		*out = prog;
		return 0;
	}
	xdp_program__close(prog);
	bpf_object__close(obj);
	return 0;
fail:
	xdp_program__close(prog);
	bpf_object__close(obj);
	return err;
}

static bool prog_uses_map(int prog_fd, uint32_t map_id)
{
	struct bpf_prog_info info;
	__u32 ids[64], len = sizeof(info), i;

	if (!map_id)
		return true;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return false;
	for (i = 0; i < info.nr_map_ids && i < 64; i++)
		if (ids[i] == map_id)
			return true;
	return false;
}

static bool is_ours(const struct xdp_program *p, const char *prog_name, uint32_t map_id)
{
	const char *n = xdp_program__name(p);

	return n && !strcmp(n, prog_name) && prog_uses_map(xdp_program__fd(p), map_id);
}

/* Our program on @mp: the legacy program itself or a dispatcher component. */
static struct xdp_program *find_ours(struct xdp_multiprog *mp, const char *prog_name,
				     uint32_t map_id)
{
	struct xdp_program *p;

	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		return p && is_ours(p, prog_name, map_id) ? p : NULL;
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp))
		if (is_ours(p, prog_name, map_id))
			return p;
	return NULL;
}

int cidlb_xdp_query(int ifindex, const char *prog_name, uint32_t owner_map_id,
		    struct cidlb_xdp_info *info)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *main, *p;
	int err = libxdp_get_error(mp);

	memset(info, 0, sizeof(*info));
	if (err)
		return err;
	if (!mp)
		return -ENOENT;
	main = xdp_multiprog__main_prog(mp);
	if (!main) {
		xdp_multiprog__close(mp);
		return -ENOENT;
	}
	info->dispatcher = !xdp_multiprog__is_legacy(mp);
	info->mode = xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ? CIDLB_ATTACH_GENERIC :
								      CIDLB_ATTACH_NATIVE;
	info->main_id = xdp_program__id(main);
	snprintf(info->main_name, sizeof(info->main_name), "%s",
		 xdp_program__name(main) ? xdp_program__name(main) : "?");
	p = find_ours(mp, prog_name, owner_map_id);
	if (p) {
		info->ours = true;
		info->prog_id = xdp_program__id(p);
	}
	xdp_multiprog__close(mp);
	return 0;
}

int cidlb_xdp_detach(int ifindex, const char *prog_name, uint32_t owner_map_id)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p;
	int err = libxdp_get_error(mp);

	if (err)
		return err;
	if (!mp)
		return -ENOENT;
	p = find_ours(mp, prog_name, owner_map_id);
	if (!p)
		err = -ENOENT;
	else if (xdp_multiprog__is_legacy(mp))
		err = xdp_multiprog__detach(mp);
	else
		err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	xdp_multiprog__close(mp);
	return err;
}
