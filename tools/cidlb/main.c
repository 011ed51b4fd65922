// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * main.c - `cidlb [-j] OBJECT VERB [args]`: global flags and the object
 * table. Each object is in its own cmd_OBJECT.c (see cidlb.h).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl/lb.h"
#include "ctl/log.h"
#include "ctl/paths.h"
#include "cidlb.h"

bool cidlb_json;

static const struct cidlb_object objects[] = {
	{ "status", cmd_status, "is cidlbd running, and what it runs" },
	{ "backend", cmd_backend,
	  "list, add, drain, activate, remove, weight backends; quarantine" },
	{ "cid", cmd_cid, "encode, decode, retire and list QUIC-LB connection IDs" },
	{ "stats", cmd_stats, "data-path counters and per-backend traffic (pinned maps)" },
	{ "top", cmd_top, "live rates: traffic, CID share, drops, cache, backends (pinned maps)" },
	{ "config", cmd_config, "check a cidlbd configuration file, list its keys" },
	{ "trace", cmd_trace, "run one packet through the loaded program" },
	{ "daemon", cmd_daemon, "reload cidlbd, or stop it (--keep: forwarding continues)" },
	{ "decap", cmd_decap, "backend side: attach the decapsulation program" },
};

#define N_OBJECTS (sizeof(objects) / sizeof(objects[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: cidlb [-j] [-d] OBJECT VERB [args]\n"
		   "       cidlb help\n"
		   "       cidlb OBJECT help\n"
		   "\n"
		   "  -j, --json   print JSON\n"
		   "  -d, --debug  also print debug lines (libbpf, libxdp, the library)\n"
		   "  -h, --help   this text\n"
		   "\n"
		   "Objects:\n");
	for (i = 0; i < N_OBJECTS; i++)
		fprintf(f, "  %-10s %s\n", objects[i].name, objects[i].summary);
	fprintf(f, "\n"
		   "Exit status: 0 success, 1 negative answer (e.g. unroutable CID, no such\n"
		   "backend, cidlbd not running for 'status'), 2 bad arguments, 3 operation\n"
		   "failed (or cidlbd unreachable, or it refused the change).\n"
		   "\n"
		   "cidlbd is found through CIDLB_SOCKET, CIDLB_PIN_DIR, CIDLB_STATE_FILE, else\n"
		   "the [daemon] keys of CIDLB_CONFIG (default /etc/cidlb/cidlb.conf), else\n"
		   "/run/cidlb/cidlbd.sock, /sys/fs/bpf/cidlb, /run/cidlb/state.json.\n");
}

static int vmsg(int ret, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static int vmsg(int ret, const char *fmt, va_list ap)
{
	log_vmsg(LOG_ERR, fmt, ap);
	return ret;
}

int cidlb_usage_error(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vmsg(CIDLB_EXIT_USAGE, fmt, ap);
	va_end(ap);
	return ret;
}

int cidlb_fail(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vmsg(CIDLB_EXIT_FAIL, fmt, ap);
	va_end(ap);
	return ret;
}

int cidlb_open_pins(const char *what, const struct cidlb_paths *p, struct cidlb_lb **lb)
{
	char why[1024];
	int err = cidlb_lb_open_pinned(p->pin_dir, lb);

	if (err)
		return cidlb_fail(
			"%s: no cidlb program pinned under %s: %s (is cidlb loaded? see 'cidlb status')",
			what, p->pin_dir, strerror(-err));
	if (cidlb_lb_check_pins(*lb, NULL, p->pin_dir, why, sizeof(why))) {
		cidlb_lb_close(*lb);
		*lb = NULL;
		return cidlb_fail("%s: %s", what, why);
	}
	return CIDLB_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      { "debug", no_argument, NULL, 'd' },
					      { "help", no_argument, NULL, 'h' },
					      { 0 } };
	const char *obj;
	size_t i;
	int c;

	/* errors and warnings; -d adds the rest */
	log_init("cidlb", false);
	log_level = LOG_WARNING;
	opterr = 0;
	/* '+': stop at the object, its own flags follow it */
	while ((c = getopt_long(argc, argv, "+:jdh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			cidlb_json = true;
			break;
		case 'd':
			log_level = LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return CIDLB_EXIT_OK;
		default:
			return cidlb_usage_error("unknown option '%s' (global options: -j, -d, -h)",
						 argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cidlb_usage_error("missing OBJECT (try 'cidlb help')");
	obj = argv[optind];
	if (!strcmp(obj, "help")) {
		usage(stdout);
		return CIDLB_EXIT_OK;
	}
	for (i = 0; i < N_OBJECTS; i++)
		if (!strcmp(obj, objects[i].name))
			return objects[i].run(argc - optind - 1, argv + optind + 1);
	return cidlb_usage_error("unknown object '%s' (try 'cidlb help')", obj);
}
