// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * main.c - cidlbd: load (or adopt) the cidlb XDP program, keep its maps
 * equal to the configuration file and the operator's live changes, and
 * stay out of the packets' way: the program is attached to the
 * interfaces and its maps are pinned, so forwarding never depends on this
 * process. A crash leaves them as they were; a stop with --keep (or the
 * "stop" request with keep) leaves them on purpose, and the next daemon
 * adopts them; a plain stop detaches and unpins.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>

#include "ctl/xdp.h"
#include "daemon.h"
#include "ctl/log.h"

#define SWEEP_INTERVAL_S 1
#define ACCEPT_BACKOFF_MS 100	/* no descriptor for a control client: wait */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cidlbd [-c FILE] [--pin-dir DIR] [--keep] [--log-level LEVEL]\n"
		"       cidlbd [-c FILE] --check\n"
		"       cidlbd [-c FILE] [--pin-dir DIR] --cleanup\n"
		"\n"
		"  -c, --config FILE    configuration (default %s)\n"
		"  --pin-dir DIR        pin the program and maps here (default [daemon] pin_dir,\n"
		"                       else %s)\n"
		"  --object FILE        the cidlb.bpf.o to load (default [daemon] bpf_object,\n"
		"                       else %s, else next to cidlbd)\n"
		"  --keep               on SIGTERM/SIGINT leave the program attached and the maps\n"
		"                       pinned, for a restart without losing a packet; the next\n"
		"                       cidlbd adopts them. Without it a stop detaches and unpins.\n"
		"  --log-level LEVEL    error, warning, info, debug (default [daemon] log_level)\n"
		"  --check              check the configuration and exit: 0 valid, 1 not\n"
		"  --cleanup            detach and unpin what a stopped or crashed cidlbd left\n"
		"\n"
		"Signals: SIGHUP reloads the file; SIGTERM/SIGINT stop.\n"
		"Control: cidlb (see 'cidlb help'). Exit status: 0 clean stop, 1 failure.\n",
		CIDLB_DEFAULT_CONFIG, CIDLB_DEFAULT_PIN_DIR, CIDLB_DEFAULT_OBJECT);
}

/* ---- helpers ---------------------------------------------------------------- */

static void print_errors(const struct cidlb_conf *c)
{
	const char *p = c->errors;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		pr_err("%.*s", len, p);
		p = nl ? nl + 1 : p + len;
	}
}

static int find_object(struct daemon *d, const char *cli)
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
static int check_object(const struct daemon *d)
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

/* Every control client and metrics connection holds a descriptor: the
 * soft limit (1024 under systemd by default) goes up to the hard one. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		pr_warn("cannot raise the file descriptor limit to %llu: %s",
			(unsigned long long)rl.rlim_max, strerror(errno));
}

/* One instance per state file: a second daemon would fight over the maps. */
static int take_lock(struct daemon *d)
{
	char path[300], dir[300], *slash, pid[32];
	int fd;

	snprintf(path, sizeof(path), "%s.lock", d->conf->state_file);
	snprintf(dir, sizeof(dir), "%s", d->conf->state_file);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700);
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		pr_err("cannot open the lock file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);

		pid[n > 0 ? n : 0] = '\0';
		pr_err("another cidlbd (pid %s) runs with the state file %s: stop it first",
		       n > 0 ? strtok(pid, "\n") : "?", d->conf->state_file);
		close(fd);
		return -EBUSY;
	}
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, strlen(pid), 0) < 0)
		pr_warn("cannot write the pid into %s", path);
	d->lock_fd = fd;
	return 0;
}

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
static uint8_t set_forwarding(const char *dev, int v6)
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
static void restore_forwarding(const char *dev, uint8_t fwd_set)
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

static bool has_v6_backend(const struct cidlb_conf *c)
{
	int i;

	for (i = 0; i < c->n_backends; i++)
		if (c->backends[i].family == CIDLB_FAMILY_V6)
			return true;
	return false;
}

/* ---- interfaces ------------------------------------------------------------- */

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
		snprintf(why, why_len, "%s runs another XDP program (%s, id %u)%s; detach it first (ip link set dev %s xdp off)",
			 name, info.main_name, info.main_id,
			 !strcmp(info.main_name, CIDLB_PROG_MAIN) ?
			 ": a cidlb whose pins are gone? 'cidlbd --cleanup' cannot see it" : "", name);
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
static int detach_one(struct daemon *d, const char *name, uint8_t fwd_set)
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
static void adopt_previous(struct daemon *d, const struct cidlb_state *prev)
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
static void undo_attach(struct daemon *d, int base)
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
static int attach_new(struct daemon *d, const struct cidlb_conf *c, int *base,
		      char *why, size_t why_len)
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
static void sync_interfaces(struct daemon *d, const struct cidlb_conf *c)
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
			pr_warn("egress interface %s: cannot add it to the redirect map", c->egress[i]);
	}
}

/*
 * [lb] seed (Maglev and the 4-tuple hash): the file's, else a random one
 * drawn at the first start and kept in the state file (d->st.seed), so
 * that fallback placement cannot be worked out from the backend names.
 */
static int choose_seed(struct daemon *d, struct cidlb_conf *c, char *why, size_t why_len)
{
	if (c->has_seed)
		return 0;
	while (!d->st.seed) {
		if (getrandom(&d->st.seed, sizeof(d->st.seed), 0) != sizeof(d->st.seed)) {
			d->st.seed = 0;
			snprintf(why, why_len, "cannot draw a random [lb] seed: %s; set seed = N in %s",
				 strerror(errno), c->path);
			return -EIO;
		}
		pr_info("[lb] seed not set: drew a random one, kept in %s (hosts of one fleet must set the same seed = N)",
			c->state_file);
	}
	c->seed = d->st.seed;
	return 0;
}

void qlb_sample(struct daemon *d)
{
	uint64_t now = boottime_ns();
	int cr;

	for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++) {
		struct cidlb_config_stats s = { 0 };

		if (cidlb_lb_read_config_stats(d->lb, (uint32_t)cr, &s))
			continue;
		/* a fall to 0 is 'cidlb stats reset', not traffic */
		if (s.decodes != d->qlb_decodes[cr] && s.decodes)
			d->qlb_moved_ns[cr] = now;
		d->qlb_decodes[cr] = s.decodes;
	}
}

/*
 * A reload must not change how a live config decodes (its key, its
 * lengths, plaintext or encrypted): every CID the backends issued under it
 * would name another server ID. Live means: its decode count moved within
 * the last quarantine seconds.
 */
static int check_rekey(struct daemon *d, const struct cidlb_conf *next, char *why, size_t why_len)
{
	const struct cidlb_conf *cur = d->conf;
	uint64_t now, window = (uint64_t)cur->quarantine_s * 1000000000ULL;
	int cr;

	qlb_sample(d);
	now = boottime_ns();
	for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++) {
		const struct cidlb_conf_qlb *a = &cur->qlb[cr], *b = &next->qlb[cr];
		const char *what;

		if (!a->present || !b->present || !d->qlb_moved_ns[cr] ||
		    now - d->qlb_moved_ns[cr] >= window)
			continue;
		if (a->has_key != b->has_key)
			what = b->has_key ? "from plaintext to encrypted" : "from encrypted to plaintext";
		else if (a->sid_len != b->sid_len || a->nonce_len != b->nonce_len)
			what = "its server_id_len or nonce_len";
		else if (a->has_key && memcmp(a->key, b->key, sizeof(a->key)))
			what = "its key (another key_file content)";
		else
			continue;
		snprintf(why, why_len, "[quic-lb %d]: this file changes %s in place, but config %d decoded packets %llu s ago: every connection on it would break. Rotate instead: add the new key under a new config ID, let the backends issue CIDs under it (both configs live), and remove config %d once its connections moved (no decodes for quarantine = %u s); see 'key rotation' in docs/operations.md. Nothing was changed",
			 cr, what, cr, (unsigned long long)((now - d->qlb_moved_ns[cr]) / 1000000000ULL),
			 cr, cur->quarantine_s);
		return -EBUSY;
	}
	return 0;
}

/* ---- reload ----------------------------------------------------------------- */

int do_reload(struct daemon *d, json_t *changes, char *why, size_t why_len)
{
	struct cidlb_conf *next = NULL;
	const struct cidlb_conf *cur = d->conf;
	char inner[768];
	int err, base;

	sd_notifyf("RELOADING=1\nSTATUS=reloading %s", d->config_path);
	pr_info("reloading %s", d->config_path);
	err = cidlb_conf_load(d->config_path, CIDLB_CONF_CHECK_SYSTEM, &next);
	if (err) {
		if (next) {
			print_errors(next);
			snprintf(why, why_len, "%s has %zu error%s, the running configuration stays: %.*s",
				 d->config_path, next->n_errors, next->n_errors == 1 ? "" : "s",
				 (int)strcspn(next->errors ? next->errors : "", "\n"),
				 next->errors ? next->errors : "");
		} else {
			snprintf(why, why_len, "out of memory");
		}
		cidlb_conf_free(next);
		goto done;
	}
	/* what only a restart changes */
#define KEEP(field, what)                                                           \
	if (strcmp(next->field, cur->field)) {                                      \
		pr_warn("reload: %s changed; it takes effect at the next start", what); \
		snprintf(next->field, sizeof(next->field), "%s", cur->field);      \
	}
	KEEP(pin_dir, "[daemon] pin_dir");
	KEEP(socket, "[daemon] control_socket");
	KEEP(state_file, "[daemon] state_file");
	KEEP(metrics, "[daemon] metrics");
	KEEP(object, "[daemon] bpf_object");
#undef KEEP
	if (next->lru_size != cur->lru_size || next->retired_size != cur->retired_size ||
	    next->dcache_size != cur->dcache_size)
		pr_warn("reload: map sizes (lru_size, retired_size, dcache_size) are fixed while the program runs; they take effect after a plain stop and start");
	if (next->attach_mode != cur->attach_mode)
		pr_warn("reload: attach_mode applies to interfaces attached from now on");
	err = check_rekey(d, next, why, why_len);
	if (!err)
		err = choose_seed(d, next, why, why_len);
	if (err) {
		cidlb_conf_free(next);
		goto done;
	}
	/* all or nothing: new interfaces first (detached again on any
	 * failure), then the maps (put back on a failed write), then the
	 * interfaces that left */
	err = attach_new(d, next, &base, inner, sizeof(inner));
	if (err) {
		snprintf(why, why_len, "%s; nothing was changed, the running configuration stays",
			 inner);
		cidlb_conf_free(next);
		goto done;
	}
	err = apply_config(d, next, changes, why, why_len);
	if (err) {
		undo_attach(d, base);
		cidlb_conf_free(next);
		goto done;
	}
	log_level = d->conf->log_level;
	sync_interfaces(d, d->conf);
	save_state(d);
done:
	d->last_reload = time(NULL);
	d->last_reload_ok = !err;
	if (err) {
		d->reloads_failed++;
		snprintf(d->last_reload_msg, sizeof(d->last_reload_msg), "%s", why);
		pr_err("reload refused: %s", why);
	} else {
		d->reloads_ok++;
		snprintf(d->last_reload_msg, sizeof(d->last_reload_msg), "applied");
		pr_info("reload applied");
	}
	sd_notifyf("READY=1\nSTATUS=%s", err ? "running; last reload refused" : "running");
	return err;
}

/* ---- start and stop --------------------------------------------------------- */

/* Load the object and pin it, or adopt what is pinned (checked against
 * the object first, unless @check_pins is false: --cleanup removes pins of
 * any version). */
static int open_lb(struct daemon *d, bool check_pins)
{
	char prog[512], why[1024];
	struct cidlb_lb_opts opts = {
		.lru_size = d->conf->lru_size,
		.retired_size = d->conf->retired_size,
		.dcache_size = d->conf->dcache_size,
	};
	int err, i;

	err = cidlb_bpffs_ensure(d->pin_dir, why, sizeof(why));
	if (err) {
		pr_err("%s", why);
		return err;
	}
	snprintf(prog, sizeof(prog), "%s/%s", d->pin_dir, CIDLB_PROG_MAIN);
	if (!access(prog, F_OK)) {
		err = cidlb_lb_open_pinned(d->pin_dir, &d->lb);
		if (err) {
			pr_err("cannot open the program pinned at %s: %s", prog, strerror(-err));
			return err;
		}
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

static void check_sizes(struct daemon *d)
{
	static const struct { enum cidlb_map_id id; const char *key; } m[] = {
		{ CIDLB_M_LRU, "lru_size" }, { CIDLB_M_RETIRED, "retired_size" },
		{ CIDLB_M_DCACHE, "dcache_size" },
	};
	uint32_t want[3] = { d->conf->lru_size, d->conf->retired_size, d->conf->dcache_size };
	size_t i;

	for (i = 0; i < 3; i++) {
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

/* After a plain stop: a state file with nothing but the drawn seed (none
 * without one), so that the next start places fallback flows as before. */
static void keep_seed_only(const char *path, uint32_t seed)
{
	struct cidlb_state st = { .seed = seed };

	if (!seed)
		unlink(path);
	else if (cidlb_state_write(path, &st))
		pr_warn("cannot write %s: the next start draws another [lb] seed", path);
}

static void teardown(struct daemon *d, bool keep)
{
	int i;

	sd_notifyf("STOPPING=1");
	metrics_stop(d);
	ctl_close(d);
	if (keep) {
		save_state(d);
		pr_info("stopped; the program stays attached and the maps pinned under %s: forwarding continues, the next cidlbd adopts them",
			d->pin_dir);
	} else if (d->lb) {
		for (i = 0; i < d->n_ifs; i++)
			detach_one(d, d->ifs[i].name, d->ifs[i].fwd_set);
		cidlb_lb_close(d->lb);
		d->lb = NULL;
		cidlb_lb_unpin(d->pin_dir);
		if (d->conf)
			keep_seed_only(d->conf->state_file, d->st.seed);
		pr_info("stopped; detached from %d interface%s and unpinned %s", d->n_ifs,
			d->n_ifs == 1 ? "" : "s", d->pin_dir);
	}
	cidlb_lb_close(d->lb);
	d->lb = NULL;
}

/* --cleanup: what a crashed or kept daemon left behind. */
static int cleanup_only(struct daemon *d)
{
	struct cidlb_state prev;
	char why[512];
	int i, err;

	if (open_lb(d, false) || !d->adopted) {
		if (!d->adopted)
			cidlb_lb_unpin(d->pin_dir);	/* just loaded it: undo */
		pr_info("nothing pinned under %s", d->pin_dir);
		cidlb_lb_close(d->lb);
		return 0;
	}
	d->owner_map_id = cidlb_bpf_id(cidlb_lb_map_fd(d->lb, CIDLB_M_COUNTERS));
	err = cidlb_state_read(d->conf->state_file, &prev, why, sizeof(why));
	for (i = 0; !err && i < prev.n_ifs; i++)
		detach_one(d, prev.ifs[i].name, prev.ifs[i].fwd_set);
	for (i = 0; i < d->conf->n_ifaces; i++)
		detach_one(d, d->conf->ifaces[i], 0);
	if (!err)
		cidlb_state_free(&prev);
	cidlb_lb_close(d->lb);
	d->lb = NULL;
	cidlb_lb_unpin(d->pin_dir);
	keep_seed_only(d->conf->state_file, err ? 0 : prev.seed);
	pr_info("cleaned up %s", d->pin_dir);
	return 0;
}

static int run(struct daemon *d)
{
	struct itimerspec its = { .it_interval = { SWEEP_INTERVAL_S, 0 },
				  .it_value = { SWEEP_INTERVAL_S, 0 } };
	struct pollfd pf[4];
	int sweep_wait = -1, ready;
	time_t emfile_logged = 0;
	sigset_t mask;
	int sfd, tfd, err = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC);
	if (sfd < 0 || tfd < 0 || d->wake_fd < 0 || timerfd_settime(tfd, 0, &its, NULL)) {
		pr_err("signalfd/timerfd/eventfd: %s", strerror(errno));
		return -errno;
	}
	pf[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = d->listen_fd, .events = POLLIN };
	pf[2] = (struct pollfd){ .fd = tfd, .events = POLLIN };
	pf[3] = (struct pollfd){ .fd = d->wake_fd, .events = POLLIN };
	while (!d->stop) {
		/* more retired CIDs due: sweep on after sweep_wait ms; the
		 * control socket back in after an accept back-off */
		int timeout = sweep_wait, n;

		if (pf[1].fd < 0 && (timeout < 0 || timeout > ACCEPT_BACKOFF_MS))
			timeout = ACCEPT_BACKOFF_MS;
		ready = poll(pf, 4, timeout);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			/* as a crash would: the program stays attached and pinned */
			err = -errno;
			pr_err("poll: %s: stopping; the program stays attached and the maps pinned",
			       strerror(errno));
			break;
		}
		if (pf[1].fd < 0)	/* the accept back-off is over */
			pf[1].fd = d->listen_fd;
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					char why[1024];

					pthread_mutex_lock(&d->lock);
					do_reload(d, NULL, why, sizeof(why));
					pthread_mutex_unlock(&d->lock);
				} else {
					pr_info("signal %d: stopping", si.ssi_signo);
					d->stop = true;
					d->stop_keep = d->keep_on_exit;
				}
			}
		}
		if ((pf[1].revents & POLLIN) && (n = ctl_accept(d))) {
			/* out of descriptors: the client waits in the backlog;
			 * polling the socket now would only spin */
			pf[1].fd = -1;
			if (time(NULL) >= emfile_logged + 60) {
				emfile_logged = time(NULL);
				pr_warn("control: cannot take a client (%s): accepting again in %d ms",
					strerror(-n), ACCEPT_BACKOFF_MS);
			}
		}
		if (pf[3].revents & POLLIN) {	/* a control request was served */
			uint64_t n;

			if (read(d->wake_fd, &n, sizeof(n)) < 0)
				continue;
		}
		if (pf[2].revents & POLLIN) {
			uint64_t ticks;

			if (read(tfd, &ticks, sizeof(ticks)) < 0)
				continue;
			metrics_tick(d);
			pthread_mutex_lock(&d->lock);
			neigh_tick(d);
			qlb_sample(d);
			if (quarantine_expire(d))
				save_state(d);
			pthread_mutex_unlock(&d->lock);
			sweep_wait = retire_sweep(d);	/* not under d->lock */
		} else if (!ready && sweep_wait >= 0) {
			sweep_wait = retire_sweep(d);
		}
	}
	close(sfd);
	close(tfd);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "object", required_argument, NULL, 'o' },
		{ "keep", no_argument, NULL, 'k' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check", no_argument, NULL, 'C' },
		{ "cleanup", no_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct daemon dd = { .lock = PTHREAD_MUTEX_INITIALIZER,
				    .retire_lock = PTHREAD_MUTEX_INITIALIZER, .lock_fd = -1,
				    .listen_fd = -1, .wake_fd = -1 };
	struct daemon *d = &dd;
	const char *cli_pin = NULL, *cli_object = NULL, *cli_level = NULL;
	bool check = false, cleanup = false;
	struct cidlb_conf *conf = NULL;
	struct cidlb_state prev = { 0 };
	char why[1024];
	sigset_t mask;
	int c, err, prev_ok, base;

	log_init("cidlbd", true);
	snprintf(d->config_path, sizeof(d->config_path), "%s", CIDLB_DEFAULT_CONFIG);
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			snprintf(d->config_path, sizeof(d->config_path), "%s", optarg);
			break;
		case 'p':
			cli_pin = optarg;
			break;
		case 'o':
			cli_object = optarg;
			break;
		case 'k':
			d->keep_on_exit = true;
			break;
		case 'l':
			cli_level = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'X':
			cleanup = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s' (the configuration is given with -c FILE)", argv[optind]);
		return 1;
	}
	if (cli_level) {
		int lv = cidlb_log_level_parse(cli_level);

		if (lv < 0) {
			pr_err("--log-level '%s': must be " CIDLB_LOG_LEVEL_LIST, cli_level);
			return 1;
		}
		log_level = lv;
	}

	err = cidlb_conf_load(d->config_path, check ? 0 : CIDLB_CONF_CHECK_SYSTEM, &conf);
	if (err) {
		if (conf)
			print_errors(conf);
		pr_err("%s: %s; nothing was changed", d->config_path,
		       err == -EINVAL ? "invalid configuration" : strerror(-err));
		cidlb_conf_free(conf);
		return 1;
	}
	if (check) {
		pr_info("%s is valid", d->config_path);
		cidlb_conf_free(conf);
		return 0;
	}
	if (!cli_level)
		log_level = conf->log_level;
	if (cli_pin)
		snprintf(conf->pin_dir, sizeof(conf->pin_dir), "%s", cli_pin);
	snprintf(d->pin_dir, sizeof(d->pin_dir), "%s", conf->pin_dir);
	d->conf = conf;	/* the settings; apply_config() makes it the running set */
	if (find_object(d, cli_object) && !cleanup) {
		pr_err("cannot find the BPF object %s: install it, or set [daemon] bpf_object or --object",
		       d->object);
		return 1;
	}
	if (!cleanup && check_object(d))
		return 1;
	if (take_lock(d))
		return 1;
	if (cleanup)
		return cleanup_only(d);

	/* signals go to the signalfd; the metrics thread inherits the mask */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	d->started = time(NULL);

	err = open_lb(d, true);
	if (err)
		goto fail_nolb;
	d->owner_map_id = cidlb_bpf_id(cidlb_lb_map_fd(d->lb, CIDLB_M_COUNTERS));
	prev_ok = -ENOENT;
	if (d->adopted) {
		check_sizes(d);
		prev_ok = cidlb_state_read(conf->state_file, &prev, why, sizeof(why));
		if (prev_ok == -ENOENT)
			pr_warn("no state file %s: backend indexes are recovered from the server-ID map; backends without server IDs get new indexes (their fallback flows move once)",
				conf->state_file);
		else if (prev_ok)
			pr_warn("ignoring the state file: %s", why);
		if (!prev_ok) {
			d->st.be = prev.be;
			d->st.n_be = prev.n_be;
			d->st.q = prev.q;
			d->st.n_q = prev.n_q;
			prev.be = NULL;
			prev.q = NULL;
		}
	} else if (!cidlb_state_read(conf->state_file, &prev, why, sizeof(why))) {
		cidlb_state_free(&prev);	/* only its seed: the rest went with the program */
	}
	d->st.seed = prev.seed;
	if (d->adopted && !d->st.seed && !conf->has_seed) {	/* an older state file: keep the map's */
		struct cidlb_global g = { 0 };

		if (!cidlb_lb_get_global(d->lb, &g))
			d->st.seed = g.hash_seed;
	}
	err = choose_seed(d, conf, why, sizeof(why));
	if (err) {
		pr_err("%s", why);
		goto fail;
	}
	/*
	 * A program just loaded gets its maps filled before it is attached
	 * (before the first packet); an adopted one keeps forwarding with its
	 * maps until the new interfaces are attached, as in a reload. A
	 * failure detaches what this start attached.
	 */
	adopt_previous(d, prev_ok ? NULL : &prev);
	d->conf = NULL;
	err = 0;
	if (d->adopted)
		err = attach_new(d, conf, &base, why, sizeof(why));
	if (!err) {
		err = apply_config(d, conf, NULL, why, sizeof(why));
		if (err)
			undo_attach(d, 0);
	}
	if (err) {
		d->conf = conf;
		pr_err("%s; cidlbd does not start", why);
		goto fail;
	}
	if (!d->adopted) {
		err = attach_new(d, d->conf, &base, why, sizeof(why));
		if (err) {
			pr_err("%s; cidlbd does not start, nothing stays attached", why);
			goto fail;
		}
	}
	sync_interfaces(d, d->conf);
	save_state(d);
	retire_index_load(d);	/* CIDs an adopted map holds expire too */
	/* an adopted program's decodes happened at some time before: count
	 * them as now, so that a key change waits a quarantine */
	qlb_sample(d);
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = d->wake_fd < 0 ? -errno : ctl_listen(d);
	if (!err)
		err = metrics_start(d);
	if (err)
		goto fail;
	d->last_reload_ok = true;
	snprintf(d->last_reload_msg, sizeof(d->last_reload_msg), "started");
	sd_notifyf("READY=1\nSTATUS=running: %d interface%s, %d backends%s", d->n_ifs,
		   d->n_ifs == 1 ? "" : "s", d->conf->n_backends, d->adopted ? " (adopted)" : "");
	pr_info("ready: %d interface%s, %d VIP%s, %d backend%s%s", d->n_ifs, d->n_ifs == 1 ? "" : "s",
		d->conf->n_vips, d->conf->n_vips == 1 ? "" : "s", d->conf->n_backends,
		d->conf->n_backends == 1 ? "" : "s", d->adopted ? " (adopted a running program)" : "");

	if (run(d)) {
		teardown(d, true);
		return 1;
	}
	teardown(d, d->stop_keep);
	cidlb_state_free(&d->st);
	cidlb_conf_free(d->conf);
	free(d->maglev);
	retire_index_free(d);
	return 0;

fail:
	/* a program we just loaded goes away; an adopted one keeps running */
	if (d->adopted) {
		pr_err("start failed; the adopted program keeps forwarding with the maps as they are");
		teardown(d, true);
	} else {
		teardown(d, false);
	}
fail_nolb:
	if (d->lb)
		cidlb_lb_close(d->lb);
	return 1;
}
