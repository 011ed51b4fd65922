// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * neigh.c - keep the next hops of FIB-routed backends resolved.
 *
 * The data path asks the kernel's FIB for a backend's next hop; where the
 * kernel has no neighbour entry yet, bpf_fib_lookup() answers NO_NEIGH and
 * the packet is dropped (drop_no_route): XDP cannot make the kernel resolve
 * it. So cidlbd does what a first packet from this host would: it sends
 * one empty UDP datagram to the backend's discard port (9), which makes
 * the kernel resolve the next hop (ARP or neighbour discovery). New
 * backends are nudged within a second, all of them every NEIGH_REFRESH_S
 * seconds so that their entries stay usable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "daemon.h"
#include "log.h"

#define NEIGH_REFRESH_S	60
#define DISCARD_PORT	9

static int nudge_one(const struct cidlb_conf_backend *b)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd, err = 0;

	if (b->family == CIDLB_FAMILY_V4) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(DISCARD_PORT);
		memcpy(&a->sin_addr, b->addr, 4);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(DISCARD_PORT);
		memcpy(&a->sin6_addr, b->addr, 16);
		len = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, "", 0, 0, (struct sockaddr *)&ss, len) < 0 && errno != EAGAIN)
		err = -errno;
	close(fd);
	return err;
}

/* Called every second under d->lock. */
void neigh_tick(struct daemon *d)
{
	bool all = ++d->neigh_ticks >= NEIGH_REFRESH_S;
	int i, known = d->neigh_known;

	if (all)
		d->neigh_ticks = 0;
	if (d->conf->n_backends > d->neigh_cap) {
		void *p = realloc(d->neigh_seen, (size_t)d->conf->n_backends * 16);

		if (!p)
			return;	/* try again next second */
		d->neigh_seen = p;
		d->neigh_cap = d->conf->n_backends;
	}
	for (i = 0; i < d->conf->n_backends; i++) {
		const struct cidlb_conf_backend *b = &d->conf->backends[i];
		int err;

		if (b->has_mac || b->direct)
			continue;	/* next hop configured: nothing to resolve */
		if (!all && i < known && !memcmp(d->neigh_seen[i], b->addr, 16))
			continue;
		err = nudge_one(b);
		if (err)
			pr_debug("backend %s: cannot send the neighbour probe: %s", b->name,
				 strerror(-err));
		memcpy(d->neigh_seen[i], b->addr, 16);
	}
	d->neigh_known = d->conf->n_backends;
}
