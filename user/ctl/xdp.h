/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdp.h - attach and detach cidlb's XDP programs with libxdp, shared by
 * cidlbd (cidlb.bpf.o) and `cidlb decap` (cidlb_decap.bpf.o).
 *
 * libxdp loads the program itself: as an extension of its multi-program
 * dispatcher where the kernel allows it, else as a plain XDP program
 * (libxdp's own fallback). Either way the attached copy shares the maps
 * given in `reuse`, so one set of pinned maps serves the pinned program
 * (for BPF_PROG_TEST_RUN and bpftool) and every interface.
 * Functions return 0 or a negative errno.
 */
#ifndef CIDLB_CTL_XDP_H
#define CIDLB_CTL_XDP_H

#include <stdint.h>
#include <stddef.h>
#include "ctl/config.h" /* enum cidlb_attach_mode */

struct xdp_program;

struct cidlb_xdp_reuse {
	const char *name; /* map name in the object */
	int fd;		  /* existing map to use instead */
};

/* What is attached to an interface, as far as cidlb is concerned. */
struct cidlb_xdp_info {
	bool ours;		     /* prog_name using the owner map */
	bool dispatcher;	     /* libxdp multi-program dispatcher */
	enum cidlb_attach_mode mode; /* NATIVE or GENERIC */
	uint32_t prog_id;	     /* of our program (component) */
	uint32_t main_id;	     /* attached program (dispatcher or ours) */
	char main_name[32];	     /* its name, when something else */
};

/*
 * Mount bpffs on /sys/fs/bpf when @dir is under it and it is missing
 * (fresh hosts, `ip netns exec`); else check that @dir's parent is on a
 * bpf filesystem. @why gets a sentence on failure.
 */
int cidlb_bpffs_ensure(const char *dir, char *why, size_t why_len);

/* The MTU of network device @ifname (SIOCGIFMTU), or a negative errno. */
int cidlb_dev_mtu(const char *ifname);

/*
 * Open @obj_path, reuse the maps in @reuse, and attach its program
 * @prog_name to @ifindex through libxdp. CIDLB_ATTACH_AUTO tries native
 * then generic. *@used gets the mode the kernel took. When @out is given
 * it receives the libxdp program (its bpf_object stays loaded until
 * xdp_program__close() and bpf_object__close()); else both are closed and
 * only the attachment remains.
 */
int cidlb_xdp_attach(const char *obj_path, const char *prog_name,
		     const struct cidlb_xdp_reuse *reuse, size_t n_reuse, int ifindex,
		     enum cidlb_attach_mode mode, enum cidlb_attach_mode *used,
		     struct xdp_program **out, char *why, size_t why_len);

/*
 * What is attached to @ifindex. "Ours" means a program named @prog_name
 * that uses the map with ID @owner_map_id (0: any map). -ENOENT when no
 * XDP program is attached.
 */
int cidlb_xdp_query(int ifindex, const char *prog_name, uint32_t owner_map_id,
		    struct cidlb_xdp_info *info);

/* Detach our program (as cidlb_xdp_query() sees it) from @ifindex:
 * 0, or -ENOENT when none of ours is attached. */
int cidlb_xdp_detach(int ifindex, const char *prog_name, uint32_t owner_map_id);

/* The kernel's ID of a map or program fd, 0 on error. */
uint32_t cidlb_bpf_id(int fd);

#endif /* CIDLB_CTL_XDP_H */
