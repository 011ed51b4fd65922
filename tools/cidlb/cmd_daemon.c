// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_daemon.c - `cidlb daemon reload|stop [--keep]`, and the one function
 * every object uses to talk to cidlbd over its control socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "ctl/ctlsock.h"
#include "ctl/log.h"
#include "ctl/paths.h"
#include "cidlb.h"

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
	fprintf(f, "Usage: cidlb [-j] daemon reload\n"
		   "       cidlb [-j] daemon stop [--keep]\n"
		   "\n"
		   "reload       read the configuration file again and apply the difference\n"
		   "             (as SIGHUP); a bad file changes nothing and exits 3.\n"
		   "stop         stop cidlbd: detach from the interfaces and unpin.\n"
		   "stop --keep  stop cidlbd but leave the program attached and the maps\n"
		   "             pinned: forwarding continues, the next cidlbd adopts them.\n"
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

int cmd_daemon(int argc, char **argv)
{
	json_t *req, *reply;
	int ret;

	if (argc < 1)
		return cidlb_usage_error("daemon: missing VERB: reload, stop or help");
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
	return cidlb_usage_error("daemon: unknown verb '%s': reload, stop or help", argv[0]);
}
