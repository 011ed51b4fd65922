// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_decap.c - `cidlb decap attach|detach|stats DEV`: the backend side.
 * A backend host without IPIP/IP6IP6 tunnel devices runs cidlb_decap.bpf.o
 * on its interface to strip the outer header that cidlb added (only from
 * the LB source addresses given). Attached with libxdp (dispatcher where
 * the kernel allows it, else alone) and pinned under
 * /sys/fs/bpf/cidlb_decap/DEV so that detach and stats find it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <jansson.h>

#include "cidlb_maps.h"
#include "ctl/config.h"
#include "ctl/xdp.h"
#include "cidlb.h"

#define DECAP_PIN_ROOT "/sys/fs/bpf/cidlb_decap"
#define DECAP_OBJ "cidlb_decap.bpf.o"
#define MAX_SOURCES 64

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cidlb [-j] decap attach DEV --source ADDR [--source ADDR]...\n"
		"                  [--mode native|generic|auto] [--object FILE]\n"
		"       cidlb [-j] decap detach DEV\n"
		"       cidlb [-j] decap stats DEV\n"
		"\n"
		"On a backend host: strip the IPIP/IP6IP6 header cidlb adds, for packets\n"
		"whose outer source is one of the LB addresses given with --source (the\n"
		"[lb] source4/source6 of the LBs). The program and its maps are pinned\n"
		"under %s/DEV. --object defaults to %s next to cidlb,\n"
		"else /usr/local/lib/cidlb/%s.\n"
		"Exit 0 done, 1 (detach, stats) nothing attached on DEV, 2 bad arguments,\n"
		"3 failed.\n", DECAP_PIN_ROOT, DECAP_OBJ, DECAP_OBJ);
}

static void pin_path(char *buf, size_t len, const char *dev, const char *name)
{
	if (name)
		snprintf(buf, len, "%s/%s/%s", DECAP_PIN_ROOT, dev, name);
	else
		snprintf(buf, len, "%s/%s", DECAP_PIN_ROOT, dev);
}

static void find_object(char *buf, size_t len)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%.3000s/%s", exe, DECAP_OBJ);
			if (!access(buf, R_OK))
				return;
		}
	}
	snprintf(buf, len, "/usr/local/lib/cidlb/%s", DECAP_OBJ);
}

static void unpin_all(const char *dev)
{
	char p[512];

	pin_path(p, sizeof(p), dev, CIDLB_MAP_DECAP_SRCS);
	unlink(p);
	pin_path(p, sizeof(p), dev, CIDLB_MAP_DECAP_CNT);
	unlink(p);
	pin_path(p, sizeof(p), dev, CIDLB_PROG_DECAP);
	unlink(p);
	pin_path(p, sizeof(p), dev, NULL);
	rmdir(p);
	rmdir(DECAP_PIN_ROOT);	/* only when empty */
}

static int do_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "object", required_argument, NULL, 'o' },
		{ 0 }
	};
	struct cidlb_decap_src src[MAX_SOURCES];
	enum cidlb_attach_mode mode = CIDLB_ATTACH_AUTO, used;
	struct xdp_program *prog = NULL;
	struct bpf_object *obj;
	char object[4096] = "", p[512], why[1024];
	const char *dev;
	int n_src = 0, c, ifindex, i, fd, err, ret = CIDLB_EXIT_FAIL;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (n_src >= MAX_SOURCES)
				return cidlb_usage_error("decap attach: at most %d --source", MAX_SOURCES);
			memset(&src[n_src], 0, sizeof(src[0]));
			if (cidlb_parse_addr(optarg, &src[n_src].family, src[n_src].addr))
				return cidlb_usage_error("decap attach: --source '%s': must be an IPv4 or IPv6 address",
							 optarg);
			n_src++;
			break;
		case 'm':
			if (!strcmp(optarg, "native"))
				mode = CIDLB_ATTACH_NATIVE;
			else if (!strcmp(optarg, "generic"))
				mode = CIDLB_ATTACH_GENERIC;
			else if (!strcmp(optarg, "auto"))
				mode = CIDLB_ATTACH_AUTO;
			else
				return cidlb_usage_error("decap attach: --mode '%s': native, generic or auto",
							 optarg);
			break;
		case 'o':
			snprintf(object, sizeof(object), "%s", optarg);
			break;
		case ':':
			return cidlb_usage_error("decap attach: %s needs a value", argv[optind - 1]);
		default:
			return cidlb_usage_error("decap attach: unknown option '%s' (try 'cidlb decap help')",
						 argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cidlb_usage_error("decap attach: missing DEV");
	if (optind + 1 < argc)
		return cidlb_usage_error("decap attach: unexpected argument '%s'", argv[optind + 1]);
	dev = argv[optind];
	if (!n_src)
		return cidlb_usage_error("decap attach: at least one --source ADDR (the LB's outer source address) is required");
	ifindex = (int)if_nametoindex(dev);
	if (!ifindex)
		return cidlb_usage_error("decap attach: no interface '%s' here", dev);
	if (!*object)
		find_object(object, sizeof(object));

	err = cidlb_bpffs_ensure(DECAP_PIN_ROOT, why, sizeof(why));
	if (err)
		return cidlb_fail("decap attach: %s", why);
	pin_path(p, sizeof(p), dev, CIDLB_PROG_DECAP);
	if (!access(p, F_OK))
		return cidlb_fail("decap attach: %s is attached already (pinned at %s): 'cidlb decap detach %s' first",
				  dev, p, dev);
	libxdp_set_print(NULL);
	libbpf_set_print(NULL);
	err = cidlb_xdp_attach(object, CIDLB_PROG_DECAP, NULL, 0, ifindex, mode, &used, &prog, why,
			       sizeof(why));
	if (err)
		return cidlb_fail("decap attach: %s", why);
	obj = xdp_program__bpf_obj(prog);
	fd = bpf_object__find_map_fd_by_name(obj, CIDLB_MAP_DECAP_SRCS);
	for (i = 0; i < n_src && fd >= 0; i++) {
		__u32 one = 1;

		if (bpf_map_update_elem(fd, &src[i], &one, BPF_ANY)) {
			fd = -1;
			break;
		}
	}
	if (fd < 0) {
		cidlb_fail("decap attach: cannot fill %s: %s", CIDLB_MAP_DECAP_SRCS, strerror(errno));
		goto undo;
	}
	pin_path(p, sizeof(p), dev, NULL);
	mkdir(DECAP_PIN_ROOT, 0700);
	if (mkdir(p, 0700) && errno != EEXIST) {
		cidlb_fail("decap attach: cannot create %s: %s", p, strerror(errno));
		goto undo;
	}
	{
		static const char *const maps[] = { CIDLB_MAP_DECAP_SRCS, CIDLB_MAP_DECAP_CNT };

		for (i = 0; i < 2; i++) {
			pin_path(p, sizeof(p), dev, maps[i]);
			err = bpf_map__pin(bpf_object__find_map_by_name(obj, maps[i]), p);
			if (err) {
				cidlb_fail("decap attach: cannot pin %s: %s", p, strerror(-err));
				goto undo;
			}
		}
		pin_path(p, sizeof(p), dev, CIDLB_PROG_DECAP);
		if (bpf_obj_pin(xdp_program__fd(prog), p)) {
			cidlb_fail("decap attach: cannot pin %s: %s", p, strerror(errno));
			goto undo;
		}
	}
	if (cidlb_json) {
		json_t *o = json_pack("{s:s,s:s,s:i,s:s}", "device", dev, "mode",
				      cidlb_attach_mode_str(used), "sources", n_src, "pin_dir",
				      DECAP_PIN_ROOT);

		cidlb_print_json(o);
		json_decref(o);
	} else {
		printf("decap attached to %s (%s mode), %d source%s, pinned under %s/%s\n", dev,
		       cidlb_attach_mode_str(used), n_src, n_src == 1 ? "" : "s", DECAP_PIN_ROOT, dev);
	}
	ret = CIDLB_EXIT_OK;
	goto out;
undo:
	cidlb_xdp_detach(ifindex, CIDLB_PROG_DECAP, 0);
	unpin_all(dev);
out:
	xdp_program__close(prog);
	bpf_object__close(obj);
	return ret;
}

static int open_pinned(const char *dev, const char *name)
{
	char p[512];

	pin_path(p, sizeof(p), dev, name);
	return bpf_obj_get(p);
}

static int do_detach(const char *dev)
{
	int ifindex = (int)if_nametoindex(dev), fd, err;
	uint32_t id;

	fd = open_pinned(dev, CIDLB_MAP_DECAP_CNT);
	if (fd < 0)
	{
		cidlb_fail("decap detach: nothing pinned under %s/%s: was it attached with 'cidlb decap attach'?",
			   DECAP_PIN_ROOT, dev);
		return CIDLB_EXIT_NO;
	}
	id = cidlb_bpf_id(fd);
	close(fd);
	libxdp_set_print(NULL);
	err = ifindex ? cidlb_xdp_detach(ifindex, CIDLB_PROG_DECAP, id) : -ENODEV;
	unpin_all(dev);
	if (err && err != -ENOENT && err != -ENODEV)
		return cidlb_fail("decap detach: %s: %s", dev, strerror(-err));
	if (cidlb_json) {
		json_t *o = json_pack("{s:s,s:b}", "device", dev, "was_attached", !err);

		cidlb_print_json(o);
		json_decref(o);
	} else {
		printf("decap detached from %s%s\n", dev,
		       err ? " (it was not attached any more; pins removed)" : "");
	}
	return CIDLB_EXIT_OK;
}

static int do_stats(const char *dev)
{
	static const char *const names[] = {
		"rx_packets", "decap_v4", "decap_v6", "pass_not_tunnel", "pass_unknown_src",
		"drop_malformed",
	};
	int ncpu = libbpf_num_possible_cpus(), fd, c;
	struct cidlb_decap_counters *v, sum = { 0 };
	__u32 zero = 0;
	size_t f;

	fd = open_pinned(dev, CIDLB_MAP_DECAP_CNT);
	if (fd < 0) {
		cidlb_fail("decap stats: nothing pinned under %s/%s", DECAP_PIN_ROOT, dev);
		return CIDLB_EXIT_NO;
	}
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v || bpf_map_lookup_elem(fd, &zero, v)) {
		free(v);
		close(fd);
		return cidlb_fail("decap stats: cannot read %s", CIDLB_MAP_DECAP_CNT);
	}
	for (c = 0; c < ncpu; c++)
		for (f = 0; f < 6; f++)
			((__u64 *)&sum)[f] += ((__u64 *)&v[c])[f];
	free(v);
	close(fd);
	if (cidlb_json) {
		json_t *o = json_object();

		json_object_set_new(o, "device", json_string(dev));
		for (f = 0; f < 6; f++)
			json_object_set_new(o, names[f], json_integer((json_int_t)((__u64 *)&sum)[f]));
		cidlb_print_json(o);
		json_decref(o);
	} else {
		for (f = 0; f < 6; f++)
			printf("%-18s %llu\n", names[f], (unsigned long long)((__u64 *)&sum)[f]);
	}
	return CIDLB_EXIT_OK;
}

int cmd_decap(int argc, char **argv)
{
	if (argc < 1)
		return cidlb_usage_error("decap: missing VERB: attach, detach, stats or help");
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return CIDLB_EXIT_OK;
	}
	if (!strcmp(argv[0], "attach"))
		return do_attach(argc, argv);
	if (!strcmp(argv[0], "detach") || !strcmp(argv[0], "stats")) {
		if (argc != 2)
			return cidlb_usage_error("decap %s: needs exactly one DEV", argv[0]);
		return argv[0][0] == 'd' ? do_detach(argv[1]) : do_stats(argv[1]);
	}
	return cidlb_usage_error("decap: unknown verb '%s': attach, detach, stats or help", argv[0]);
}
