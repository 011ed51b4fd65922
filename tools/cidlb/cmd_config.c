// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_config.c - `cidlb config check FILE`: the same parser and checks as
 * cidlbd, without touching a map. Every error names file, line and key.
 * `cidlb config keys`: every key the file may hold, from the parser's table.
 */
#include <errno.h>
#include <string.h>
#include <jansson.h>

#include "ctl/config.h"
#include "cidlb.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: cidlb [-j] config check FILE [--no-system]\n"
		   "       cidlb [-j] config keys\n"
		   "\n"
		   "Checks a cidlbd configuration file as cidlbd would, changing nothing.\n"
		   "--no-system  skip the checks against this host (interfaces exist), to\n"
		   "             check a file meant for another host.\n"
		   "Exit 0 valid, 1 invalid (one line per error on stderr: FILE:LINE: [section]\n"
		   "key: problem; what is allowed), 2 bad arguments, 3 the file cannot be read.\n"
		   "\n"
		   "keys lists every key: section, key, type, default (- for none), and what it\n"
		   "sets; with -j also the range of numbers.\n");
}

static int keys(void)
{
	const struct cidlb_conf_key *k;
	json_t *arr, *o;
	size_t i;

	if (!cidlb_json) {
		printf("%-14s %-18s %-13s %-22s %s\n", "SECTION", "KEY", "TYPE", "DEFAULT", "WHAT");
		for (i = 0; i < cidlb_conf_n_keys; i++) {
			char sec[32];

			k = &cidlb_conf_keys[i];
			snprintf(sec, sizeof(sec), "[%s]", cidlb_conf_sec_str(k->section));
			printf("%-14s %-18s %-13s %-22s %s\n", sec, k->name,
			       cidlb_conf_type_str(k->type), k->def ? k->def : "-", k->help);
		}
		return CIDLB_EXIT_OK;
	}
	arr = json_array();
	for (i = 0; i < cidlb_conf_n_keys; i++) {
		o = json_object();
		k = &cidlb_conf_keys[i];
		json_object_set_new(o, "section", json_string(cidlb_conf_sec_str(k->section)));
		json_object_set_new(o, "key", json_string(k->name));
		json_object_set_new(o, "type", json_string(cidlb_conf_type_str(k->type)));
		json_object_set_new(o, "default", k->def ? json_string(k->def) : json_null());
		if (k->type == CIDLB_CT_NUM || k->type == CIDLB_CT_PORT) {
			json_object_set_new(o, "min", json_integer(k->min));
			json_object_set_new(o, "max", json_integer(k->max));
		}
		json_object_set_new(o, "help", json_string(k->help));
		json_array_append_new(arr, o);
	}
	o = json_object();
	json_object_set_new(o, "keys", arr);
	cidlb_print_json(o);
	json_decref(o);
	return CIDLB_EXIT_OK;
}

static int check(const char *path, bool system)
{
	struct cidlb_conf *c = NULL;
	int err = cidlb_conf_load(path, system ? CIDLB_CONF_CHECK_SYSTEM : 0, &c);
	int ret, i, n_cfg = 0;

	if (!c)
		return cidlb_fail("config check: %s", strerror(-err));
	for (i = 0; i < c->n_pools * CIDLB_CONFIG_IDS; i++)
		n_cfg += c->pools[i / CIDLB_CONFIG_IDS].qlb[i % CIDLB_CONFIG_IDS].present;
	ret = !err ? CIDLB_EXIT_OK : err == -EINVAL ? CIDLB_EXIT_NO : CIDLB_EXIT_FAIL;
	if (c->errors)
		fputs(c->errors, stderr);
	if (cidlb_json) {
		json_t *o = json_object(), *errs = json_array();
		const char *p = c->errors;

		while (p && *p) {
			size_t len = strcspn(p, "\n");

			json_array_append_new(errs, json_stringn(p, len));
			p += len + (p[len] == '\n');
		}
		json_object_set_new(o, "file", json_string(path));
		json_object_set_new(o, "valid", json_boolean(!err));
		json_object_set_new(o, "errors", errs);
		if (!err) {
			json_object_set_new(o, "interfaces", json_integer(c->n_ifaces));
			json_object_set_new(o, "vips", json_integer(c->n_vips));
			json_object_set_new(o, "quic_lb_configs", json_integer(n_cfg));
			if (c->pools_named)
				json_object_set_new(o, "pools", json_integer(c->n_pools));
			json_object_set_new(o, "backends", json_integer(c->n_backends));
		}
		cidlb_print_json(o);
		json_decref(o);
	} else if (!err) {
		printf("%s: valid: %d interface%s, %d VIP%s, %d QUIC-LB config%s, %d backend%s\n",
		       path, c->n_ifaces, c->n_ifaces == 1 ? "" : "s", c->n_vips,
		       c->n_vips == 1 ? "" : "s", n_cfg, n_cfg == 1 ? "" : "s", c->n_backends,
		       c->n_backends == 1 ? "" : "s");
	} else if (err == -EINVAL) {
		fprintf(stderr, "%s: invalid, %zu error%s\n", path, c->n_errors,
			c->n_errors == 1 ? "" : "s");
	}
	cidlb_conf_free(c);
	return ret;
}

int cmd_config(int argc, char **argv)
{
	const char *file = NULL;
	bool system = true;
	int i;

	if (argc < 1)
		return cidlb_usage_error("config: missing VERB: check, keys or help");
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return CIDLB_EXIT_OK;
	}
	if (!strcmp(argv[0], "keys")) {
		if (argc > 1)
			return cidlb_usage_error("config keys: unexpected argument '%s'", argv[1]);
		return keys();
	}
	if (strcmp(argv[0], "check"))
		return cidlb_usage_error("config: unknown verb '%s': check, keys or help", argv[0]);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-system"))
			system = false;
		else if (argv[i][0] == '-' && argv[i][1])
			return cidlb_usage_error("config check: unknown option '%s' (--no-system)",
						 argv[i]);
		else if (file)
			return cidlb_usage_error(
				"config check: unexpected argument '%s' (one FILE)", argv[i]);
		else
			file = argv[i];
	}
	if (!file)
		return cidlb_usage_error("config check: missing FILE");
	return check(file, system);
}
