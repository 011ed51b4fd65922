// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_daemon.c - `cidlb daemon reload|stop [--keep]|drain|undrain`, and the
 * one function every object uses to talk to cidlbd over its control socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "cidlb_maps.h"
#include "ctl/config.h"
#include "ctl/ctlsock.h"
#include "ctl/lb.h"
#include "ctl/log.h"
#include "ctl/paths.h"
#include "cidlb.h"

#define DRAIN_TIMEOUT_S 120 /* default --timeout */
#define DRAIN_QUIET_S	5   /* default --quiet */
#define DRAIN_QUIET_PPS 1   /* at most this many VIP packets a second is quiet */

void cidlb_print_json(json_t *o)
{
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

int cidlb_call(json_t *req, json_t **reply)
{
	struct cidlb_paths p;
	const char *code, *msg;
	char why[1024];
	json_t *r;
	int err;

	*reply = NULL;
	cidlb_paths_resolve(&p);
	err = cidlb_ctl_call(p.socket, req, &r, why, sizeof(why));
	json_decref(req);
	if (err)
		return cidlb_fail("%s", why);
	if (json_is_true(json_object_get(r, "ok"))) {
		*reply = r;
		return CIDLB_EXIT_OK;
	}
	code = json_string_value(json_object_get(r, "code"));
	msg = json_string_value(json_object_get(r, "error"));
	pr_err("cidlbd: %s", msg ? msg : "request refused");
	if (cidlb_json)
		cidlb_print_json(r);
	if (code && !strcmp(code, CIDLB_CTL_E_NOT_FOUND))
		err = CIDLB_EXIT_NO;
	else if (code && !strcmp(code, CIDLB_CTL_E_BAD_REQUEST))
		err = CIDLB_EXIT_USAGE;
	else
		err = CIDLB_EXIT_FAIL;
	json_decref(r);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cidlb [-j] daemon reload\n"
		"       cidlb [-j] daemon stop [--keep]\n"
		"       cidlb [-j] daemon drain [--timeout S] [--quiet S]\n"
		"       cidlb [-j] daemon undrain\n"
		"\n"
		"reload       read the configuration file again and apply the difference\n"
		"             (as SIGHUP); a bad file changes nothing and exits 3.\n"
		"stop         stop cidlbd: detach from the interfaces and unpin.\n"
		"stop --keep  stop cidlbd but leave the program attached and the maps\n"
		"             pinned: forwarding continues, the next cidlbd adopts them.\n"
		"drain        withdraw this host's VIP routes ([daemon] announce_table) so\n"
		"             that the routers send their traffic to the other hosts, then\n"
		"             wait until the VIP packets this host receives stay at most\n"
		"             1 a second for --quiet S seconds (default 5), at most --timeout S\n"
		"             (default 120, 0: do not wait). Exit 0: safe to stop; 1: traffic\n"
		"             still arrives (the host stays drained). Kept across restarts.\n"
		"undrain      announce the VIPs again (where the program forwards and a\n"
		"             backend is healthy).\n"
		"\n"
		"cidlb finds cidlbd through CIDLB_SOCKET, else [daemon] control_socket of\n"
		"CIDLB_CONFIG (default /etc/cidlb/cidlb.conf), else /run/cidlb/cidlbd.sock.\n");
}

static void print_changes(json_t *changes)
{
	const char *k;
	json_t *v;

	if (!json_object_size(changes)) {
		printf("no change\n");
		return;
	}
	json_object_foreach (changes, k, v)
		printf("%-20s %lld\n", k, (long long)json_integer_value(v));
}

/* VIP packets the program has seen: all but those it passed to the kernel */
static int vip_packets(struct cidlb_lb *lb, uint64_t *n)
{
	struct cidlb_counters c;
	int err = cidlb_lb_read_counters(lb, &c);

	if (!err)
		*n = c.rx_packets - cidlb_counters_sum(&c, CIDLB_CK_PASS);
	return err;
}

static void print_announce(json_t *reply)
{
	json_t *a = json_object_get(reply, "announce"), *v;
	long long table = json_integer_value(json_object_get(a, "table"));
	int n = 0, on = 0;
	size_t i;

	json_array_foreach (json_object_get(a, "vips"), i, v) {
		n++;
		on += json_is_true(json_object_get(v, "announced"));
	}
	if (!table)
		printf("announce_table is 0: no route to withdraw or announce; the routers must be told by other means\n");
	else
		printf("table %lld: %d of %d VIP address%s announced%s%s\n", table, on, n,
		       n == 1 ? "" : "es", on < n ? ", withdrawn because: " : "",
		       on < n ? json_string_value(json_object_get(a, "withdrawn_because")) : "");
}

/* Wait for the VIP traffic to stop: CIDLB_EXIT_OK when it stayed at most
 * DRAIN_QUIET_PPS for @quiet seconds, CIDLB_EXIT_NO at @timeout. */
static int drain_wait(uint32_t timeout, uint32_t quiet)
{
	struct cidlb_paths p;
	struct cidlb_lb *lb;
	uint64_t first, last, now, rate = 0;
	uint32_t t, calm = 0;
	int ret;

	cidlb_paths_resolve(&p);
	ret = cidlb_open_pins("daemon drain", &p, &lb);
	if (ret)
		return ret;
	if (vip_packets(lb, &first)) {
		cidlb_lb_close(lb);
		return cidlb_fail("daemon drain: cannot read the counters under %s", p.pin_dir);
	}
	last = first;
	for (t = 1; t <= timeout && calm < quiet; t++) {
		sleep(1);
		if (vip_packets(lb, &now))
			continue;
		rate = now - last;
		last = now;
		calm = rate <= DRAIN_QUIET_PPS ? calm + 1 : 0;
		if (!cidlb_json && (t % 5 == 0 || calm == quiet))
			printf("%us: %llu VIP packets/s, quiet for %us of %us\n", t,
			       (unsigned long long)rate, calm, quiet);
		fflush(stdout);
	}
	cidlb_lb_close(lb);
	if (cidlb_json) {
		json_t *o = json_pack("{s:b,s:b,s:i,s:I,s:I}", "drained", 1, "safe", calm >= quiet,
				      "seconds", (json_int_t)(t - 1), "packets_since_drain",
				      (json_int_t)(last - first), "packets_per_second",
				      (json_int_t)rate);

		cidlb_print_json(o);
		json_decref(o);
	} else if (calm >= quiet) {
		printf("safe to stop: no VIP traffic for %us (%llu VIP packets since the drain)\n",
		       quiet, (unsigned long long)(last - first));
	} else {
		printf("NOT safe to stop yet: %llu VIP packets/s after %us; the host stays drained (run drain again to wait more)\n",
		       (unsigned long long)rate, timeout);
	}
	return calm >= quiet ? CIDLB_EXIT_OK : CIDLB_EXIT_NO;
}

static int drain(int argc, char **argv)
{
	uint32_t timeout = DRAIN_TIMEOUT_S, quiet = DRAIN_QUIET_S;
	json_t *reply;
	int i, ret;

	for (i = 1; i < argc; i += 2) { /* OPTION SECONDS */
		uint32_t *v = !strcmp(argv[i], "--timeout") ? &timeout :
			      !strcmp(argv[i], "--quiet")   ? &quiet :
							      NULL;

		if (!v)
			return cidlb_usage_error(
				"daemon drain: unknown option '%s': --timeout S, --quiet S",
				argv[i]);
		if (i + 1 >= argc || cidlb_parse_u32(argv[i + 1], v == &quiet ? 1 : 0, 86400, v))
			return cidlb_usage_error("daemon drain: %s needs seconds, %u..86400",
						 argv[i], v == &quiet ? 1 : 0);
	}
	ret = cidlb_call(json_pack("{s:s}", "cmd", "drain"), &reply);
	if (ret)
		return ret;
	if (cidlb_json && !timeout)
		cidlb_print_json(reply);
	if (!cidlb_json) {
		printf("drained%s; ",
		       json_is_true(json_object_get(reply, "changed")) ? "" : " already");
		print_announce(reply);
	}
	json_decref(reply);
	if (!timeout)
		return CIDLB_EXIT_OK;
	return drain_wait(timeout, quiet);
}

int cmd_daemon(int argc, char **argv)
{
	json_t *req, *reply;
	int ret;

	if (argc < 1)
		return cidlb_usage_error(
			"daemon: missing VERB: reload, stop, drain, undrain or help");
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return CIDLB_EXIT_OK;
	}
	if (!strcmp(argv[0], "reload")) {
		if (argc > 1)
			return cidlb_usage_error("daemon reload: unexpected argument '%s'",
						 argv[1]);
		ret = cidlb_call(json_pack("{s:s}", "cmd", "reload"), &reply);
		if (ret)
			return ret;
		if (cidlb_json)
			cidlb_print_json(reply);
		else
			print_changes(json_object_get(reply, "changes"));
		json_decref(reply);
		return CIDLB_EXIT_OK;
	}
	if (!strcmp(argv[0], "stop")) {
		bool keep = false;

		if (argc > 2 || (argc == 2 && strcmp(argv[1], "--keep")))
			return cidlb_usage_error("daemon stop: the only option is --keep");
		keep = argc == 2;
		req = json_pack("{s:s,s:b}", "cmd", "stop", "keep", keep);
		ret = cidlb_call(req, &reply);
		if (ret)
			return ret;
		if (cidlb_json)
			cidlb_print_json(reply);
		else
			printf("cidlbd stops%s\n",
			       keep ? "; the program stays attached and the maps pinned" :
				      ", detaches and unpins");
		json_decref(reply);
		return CIDLB_EXIT_OK;
	}
	if (!strcmp(argv[0], "drain"))
		return drain(argc, argv);
	if (!strcmp(argv[0], "undrain")) {
		if (argc > 1)
			return cidlb_usage_error("daemon undrain: unexpected argument '%s'",
						 argv[1]);
		ret = cidlb_call(json_pack("{s:s}", "cmd", "undrain"), &reply);
		if (ret)
			return ret;
		if (cidlb_json) {
			cidlb_print_json(reply);
		} else {
			printf("undrained%s; ",
			       json_is_true(json_object_get(reply, "changed")) ? "" : " already");
			print_announce(reply);
		}
		json_decref(reply);
		return CIDLB_EXIT_OK;
	}
	return cidlb_usage_error("daemon: unknown verb '%s': reload, stop, drain, undrain or help",
				 argv[0]);
}
