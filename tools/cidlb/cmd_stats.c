// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_stats.c - `cidlb stats [reset]`: the data-path counters summed over CPUs
 * and the per-backend packets and bytes, read from the pinned maps
 * directly, so they work while cidlbd is stopped or restarting. Backend
 * names come from cidlbd's state file.
 */
#include <errno.h>
#include <string.h>
#include <jansson.h>

#include "ctl/lb.h"
#include "ctl/paths.h"
#include "ctl/statefile.h"
#include "cidlb.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: cidlb [-j] stats\n"
		   "       cidlb stats reset\n"
		   "\n"
		   "Every data-path counter (summed over CPUs) and each backend's packets\n"
		   "and bytes, from the maps pinned under CIDLB_PIN_DIR or [daemon] pin_dir\n"
		   "(default /sys/fs/bpf/cidlb). Works without cidlbd. reset sets them, and\n"
		   "the per-config decode counts, to 0 (a packet in flight on another CPU\n"
		   "may still count in the old period; Prometheus sees a counter reset).\n"
		   "Exit 0, or 3 when nothing is pinned there.\n");
}

int cmd_stats(int argc, char **argv)
{
	struct cidlb_paths p;
	struct cidlb_counters c;
	struct cidlb_state st;
	struct cidlb_lb *lb;
	json_t *o = NULL, *cj = NULL, *bj = NULL;
	char why[1024];
	bool have_names;
	uint32_t idx;
	size_t i;
	int err;

	if (argc >= 1 && !strcmp(argv[0], "help")) {
		usage(stdout);
		return CIDLB_EXIT_OK;
	}
	if (argc > 1 || (argc == 1 && strcmp(argv[0], "reset")))
		return cidlb_usage_error("stats: unexpected argument '%s' (only 'reset')",
					 argv[argc > 1 && !strcmp(argv[0], "reset")]);
	cidlb_paths_resolve(&p);
	if (cidlb_open_pins("stats", &p, &lb))
		return CIDLB_EXIT_FAIL;
	if (argc == 1) {
		err = cidlb_lb_reset_counters(lb);
		cidlb_lb_close(lb);
		if (err)
			return cidlb_fail("cannot reset the counters under %s: %s", p.pin_dir,
					  strerror(-err));
		if (!cidlb_json)
			printf("counters reset\n");
		return CIDLB_EXIT_OK;
	}
	err = cidlb_lb_read_counters(lb, &c);
	if (err) {
		cidlb_lb_close(lb);
		return cidlb_fail("cannot read %s/%s: %s", p.pin_dir, CIDLB_MAP_COUNTERS,
				  strerror(-err));
	}
	have_names = !cidlb_state_read(p.state_file, &st, why, sizeof(why));
	if (cidlb_json) {
		o = json_object();
		cj = json_object();
		bj = json_array();
	}
	for (i = 0; i < cidlb_counter_count; i++) {
		unsigned long long v =
			*(const __u64 *)((const char *)&c + cidlb_counter_descs[i].offset);

		if (cidlb_json)
			json_object_set_new(cj, cidlb_counter_descs[i].name,
					    json_integer((json_int_t)v));
		else
			printf("%-24s %llu\n", cidlb_counter_descs[i].name, v);
	}
	if (!cidlb_json)
		printf("\n%-16s %5s %14s %16s\n", "BACKEND", "INDEX", "PACKETS", "BYTES");
	for (idx = 0; idx < CIDLB_MAX_BACKENDS; idx++) {
		struct cidlb_backend_stats s;
		const char *name = have_names ? cidlb_state_name(&st, idx) : NULL;

		if (cidlb_lb_read_backend_stats(lb, idx, &s) || (!name && !s.packets))
			continue;
		if (cidlb_json)
			json_array_append_new(bj, json_pack("{s:i,s:s?,s:I,s:I}", "index", (int)idx,
							    "name", name, "packets",
							    (json_int_t)s.packets, "bytes",
							    (json_int_t)s.bytes));
		else
			printf("%-16s %5u %14llu %16llu\n", name ? name : "-", idx,
			       (unsigned long long)s.packets, (unsigned long long)s.bytes);
	}
	if (cidlb_json) {
		json_object_set_new(o, "counters", cj);
		json_object_set_new(o, "backends", bj);
		cidlb_print_json(o);
		json_decref(o);
	}
	if (have_names)
		cidlb_state_free(&st);
	cidlb_lb_close(lb);
	return CIDLB_EXIT_OK;
}
