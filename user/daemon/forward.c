// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * forward.c - the sysctls of attached interfaces: forwarding turned on where
 * bpf_fib_lookup() needs it (and accept_ra kept taking Router Advertisements),
 * and turned back off at a detach; CIDLB_FWD_SET_* records what was changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "ctl/log.h"

static void fwd_path(char *buf, size_t len, const char *dev, int v6)
{
	snprintf(buf, len, "/proc/sys/net/ipv%d/conf/%s/forwarding", v6 ? 6 : 4, dev);
}

static void ra_path(char *buf, size_t len, const char *dev)
{
	snprintf(buf, len, "/proc/sys/net/ipv6/conf/%s/accept_ra", dev);
}

/* Write `to` into the sysctl at path when it holds `from`: 1 when it did. */
static int sysctl_swap(const char *path, char from, char to)
{
	char cur = '?', buf[2] = { to, '\n' };
	int fd = open(path, O_RDWR | O_CLOEXEC), changed = 0;

	if (fd < 0)
		return 0;
	if (read(fd, &cur, 1) == 1 && cur == from) {
		if (pwrite(fd, buf, 2, 0) == 2)
			changed = 1;
		else
			pr_warn("cannot write %c into %s: %s", to, path, strerror(errno));
	}
	close(fd);
	return changed;
}

/*
 * An interface that forwards ignores IPv6 Router Advertisements with
 * accept_ra 1 (and turning forwarding on drops the default routes they
 * gave): where the host took them, accept_ra 2 keeps taking them. Called
 * before forwarding goes on; CIDLB_FWD_SET_RA6 when it changed 1 to 2.
 */
static uint8_t keep_accepting_ra(const char *dev)
{
	char path[128];

	ra_path(path, sizeof(path), dev);
	if (!sysctl_swap(path, '1', '2'))
		return 0;
	pr_info("set net.ipv6.conf.%s.accept_ra to 2: Router Advertisements are still accepted while it forwards",
		dev);
	return CIDLB_FWD_SET_RA6;
}

/* Turn forwarding on for dev: the CIDLB_FWD_SET_* bits of what cidlbd
 * changed (it changes them back when it detaches from dev), 0 when
 * forwarding was on already or cannot be set. */
uint8_t set_forwarding(const char *dev, int v6)
{
	char path[128], cur = '?';
	uint8_t changed = 0;
	int fd;

	fwd_path(path, sizeof(path), dev, v6);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		pr_warn("cannot open %s: %s; the FIB next-hop lookup needs forwarding on %s", path,
			strerror(errno), dev);
		return 0;
	}
	if (read(fd, &cur, 1) == 1 && cur != '0') {
		close(fd);
		return 0;
	}
	if (v6)
		changed |= keep_accepting_ra(dev);
	if (pwrite(fd, "1\n", 2, 0) != 2) {
		pr_warn("cannot turn on %s: %s", path, strerror(errno));
	} else {
		pr_info("turned on net.ipv%d.conf.%s.forwarding: bpf_fib_lookup answers only for devices that forward",
			v6 ? 6 : 4, dev);
		changed |= v6 ? CIDLB_FWD_SET_V6 : CIDLB_FWD_SET_V4;
	}
	close(fd);
	return changed;
}

/* Turn off the forwarding that cidlbd turned on for dev (fwd_set bits),
 * then give accept_ra back its 1. */
void restore_forwarding(const char *dev, uint8_t fwd_set)
{
	char path[128];
	int v6, fd;

	for (v6 = 0; v6 < 2; v6++) {
		if (!(fwd_set & (v6 ? CIDLB_FWD_SET_V6 : CIDLB_FWD_SET_V4)))
			continue;
		fwd_path(path, sizeof(path), dev, v6);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0\n", 2) != 2)
			pr_warn("cannot turn %s back off: %s", path, strerror(errno));
		else
			pr_info("turned net.ipv%d.conf.%s.forwarding back off", v6 ? 6 : 4, dev);
		if (fd >= 0)
			close(fd);
	}
	if (fwd_set & CIDLB_FWD_SET_RA6) {
		ra_path(path, sizeof(path), dev);
		if (sysctl_swap(path, '2', '1'))
			pr_info("set net.ipv6.conf.%s.accept_ra back to 1", dev);
	}
}
