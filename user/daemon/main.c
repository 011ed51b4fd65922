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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "ctl/xdp.h"
#include "daemon.h"
#include "ctl/log.h"

#define SWEEP_INTERVAL_S  1
#define ACCEPT_BACKOFF_MS 100 /* no descriptor for a control client: wait */

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

/* ---- start and stop --------------------------------------------------------- */

/* After a plain stop: a state file with nothing but the drawn seed (none
 * without one), so that the next start places fallback flows as before,
 * and the drain, so that a host drained for maintenance stays so. */
static void keep_seed_only(const char *path, uint32_t seed, int64_t drained_since)
{
	struct cidlb_state st = { .seed = seed, .drained_since = drained_since };

	if (!seed && !drained_since)
		unlink(path);
	else if (cidlb_state_write(path, &st))
		pr_warn("cannot write %s: the next start draws another [lb] seed", path);
}

static void teardown(struct daemon *d, bool keep)
{
	int i;

	sd_notifyf("STOPPING=1");
	health_stop(d);
	metrics_stop(d);
	ctl_close(d);
	if (keep) {
		/* nobody follows the devices' MTUs now: ask the kernel */
		if (d->lb)
			cidlb_lb_set_mtu_floor(d->lb, 0);
		save_state(d);
		pr_info("stopped; the program stays attached and the maps pinned under %s: forwarding continues, the next cidlbd adopts them",
			d->pin_dir);
	} else if (d->lb) {
		/* withdrawn first: the routers stop sending before we stop forwarding */
		announce_withdraw_all(d);
		for (i = 0; i < d->n_ifs; i++)
			detach_one(d, d->ifs[i].name, d->ifs[i].fwd_set);
		cidlb_lb_close(d->lb);
		d->lb = NULL;
		cidlb_lb_unpin(d->pin_dir);
		if (d->conf)
			keep_seed_only(d->conf->state_file, d->st.seed, d->st.drained_since);
		pr_info("stopped; detached from %d interface%s and unpinned %s", d->n_ifs,
			d->n_ifs == 1 ? "" : "s", d->pin_dir);
	}
	cidlb_lb_close(d->lb);
	d->lb = NULL;
	announce_free(d);
}

/* --cleanup: what a crashed or kept daemon left behind. */
static int cleanup_only(struct daemon *d)
{
	struct cidlb_state prev;
	char why[512];
	int i, err;

	if (open_lb(d, false) || !d->adopted) {
		if (!d->adopted)
			cidlb_lb_unpin(d->pin_dir); /* just loaded it: undo */
		pr_info("nothing pinned under %s", d->pin_dir);
		cidlb_lb_close(d->lb);
		return 0;
	}
	d->owner_map_id = cidlb_bpf_id(cidlb_lb_map_fd(d->lb, CIDLB_M_COUNTERS));
	/* the VIP routes a kept daemon left: withdrawn before the detach */
	d->ann_table = d->conf->announce_table;
	announce_withdraw_all(d);
	err = cidlb_state_read(d->conf->state_file, &prev, why, sizeof(why));
	if (!err && prev.announce_table && prev.announce_table != d->ann_table) {
		d->ann_table = prev.announce_table; /* where the kept daemon had them */
		announce_withdraw_all(d);
	}
	for (i = 0; !err && i < prev.n_ifs; i++)
		detach_one(d, prev.ifs[i].name, prev.ifs[i].fwd_set);
	for (i = 0; i < d->conf->n_ifaces; i++)
		detach_one(d, d->conf->ifaces[i], 0);
	if (!err)
		cidlb_state_free(&prev);
	cidlb_lb_close(d->lb);
	d->lb = NULL;
	cidlb_lb_unpin(d->pin_dir);
	keep_seed_only(d->conf->state_file, err ? 0 : prev.seed, err ? 0 : prev.drained_since);
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
		if (pf[1].fd < 0) /* the accept back-off is over */
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
		if (pf[3].revents & POLLIN) { /* a control request was served */
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
			mtu_sync(d);
			qlb_sample(d);
			announce_sync(d);
			if (quarantine_expire(d))
				save_state(d);
			pthread_mutex_unlock(&d->lock);
			sweep_wait = retire_sweep(d); /* not under d->lock */
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
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "pin-dir", required_argument, NULL, 'p' },
					      { "object", required_argument, NULL, 'o' },
					      { "keep", no_argument, NULL, 'k' },
					      { "log-level", required_argument, NULL, 'l' },
					      { "check", no_argument, NULL, 'C' },
					      { "cleanup", no_argument, NULL, 'X' },
					      { "help", no_argument, NULL, 'h' },
					      { 0 } };
	static struct daemon dd = { .lock = PTHREAD_MUTEX_INITIALIZER,
				    .retire_lock = PTHREAD_MUTEX_INITIALIZER,
				    .lock_fd = -1,
				    .listen_fd = -1,
				    .wake_fd = -1,
				    .health_udp = -1,
				    .health_pkt = -1,
				    .health_wake = -1,
				    .health_raw = { { -1, -1 }, { -1, -1 } },
				    .health_gue = { -1, -1 },
				    .replace_fd = -1 };
	struct daemon *d = &dd;
	const char *cli_pin = NULL, *cli_object = NULL, *cli_level = NULL;
	bool check = false, cleanup = false;
	struct cidlb_conf *conf = NULL;
	struct cidlb_state prev = { 0 };
	char why[1024];
	sigset_t mask;
	int c, err, prev_ok, base;
	bool upgrading;

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
		pr_err("unexpected argument '%s' (the configuration is given with -c FILE)",
		       argv[optind]);
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
	d->conf = conf; /* the settings; apply_config() makes it the running set */
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
	upgrading = d->old_lb != NULL;
	if (d->adopted)
		check_sizes(d);
	if (d->adopted || upgrading) {
		prev_ok = cidlb_state_read(conf->state_file, &prev, why, sizeof(why));
		if (prev_ok == -ENOENT && upgrading)
			pr_warn("no state file %s: backends get new indexes, their fallback flows may move once, and no server ID is quarantined",
				conf->state_file);
		else if (prev_ok == -ENOENT)
			pr_warn("no state file %s: backend indexes are recovered from the server-ID map; backends without server IDs get new indexes (their fallback flows move once)",
				conf->state_file);
		else if (prev_ok)
			pr_warn("ignoring the state file: %s", why);
		if (!prev_ok) {
			d->st.be = prev.be;
			d->st.n_be = prev.n_be;
			d->st.q = prev.q;
			d->st.n_q = prev.n_q;
			d->st.pools = prev.pools; /* their numbers in these maps */
			d->st.n_pools = prev.n_pools;
			prev.be = NULL;
			prev.q = NULL;
			prev.pools = NULL;
		}
	} else if (!cidlb_state_read(conf->state_file, &prev, why, sizeof(why))) {
		cidlb_state_free(&prev); /* only its seed: the rest went with the program */
	}
	d->st.seed = prev.seed;
	d->st.drained_since = prev.drained_since;
	/* the table our routes were left in: announce_sync() empties it when
	 * announce_table changed across the restart */
	d->st.announce_table = prev.announce_table;
	d->ann_table = prev.announce_table;
	if (d->st.drained_since)
		pr_info("this host is drained (cidlb daemon drain): its VIPs are not announced until 'cidlb daemon undrain'");
	if (d->adopted && !d->st.seed &&
	    !conf->has_seed) { /* an older state file: keep the map's */
		struct cidlb_global g = { 0 };

		if (!cidlb_lb_get_global(d->lb, &g))
			d->st.seed = g.hash_seed;
	} else if (upgrading && !d->st.seed && !conf->has_seed) {
		struct cidlb_global g = { 0 }; /* hash_seed: same place in every layout */

		if (!cidlb_lb_get_global(d->old_lb, &g))
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
	 * failure detaches what this start attached. An upgrade fills new
	 * maps as a fresh start does, then swaps its program in where the
	 * older one runs (upgrade.c).
	 */
	if (!upgrading)
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
	if (!err && upgrading) {
		err = upgrade_finish(d, prev_ok ? NULL : &prev, why, sizeof(why));
		if (!err)
			adopt_previous(d, prev_ok ? NULL : &prev);
	}
	if (err) {
		d->conf = conf;
		pr_err("%s; cidlbd does not start", why);
		goto fail;
	}
	if (!d->adopted || upgrading) {
		err = attach_new(d, d->conf, &base, why, sizeof(why));
		if (err) {
			pr_err("%s; cidlbd does not start, nothing stays attached", why);
			goto fail;
		}
	}
	if (d->replace_fd >= 0 && upgrade_replace_prog(d, why, sizeof(why)))
		pr_warn("%s", why);
	sync_interfaces(d, d->conf);
	save_state(d);
	retire_index_load(d); /* CIDs an adopted map holds expire too */
	/* an adopted program's decodes happened at some time before: count
	 * them as now, so that a key change waits a quarantine */
	qlb_sample(d);
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = d->wake_fd < 0 ? -errno : ctl_listen(d);
	if (!err)
		err = metrics_start(d);
	if (!err)
		err = health_start(d);
	if (err)
		goto fail;
	pthread_mutex_lock(&d->lock);
	announce_sync(d);
	pthread_mutex_unlock(&d->lock);
	d->last_reload_ok = true;
	snprintf(d->last_reload_msg, sizeof(d->last_reload_msg), "started");
	sd_notifyf("READY=1\nSTATUS=running: %d interface%s, %d backends%s", d->n_ifs,
		   d->n_ifs == 1 ? "" : "s", d->conf->n_backends, d->adopted ? " (adopted)" : "");
	pr_info("ready: %d interface%s, %d VIP%s, %d backend%s%s", d->n_ifs,
		d->n_ifs == 1 ? "" : "s", d->conf->n_vips, d->conf->n_vips == 1 ? "" : "s",
		d->conf->n_backends, d->conf->n_backends == 1 ? "" : "s",
		d->adopted ? " (adopted a running program)" : "");

	if (run(d)) {
		teardown(d, true);
		return 1;
	}
	teardown(d, d->stop_keep);
	cidlb_state_free(&d->st);
	cidlb_conf_free(d->conf);
	for (uint32_t p = 0; d->maglev && p < d->n_maglev; p++)
		free(d->maglev[p]);
	free(d->maglev);
	retire_index_free(d);
	return 0;

fail:
	/* a program we just loaded goes away; an adopted one keeps running */
	if (d->replace_fd >= 0)
		close(d->replace_fd);
	if (d->old_lb) {
		pr_err("the upgrade stopped before the program was swapped: the older program keeps forwarding with its pins as they were");
		upgrade_abort(d);
		return 1;
	}
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
