// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_status.c - `cidlb status`: what cidlbd says about itself, or, when
 * it is not running, whether a pinned program keeps forwarding anyway.
 * Exit 0: cidlbd runs; 1: it does not (forwarding may continue); 3: error.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "cidlb_maps.h"
#include "ctl/ctlsock.h"
#include "ctl/paths.h"
#include "cidlb.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cidlb [-j] status\n"
		"\n"
		"cidlbd's state: interfaces, backends by state, retired CIDs, quarantined\n"
		"server IDs, drain and VIP announcement, last reload. Exit 0 when cidlbd runs, 1 when it does not (then\n"
		"says whether a pinned program still forwards), 3 on error.\n");
}

static const char *dur(long long s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	return buf;
}

static int not_running(const struct cidlb_paths *p, const char *why)
{
	char prog[512];
	bool pinned;

	snprintf(prog, sizeof(prog), "%s/%s", p->pin_dir, CIDLB_PROG_MAIN);
	pinned = !access(prog, F_OK);
	if (cidlb_json) {
		json_t *o = json_pack("{s:b,s:s,s:b,s:s}", "running", 0, "reason", why, "pinned",
				      pinned, "pin_dir", p->pin_dir);

		cidlb_print_json(o);
		json_decref(o);
	} else {
		printf("cidlbd        not running (%s)\n", why);
		printf("program       %s\n",
		       pinned ?
			       "pinned: it keeps forwarding with the maps as they are; start cidlbd to adopt it" :
			       "not pinned: cidlb is not loaded");
		printf("pin dir       %s\n", p->pin_dir);
	}
	return CIDLB_EXIT_NO;
}

int cmd_status(int argc, char **argv)
{
	struct cidlb_paths p;
	json_t *r, *a, *v;
	char why[1024], b1[32];
	size_t i;
	int err;

	if (argc >= 1 && !strcmp(argv[0], "help")) {
		usage(stdout);
		return CIDLB_EXIT_OK;
	}
	if (argc >= 1)
		return cidlb_usage_error("status: unexpected argument '%s' (it takes none)",
					 argv[0]);
	cidlb_paths_resolve(&p);
	v = json_pack("{s:s}", "cmd", "status");
	err = cidlb_ctl_call(p.socket, v, &r, why, sizeof(why));
	json_decref(v);
	if (err == -ENOENT || err == -ECONNREFUSED)
		return not_running(&p, why);
	if (err)
		return cidlb_fail("%s", why);
	if (!json_is_true(json_object_get(r, "ok"))) {
		err = cidlb_fail("cidlbd: %s",
				 json_string_value(json_object_get(r, "error")) ?: "?");
		json_decref(r);
		return err;
	}
	if (cidlb_json) {
		json_object_del(r, "ok");
		json_object_set_new(r, "running", json_true());
		cidlb_print_json(r);
		json_decref(r);
		return CIDLB_EXIT_OK;
	}
	printf("cidlbd        running, pid %lld, up %s%s\n",
	       (long long)json_integer_value(json_object_get(r, "pid")),
	       dur(json_integer_value(json_object_get(r, "uptime")), b1, sizeof(b1)),
	       json_is_true(json_object_get(r, "adopted")) ? " (adopted a running program)" : "");
	printf("config        %s\n", json_string_value(json_object_get(r, "config")));
	printf("pin dir       %s\n", json_string_value(json_object_get(r, "pin_dir")));
	printf("on stop       %s\n", json_is_true(json_object_get(r, "keep_on_exit")) ?
					     "keep the program attached (--keep)" :
					     "detach and unpin");
	a = json_object_get(r, "interfaces");
	printf("interfaces   ");
	json_array_foreach (a, i, v)
		printf(" %s (%s%s, %s, MTU %lld)", json_string_value(json_object_get(v, "name")),
		       json_string_value(json_object_get(v, "mode")),
		       json_is_true(json_object_get(v, "dispatcher")) ? ", dispatcher" : "",
		       json_is_true(json_object_get(v, "attached")) ? "attached" : "NOT ATTACHED",
		       (long long)json_integer_value(json_object_get(v, "mtu")));
	printf("\n");
	printf("seed          %s\n", json_string_value(json_object_get(r, "seed")) ?: "?");
	printf("vips          %lld\n", (long long)json_integer_value(json_object_get(r, "vips")));
	if (json_array_size(json_object_get(r, "pools"))) {
		json_t *e;
		size_t k;

		printf("pools        ");
		json_array_foreach (json_object_get(r, "pools"), k, e)
			printf(" %s", json_string_value(e) ?: "?");
		printf("\n");
	}
	v = json_object_get(r, "backends");
	printf("backends      %lld active, %lld draining\n",
	       (long long)json_integer_value(json_object_get(v, "active")),
	       (long long)json_integer_value(json_object_get(v, "draining")));
	printf("quarantined   %lld server IDs\n",
	       (long long)json_integer_value(json_object_get(r, "quarantined_server_ids")));
	printf("retired CIDs  %lld\n",
	       (long long)json_integer_value(json_object_get(r, "retired_cids")));
	if (json_is_true(json_object_get(r, "drained"))) {
		time_t t = (time_t)json_integer_value(json_object_get(r, "drained_since"));
		char ts[64];

		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime(&t));
		printf("drained       yes, since %s (cidlb daemon undrain to end it)\n", ts);
	} else {
		printf("drained       no\n");
	}
	v = json_object_get(r, "announce");
	if (json_integer_value(json_object_get(v, "table"))) {
		json_t *e;
		int n = 0, on = 0;

		json_array_foreach (json_object_get(v, "vips"), i, e) {
			n++;
			on += json_is_true(json_object_get(e, "announced"));
		}
		printf("announced     %d of %d VIP address%s in table %lld%s%s\n", on, n,
		       n == 1 ? "" : "es",
		       (long long)json_integer_value(json_object_get(v, "table")),
		       on < n ? ", withdrawn because: " : "",
		       on < n ? json_string_value(json_object_get(v, "withdrawn_because")) : "");
		if (json_is_true(json_object_get(v, "fail_open")))
			printf("              while every backend is down by its health checks: the pools fail open (announce_fail_open = keep)\n");
	} else {
		printf("announced     off (announce_table = 0)\n");
	}
	v = json_object_get(r, "last_reload");
	if (json_integer_value(json_object_get(v, "time"))) {
		time_t t = (time_t)json_integer_value(json_object_get(v, "time"));
		char ts[64];

		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime(&t));
		printf("last reload   %s at %s: %s\n",
		       json_is_true(json_object_get(v, "ok")) ? "applied" : "REFUSED", ts,
		       json_string_value(json_object_get(v, "message")));
	} else {
		printf("last reload   none since start\n");
	}
	json_decref(r);
	return CIDLB_EXIT_OK;
}
