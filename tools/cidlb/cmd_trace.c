// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_trace.c - `cidlb trace`: run one packet through the pinned cidlb
 * program with BPF_PROG_TEST_RUN and say what it does: the XDP action, the
 * reason (the counters that moved) and the backend (the per-backend
 * statistics that moved).
 *
 * The honest simple approach: it runs the live program on the live maps.
 * The packet is not sent anywhere, but it counts: the data-path counters
 * and the backend's statistics move by this one packet, and a packet that
 * takes the fallback route leaves an entry in the 4-tuple LRU table, as a
 * real one would. (A concurrent real packet on another CPU can move other
 * counters during the run; trace twice if the answer looks mixed.)
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "ctl/config.h"
#include "ctl/lb.h"
#include "ctl/paths.h"
#include "ctl/statefile.h"
#include "cidlb.h"

#define FRAME_MAX 9000

static void usage(FILE *f)
{
	fprintf(f, "Usage: cidlb [-j] trace HEX [--ingress DEV]\n"
		   "       cidlb [-j] trace --pcap FILE [--packet N] [--ingress DEV]\n"
		   "\n"
		   "Runs one Ethernet frame (hex, or packet N (default 1) of an Ethernet pcap\n"
		   "file) through the pinned cidlb program with BPF_PROG_TEST_RUN and prints\n"
		   "the XDP action, the reason (the counters that moved) and the backend.\n"
		   "--ingress DEV: the interface the frame arrives on, for the kernel's FIB\n"
		   "lookup (default: the first interface cidlbd attached to).\n"
		   "\n"
		   "NOTE: this runs the live program on the live maps: the counters and the\n"
		   "backend's statistics move by this one packet, and a fallback-routed\n"
		   "packet leaves its 4-tuple in the LRU table, as a real packet would. The\n"
		   "frame itself is not transmitted.\n"
		   "Exit 0 traced, 2 bad arguments, 3 failed (e.g. nothing pinned).\n");
}

static int read_pcap(const char *path, long n, uint8_t *buf, size_t max)
{
	uint8_t gh[24], rh[16];
	bool swap;
	uint32_t magic, link, len = 0;
	long i;
	FILE *f = fopen(path, "rb");

	if (!f) {
		cidlb_usage_error("trace: --pcap %s: %s", path, strerror(errno));
		return -1;
	}
	if (fread(gh, 1, 24, f) != 24)
		goto bad;
	memcpy(&magic, gh, 4);
	swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
	if (!swap && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d)
		goto bad;
	memcpy(&link, gh + 20, 4);
	if (swap)
		link = __builtin_bswap32(link);
	if (link != 1) {
		fclose(f);
		cidlb_usage_error("trace: --pcap %s: link type %u, only Ethernet (1) is supported",
				  path, link);
		return -1;
	}
	for (i = 1; i <= n; i++) {
		if (fread(rh, 1, 16, f) != 16) {
			fclose(f);
			cidlb_usage_error("trace: --pcap %s has only %ld packet%s", path, i - 1,
					  i == 2 ? "" : "s");
			return -1;
		}
		memcpy(&len, rh + 8, 4);
		if (swap)
			len = __builtin_bswap32(len);
		if (len > max || len == 0)
			goto bad;
		if (fread(buf, 1, len, f) != len)
			goto bad;
	}
	fclose(f);
	return (int)len;
bad:
	fclose(f);
	cidlb_usage_error("trace: --pcap %s: not a readable pcap file (classic format, Ethernet)",
			  path);
	return -1;
}

static const char *action_str(int a)
{
	switch (a) {
	case XDP_ABORTED:
		return "XDP_ABORTED";
	case XDP_DROP:
		return "XDP_DROP";
	case XDP_PASS:
		return "XDP_PASS";
	case XDP_TX:
		return "XDP_TX";
	case XDP_REDIRECT:
		return "XDP_REDIRECT";
	default:
		return "?";
	}
}

/* Per-backend packet counts of every index, to diff. */
static int snap_backends(struct cidlb_lb *lb, uint64_t *pk)
{
	uint32_t i;

	for (i = 0; i < CIDLB_MAX_BACKENDS; i++) {
		struct cidlb_backend_stats s = { 0 };

		if (cidlb_lb_read_backend_stats(lb, i, &s))
			return -1;
		pk[i] = s.packets;
	}
	return 0;
}

int cmd_trace(int argc, char **argv)
{
	static const struct option opts[] = { { "pcap", required_argument, NULL, 'p' },
					      { "packet", required_argument, NULL, 'n' },
					      { "ingress", required_argument, NULL, 'i' },
					      { "help", no_argument, NULL, 'h' },
					      { 0 } };
	static uint8_t in[FRAME_MAX], out[FRAME_MAX + 256];
	uint64_t *before = NULL, *after = NULL;
	struct cidlb_counters c0, c1;
	struct cidlb_paths p;
	struct cidlb_state st;
	struct cidlb_lb *lb = NULL;
	struct xdp_md ctx = { 0 };
	const char *pcap = NULL, *ingress = NULL;
	char why[1024];
	long pkt = 1;
	bool names = false;
	int c, len, ret = CIDLB_EXIT_FAIL;
	uint32_t ifindex = 0, idx, be = CIDLB_BACKEND_NONE;
	char pool_name[CIDLB_NAME_MAX + 1] = "";
	int pool = 0;
	size_t i;
	json_t *moved = json_array();
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1);

	/* trace has no verb: argv[0] is already an argument, so let getopt
	 * see the object name ("trace", just before it) as the program name */
	argc++;
	argv--;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pcap = optarg;
			break;
		case 'n':
			pkt = strtol(optarg, NULL, 10);
			if (pkt < 1)
				return cidlb_usage_error("trace: --packet '%s': a number from 1",
							 optarg);
			break;
		case 'i':
			ingress = optarg;
			break;
		case 'h':
			usage(stdout);
			return CIDLB_EXIT_OK;
		case ':':
			return cidlb_usage_error("trace: %s needs a value", argv[optind - 1]);
		default:
			return cidlb_usage_error(
				"trace: unknown option '%s' (try 'cidlb trace --help')",
				argv[optind - 1]);
		}
	}
	if (optind < argc && !strcmp(argv[optind], "help")) {
		usage(stdout);
		return CIDLB_EXIT_OK;
	}
	if (pcap) {
		if (optind < argc)
			return cidlb_usage_error(
				"trace: give the frame as HEX or --pcap FILE, not both");
		len = read_pcap(pcap, pkt, in, sizeof(in));
		if (len < 0)
			return CIDLB_EXIT_USAGE;
	} else {
		if (optind >= argc)
			return cidlb_usage_error(
				"trace: missing the frame: HEX (Ethernet frame) or --pcap FILE");
		if (optind + 1 < argc)
			return cidlb_usage_error("trace: unexpected argument '%s'",
						 argv[optind + 1]);
		char msg[256];
		size_t n;

		if (cidlb_parse_hex_msg("Ethernet frame", argv[optind], in, 14, sizeof(in), &n, msg,
					sizeof(msg)))
			return cidlb_usage_error("trace: %s", msg);
		len = (int)n;
	}
	cidlb_paths_resolve(&p);
	names = !cidlb_state_read(p.state_file, &st, why, sizeof(why));
	if (!ingress && names && st.n_ifs)
		ingress = st.ifs[0].name;
	if (ingress) {
		ifindex = if_nametoindex(ingress);
		if (!ifindex) {
			ret = cidlb_usage_error("trace: --ingress '%s': no such interface here",
						ingress);
			goto out;
		}
	}
	if (cidlb_open_pins("trace", &p, &lb))
		goto out;
	before = calloc(CIDLB_MAX_BACKENDS, sizeof(*before));
	after = calloc(CIDLB_MAX_BACKENDS, sizeof(*after));
	if (!before || !after || snap_backends(lb, before) || cidlb_lb_read_counters(lb, &c0)) {
		cidlb_fail("trace: cannot read the pinned maps under %s", p.pin_dir);
		goto out;
	}
	o.data_in = in;
	o.data_size_in = (__u32)len;
	o.data_out = out;
	o.data_size_out = sizeof(out);
	if (ifindex) {
		ctx.data_end = (__u32)len;
		ctx.ingress_ifindex = ifindex;
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	if (bpf_prog_test_run_opts(cidlb_lb_prog_fd(lb), &o)) {
		cidlb_fail("trace: BPF_PROG_TEST_RUN failed: %s", strerror(errno));
		goto out;
	}
	if (snap_backends(lb, after) || cidlb_lb_read_counters(lb, &c1)) {
		cidlb_fail("trace: cannot read the pinned maps under %s", p.pin_dir);
		goto out;
	}
	for (i = 0; i < cidlb_counter_count; i++) {
		size_t off = cidlb_counter_descs[i].offset;

		if (*(__u64 *)((char *)&c1 + off) != *(__u64 *)((char *)&c0 + off) &&
		    strcmp(cidlb_counter_descs[i].name, "rx_packets"))
			json_array_append_new(moved, json_string(cidlb_counter_descs[i].name));
	}
	for (idx = 0; idx < CIDLB_MAX_BACKENDS; idx++)
		if (after[idx] != before[idx]) {
			be = idx;
			break;
		}
	if (be != CIDLB_BACKEND_NONE) {
		struct cidlb_backend bv;
		struct cidlb_conf *conf = NULL;

		if (!bpf_map_lookup_elem(cidlb_lb_map_fd(lb, CIDLB_M_BACKENDS), &be, &bv)) {
			pool = bv.pool;
			/* its name: cidlbd's numbers in the state file, else the
			 * configuration file's order */
			if (names && pool < st.n_pools)
				snprintf(pool_name, sizeof(pool_name), "%s", st.pools[pool]);
			else if (*p.config && !cidlb_conf_load(p.config, 0, &conf) &&
				 conf->pools_named && pool < conf->n_pools)
				snprintf(pool_name, sizeof(pool_name), "%s",
					 conf->pools[pool].name);
			cidlb_conf_free(conf);
		}
	}
	if (cidlb_json) {
		json_t *r = json_object();

		json_object_set_new(r, "action", json_string(action_str((int)o.retval)));
		json_object_set(r, "counters", moved);
		if (be != CIDLB_BACKEND_NONE)
			json_object_set_new(
				r, "backend",
				json_pack("{s:i,s:s?,s:i,s:s?}", "index", (int)be, "name",
					  names ? cidlb_state_name(&st, be) : NULL, "pool", pool,
					  "pool_name", *pool_name ? pool_name : NULL));
		else
			json_object_set_new(r, "backend", json_null());
		json_object_set_new(r, "output_len", json_integer(o.data_size_out));
		json_object_set_new(r, "ingress", ingress ? json_string(ingress) : json_null());
		cidlb_print_json(r);
		json_decref(r);
	} else {
		json_t *v;

		printf("action   %s\n", action_str((int)o.retval));
		printf("reason  ");
		json_array_foreach (moved, i, v)
			printf(" %s", json_string_value(v));
		printf("\n");
		if (be != CIDLB_BACKEND_NONE) {
			const char *n = names ? cidlb_state_name(&st, be) : NULL;

			printf("backend  %s (index %u)\n", n ? n : "?", be);
			if (*pool_name)
				printf("pool     %s (index %d)\n", pool_name, pool);
			else if (pool)
				printf("pool     index %d\n", pool);
		} else {
			printf("backend  none\n");
		}
		printf("output   %u octets (input %d)%s%s\n", o.data_size_out, len,
		       ingress ? ", ingress " : "", ingress ? ingress : "");
		printf("note     the live counters moved by this one packet\n");
	}
	ret = CIDLB_EXIT_OK;
out:
	json_decref(moved);
	free(before);
	free(after);
	if (names)
		cidlb_state_free(&st);
	cidlb_lb_close(lb);
	return ret;
}
