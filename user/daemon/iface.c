// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * iface.c - the interfaces: attach to the configured ones (or adopt where our
 * program is attached already), detach from the ones that left, undo what a
 * failed start or reload attached, and keep the redirect ports and forwarding
 * of what is attached, and the MTU floor of what is attached.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>

#include "ctl/xdp.h"
#include "daemon.h"
#include "ctl/log.h"

static bool has_v6_backend(const struct cidlb_conf *c)
{
	int i;

	for (i = 0; i < c->n_backends; i++)
		if (c->backends[i].family == CIDLB_FAMILY_V6)
			return true;
	return false;
}

static int attach_one(struct daemon *d, const char *name, enum cidlb_attach_mode mode,
		      struct iface_rt *out, char *why, size_t why_len)
{
	struct cidlb_xdp_reuse reuse[CIDLB_M_COUNT];
	struct cidlb_xdp_info info;
	int ifindex = (int)if_nametoindex(name), i, err;

	if (!ifindex) {
		snprintf(why, why_len, "no interface %s", name);
		return -ENODEV;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->ifindex = ifindex;
	err = cidlb_xdp_query(ifindex, CIDLB_PROG_MAIN, d->owner_map_id, &info);
	if (!err && info.ours) {
		out->mode = info.mode;
		out->dispatcher = info.dispatcher;
		pr_info("%s: cidlb already attached (%s%s, program %u): adopted, not a packet lost",
			name, cidlb_attach_mode_str(info.mode),
			info.dispatcher ? ", libxdp dispatcher" : "", info.prog_id);
		return 0;
	}
	if (!err && !info.dispatcher) {
		snprintf(
			why, why_len,
			"%s runs another XDP program (%s, id %u)%s; detach it first (ip link set dev %s xdp off)",
			name, info.main_name, info.main_id,
			!strcmp(info.main_name, CIDLB_PROG_MAIN) ?
				": a cidlb whose pins are gone? 'cidlbd --cleanup' cannot see it" :
				"",
			name);
		return -EBUSY;
	}
	for (i = 0; i < CIDLB_M_COUNT; i++) {
		reuse[i].name = cidlb_map_names[i];
		reuse[i].fd = cidlb_lb_map_fd(d->lb, (enum cidlb_map_id)i);
	}
	/* libxdp first tries its dispatcher: libbpf's complaints when the
	 * kernel refuses it are expected, libxdp then says it falls back */
	log_quiet_libbpf = true;
	err = cidlb_xdp_attach(d->object, CIDLB_PROG_MAIN, reuse, CIDLB_M_COUNT, ifindex, mode,
			       &out->mode, NULL, why, why_len);
	log_quiet_libbpf = false;
	if (err)
		return err;
	err = cidlb_xdp_query(ifindex, CIDLB_PROG_MAIN, d->owner_map_id, &info);
	out->dispatcher = !err && info.dispatcher;
	out->fresh = true;
	pr_info("%s: attached in %s mode%s", name, cidlb_attach_mode_str(out->mode),
		out->dispatcher ? " through the libxdp dispatcher" :
				  " as the only program (no libxdp dispatcher on this kernel)");
	return 0;
}

/* Detach from name and turn off the forwarding cidlbd turned on there. */
int detach_one(struct daemon *d, const char *name, uint8_t fwd_set)
{
	int ifindex = (int)if_nametoindex(name), err;

	if (!ifindex)
		return -ENODEV;
	err = cidlb_xdp_detach(ifindex, CIDLB_PROG_MAIN, d->owner_map_id);
	if (!err)
		pr_info("%s: detached", name);
	else if (err != -ENOENT)
		pr_err("%s: cannot detach: %s", name, strerror(-err));
	restore_forwarding(name, fwd_set);
	return err;
}

static int iface_pos(const struct iface_rt *ifs, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(ifs[i].name, name))
			return i;
	return -1;
}

static bool configured(const struct cidlb_conf *c, const char *name)
{
	int i;

	for (i = 0; i < c->n_ifaces; i++)
		if (!strcmp(c->ifaces[i], name))
			return true;
	return false;
}

/*
 * A previous daemon's interfaces (its state file) that still carry our
 * program join the record first, so that the record is what is attached:
 * a start that fails leaves them as they were, a plain stop detaches them.
 */
void adopt_previous(struct daemon *d, const struct cidlb_state *prev)
{
	int j;

	for (j = 0; prev && j < prev->n_ifs && d->n_ifs < CIDLB_MAX_IFACES; j++) {
		struct cidlb_xdp_info info;
		struct iface_rt *r = &d->ifs[d->n_ifs];
		int ifindex = (int)if_nametoindex(prev->ifs[j].name);

		if (!ifindex || iface_pos(d->ifs, d->n_ifs, prev->ifs[j].name) >= 0 ||
		    cidlb_xdp_query(ifindex, CIDLB_PROG_MAIN, d->owner_map_id, &info) ||
		    !info.ours) {
			if (prev->ifs[j].fwd_set)
				restore_forwarding(prev->ifs[j].name, prev->ifs[j].fwd_set);
			continue;
		}
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", prev->ifs[j].name);
		r->ifindex = ifindex;
		r->mode = info.mode;
		r->dispatcher = info.dispatcher;
		r->fwd_set = prev->ifs[j].fwd_set;
		d->n_ifs++;
		pr_info("%s: cidlb already attached (%s%s, program %u): adopted, not a packet lost",
			r->name, cidlb_attach_mode_str(info.mode),
			info.dispatcher ? ", libxdp dispatcher" : "", info.prog_id);
	}
}

/* Detach what attach_new() attached from d->ifs[base..]; keep the rest. */
void undo_attach(struct daemon *d, int base)
{
	int i, n = base;

	for (i = base; i < d->n_ifs; i++) {
		if (d->ifs[i].fresh) {
			detach_one(d, d->ifs[i].name, d->ifs[i].fwd_set);
			continue;
		}
		d->ifs[n++] = d->ifs[i];
	}
	d->n_ifs = n;
}

/*
 * Step 1 of a start or reload: attach to every configured interface not
 * attached yet, each recorded in d->ifs (from *base on) the moment it is.
 * On a failure the ones attached here are detached again and @why names
 * the interface, what holds it and what to do.
 */
int attach_new(struct daemon *d, const struct cidlb_conf *c, int *base, char *why, size_t why_len)
{
	char inner[768];
	int i, err;

	*base = d->n_ifs;
	for (i = 0; i < c->n_ifaces; i++) {
		struct iface_rt *r = &d->ifs[d->n_ifs];

		if (iface_pos(d->ifs, d->n_ifs, c->ifaces[i]) >= 0)
			continue;
		if (d->n_ifs >= CIDLB_MAX_IFACES) {
			err = -ENOSPC;
			snprintf(inner, sizeof(inner), "more than %d interfaces attached at once",
				 CIDLB_MAX_IFACES);
		} else {
			err = attach_one(d, c->ifaces[i], c->attach_mode, r, inner, sizeof(inner));
		}
		if (err) {
			undo_attach(d, *base);
			snprintf(why, why_len, "interface %s: %s", c->ifaces[i], inner);
			return err;
		}
		d->n_ifs++;
	}
	return 0;
}

/*
 * Last step: detach from the interfaces that left the configuration, put
 * the record in the file's order, and make sure of the redirect ports and
 * the forwarding sysctls of what is attached.
 */
void sync_interfaces(struct daemon *d, const struct cidlb_conf *c)
{
	struct iface_rt now[CIDLB_MAX_IFACES] = { 0 };
	bool v6 = has_v6_backend(c);
	int i, j, n = 0;

	for (j = 0; j < d->n_ifs; j++)
		if (!configured(c, d->ifs[j].name)) {
			detach_one(d, d->ifs[j].name, d->ifs[j].fwd_set);
			pr_info("%s: not configured any more", d->ifs[j].name);
		}
	for (i = 0; i < c->n_ifaces; i++) {
		j = iface_pos(d->ifs, d->n_ifs, c->ifaces[i]);
		if (j >= 0)
			now[n++] = d->ifs[j];
	}
	memcpy(d->ifs, now, sizeof(now[0]) * (size_t)n);
	d->n_ifs = n;
	for (i = 0; i < n; i++) {
		int e = cidlb_lb_add_tx_port(d->lb, (uint32_t)d->ifs[i].ifindex);

		d->ifs[i].fresh = false;
		if (e)
			pr_warn("%s: cannot add to the redirect map %s: %s", d->ifs[i].name,
				CIDLB_MAP_TX_PORTS, strerror(-e));
		d->ifs[i].fwd_set |= set_forwarding(d->ifs[i].name, 0);
		if (v6)
			d->ifs[i].fwd_set |= set_forwarding(d->ifs[i].name, 1);
	}
	for (i = 0; i < c->n_egress; i++) {
		int idx = (int)if_nametoindex(c->egress[i]);

		if (!idx || cidlb_lb_add_tx_port(d->lb, (uint32_t)idx))
			pr_warn("egress interface %s: cannot add it to the redirect map",
				c->egress[i]);
	}
	mtu_sync(d);
}

void mtu_sync(struct daemon *d)
{
	static bool warned;
	uint32_t floor = d->n_ifs ? UINT32_MAX : 0;
	int i, err;

	if (!d->lb)
		return;
	for (i = 0; i < d->n_ifs; i++) {
		struct iface_rt *r = &d->ifs[i];
		int mtu = cidlb_dev_mtu(r->name);

		if (mtu <= 0) {
			if (r->mtu)
				pr_warn("%s: cannot read its MTU (%s): every encapsulated packet to a configured MAC asks the kernel",
					r->name, strerror(mtu ? -mtu : EINVAL));
			r->mtu = 0;
			floor = 0;
			continue;
		}
		if (r->mtu && r->mtu != mtu)
			pr_info("%s: MTU %d -> %d", r->name, r->mtu, mtu);
		r->mtu = mtu;
		if ((uint32_t)mtu < floor)
			floor = (uint32_t)mtu;
	}
	err = cidlb_lb_set_mtu_floor(d->lb, floor);
	if (err && !warned)
		pr_warn("cannot write the MTU floor into %s: %s", CIDLB_MAP_GLOBAL, strerror(-err));
	warned = err != 0;
}
