// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_decap.c - `cidlb decap attach|detach|stats DEV`: the backend side.
 * A backend host without IPIP/IP6IP6 tunnel devices runs cidlb_decap.bpf.o
 * on its interface to strip the outer header that cidlb added (IPIP,
 * IP6IP6, or IP, UDP and GUE to --gue-port): only from the LB source
 * addresses given, to this host's addresses given, around a UDP datagram
 * to one of the VIPs given. Attached with libxdp
 * (dispatcher where the kernel allows it, else alone) and pinned under
 * /sys/fs/bpf/cidlb_decap/DEV (or --pin-dir) so that detach and stats
 * find it.
 */
#include <arpa/inet.h>
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
#include "ctl/log.h"
#include "ctl/xdp.h"
#include "cidlb.h"

#define DECAP_PIN_ROOT "/sys/fs/bpf/cidlb_decap"
#define DECAP_OBJ      "cidlb_decap.bpf.o"
#define MAX_SOURCES    64 /* = max_entries of decap_srcs and decap_locals */
#define MAX_VIPS       CIDLB_MAX_VIPS

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cidlb [-j] decap attach DEV --source ADDR [--source ADDR]...\n"
		"                  --local ADDR [--local ADDR]... --vip ADDR[:PORT] [--vip ...]\n"
		"                  [--gue-port PORT] [--mode native|generic|auto] [--object FILE]\n"
		"                  [--pin-dir DIR]\n"
		"       cidlb [-j] decap detach DEV [--pin-dir DIR]\n"
		"       cidlb [-j] decap stats DEV [--pin-dir DIR]\n"
		"\n"
		"On a backend host: strip the IPIP/IP6IP6 header cidlb adds, or its outer\n"
		"IP, UDP and GUE headers for UDP to --gue-port (default %d, 0: none), for packets\n"
		"whose outer source is one of the LB addresses given with --source (the\n"
		"[lb] source4/source6 of the LBs), whose outer destination is one of this\n"
		"host's tunnel addresses given with --local (the backend's address in the\n"
		"LB's configuration), and whose inner packet is UDP to one of the VIPs\n"
		"given with --vip (an address and port, [IPv6]:PORT, or an address alone\n"
		"for any port). Other tunnel packets from those sources are dropped and\n"
		"counted; everything else passes untouched. The program and its maps are\n"
		"pinned under DIR/DEV, DIR %s unless --pin-dir says otherwise.\n"
		"--object defaults to %s next to cidlb, else " CIDLB_LIBDIR "/%s.\n"
		"Exit 0 done, 1 (detach, stats) nothing attached on DEV, 2 bad arguments,\n"
		"3 failed.\n",
		CIDLB_GUE_PORT_DEFAULT, DECAP_PIN_ROOT, DECAP_OBJ, DECAP_OBJ);
}

static const char *pin_root = DECAP_PIN_ROOT;

static void pin_path(char *buf, size_t len, const char *dev, const char *name)
{
	if (name)
		snprintf(buf, len, "%s/%s/%s", pin_root, dev, name);
	else
		snprintf(buf, len, "%s/%s", pin_root, dev);
}

/* ADDR, IPV4:PORT or [IPV6]:PORT; port 0 means any. */
static int parse_vip(const char *s, struct cidlb_vip_key *k)
{
	char buf[INET6_ADDRSTRLEN + 8], *colon, *end;
	const char *addr = buf;
	unsigned long port = 0;

	memset(k, 0, sizeof(*k));
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if (buf[0] == '[') {
		char *rb = strchr(buf, ']');

		if (!rb || (rb[1] && rb[1] != ':'))
			return -EINVAL;
		*rb = '\0';
		addr = buf + 1;
		colon = rb[1] ? rb + 1 : NULL;
	} else {
		colon = strchr(buf, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* an IPv6 address alone */
	}
	if (colon) {
		*colon = '\0';
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
			return -EINVAL;
	}
	if (cidlb_parse_addr(addr, &k->family, k->addr))
		return -EINVAL;
	k->port = htons((uint16_t)port);
	return 0;
}

/* Fill the hash map `name` of obj with n keys of ksz octets each, each
 * with the value val. */
static int fill_map(struct bpf_object *obj, const char *name, const void *keys, size_t ksz, int n,
		    const void *val)
{
	int fd = bpf_object__find_map_fd_by_name(obj, name), i;

	if (fd < 0)
		return -ENOENT;
	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const char *)keys + (size_t)i * ksz, val, BPF_ANY))
			return -errno;
	return 0;
}

static const char *const decap_maps[] = {
#define X(id, name, ksz, vsz, flags) CIDLB_MAP_##id,
	CIDLB_DECAP_MAPS(X)
#undef X
};
#define N_DECAP_MAPS (int)(sizeof(decap_maps) / sizeof(decap_maps[0]))

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
	snprintf(buf, len, CIDLB_LIBDIR "/%s", DECAP_OBJ);
}

static void unpin_all(const char *dev)
{
	char p[512];

	int i;

	for (i = 0; i < N_DECAP_MAPS; i++) {
		pin_path(p, sizeof(p), dev, decap_maps[i]);
		unlink(p);
	}
	pin_path(p, sizeof(p), dev, CIDLB_PROG_DECAP);
	unlink(p);
	pin_path(p, sizeof(p), dev, NULL);
	rmdir(p);
	rmdir(pin_root); /* only when empty */
}

static int do_attach(int argc, char **argv)
{
	static const struct option opts[] = { { "source", required_argument, NULL, 's' },
					      { "mode", required_argument, NULL, 'm' },
					      { "object", required_argument, NULL, 'o' },
					      { "local", required_argument, NULL, 'l' },
					      { "vip", required_argument, NULL, 'v' },
					      { "pin-dir", required_argument, NULL, 'p' },
					      { "gue-port", required_argument, NULL, 'g' },
					      { 0 } };
	struct cidlb_decap_src src[MAX_SOURCES], loc[MAX_SOURCES];
	struct cidlb_vip_key vip[MAX_VIPS];
	enum cidlb_attach_mode mode = CIDLB_ATTACH_AUTO, used;
	struct xdp_program *prog = NULL;
	struct bpf_object *obj;
	char object[4096] = "", p[512], why[1024];
	const char *dev;
	int n_src = 0, n_loc = 0, n_vip = 0, c, ifindex, i, err, ret = CIDLB_EXIT_FAIL;
	unsigned long gue_port = CIDLB_GUE_PORT_DEFAULT;
	struct cidlb_decap_srcv srcv = { .one = 1 };
	__u32 one = 1;
	char *end;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (n_src >= MAX_SOURCES)
				return cidlb_usage_error("decap attach: at most %d --source",
							 MAX_SOURCES);
			memset(&src[n_src], 0, sizeof(src[0]));
			if (cidlb_parse_addr(optarg, &src[n_src].family, src[n_src].addr))
				return cidlb_usage_error(
					"decap attach: --source '%s': must be an IPv4 or IPv6 address",
					optarg);
			n_src++;
			break;
		case 'l':
			if (n_loc >= MAX_SOURCES)
				return cidlb_usage_error("decap attach: at most %d --local",
							 MAX_SOURCES);
			memset(&loc[n_loc], 0, sizeof(loc[0]));
			if (cidlb_parse_addr(optarg, &loc[n_loc].family, loc[n_loc].addr))
				return cidlb_usage_error(
					"decap attach: --local '%s': must be an IPv4 or IPv6 address",
					optarg);
			n_loc++;
			break;
		case 'v':
			if (n_vip >= MAX_VIPS)
				return cidlb_usage_error("decap attach: at most %d --vip",
							 MAX_VIPS);
			if (parse_vip(optarg, &vip[n_vip]))
				return cidlb_usage_error(
					"decap attach: --vip '%s': must be ADDR, IPV4:PORT or [IPV6]:PORT (port 1-65535)",
					optarg);
			n_vip++;
			break;
		case 'p':
			if (!*optarg || strlen(optarg) > 256)
				return cidlb_usage_error(
					"decap attach: --pin-dir '%s': must be a directory path of 1-256 characters",
					optarg);
			pin_root = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "native"))
				mode = CIDLB_ATTACH_NATIVE;
			else if (!strcmp(optarg, "generic"))
				mode = CIDLB_ATTACH_GENERIC;
			else if (!strcmp(optarg, "auto"))
				mode = CIDLB_ATTACH_AUTO;
			else
				return cidlb_usage_error(
					"decap attach: --mode '%s': native, generic or auto",
					optarg);
			break;
		case 'o':
			snprintf(object, sizeof(object), "%s", optarg);
			break;
		case 'g':
			errno = 0;
			gue_port = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || *optarg == '-' || gue_port > 65535)
				return cidlb_usage_error(
					"decap attach: --gue-port '%s': must be a UDP port 1-65535, or 0 for no GUE",
					optarg);
			break;
		case ':':
			return cidlb_usage_error("decap attach: %s needs a value",
						 argv[optind - 1]);
		default:
			return cidlb_usage_error(
				"decap attach: unknown option '%s' (try 'cidlb decap help')",
				argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cidlb_usage_error("decap attach: missing DEV");
	if (optind + 1 < argc)
		return cidlb_usage_error("decap attach: unexpected argument '%s'",
					 argv[optind + 1]);
	dev = argv[optind];
	if (!n_src)
		return cidlb_usage_error(
			"decap attach: at least one --source ADDR (the LB's outer source address) is required");
	if (!n_loc)
		return cidlb_usage_error(
			"decap attach: at least one --local ADDR (this host's address the LB sends the tunnel to) is required");
	if (!n_vip)
		return cidlb_usage_error(
			"decap attach: at least one --vip ADDR[:PORT] (a VIP this host serves) is required");
	ifindex = (int)if_nametoindex(dev);
	if (!ifindex)
		return cidlb_usage_error("decap attach: no interface '%s' here", dev);
	if (!*object)
		find_object(object, sizeof(object));

	err = cidlb_bpffs_ensure(pin_root, why, sizeof(why));
	if (err)
		return cidlb_fail("decap attach: %s", why);
	pin_path(p, sizeof(p), dev, CIDLB_PROG_DECAP);
	if (!access(p, F_OK))
		return cidlb_fail(
			"decap attach: %s is attached already (pinned at %s): 'cidlb decap detach %s' first",
			dev, p, dev);
	/* libbpf's complaints while libxdp tries its dispatcher are expected */
	log_quiet_libbpf = true;
	err = cidlb_xdp_attach(object, CIDLB_PROG_DECAP, NULL, 0, ifindex, mode, &used, &prog, why,
			       sizeof(why));
	log_quiet_libbpf = false;
	if (err)
		return cidlb_fail("decap attach: %s", why);
	obj = xdp_program__bpf_obj(prog);
	{
		const struct {
			const char *map;
			const void *keys;
			size_t ksz;
			int n;
			const void *val;
		} fill[] = {
			{ CIDLB_MAP_DECAP_SRCS, src, sizeof(src[0]), n_src, &srcv },
			{ CIDLB_MAP_DECAP_LOCALS, loc, sizeof(loc[0]), n_loc, &one },
			{ CIDLB_MAP_DECAP_VIPS, vip, sizeof(vip[0]), n_vip, &one },
		};

		srcv.gue_port = htons((uint16_t)gue_port);
		for (i = 0; i < 3; i++) {
			err = fill_map(obj, fill[i].map, fill[i].keys, fill[i].ksz, fill[i].n,
				       fill[i].val);
			if (err) {
				cidlb_fail(
					"decap attach: cannot fill %s of %s: %s (an older object?)",
					fill[i].map, object, strerror(-err));
				goto undo;
			}
		}
	}
	pin_path(p, sizeof(p), dev, NULL);
	mkdir(pin_root, 0700);
	if (mkdir(p, 0700) && errno != EEXIST) {
		cidlb_fail("decap attach: cannot create %s: %s", p, strerror(errno));
		goto undo;
	}
	{
		for (i = 0; i < N_DECAP_MAPS; i++) {
			pin_path(p, sizeof(p), dev, decap_maps[i]);
			err = bpf_map__pin(bpf_object__find_map_by_name(obj, decap_maps[i]), p);
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
		json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:s}", "device", dev, "mode",
				      cidlb_attach_mode_str(used), "sources", n_src, "locals",
				      n_loc, "vips", n_vip, "gue_port", (int)gue_port, "pin_dir",
				      pin_root);

		cidlb_print_json(o);
		json_decref(o);
	} else {
		printf("decap attached to %s (%s mode), %d source%s, %d local address%s, %d VIP%s, GUE port %lu, pinned under %s/%s\n",
		       dev, cidlb_attach_mode_str(used), n_src, n_src == 1 ? "" : "s", n_loc,
		       n_loc == 1 ? "" : "es", n_vip, n_vip == 1 ? "" : "s", gue_port, pin_root,
		       dev);
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
	if (fd < 0) {
		cidlb_fail(
			"decap detach: nothing pinned under %s/%s: was it attached with 'cidlb decap attach'%s?",
			pin_root, dev,
			strcmp(pin_root, DECAP_PIN_ROOT) ? "" : " (with --pin-dir?)");
		return CIDLB_EXIT_NO;
	}
	id = cidlb_bpf_id(fd);
	close(fd);
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
	/* struct cidlb_decap_counters, in order */
	static const char *const names[] = {
		"rx_packets",	    "decap_v4",	      "decap_v6",	"pass_not_tunnel",
		"pass_unknown_src", "drop_malformed", "drop_outer_dst", "drop_inner_dst",
		"drop_ecn",	    "ecn_marked",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) ==
			       sizeof(struct cidlb_decap_counters) / sizeof(__u64),
		       "a name for every decap counter");
	const size_t n_names = sizeof(names) / sizeof(names[0]);
	int ncpu = libbpf_num_possible_cpus(), fd, c;
	struct cidlb_decap_counters *v, sum = { 0 };
	__u32 zero = 0;
	size_t f;

	fd = open_pinned(dev, CIDLB_MAP_DECAP_CNT);
	if (fd < 0) {
		cidlb_fail("decap stats: nothing pinned under %s/%s", pin_root, dev);
		return CIDLB_EXIT_NO;
	}
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v || bpf_map_lookup_elem(fd, &zero, v)) {
		free(v);
		close(fd);
		return cidlb_fail("decap stats: cannot read %s", CIDLB_MAP_DECAP_CNT);
	}
	for (c = 0; c < ncpu; c++)
		for (f = 0; f < n_names; f++)
			((__u64 *)&sum)[f] += ((__u64 *)&v[c])[f];
	free(v);
	close(fd);
	if (cidlb_json) {
		json_t *o = json_object();

		json_object_set_new(o, "device", json_string(dev));
		for (f = 0; f < n_names; f++)
			json_object_set_new(o, names[f],
					    json_integer((json_int_t)((__u64 *)&sum)[f]));
		cidlb_print_json(o);
		json_decref(o);
	} else {
		for (f = 0; f < n_names; f++)
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
		const char *dev = NULL;
		int i;

		for (i = 1; i < argc; i++) {
			if (!strcmp(argv[i], "--pin-dir")) {
				if (i + 1 >= argc || !*argv[i + 1])
					return cidlb_usage_error(
						"decap %s: --pin-dir needs a value", argv[0]);
				pin_root = argv[++i];
			} else if (!strncmp(argv[i], "--pin-dir=", 10)) {
				pin_root = argv[i] + 10;
			} else if (argv[i][0] == '-' || dev) {
				return cidlb_usage_error(
					"decap %s: unexpected argument '%s' (DEV [--pin-dir DIR])",
					argv[0], argv[i]);
			} else {
				dev = argv[i];
			}
		}
		if (!dev)
			return cidlb_usage_error("decap %s: needs exactly one DEV", argv[0]);
		return argv[0][0] == 'd' ? do_detach(dev) : do_stats(dev);
	}
	return cidlb_usage_error("decap: unknown verb '%s': attach, detach, stats or help",
				 argv[0]);
}
