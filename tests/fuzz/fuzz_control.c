// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_control.c - libFuzzer target for cidlbd's control requests
 * (user/daemon/ctl.c, ctl_handle(): the request handler without the
 * socket) under ASan/UBSan: any octets as one request, handled by the
 * daemon's own code (ctl.c, apply.c, retire.c, the config value parsers)
 * on the maps of the real object (build/cidlb.bpf.o, loaded, never
 * attached or pinned; needs root, else every input is skipped).
 * Invariants, for every input:
 *   - the reply is a JSON object that prints as JSON, with "ok" a boolean;
 *     ok = false carries a non-empty "error" and a known "code";
 *   - a refused request applied nothing: no map write at all (every
 *     writer of the maps goes through the cidlb_lb_* calls, counted here
 *     with the linker's --wrap), the running configuration and the state
 *     (backend indexes, quarantine) are unchanged;
 *   - an accepted backend.add added the backend named in the request.
 * After an accepted request the fuzzer puts the daemon back to the base
 * configuration (as a reload of the file would), so every input starts
 * from the same state. "reload" re-applies the base configuration, as a
 * reload of an unchanged file does.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctl/ctlsock.h"
#include "daemon/daemon.h"
#include "ctl/log.h"

static const char base_text[] = "[daemon]\n"
				"quarantine = 3600\n"
				"metrics = off\n"
				"[lb]\n"
				"interfaces = lo\n"
				"source4 = 198.18.0.1\n"
				"source6 = fd00::1\n"
				"lru_size = 1024\n"
				"retired_size = 4096\n"
				"dcache_size = 1024\n"
				"[vip web]\n"
				"address = 198.18.100.1\n"
				"[quic-lb 0]\n"
				"server_id_len = 2\n"
				"nonce_len = 6\n"
				"[quic-lb 1]\n"
				"server_id_len = 3\n"
				"nonce_len = 13\n"
				"[backend b1]\n"
				"address = 198.18.1.2\n"
				"server_id.0 = 0001\n"
				"[backend b2]\n"
				"address = 198.18.2.2\n"
				"server_id.0 = 0002\n"
				"server_id.1 = 000002\n"
				"weight = 50\n"
				"[backend b6]\n"
				"address = fd00::6\n"
				"mac = 02:00:00:00:00:06\n"
				"mode = direct\n"
				"state = draining\n";

static struct daemon D;
static struct cidlb_conf *base;
static bool skip;
static unsigned long writes; /* map writes through cidlb_lb_* */
static bool retired;	     /* something may sit in cidlb_retired */

/* ---- every map writer, counted --------------------------------------------- */
#define WRAP(name, params, args) \
	int __real_##name params; \
	int __wrap_##name params; \
	int __wrap_##name params \
	{ \
		writes++; \
		return __real_##name args; \
	}
WRAP(cidlb_lb_set_vip,
     (struct cidlb_lb * lb, const struct cidlb_vip_key *k, const struct cidlb_vip *v), (lb, k, v))
WRAP(cidlb_lb_del_vip, (struct cidlb_lb * lb, const struct cidlb_vip_key *k), (lb, k))
WRAP(cidlb_lb_set_config, (struct cidlb_lb * lb, uint32_t id, const struct cidlb_config *c),
     (lb, id, c))
WRAP(cidlb_lb_set_backend, (struct cidlb_lb * lb, uint32_t idx, const struct cidlb_backend *b),
     (lb, idx, b))
WRAP(cidlb_lb_set_sid, (struct cidlb_lb * lb, const struct cidlb_sid_key *k, uint32_t idx),
     (lb, k, idx))
WRAP(cidlb_lb_del_sid, (struct cidlb_lb * lb, const struct cidlb_sid_key *k), (lb, k))
WRAP(cidlb_lb_set_global, (struct cidlb_lb * lb, const struct cidlb_global *g), (lb, g))
WRAP(cidlb_lb_publish_maglev, (struct cidlb_lb * lb, const uint32_t *t), (lb, t))
WRAP(cidlb_lb_unretire, (struct cidlb_lb * lb, const struct cidlb_cid_key *k), (lb, k))
WRAP(cidlb_lb_add_tx_port, (struct cidlb_lb * lb, uint32_t ifindex), (lb, ifindex))
WRAP(cidlb_lb_del_tx_port, (struct cidlb_lb * lb, uint32_t ifindex), (lb, ifindex))
WRAP(cidlb_lb_set_neigh,
     (struct cidlb_lb * lb, const struct cidlb_neigh_key *k, const struct cidlb_neigh *n),
     (lb, k, n))
WRAP(cidlb_lb_del_neigh, (struct cidlb_lb * lb, const struct cidlb_neigh_key *k), (lb, k))
WRAP(cidlb_lb_reset_counters, (struct cidlb_lb * lb), (lb))

/* neigh.c is not linked: no probes to the fuzzed backends' addresses and
 * no wait for their next hops (tests/daemon/test_neigh.sh covers it). */
void neigh_resolve(struct daemon *d, const struct cidlb_conf_backend *const *bs, int n)
{
	(void)d;
	(void)bs;
	(void)n;
}

WRAP(cidlb_lb_refresh_global, (struct cidlb_lb * lb), (lb))
WRAP(cidlb_lb_expire,
     (struct cidlb_lb * lb, const struct cidlb_cid_key *k, size_t n, uint64_t now, size_t *deleted),
     (lb, k, n, now, deleted))

int __real_cidlb_lb_retire_ex(struct cidlb_lb *lb, const struct cidlb_cid_key *k, uint64_t exp,
			      bool *added);
int __wrap_cidlb_lb_retire_ex(struct cidlb_lb *lb, const struct cidlb_cid_key *k, uint64_t exp,
			      bool *added);
int __wrap_cidlb_lb_retire_ex(struct cidlb_lb *lb, const struct cidlb_cid_key *k, uint64_t exp,
			      bool *added)
{
	writes++;
	retired = true;
	return __real_cidlb_lb_retire_ex(lb, k, exp, added);
}

/* main.c is not linked: the reload of an unchanged file */
int do_reload(struct daemon *d, json_t *changes, char *why, size_t why_len)
{
	struct cidlb_conf *next = conf_dup(base);
	int err;

	if (!next) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	err = apply_config(d, next, changes, why, why_len);
	if (err)
		cidlb_conf_free(next);
	return err;
}

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz_control: " __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

/* ---- the daemon's state, to compare before and after ---------------------- */
struct snap {
	struct cidlb_conf conf;
	struct cidlb_conf_vip *vips;
	struct cidlb_conf_backend *backends;
	struct cidlb_state_be *be;
	int n_be;
	struct cidlb_state_q *q;
	int n_q;
};

static void *dup_mem(const void *p, size_t n)
{
	void *c = malloc(n ? n : 1);

	if (!c)
		abort();
	if (n)
		memcpy(c, p, n);
	return c;
}

static void snap_take(struct snap *s)
{
	const struct cidlb_conf *c = D.conf;

	memcpy(&s->conf, c, sizeof(*c));
	s->vips = dup_mem(c->vips, (size_t)c->n_vips * sizeof(*c->vips));
	s->backends = dup_mem(c->backends, (size_t)c->n_backends * sizeof(*c->backends));
	s->be = dup_mem(D.st.be, (size_t)D.st.n_be * sizeof(*D.st.be));
	s->n_be = D.st.n_be;
	s->q = dup_mem(D.st.q, (size_t)D.st.n_q * sizeof(*D.st.q));
	s->n_q = D.st.n_q;
}

static bool same(const void *a, const void *b, size_t n)
{
	return !n || !memcmp(a, b, n);
}

static bool snap_same(const struct snap *s)
{
	const struct cidlb_conf *c = D.conf;

	return same(&s->conf, c, sizeof(*c)) &&
	       same(s->vips, c->vips, (size_t)c->n_vips * sizeof(*c->vips)) &&
	       same(s->backends, c->backends, (size_t)c->n_backends * sizeof(*c->backends)) &&
	       s->n_be == D.st.n_be && same(s->be, D.st.be, (size_t)s->n_be * sizeof(*s->be)) &&
	       s->n_q == D.st.n_q && same(s->q, D.st.q, (size_t)s->n_q * sizeof(*s->q));
}

static void snap_free(struct snap *s)
{
	free(s->vips);
	free(s->backends);
	free(s->be);
	free(s->q);
}

/* ---- setup -------------------------------------------------------------------- */

static void clear_retired(void)
{
	int fd = cidlb_lb_map_fd(D.lb, CIDLB_M_RETIRED);
	struct cidlb_cid_key k;

	while (!bpf_map_get_next_key(fd, NULL, &k))
		if (bpf_map_delete_elem(fd, &k))
			break;
	retired = false;
	D.retired_count = 0;
	D.rheap_n = 0;
}

/* Back to the base configuration with no quarantine. */
static void reset(void)
{
	char why[1024];
	struct cidlb_conf *next = conf_dup(base);
	int err;

	CHECK(next, "out of memory");
	D.st.n_q = 0;
	err = apply_config(&D, next, NULL, why, sizeof(why));
	CHECK(!err, "cannot go back to the base configuration: %s", why);
	D.st.n_q = 0;
	if (retired)
		clear_retired();
	D.stop = false;
}

static char tmp[] = "/tmp/fuzz_control.XXXXXX"; /* the state file's */

static void remove_tmp(void)
{
	if (base)
		unlink(base->state_file);
	rmdir(tmp);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cidlb_lb_opts opts = { .lru_size = 1024, .retired_size = 4096, .dcache_size = 1024 };
	char exe[4096], obj[4200];
	const char *env = getenv("CIDLB_FUZZ_OBJECT");
	ssize_t n;
	int err;

	(void)argc;
	(void)argv;
	log_level = -1; /* quiet */
	libbpf_set_print(NULL);
	if (geteuid() != 0) {
		fprintf(stderr, "fuzz_control: needs root (BPF maps): every input is skipped\n");
		skip = true;
		return 0;
	}
	if (env) {
		snprintf(obj, sizeof(obj), "%s", env);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		CHECK(n > 0, "readlink /proc/self/exe");
		exe[n] = '\0';
		snprintf(obj, sizeof(obj), "%s/../cidlb.bpf.o", dirname(exe));
	}
	err = cidlb_conf_parse_string(base_text, sizeof(base_text) - 1, "base", 0, &base);
	CHECK(!err, "base configuration: %s", base && base->errors ? base->errors : "no memory");
	CHECK(mkdtemp(tmp), "mkdtemp");
	atexit(remove_tmp);
	snprintf(base->state_file, sizeof(base->state_file), "%s/state.json", tmp);
	err = cidlb_lb_open(obj, &opts, &D.lb);
	CHECK(!err, "cannot load %s: %s (CIDLB_FUZZ_OBJECT names another)", obj, strerror(-err));
	pthread_mutex_init(&D.lock, NULL);
	snprintf(D.config_path, sizeof(D.config_path), "base");
	snprintf(D.object, sizeof(D.object), "%s", obj);
	D.started = time(NULL);
	D.listen_fd = -1;
	D.lock_fd = -1;
	D.conf = conf_dup(base);
	CHECK(D.conf, "out of memory");
	reset();
	return 0;
}

/* ---- one request ---------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const codes[] = {
		CIDLB_CTL_E_BAD_REQUEST,
		CIDLB_CTL_E_NOT_FOUND,
		CIDLB_CTL_E_CONFLICT,
		CIDLB_CTL_E_FAILED,
	};
	struct snap before;
	json_t *reply, *ok, *again;
	char *text;
	size_t i;

	if (skip)
		return 0;
	snap_take(&before);
	writes = 0;
	reply = ctl_handle(&D, (const char *)data, size);
	CHECK(json_is_object(reply), "the reply is not a JSON object");
	text = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER);
	CHECK(text, "the reply does not print as JSON");
	again = json_loads(text, 0, NULL);
	CHECK(again && json_equal(again, reply), "the reply does not read back: %s", text);
	ok = json_object_get(reply, "ok");
	CHECK(json_is_boolean(ok), "no \"ok\": %s", text);
	if (json_is_false(ok)) {
		const char *err = json_string_value(json_object_get(reply, "error"));
		const char *code = json_string_value(json_object_get(reply, "code"));

		CHECK(err && *err, "refused without a message: %s", text);
		for (i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++)
			if (!strcmp(code, codes[i]))
				break;
		CHECK(code && i < sizeof(codes) / sizeof(codes[0]), "unknown code: %s", text);
		CHECK(!writes, "refused, yet %lu map writes: %s\nrequest: %.*s", writes, text,
		      (int)size, (const char *)data);
		CHECK(snap_same(&before), "refused, yet the configuration or the state changed: %s",
		      text);
		CHECK(!D.stop, "refused, yet the daemon stops: %s", text);
	} else {
		json_t *req = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
		const char *cmd = json_string_value(json_object_get(req, "cmd"));

		/* an added backend is the one asked for, name and all */
		if (cmd && !strcmp(cmd, "backend.add"))
			CHECK(json_equal(json_object_get(json_object_get(req, "backend"), "name"),
					 json_object_get(json_object_get(reply, "backend"),
							 "name")),
			      "backend.add: another name added: %s", text);
		json_decref(req);
		if (writes || !snap_same(&before) || D.stop)
			reset();
	}
	json_decref(again);
	free(text);
	json_decref(reply);
	snap_free(&before);
	return 0;
}
