// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_backend.c - `cidlb backend list|add|drain|activate|remove|weight|
 * quarantine`:
 * live changes through cidlbd. Each one is applied so that a packet sees
 * the old state or the new one (docs/operations.md). Changes last until the
 * next reload, which makes the running set equal to the file again: write
 * lasting changes into the file too.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cidlb.h"
#include "cidlb_maps.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cidlb [-j] backend list\n"
		"       cidlb [-j] backend add NAME --address ADDR [--server-id CONFIG:HEX]...\n"
		"                  [--pool POOL] [--weight N] [--mac MAC] [--mode encap|direct]\n"
		"                  [--draining] [--encap ipip|gue] [--gue-port PORT]\n"
		"                  [--health on|off] [--health-interval MS]\n"
		"                  [--health-timeout MS] [--health-fall N] [--health-rise N]\n"
		"       cidlb [-j] backend drain NAME\n"
		"       cidlb [-j] backend activate NAME\n"
		"       cidlb [-j] backend remove NAME\n"
		"       cidlb [-j] backend weight NAME N\n"
		"       cidlb [-j] backend quarantine\n"
		"\n"
		"drain     keeps the backend's CID-routed connections and known flows, gives\n"
		"          it no new fallback flows (Maglev rebuilt without it).\n"
		"activate  undoes drain.\n"
		"remove    its server IDs are quarantined ([daemon] quarantine, default\n"
		"          3600 s): never given to another backend meanwhile; packets\n"
		"          carrying them take the fallback route, so a surviving server\n"
		"          answers with a stateless reset and the client reconnects.\n"
		"weight    0..65535, share of new fallback flows (0: none).\n"
		"--pool    the pool it serves, where the configuration names pools.\n"
		"--health...  its own health checks (unset: [lb]'s).\n"
		"quarantine  the server IDs of removed backends still held back, with\n"
		"          their config ID, former owner and seconds left.\n"
		"\n"
		"Live changes last until the next reload: put lasting ones in the file.\n"
		"Exit: 0 done, 1 no such backend, 2 bad arguments or request refused as\n"
		"invalid, 3 refused (e.g. quarantined server ID) or failed.\n");
}

/* The MODE column: the forwarding mode, then the encapsulation, with the
 * GUE port where it is not the default: "direct", "encap-fib/ipip",
 * "encap-mac/gue:7000". */
static const char *mode_str(json_t *b, char *buf, size_t len)
{
	const char *mode = json_string_value(json_object_get(b, "mode"));
	const char *encap = json_string_value(json_object_get(b, "encap"));
	json_int_t port = json_integer_value(json_object_get(b, "gue_port"));

	if (!mode)
		return "-";
	if (!encap)
		snprintf(buf, len, "%s", mode);
	else if (port && port != CIDLB_GUE_PORT_DEFAULT)
		snprintf(buf, len, "%s/%s:%lld", mode, encap, (long long)port);
	else
		snprintf(buf, len, "%s/%s", mode, encap);
	return buf;
}

static void print_list(json_t *a)
{
	size_t i;
	json_t *b;

	printf("%-16s %-12s %5s %-24s %-9s %-7s %6s %-18s %-20s %12s %14s\n", "NAME", "POOL",
	       "INDEX", "ADDRESS", "STATE", "HEALTH", "WEIGHT", "MODE", "SERVER IDS", "PACKETS",
	       "BYTES");
	json_array_foreach (a, i, b) {
		char sids[128] = "", mode[48];
		const char *k, *health, *pool;
		json_t *v;
		size_t off = 0;

		json_object_foreach (json_object_get(b, "server_ids"), k, v)
			off += (size_t)snprintf(sids + off,
						off < sizeof(sids) ? sizeof(sids) - off : 0,
						"%s%s:%s", off ? "," : "", k, json_string_value(v));
		health = json_string_value(json_object_get(b, "health"));
		pool = json_string_value(json_object_get(b, "pool"));
		printf("%-16s %-12s %5lld %-24s %-9s %-7s %6lld %-18s %-20s %12lld %14lld\n",
		       json_string_value(json_object_get(b, "name")), pool && *pool ? pool : "-",
		       (long long)json_integer_value(json_object_get(b, "index")),
		       json_string_value(json_object_get(b, "address")),
		       json_string_value(json_object_get(b, "state")), health ? health : "-",
		       (long long)json_integer_value(json_object_get(b, "weight")),
		       mode_str(b, mode, sizeof(mode)), sids[0] ? sids : "-",
		       (long long)json_integer_value(json_object_get(b, "packets")),
		       (long long)json_integer_value(json_object_get(b, "bytes")));
	}
}

static int show(json_t *reply, const char *what, const char *name)
{
	if (cidlb_json)
		cidlb_print_json(reply);
	else
		printf("backend %s: %s\n", name, what);
	json_decref(reply);
	return CIDLB_EXIT_OK;
}

/* The configuration key of a --health... option of backend add. */
static const char *health_key(int c)
{
	switch (c) {
	case 'H':
		return "health";
	case 'I':
		return "health_interval";
	case 'T':
		return "health_timeout";
	case 'F':
		return "health_fall";
	default:
		return "health_rise";
	}
}

static int do_add(int argc, char **argv)
{
	static const struct option opts[] = { { "address", required_argument, NULL, 'a' },
					      { "server-id", required_argument, NULL, 's' },
					      { "weight", required_argument, NULL, 'w' },
					      { "pool", required_argument, NULL, 'p' },
					      { "mac", required_argument, NULL, 'm' },
					      { "mode", required_argument, NULL, 'M' },
					      { "encap", required_argument, NULL, 'E' },
					      { "gue-port", required_argument, NULL, 'G' },
					      { "draining", no_argument, NULL, 'd' },
					      { "health", required_argument, NULL, 'H' },
					      { "health-interval", required_argument, NULL, 'I' },
					      { "health-timeout", required_argument, NULL, 'T' },
					      { "health-fall", required_argument, NULL, 'F' },
					      { "health-rise", required_argument, NULL, 'R' },
					      { 0 } };
	json_t *spec = json_object(), *sids = json_object(), *reply;
	const char *name = NULL;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			json_object_set_new(spec, "address", json_string(optarg));
			break;
		case 's': {
			char *colon = strchr(optarg, ':'), msg[256];
			uint8_t sid[CIDLB_SID_MAX];
			size_t n;

			if (!colon || colon == optarg || colon[1] == '\0' || colon - optarg > 1) {
				ret = cidlb_usage_error(
					"backend add: --server-id '%s': must be CONFIG:HEX, e.g. 0:0a0b0c",
					optarg);
				goto out;
			}
			*colon = '\0';
			/* the daemon's rule (ctl/hex.h), checked before anything is sent */
			if (cidlb_parse_hex_msg("server ID", colon + 1, sid, 1, sizeof(sid), &n,
						msg, sizeof(msg))) {
				ret = cidlb_usage_error("backend add: --server-id %s:%s: %s",
							optarg, colon + 1, msg);
				goto out;
			}
			json_object_set_new(sids, optarg, json_string(colon + 1));
			break;
		}
		case 'w':
			json_object_set_new(spec, "weight", json_string(optarg));
			break;
		case 'p':
			json_object_set_new(spec, "pool", json_string(optarg));
			break;
		case 'm':
			json_object_set_new(spec, "mac", json_string(optarg));
			break;
		case 'M':
			json_object_set_new(spec, "mode", json_string(optarg));
			break;
		case 'E': /* the daemon checks both as the file's keys */
			json_object_set_new(spec, "encap", json_string(optarg));
			break;
		case 'G':
			json_object_set_new(spec, "gue_port", json_string(optarg));
			break;
		case 'd':
			json_object_set_new(spec, "state", json_string("draining"));
			break;
		case 'H':
		case 'I':
		case 'T':
		case 'F':
		case 'R': /* the daemon checks them as the file's keys */
			json_object_set_new(spec, health_key(c), json_string(optarg));
			break;
		case ':':
			ret = cidlb_usage_error("backend add: %s needs a value", argv[optind - 1]);
			goto out;
		default:
			ret = cidlb_usage_error(
				"backend add: unknown option '%s' (try 'cidlb backend help')",
				argv[optind - 1]);
			goto out;
		}
	}
	if (optind >= argc) {
		ret = cidlb_usage_error("backend add: missing NAME");
		goto out;
	}
	name = argv[optind];
	if (optind + 1 < argc) {
		ret = cidlb_usage_error("backend add: unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	if (!json_object_get(spec, "address")) {
		ret = cidlb_usage_error(
			"backend add: --address is required (the backend's IPv4 or IPv6 address)");
		goto out;
	}
	json_object_set_new(spec, "name", json_string(name));
	json_object_set(spec, "server_id", sids);
	ret = cidlb_call(json_pack("{s:s,s:O}", "cmd", "backend.add", "backend", spec), &reply);
	if (!ret)
		ret = show(reply, "added", name);
out:
	json_decref(spec);
	json_decref(sids);
	return ret;
}

int cmd_backend(int argc, char **argv)
{
	const char *verb;
	json_t *reply;
	int ret;

	if (argc < 1)
		return cidlb_usage_error(
			"backend: missing VERB: list, add, drain, activate, remove, weight, quarantine or help");
	verb = argv[0];
	if (!strcmp(verb, "help")) {
		usage(stdout);
		return CIDLB_EXIT_OK;
	}
	if (!strcmp(verb, "list")) {
		if (argc > 1)
			return cidlb_usage_error("backend list: unexpected argument '%s'", argv[1]);
		ret = cidlb_call(json_pack("{s:s}", "cmd", "backend.list"), &reply);
		if (ret)
			return ret;
		if (cidlb_json)
			cidlb_print_json(json_object_get(reply, "backends"));
		else
			print_list(json_object_get(reply, "backends"));
		json_decref(reply);
		return CIDLB_EXIT_OK;
	}
	if (!strcmp(verb, "quarantine")) {
		json_t *q, *e;
		size_t i;

		if (argc > 1)
			return cidlb_usage_error("backend quarantine: unexpected argument '%s'",
						 argv[1]);
		ret = cidlb_call(json_pack("{s:s}", "cmd", "quarantine.list"), &reply);
		if (ret)
			return ret;
		q = json_object_get(reply, "quarantine");
		if (cidlb_json) {
			cidlb_print_json(q);
		} else {
			printf("%-12s %-6s %-32s %-16s %s\n", "POOL", "CONFIG", "SERVER ID", "WAS",
			       "SECONDS LEFT");
			json_array_foreach (q, i, e)
				printf("%-12s %-6lld %-32s %-16s %lld\n",
				       *(json_string_value(json_object_get(e, "pool")) ?: "") ?
					       json_string_value(json_object_get(e, "pool")) :
					       "-",
				       (long long)json_integer_value(
					       json_object_get(e, "config_id")),
				       json_string_value(json_object_get(e, "server_id")) ?: "?",
				       json_string_value(json_object_get(e, "owner")) ?: "?",
				       (long long)json_integer_value(
					       json_object_get(e, "seconds_left")));
		}
		json_decref(reply);
		return CIDLB_EXIT_OK;
	}
	if (!strcmp(verb, "add"))
		return do_add(argc, argv);
	if (!strcmp(verb, "drain") || !strcmp(verb, "activate") || !strcmp(verb, "remove")) {
		char cmd[32];

		if (argc != 2)
			return cidlb_usage_error("backend %s: needs exactly one NAME", verb);
		snprintf(cmd, sizeof(cmd), "backend.%s", verb);
		ret = cidlb_call(json_pack("{s:s,s:s}", "cmd", cmd, "name", argv[1]), &reply);
		if (ret)
			return ret;
		return show(reply,
			    !strcmp(verb, "drain")    ? "draining" :
			    !strcmp(verb, "activate") ? "active" :
							"removed, its server IDs quarantined",
			    argv[1]);
	}
	if (!strcmp(verb, "weight")) {
		char *end;
		long w;

		if (argc != 3)
			return cidlb_usage_error(
				"backend weight: needs NAME and a weight 0..65535");
		w = strtol(argv[2], &end, 10);
		if (!*argv[2] || *end || w < 0 || w > 65535)
			return cidlb_usage_error("backend weight: '%s': must be a number 0..65535",
						 argv[2]);
		ret = cidlb_call(json_pack("{s:s,s:s,s:i}", "cmd", "backend.weight", "name",
					   argv[1], "weight", (int)w),
				 &reply);
		if (ret)
			return ret;
		return show(reply, "weight set", argv[1]);
	}
	return cidlb_usage_error(
		"backend: unknown verb '%s': list, add, drain, activate, remove, weight, quarantine or help",
		verb);
}
