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
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>

#include "ctl/xdp.h"
#include "daemon.h"
#include "log.h"

#define SWEEP_INTERVAL_S 1

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

/* Turn forwarding on for dev: 1 when it was off (cidlbd turns it back off
 * when it detaches from dev), 0 when it was on already or cannot be set. */
static int set_forwarding(const char *dev, int v6)
{
	char path[128], cur = '?';
	int fd;

	fwd_path(path, sizeof(path), dev, v6);
	fd = open(path, O_RDWR | O_CLOEXEC);
	int changed = 0;

	if (fd < 0) {
		pr_warn("cannot open %s: %s; the FIB next-hop lookup needs forwarding on %s", path,
			strerror(errno), dev);
		return 0;
	}
	if (read(fd, &cur, 1) == 1 && cur != '0') {
		close(fd);
		return 0;
	}
	if (pwrite(fd, "1\n", 2, 0) != 2) {
		pr_warn("cannot turn on %s: %s", path, strerror(errno));
	} else {
		pr_info("turned on net.ipv%d.conf.%s.forwarding: bpf_fib_lookup answers only for devices that forward",
			v6 ? 6 : 4, dev);
		changed = 1;
	}
	close(fd);
	return changed;
}

/* Turn off the forwarding that cidlbd turned on for dev (fwd_set bits). */
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

/* Attach to the configured interfaces, detach from the others. */
static int sync_interfaces(struct daemon *d, const struct cidlb_conf *c, const struct cidlb_state *prev,
			   char *why, size_t why_len)
{
	struct iface_rt now[CIDLB_MAX_IFACES] = { 0 };
	bool v6 = has_v6_backend(c);
	int i, j, n = 0, err = 0;

	for (i = 0; i < c->n_ifaces; i++) {
		const struct iface_rt *have = NULL;

		for (j = 0; j < d->n_ifs; j++)
			if (!strcmp(d->ifs[j].name, c->ifaces[i]))
				have = &d->ifs[j];
		if (have) {
			now[n++] = *have;
			continue;
		}
		err = attach_one(d, c->ifaces[i], c->attach_mode, &now[n], why, why_len);
		if (err)
			break;
		for (j = 0; prev && j < prev->n_ifs; j++)	/* what the previous daemon set */
			if (!strcmp(prev->ifs[j].name, now[n].name))
				now[n].fwd_set = prev->ifs[j].fwd_set;
		n++;
	}
	/* interfaces that left the configuration (or a previous daemon's) */
	for (j = 0; j < d->n_ifs && !err; j++) {
		bool keep = false;

		for (i = 0; i < n; i++)
			keep |= !strcmp(now[i].name, d->ifs[j].name);
		if (!keep)
			detach_one(d, d->ifs[j].name, d->ifs[j].fwd_set);
	}
	for (j = 0; prev && j < prev->n_ifs && !err; j++) {
		bool keep = false;

		for (i = 0; i < n; i++)
			keep |= !strcmp(now[i].name, prev->ifs[j].name);
		if (!keep && detach_one(d, prev->ifs[j].name, prev->ifs[j].fwd_set) == 0)
			pr_info("%s: the previous daemon's interface is not configured any more", prev->ifs[j].name);
	}
	memcpy(d->ifs, now, sizeof(now[0]) * (size_t)n);
	d->n_ifs = n;
	for (i = 0; i < n; i++) {
		int e = cidlb_lb_add_tx_port(d->lb, (uint32_t)d->ifs[i].ifindex);

		if (e)
			pr_warn("%s: cannot add to the redirect map %s: %s", d->ifs[i].name,
				CIDLB_MAP_TX_PORTS, strerror(-e));
		if (set_forwarding(d->ifs[i].name, 0))
			d->ifs[i].fwd_set |= CIDLB_FWD_SET_V4;
		if (v6 && set_forwarding(d->ifs[i].name, 1))
			d->ifs[i].fwd_set |= CIDLB_FWD_SET_V6;
	}
	for (i = 0; i < c->n_egress; i++) {
		int idx = (int)if_nametoindex(c->egress[i]);

		if (!idx || cidlb_lb_add_tx_port(d->lb, (uint32_t)idx))
			pr_warn("egress interface %s: cannot add it to the redirect map", c->egress[i]);
	}
	return err;
}

/* ---- reload ----------------------------------------------------------------- */

int do_reload(struct daemon *d, json_t *changes, char *why, size_t why_len)
{
	struct cidlb_conf *next = NULL;
	const struct cidlb_conf *cur = d->conf;
	int err;

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
	log_level = next->log_level;
	err = apply_config(d, next, changes, why, why_len);
	if (err) {
		cidlb_conf_free(next);
		goto done;
	}
	err = sync_interfaces(d, d->conf, NULL, why, why_len);
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

static int open_lb(struct daemon *d)
{
	char prog[512], why[512];
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
			unlink(d->conf->state_file);
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

	if (open_lb(d) || !d->adopted) {
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
	unlink(d->conf->state_file);
	pr_info("cleaned up %s", d->pin_dir);
	return 0;
}

static int run(struct daemon *d)
{
	struct itimerspec its = { .it_interval = { SWEEP_INTERVAL_S, 0 },
				  .it_value = { SWEEP_INTERVAL_S, 0 } };
	struct pollfd pf[4];
	sigset_t mask;
	int sfd, tfd;

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
		if (poll(pf, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("poll: %s", strerror(errno));
			break;
		}
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
		if (pf[1].revents & POLLIN)
			ctl_accept(d);
		if (pf[3].revents & POLLIN) {	/* a control request was served */
			uint64_t n;

			if (read(d->wake_fd, &n, sizeof(n)) < 0)
				continue;
		}
		if (pf[2].revents & POLLIN) {
			uint64_t ticks;

			if (read(tfd, &ticks, sizeof(ticks)) < 0)
				continue;
			pthread_mutex_lock(&d->lock);
			retire_sweep(d);
			neigh_tick(d);
			if (quarantine_expire(d))
				save_state(d);
			pthread_mutex_unlock(&d->lock);
		}
	}
	close(sfd);
	close(tfd);
	return 0;
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
	static struct daemon dd = { .lock = PTHREAD_MUTEX_INITIALIZER, .lock_fd = -1, .listen_fd = -1,
				    .wake_fd = -1 };
	struct daemon *d = &dd;
	const char *cli_pin = NULL, *cli_object = NULL, *cli_level = NULL;
	bool check = false, cleanup = false;
	struct cidlb_conf *conf = NULL;
	struct cidlb_state prev = { 0 };
	char why[1024];
	sigset_t mask;
	int c, err, prev_ok;

	log_init();
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
		static const char *const names[] = { "error", "warning", "info", "debug" };
		static const int lv[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
		int i;

		for (i = 0; i < 4 && strcmp(names[i], cli_level); i++)
			;
		if (i == 4) {
			pr_err("--log-level '%s': must be error, warning, info or debug", cli_level);
			return 1;
		}
		log_level = lv[i];
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
	d->started = time(NULL);

	err = open_lb(d);
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
	}
	/* fill the maps before the first packet can see them */
	d->conf = NULL;
	err = apply_config(d, conf, NULL, why, sizeof(why));
	if (err) {
		d->conf = conf;
		pr_err("%s", why);
		goto fail;
	}
	err = sync_interfaces(d, d->conf, prev_ok ? NULL : &prev, why, sizeof(why));
	if (err) {
		pr_err("%s", why);
		goto fail;
	}
	save_state(d);
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

	run(d);
	teardown(d, d->stop_keep);
	cidlb_state_free(&d->st);
	cidlb_conf_free(d->conf);
	free(d->maglev);
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
