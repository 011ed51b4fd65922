// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ctl.c - the control socket: a Unix stream socket of mode 0600 in a
 * directory of mode 0700, and a peer credential check (only uid 0), so
 * only root talks to the daemon. One JSON request, one JSON reply
 * (ctl/ctlsock.h); anything malformed gets {"ok": false, "error": ...}.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctl/ctlsock.h"
#include "ctl/xdp.h"
#include "daemon.h"
#include "ctl/log.h"

#define CTL_MAX_CLIENTS 16 /* control client threads at once */

#define WHY_LEN 1024

struct req {
	struct daemon *d;
	json_t *msg;
	json_t *reply;
	const char *code; /* error code, NULL on success */
	char why[WHY_LEN];
};

static int fail(struct req *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct req *r, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	r->code = code;
	return -1;
}

/* Every field of the request must be one of @allowed (space separated). */
static int check_fields(struct req *r, const char *cmd, const char *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach (r->msg, key, v) {
		size_t n = strlen(key);
		const char *a;

		if (!strcmp(key, "cmd"))
			continue;
		/* a whole word of @allowed: not "", not "cids ttl" */
		for (a = allowed; n && *a; a += strcspn(a, " "), a += strspn(a, " "))
			if (strcspn(a, " ") == n && !strncmp(a, key, n))
				break;
		if (n && *a)
			continue;
		return fail(r, CIDLB_CTL_E_BAD_REQUEST, "unknown field '%s' for %s; allowed: %s",
			    key, cmd, *allowed ? allowed : "none");
	}
	return 0;
}

static const char *str_field(struct req *r, const char *cmd, const char *name)
{
	json_t *v = json_object_get(r->msg, name);

	if (!json_is_string(v) || !*json_string_value(v)) {
		fail(r, CIDLB_CTL_E_BAD_REQUEST, "%s needs \"%s\": a non-empty string", cmd, name);
		return NULL;
	}
	return json_string_value(v);
}

/* The running backend @name, or a not_found error. */
static struct cidlb_conf_backend *find_backend(struct req *r, const char *name)
{
	struct cidlb_conf_backend *b = cidlb_conf_backend_find(r->d->conf, name);

	if (!b)
		fail(r, CIDLB_CTL_E_NOT_FOUND, "no backend named '%s' (see 'cidlb backend list')",
		     name);
	return b;
}

/* Apply a changed copy of the running configuration. */
static int commit(struct req *r, struct cidlb_conf *next)
{
	json_t *changes = json_object();
	int err = apply_config(r->d, next, changes, r->why, sizeof(r->why));

	if (err) {
		json_decref(changes);
		cidlb_conf_free(next);
		r->code = err == -EBUSY ? CIDLB_CTL_E_CONFLICT : CIDLB_CTL_E_FAILED;
		return -1;
	}
	json_object_set_new(r->reply, "changes", changes);
	return 0;
}

static const char *fwd_str(const struct cidlb_conf_backend *b)
{
	return b->direct ? "direct" : b->has_mac ? "encap-mac" : "encap-fib";
}

static json_t *backend_json(struct daemon *d, const struct cidlb_conf_backend *b)
{
	char addr[64], mac[18], h[2 * CIDLB_SID_MAX + 1];
	struct cidlb_backend_stats s = { 0 };
	json_t *o = json_object(), *sids = json_object();
	uint32_t idx = backend_index(d, b->name);
	int cr;

	json_object_set_new(o, "name", json_string(b->name));
	json_object_set_new(o, "pool", json_string(b->pool_name));
	json_object_set_new(o, "index", json_integer(idx));
	json_object_set_new(o, "address",
			    json_string(cidlb_addr_str(b->family, b->addr, addr, sizeof(addr))));
	json_object_set_new(o, "state", json_string(cidlb_be_state_str(b->state)));
	json_object_set_new(o, "weight", json_integer(b->weight));
	json_object_set_new(
		o, "health",
		json_string(health_state_str(health_of(d, b->name, (int)(b - d->conf->backends)))));
	json_object_set_new(o, "mode", json_string(fwd_str(b)));
	if (!b->direct) {
		json_object_set_new(o, "encap",
				    json_string(b->encap == CIDLB_ENCAP_GUE ? "gue" : "ipip"));
		if (b->encap == CIDLB_ENCAP_GUE)
			json_object_set_new(o, "gue_port", json_integer(ntohs(b->gue_port)));
	}
	if (b->has_mac) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", b->mac[0], b->mac[1],
			 b->mac[2], b->mac[3], b->mac[4], b->mac[5]);
		json_object_set_new(o, "mac", json_string(mac));
	}
	for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++) {
		char k[4];

		if (!cidlb_conf_backend_has_sid(b, cr))
			continue;
		cidlb_hex(b->sid[cr], b->sid_len[cr], h, sizeof(h));
		snprintf(k, sizeof(k), "%d", cr);
		json_object_set_new(sids, k, json_string(h));
	}
	json_object_set_new(o, "server_ids", sids);
	if (idx != CIDLB_BACKEND_NONE)
		cidlb_lb_read_backend_stats(d->lb, idx, &s);
	json_object_set_new(o, "packets", json_integer((json_int_t)s.packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)s.bytes));
	return o;
}

/* ---- requests ----------------------------------------------------------- */

static int req_status(struct req *r, const char *cmd __attribute__((unused)))
{
	struct daemon *d = r->d;
	json_t *ifs, *be, *rl;
	int n[3] = { 0 }, i;

	ifs = json_array();
	be = json_object();
	rl = json_object();
	for (i = 0; i < d->n_ifs; i++) {
		struct cidlb_xdp_info info;
		int err =
			cidlb_xdp_query(d->ifs[i].ifindex, CIDLB_PROG_MAIN, d->owner_map_id, &info);

		json_array_append_new(ifs,
				      json_pack("{s:s,s:i,s:s,s:b,s:b,s:i}", "name", d->ifs[i].name,
						"ifindex", d->ifs[i].ifindex, "mode",
						cidlb_attach_mode_str(d->ifs[i].mode), "attached",
						!err && info.ours, "dispatcher",
						!err && info.dispatcher, "mtu", d->ifs[i].mtu));
	}
	for (i = 0; i < d->conf->n_backends; i++)
		n[d->conf->backends[i].state == CIDLB_BE_DRAINING ? 1 : 0]++;
	for (i = 0; i < d->st.n_q; i++)
		n[2] += d->st.q[i].len ? 1 : 0;
	json_object_set_new(be, "active", json_integer(n[0]));
	json_object_set_new(be, "draining", json_integer(n[1]));
	json_object_set_new(rl, "ok", json_boolean(d->last_reload_ok));
	json_object_set_new(rl, "time", json_integer((json_int_t)d->last_reload));
	json_object_set_new(rl, "message", json_string(d->last_reload_msg));
	json_object_set_new(r->reply, "pid", json_integer(getpid()));
	json_object_set_new(r->reply, "started", json_integer((json_int_t)d->started));
	json_object_set_new(r->reply, "uptime",
			    json_integer((json_int_t)(time(NULL) - d->started)));
	json_object_set_new(r->reply, "config", json_string(d->config_path));
	json_object_set_new(r->reply, "pin_dir", json_string(d->pin_dir));
	json_object_set_new(r->reply, "object", json_string(d->object));
	json_object_set_new(r->reply, "adopted", json_boolean(d->adopted));
	json_object_set_new(r->reply, "keep_on_exit", json_boolean(d->keep_on_exit));
	json_object_set_new(r->reply, "interfaces", ifs);
	/* where the seed comes from, never its value */
	json_object_set_new(r->reply, "seed",
			    json_string(d->conf->has_seed ? "config" : "random (state file)"));
	json_object_set_new(r->reply, "vips", json_integer(d->conf->n_vips));
	if (d->conf->pools_named) { /* their names; none: the implicit pool */
		json_t *pl = json_array();

		for (int i = 0; i < d->conf->n_pools; i++)
			if (!d->conf->pools[i].unused)
				json_array_append_new(pl, json_string(d->conf->pools[i].name));
		json_object_set_new(r->reply, "pools", pl);
	}
	json_object_set_new(r->reply, "backends", be);
	json_object_set_new(r->reply, "quarantined_server_ids", json_integer(n[2]));
	json_object_set_new(
		r->reply, "retired_cids",
		json_integer((json_int_t)__atomic_load_n(&d->retired_count, __ATOMIC_RELAXED)));
	json_object_set_new(r->reply, "last_reload", rl);
	json_object_set_new(r->reply, "drained", json_boolean(d->st.drained_since != 0));
	json_object_set_new(r->reply, "drained_since", json_integer(d->st.drained_since));
	json_object_set_new(r->reply, "announce", announce_json(d));
	return 0;
}

/* drain, undrain: the host's VIPs withdrawn or announced again */
static int req_drain(struct req *r, const char *cmd)
{
	struct daemon *d = r->d;
	bool drain = !strcmp(cmd, "drain");
	int64_t was = d->st.drained_since;

	if (drain && !was)
		d->st.drained_since = (int64_t)time(NULL);
	else if (!drain)
		d->st.drained_since = 0;
	if (was != d->st.drained_since) {
		save_state(d);
		pr_info("control: %s: %s", cmd,
			drain ? "the VIPs are withdrawn until 'cidlb daemon undrain'" :
				"the VIPs are announced again where they qualify");
	}
	announce_sync(d);
	json_object_set_new(r->reply, "drained", json_boolean(drain));
	json_object_set_new(r->reply, "changed", json_boolean(was != d->st.drained_since));
	json_object_set_new(r->reply, "drained_since", json_integer(d->st.drained_since));
	json_object_set_new(r->reply, "announce", announce_json(d));
	return 0;
}

static int req_backend_list(struct req *r, const char *cmd __attribute__((unused)))
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < r->d->conf->n_backends; i++)
		json_array_append_new(a, backend_json(r->d, &r->d->conf->backends[i]));
	json_object_set_new(r->reply, "backends", a);
	return 0;
}

/* A JSON value as the text the config parser takes. */
static int value_text(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		return -EINVAL;
	return 0;
}

static int req_backend_add(struct req *r, const char *cmd __attribute__((unused)))
{
	struct cidlb_conf_backend nb;
	struct cidlb_conf *next;
	json_t *spec, *v;
	const char *key, *name;
	char why[512], val[256];

	spec = json_object_get(r->msg, "backend");
	if (!json_is_object(spec))
		return fail(
			r, CIDLB_CTL_E_BAD_REQUEST,
			"backend.add needs \"backend\": an object with name, pool, address, server_id, weight, state, mac, mode");
	v = json_object_get(spec, "name");
	name = json_string_value(v);
	if (!name)
		return fail(r, CIDLB_CTL_E_BAD_REQUEST, "backend.add: \"name\" must be a string");
	if (strlen(name) > CIDLB_NAME_MAX) /* would be cut to fit nb.name */
		return fail(
			r, CIDLB_CTL_E_BAD_REQUEST,
			"backend.add: backend name '%.20s...': 1..%d letters, digits, '-', '_' or '.'",
			name, CIDLB_NAME_MAX);
	cidlb_conf_backend_init(&nb, name);
	json_object_foreach (spec, key, v) {
		if (!strcmp(key, "name"))
			continue;
		if (!strcmp(key, "server_id")) {
			const char *cr;
			json_t *sv;

			if (!json_is_object(v))
				return fail(
					r, CIDLB_CTL_E_BAD_REQUEST,
					"backend.add: \"server_id\" must be an object {\"CONFIG_ID\": \"HEX\"}");
			json_object_foreach (v, cr, sv) {
				char k[64];

				snprintf(k, sizeof(k), "server_id.%s", cr);
				if (value_text(sv, val, sizeof(val)))
					return fail(
						r, CIDLB_CTL_E_BAD_REQUEST,
						"backend.add: server_id \"%s\" must be a hex string",
						cr);
				if (cidlb_conf_backend_set(&nb, k, val, why, sizeof(why)))
					return fail(r, CIDLB_CTL_E_BAD_REQUEST,
						    "backend.add: %s: %s", k, why);
			}
			continue;
		}
		if (value_text(v, val, sizeof(val)))
			return fail(r, CIDLB_CTL_E_BAD_REQUEST,
				    "backend.add: \"%s\" must be a string or a number", key);
		if (cidlb_conf_backend_set(&nb, key, val, why, sizeof(why)))
			return fail(r, CIDLB_CTL_E_BAD_REQUEST, "backend.add: %s: %s", key, why);
	}
	if (cidlb_conf_backend_check(r->d->conf, &nb, why, sizeof(why)))
		return fail(r, CIDLB_CTL_E_BAD_REQUEST, "backend.add %s: %s", nb.name, why);
	nb.pool = (uint16_t)cidlb_conf_pool_find(r->d->conf, nb.pool_name); /* checked */
	if (cidlb_conf_backend_find(r->d->conf, nb.name))
		return fail(
			r, CIDLB_CTL_E_CONFLICT,
			"backend %s exists; change it with backend weight/drain/activate, or remove it first",
			nb.name);
	if (r->d->conf->n_backends >= CIDLB_MAX_BACKENDS)
		return fail(r, CIDLB_CTL_E_CONFLICT, "%d backends is the limit",
			    CIDLB_MAX_BACKENDS);
	for (int cr = 0; cr < CIDLB_CONFIG_IDS; cr++)
		if (cidlb_conf_backend_has_sid(&nb, cr) &&
		    cidlb_conf_sid_check(r->d->conf, &nb, cr, r->d->conf->backends,
					 r->d->conf->n_backends, why, sizeof(why)))
			return fail(r, CIDLB_CTL_E_CONFLICT, "backend.add %s: server_id.%d: %s",
				    nb.name, cr, why);
	next = conf_dup(r->d->conf);
	if (!next)
		return fail(r, CIDLB_CTL_E_FAILED, "out of memory");
	next->backends[next->n_backends++] = nb;
	if (commit(r, next))
		return -1;
	pr_info("control: backend %s added", nb.name);
	json_object_set_new(r->reply, "backend",
			    backend_json(r->d, cidlb_conf_backend_find(r->d->conf, nb.name)));
	return 0;
}

/* drain, activate, remove, weight */
static int req_backend_change(struct req *r, const char *cmd)
{
	struct cidlb_conf_backend *b;
	struct cidlb_conf *next;
	const char *name;
	uint32_t weight = 0;
	bool is_weight = !strcmp(cmd, "backend.weight");

	name = str_field(r, cmd, "name");
	if (!name)
		return -1;
	if (is_weight) {
		json_t *w = json_object_get(r->msg, "weight");

		if (!json_is_integer(w) || json_integer_value(w) < 0 ||
		    json_integer_value(w) > CIDLB_WEIGHT_MAX)
			return fail(r, CIDLB_CTL_E_BAD_REQUEST,
				    "backend.weight needs \"weight\": a number 0..%d",
				    CIDLB_WEIGHT_MAX);
		weight = (uint32_t)json_integer_value(w);
	}
	if (!find_backend(r, name))
		return -1;
	next = conf_dup(r->d->conf);
	if (!next)
		return fail(r, CIDLB_CTL_E_FAILED, "out of memory");
	b = cidlb_conf_backend_find(next, name);
	if (!strcmp(cmd, "backend.drain"))
		b->state = CIDLB_BE_DRAINING;
	else if (!strcmp(cmd, "backend.activate"))
		b->state = CIDLB_BE_ACTIVE;
	else if (is_weight)
		b->weight = weight;
	else { /* remove */
		int i = (int)(b - next->backends);

		memmove(b, b + 1, (size_t)(next->n_backends - i - 1) * sizeof(*b));
		next->n_backends--;
	}
	if (commit(r, next))
		return -1;
	if (is_weight)
		pr_info("control: %s %s %u", cmd, name, weight);
	else
		pr_info("control: %s %s", cmd, name);
	b = cidlb_conf_backend_find(r->d->conf, name);
	if (b)
		json_object_set_new(r->reply, "backend", backend_json(r->d, b));
	return 0;
}

static int req_cid(struct req *r, const char *cmd)
{
	bool add = !strcmp(cmd, "cid.retire");
	uint32_t ttl = r->d->conf->retire_ttl_s;
	const char *pname = "";
	json_t *t, *p;
	int err, pool;

	p = json_object_get(r->msg, "pool");
	if (p && !json_is_string(p))
		return fail(r, CIDLB_CTL_E_BAD_REQUEST, "\"pool\" must be a pool's name");
	if (p)
		pname = json_string_value(p);
	pool = cidlb_conf_pool_find(r->d->conf, pname);
	if (pool < 0 && !*pname)
		return fail(r, CIDLB_CTL_E_BAD_REQUEST,
			    "the pools are named: say whose CIDs these are with \"pool\"");
	if (pool < 0)
		return fail(r, CIDLB_CTL_E_BAD_REQUEST, "no pool '%s'", pname);

	t = json_object_get(r->msg, "ttl");
	if (t) {
		if (!json_is_integer(t) || json_integer_value(t) < 1 ||
		    json_integer_value(t) > 30 * 86400)
			return fail(r, CIDLB_CTL_E_BAD_REQUEST,
				    "\"ttl\" must be a number of seconds, 1..2592000");
		ttl = (uint32_t)json_integer_value(t);
	}
	err = retire_cids(r->d, json_object_get(r->msg, "cids"), (uint16_t)pool, ttl, add, r->reply,
			  r->why, sizeof(r->why));
	if (err)
		r->code = err == -EINVAL ? CIDLB_CTL_E_BAD_REQUEST : CIDLB_CTL_E_FAILED;
	return err ? -1 : 0;
}

static int req_quarantine(struct req *r, const char *cmd __attribute__((unused)))
{
	uint64_t now = boottime_ns();
	json_t *a = json_array();
	int i;

	for (i = 0; i < r->d->st.n_q; i++) {
		const struct cidlb_state_q *q = &r->d->st.q[i];
		char h[2 * CIDLB_SID_MAX + 1];

		if (!q->len)
			continue;
		cidlb_hex(q->sid, q->len, h, sizeof(h));
		json_array_append_new(
			a,
			json_pack("{s:s,s:i,s:s,s:s,s:I}", "pool",
				  cidlb_conf_pool_name(r->d->conf, q->pool), "config_id",
				  q->config_id, "server_id", h, "owner", q->owner, "seconds_left",
				  (json_int_t)(q->until_ns > now ?
						       (q->until_ns - now) / 1000000000ULL + 1 :
						       0)));
	}
	json_object_set_new(r->reply, "quarantine", a);
	return 0;
}

static int req_reload(struct req *r, const char *cmd __attribute__((unused)))
{
	json_t *changes = json_object();

	if (do_reload(r->d, changes, r->why, sizeof(r->why))) {
		json_decref(changes);
		r->code = CIDLB_CTL_E_FAILED;
		return -1;
	}
	json_object_set_new(r->reply, "changes", changes);
	return 0;
}

static int req_stop(struct req *r, const char *cmd __attribute__((unused)))
{
	json_t *k;

	k = json_object_get(r->msg, "keep");
	if (k && !json_is_boolean(k))
		return fail(r, CIDLB_CTL_E_BAD_REQUEST, "\"keep\" must be true or false");
	r->d->stop = true;
	r->d->stop_keep = k ? json_is_true(k) : r->d->keep_on_exit;
	json_object_set_new(r->reply, "keep", json_boolean(r->d->stop_keep));
	pr_info("control: stop requested (%s)",
		r->d->stop_keep ? "keep: the program stays attached and the maps pinned" :
				  "detach and unpin");
	return 0;
}

/* The control requests: name, the fields it allows beside "cmd", handler. */
static const struct request {
	const char *cmd;
	const char *fields;
	int (*fn)(struct req *r, const char *cmd);
} requests[] = {
	{ "status", "", req_status },
	{ "backend.list", "", req_backend_list },
	{ "backend.add", "backend", req_backend_add },
	{ "backend.drain", "name", req_backend_change },
	{ "backend.activate", "name", req_backend_change },
	{ "backend.remove", "name", req_backend_change },
	{ "backend.weight", "name weight", req_backend_change },
	{ "cid.retire", "cids ttl pool", req_cid },
	{ "cid.unretire", "cids pool", req_cid },
	{ "quarantine.list", "", req_quarantine },
	{ "reload", "", req_reload },
	{ "stop", "keep", req_stop },
	{ "drain", "", req_drain },
	{ "undrain", "", req_drain },
};

/* "status, backend.list, ...": the request names, for error replies */
static const char *request_names(char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(requests) / sizeof(requests[0]) && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", requests[i].cmd);
	return buf;
}

static int dispatch(struct req *r)
{
	json_t *c = json_object_get(r->msg, "cmd");
	const char *cmd;
	char names[256];
	size_t i;

	if (!json_is_string(c))
		return fail(r, CIDLB_CTL_E_BAD_REQUEST, "the request needs \"cmd\": one of %s",
			    request_names(names, sizeof(names)));
	cmd = json_string_value(c);
	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		if (strcmp(cmd, requests[i].cmd))
			continue;
		if (check_fields(r, cmd, requests[i].fields))
			return -1;
		return requests[i].fn(r, cmd);
	}
	return fail(r, CIDLB_CTL_E_BAD_REQUEST, "unknown cmd '%s'; one of %s", cmd,
		    request_names(names, sizeof(names)));
}

/* ---- the socket ----------------------------------------------------------- */

int ctl_listen(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = d->conf->socket;
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("control socket path %s is longer than %zu characters", path,
		       sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			err = -errno;
			pr_err("cannot create %s for the control socket: %s", dir, strerror(-err));
			return err;
		}
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* the lock file says no other daemon uses it */
	old = umask(077);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (!err && chmod(path, 0600))
		err = -errno;
	if (!err && listen(fd, 16))
		err = -errno;
	if (err) {
		pr_err("cannot listen on the control socket %s: %s", path, strerror(-err));
		close(fd);
		return err;
	}
	d->listen_fd = fd;
	pr_info("control socket %s (root only)", path);
	return 0;
}

void ctl_close(struct daemon *d)
{
	int waited = 0;

	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		d->listen_fd = -1;
		if (d->conf)
			unlink(d->conf->socket);
	}
	/* a client thread ends within its read, reply and drain limits */
	while (__atomic_load_n(&d->ctl_active, __ATOMIC_ACQUIRE) && waited++ < 2000)
		usleep(10000);
	if (__atomic_load_n(&d->ctl_active, __ATOMIC_ACQUIRE))
		pr_warn("control: %d client(s) still running after 20 s", d->ctl_active);
}

static void send_reply(int fd, json_t *reply, int timeout_ms)
{
	char *s = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s) {
		if (cidlb_ctl_write_msg(fd, s, strlen(s), timeout_ms))
			pr_debug("control: the client left before the reply");
		free(s);
	}
}

/* Reply, then read what the client still sends before closing: closing
 * with unread data would reset the connection and lose the reply. */
static void reply_close(int fd, json_t *reply)
{
	char junk[65536];
	long long budget = 64LL << 20;

	struct timespec t0, t;

	send_reply(fd, reply, CIDLB_CTL_TIMEOUT_MS);
	shutdown(fd, SHUT_WR);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (budget > 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= CIDLB_CTL_TIMEOUT_MS / 1000)
			break; /* a client that keeps sending: at most 5 s */
		if (poll(&p, 1, 200) <= 0)
			break;
		n = read(fd, junk, sizeof(junk));
		if (n <= 0)
			break;
		budget -= n;
	}
	close(fd);
}

static json_t *error_reply(const char *code, const char *msg)
{
	json_t *r = json_pack("{s:b,s:s,s:s}", "ok", 0, "error", msg, "code", code);
	char *clean, *p;

	if (r)
		return r;
	/* not UTF-8: the request's own octets quoted, or a character cut
	 * by the buffer's end; the message in ASCII then */
	clean = strdup(msg);
	if (!clean)
		return NULL;
	for (p = clean; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	r = json_pack("{s:b,s:s,s:s}", "ok", 0, "error", clean, "code", code);
	free(clean);
	return r;
}

json_t *ctl_handle(struct daemon *d, const char *buf, size_t len)
{
	struct req r = { .d = d };
	json_error_t jerr;
	json_t *reply;
	int n;

	/* jansson ends a number at a NUL octet and reads {"weight":7<NUL>} as
	 * {"weight":7}: JSON text never holds one, so refuse it first */
	if (memchr(buf, '\0', len)) {
		r.msg = NULL;
		reply = error_reply(CIDLB_CTL_E_BAD_REQUEST,
				    "the request is not JSON: it holds a NUL octet");
	} else if (!(r.msg = json_loadb(buf, len, JSON_DECODE_ANY, &jerr))) {
		char msg[512];

		snprintf(msg, sizeof(msg), "the request is not JSON: %s (line %d, column %d)",
			 jerr.text, jerr.line, jerr.column);
		reply = error_reply(CIDLB_CTL_E_BAD_REQUEST, msg);
	} else if (!json_is_object(r.msg)) {
		reply = error_reply(CIDLB_CTL_E_BAD_REQUEST,
				    "the request must be a JSON object: {\"cmd\": \"...\", ...}");
	} else {
		r.reply = json_object();
		json_object_set_new(r.reply, "ok", json_true());
		pthread_mutex_lock(&d->lock);
		n = dispatch(&r);
		pthread_mutex_unlock(&d->lock);
		if (n) {
			json_decref(r.reply);
			reply = error_reply(r.code ? r.code : CIDLB_CTL_E_FAILED, r.why);
			pr_info("control: %s refused: %s",
				json_string_value(json_object_get(r.msg, "cmd")) ?: "request",
				r.why);
		} else {
			reply = r.reply;
		}
	}
	json_decref(r.msg);
	return reply;
}

/* One client: the root check, its request, the reply. */
static void ctl_serve(struct daemon *d, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char *buf = NULL;
	json_t *reply;
	int n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.uid != 0) {
		pr_warn("control: refused a client with uid %d (pid %d): root only",
			len == sizeof(cred) ? (int)cred.uid : -1,
			len == sizeof(cred) ? (int)cred.pid : -1);
		reply = error_reply(CIDLB_CTL_E_DENIED, "the control socket is for root only");
		reply_close(fd, reply);
		json_decref(reply);
		return;
	}
	n = cidlb_ctl_read_msg(fd, &buf, CIDLB_CTL_MAX_MSG, CIDLB_CTL_TIMEOUT_MS);
	if (n < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s",
			 n == -EMSGSIZE	 ? "request larger than 16 MiB: split it" :
			 n == -ETIMEDOUT ? "no complete request within 5 s" :
					   strerror(-n));
		reply = error_reply(CIDLB_CTL_E_BAD_REQUEST, msg);
		reply_close(fd, reply);
		json_decref(reply);
		return;
	}
	reply = ctl_handle(d, buf, (size_t)n);
	free(buf);
	reply_close(fd, reply);
	json_decref(reply);
}

struct ctl_client {
	struct daemon *d;
	int fd;
};

static void *ctl_thread(void *arg)
{
	struct ctl_client c = *(struct ctl_client *)arg;
	uint64_t one = 1;

	free(arg);
	ctl_serve(c.d, c.fd);
	__atomic_sub_fetch(&c.d->ctl_active, 1, __ATOMIC_RELEASE);
	if (c.d->wake_fd >= 0 && write(c.d->wake_fd, &one, sizeof(one)) < 0)
		pr_debug("control: cannot wake the main loop: %s", strerror(errno));
	return NULL;
}

int ctl_accept(struct daemon *d)
{
	struct ctl_client *c;
	pthread_attr_t attr;
	pthread_t t;
	json_t *reply;
	char msg[96];
	int fd, err;

	fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM ?
			       -errno :
			       0;
	if (__atomic_load_n(&d->ctl_active, __ATOMIC_ACQUIRE) >= CTL_MAX_CLIENTS) {
		/* in the main loop's thread: a short write, no waiting */
		snprintf(msg, sizeof(msg), "cidlbd serves %d control clients at once: try again",
			 CTL_MAX_CLIENTS);
		pr_warn("control: %d clients at once already: one refused", CTL_MAX_CLIENTS);
		reply = error_reply(CIDLB_CTL_E_FAILED, msg);
		if (reply) {
			send_reply(fd, reply, 100);
			json_decref(reply);
		}
		close(fd);
		return 0;
	}
	c = malloc(sizeof(*c));
	if (!c) {
		close(fd);
		return 0;
	}
	c->d = d;
	c->fd = fd;
	__atomic_add_fetch(&d->ctl_active, 1, __ATOMIC_ACQ_REL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, ctl_thread, c);
	pthread_attr_destroy(&attr);
	if (err) {
		/* no thread: serve it here, as before threads */
		pr_warn("control: no thread for a client (%s): served in line", strerror(err));
		free(c);
		ctl_serve(d, fd);
		__atomic_sub_fetch(&d->ctl_active, 1, __ATOMIC_RELEASE);
	}
	return 0;
}
