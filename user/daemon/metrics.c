// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * metrics.c - Prometheus text exposition (format 0.0.4) on GET /metrics,
 * served by libmicrohttpd's own thread on [daemon] metrics (127.0.0.1:9470
 * by default). Data-path counters are read from the maps at scrape time
 * and summed over CPUs; daemon state is read under d->lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <microhttpd.h>

#include "daemon.h"
#include "ctl/log.h"

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void out(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *np = realloc(b->p, b->cap * 2 + (size_t)n);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	out(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *mode_name(uint8_t mode)
{
	switch (mode) {
	case CIDLB_MODE_PLAINTEXT:
		return "plaintext";
	case CIDLB_MODE_SINGLE_PASS:
		return "single-pass";
	case CIDLB_MODE_FOUR_PASS:
		return "four-pass";
	default:
		return "none";
	}
}

/* ',pool="NAME"' where the configuration names pools; "" where it has
 * the implicit pool alone (its series as before pools). */
static const char *pool_label(const struct daemon *d, int pool, char *buf, size_t len)
{
	if (!d->conf->pools_named)
		return "";
	snprintf(buf, len, ",pool=\"%s\"", cidlb_conf_pool_name(d->conf, pool));
	return buf;
}

static const char *be_pool(const struct daemon *d, size_t i, char *buf, size_t len)
{
	return pool_label(d, d->conf->backends[i].pool, buf, len);
}

static void render(struct daemon *d, struct buf *b)
{
	struct cidlb_counters c = { 0 };
	char name[96], pl[CIDLB_NAME_MAX + 16];
	size_t i;
	int n_state[3] = { 0 }, n_q = 0, cr, n_pools;

	/* data path */
	cidlb_lb_read_counters(d->lb, &c);
	for (i = 0; i < cidlb_counter_count; i++) {
		snprintf(name, sizeof(name), "cidlb_%s_total", cidlb_counter_descs[i].name);
		family(b, name, "counter", cidlb_counter_descs[i].help);
		out(b, "%s %llu\n", name,
		    (unsigned long long)*(const __u64 *)((const char *)&c +
							 cidlb_counter_descs[i].offset));
	}
	family(b, "cidlb_cid_decodes_total", "counter",
	       "CIDs decoded, by the mode of their QUIC-LB config.");
	out(b, "cidlb_cid_decodes_total{mode=\"plaintext\"} %llu\n",
	    (unsigned long long)c.cid_plaintext);
	out(b, "cidlb_cid_decodes_total{mode=\"single-pass\"} %llu\n",
	    (unsigned long long)c.cid_single_pass);
	out(b, "cidlb_cid_decodes_total{mode=\"four-pass\"} %llu\n",
	    (unsigned long long)c.cid_four_pass);

	pthread_mutex_lock(&d->lock);
	n_pools = d->conf->n_pools > 0 ? d->conf->n_pools : 1;
	family(b, "cidlb_quic_lb_config", "gauge",
	       "QUIC-LB configs held by the load balancer (1 per config ID).");
	for (i = 0; i < (size_t)n_pools * CIDLB_CONFIG_IDS; i++) {
		struct cidlb_config cfg;

		cr = (int)(i % CIDLB_CONFIG_IDS);
		if (d->conf->n_pools && d->conf->pools[i / CIDLB_CONFIG_IDS].unused)
			continue;
		if (cidlb_lb_get_pool_config(d->lb, (uint32_t)(i / CIDLB_CONFIG_IDS), (uint32_t)cr,
					     &cfg) ||
		    cfg.mode == CIDLB_MODE_NONE)
			continue;
		out(b,
		    "cidlb_quic_lb_config{config_id=\"%d\",mode=\"%s\",server_id_len=\"%u\",nonce_len=\"%u\",generation=\"%u\"%s} 1\n",
		    cr, mode_name(cfg.mode), cfg.sid_len, cfg.nonce_len, cfg.generation,
		    pool_label(d, (int)(i / CIDLB_CONFIG_IDS), pl, sizeof(pl)));
		explicit_bzero(&cfg, sizeof(cfg));
	}
	{
		static const struct {
			const char *name, *help;
			size_t off;
		} cs[] = {
			{ "cidlb_config_decodes_total",
			  "Server IDs read from DCIDs of a QUIC-LB config ID.",
			  offsetof(struct cidlb_config_stats, decodes) },
			{ "cidlb_config_dcache_hits_total",
			  "Of those, found in the decode cache (no AES).",
			  offsetof(struct cidlb_config_stats, dcache_hits) },
			{ "cidlb_config_no_backend_total",
			  "Decoded server IDs that no live backend owns (sent to the fallback).",
			  offsetof(struct cidlb_config_stats, no_backend) },
		};
		size_t n = (size_t)n_pools * CIDLB_CONFIG_IDS, k;
		struct cidlb_config_stats *st = calloc(n, sizeof(*st));

		for (i = 0; st && i < n; i++)
			cidlb_lb_read_pool_config_stats(d->lb, (uint32_t)(i / CIDLB_CONFIG_IDS),
							(uint32_t)(i % CIDLB_CONFIG_IDS), &st[i]);
		for (k = 0; st && k < sizeof(cs) / sizeof(cs[0]); k++) {
			family(b, cs[k].name, "counter", cs[k].help);
			for (i = 0; i < n; i++) {
				uint64_t v;

				if (d->conf->n_pools && d->conf->pools[i / CIDLB_CONFIG_IDS].unused)
					continue;
				memcpy(&v, (const char *)&st[i] + cs[k].off, sizeof(v));
				out(b, "%s{config_id=\"%d\"%s} %llu\n", cs[k].name,
				    (int)(i % CIDLB_CONFIG_IDS),
				    pool_label(d, (int)(i / CIDLB_CONFIG_IDS), pl, sizeof(pl)),
				    (unsigned long long)v);
			}
		}
		free(st);
	}

	/* backends */
	{
		/* each backend's per-CPU statistics read once, printed twice */
		size_t n = (size_t)d->conf->n_backends;
		struct cidlb_backend_stats *st = calloc(n ? n : 1, sizeof(*st));

		for (i = 0; st && i < n; i++) {
			uint32_t idx = backend_index(d, d->conf->backends[i].name);

			if (idx != CIDLB_BACKEND_NONE)
				cidlb_lb_read_backend_stats(d->lb, idx, &st[i]);
		}
		family(b, "cidlb_backend_packets_total", "counter", "Packets sent to a backend.");
		for (i = 0; st && i < n; i++)
			out(b, "cidlb_backend_packets_total{backend=\"%s\"%s} %llu\n",
			    d->conf->backends[i].name, be_pool(d, i, pl, sizeof(pl)),
			    (unsigned long long)st[i].packets);
		family(b, "cidlb_backend_bytes_total", "counter",
		       "Octets (frames as received) sent to a backend.");
		for (i = 0; st && i < n; i++)
			out(b, "cidlb_backend_bytes_total{backend=\"%s\"%s} %llu\n",
			    d->conf->backends[i].name, be_pool(d, i, pl, sizeof(pl)),
			    (unsigned long long)st[i].bytes);
		free(st);
	}
	family(b, "cidlb_backend_weight", "gauge", "Maglev weight of a backend.");
	for (i = 0; i < (size_t)d->conf->n_backends; i++)
		out(b, "cidlb_backend_weight{backend=\"%s\"%s} %u\n", d->conf->backends[i].name,
		    be_pool(d, i, pl, sizeof(pl)), d->conf->backends[i].weight);
	family(b, "cidlb_backend_up", "gauge",
	       "Each backend and its state (active or draining): 1, or 0 while its health checks say down.");
	for (i = 0; i < (size_t)d->conf->n_backends; i++) {
		const struct cidlb_conf_backend *be = &d->conf->backends[i];

		n_state[be->state == CIDLB_BE_DRAINING ? 1 : 0]++;
		out(b, "cidlb_backend_up{backend=\"%s\",state=\"%s\"%s} %d\n", be->name,
		    cidlb_be_state_str(be->state), be_pool(d, i, pl, sizeof(pl)),
		    health_of(d, be->name, (int)i) != HEALTH_DOWN);
	}
	family(b, "cidlb_backend_health_transitions_total", "counter",
	       "Changes of a backend's health (up, down, unknown) since cidlbd started.");
	for (i = 0; i < (size_t)d->conf->n_backends; i++)
		out(b, "cidlb_backend_health_transitions_total{backend=\"%s\"%s} %llu\n",
		    d->conf->backends[i].name, be_pool(d, i, pl, sizeof(pl)),
		    (unsigned long long)health_transitions(d, d->conf->backends[i].name, (int)i));
	family(b, "cidlb_health_fail_open", "gauge",
	       "1 while every backend is down and all stay in the Maglev table.");
	out(b, "cidlb_health_fail_open %d\n", d->health_fail_open);
	family(b, "cidlb_backends", "gauge", "Backends by state.");
	out(b, "cidlb_backends{state=\"active\"} %d\n", n_state[0]);
	out(b, "cidlb_backends{state=\"draining\"} %d\n", n_state[1]);
	for (i = 0; i < (size_t)d->st.n_q; i++)
		n_q += d->st.q[i].len ? 1 : 0;
	family(b, "cidlb_quarantined_server_ids", "gauge",
	       "Server IDs of removed backends not yet given to another backend.");
	out(b, "cidlb_quarantined_server_ids %d\n", n_q);

	/* announce.c: drain and the VIP routes */
	family(b, "cidlb_host_drained", "gauge",
	       "1 while the host is drained (cidlb daemon drain): its VIPs are withdrawn.");
	out(b, "cidlb_host_drained %d\n", d->st.drained_since != 0);
	family(b, "cidlb_vip_announced", "gauge",
	       "1 while the VIP address's route is in [daemon] announce_table (BGP announces it).");
	for (i = 0; i < (size_t)d->n_ann; i++) {
		char a[64];

		out(b, "cidlb_vip_announced{vip=\"%s\"} %d\n",
		    cidlb_addr_str(d->ann[i].family, d->ann[i].addr, a, sizeof(a)),
		    d->ann[i].announced);
	}

	/* retired CIDs */
	family(b, "cidlb_retired_cids", "gauge", "Entries in the retired-CID map.");
	out(b, "cidlb_retired_cids %llu\n",
	    (unsigned long long)__atomic_load_n(&d->retired_count, __ATOMIC_RELAXED));
	family(b, "cidlb_retired_cids_added_total", "counter", "CIDs retired through the daemon.");
	out(b, "cidlb_retired_cids_added_total %llu\n",
	    (unsigned long long)__atomic_load_n(&d->retired_added, __ATOMIC_RELAXED));
	family(b, "cidlb_retired_cids_expired_total", "counter",
	       "Retired CIDs removed at their expiry.");
	out(b, "cidlb_retired_cids_expired_total %llu\n",
	    (unsigned long long)__atomic_load_n(&d->retired_expired, __ATOMIC_RELAXED));

	/* daemon */
	family(b, "cidlb_vips", "gauge", "VIP entries (address, port).");
	out(b, "cidlb_vips %d\n", d->conf->n_vips);
	family(b, "cidlb_interfaces", "gauge", "Interfaces cidlb is attached to.");
	out(b, "cidlb_interfaces %d\n", d->n_ifs);
	family(b, "cidlb_reload_success", "gauge",
	       "1 if the last reload applied, 0 if it was refused.");
	out(b, "cidlb_reload_success %d\n", d->last_reload_ok ? 1 : 0);
	family(b, "cidlb_reload_timestamp_seconds", "gauge",
	       "Unix time of the last reload (0: none since start).");
	out(b, "cidlb_reload_timestamp_seconds %lld\n", (long long)d->last_reload);
	family(b, "cidlb_reloads_total", "counter", "Reloads by result.");
	out(b, "cidlb_reloads_total{result=\"ok\"} %llu\n", (unsigned long long)d->reloads_ok);
	out(b, "cidlb_reloads_total{result=\"error\"} %llu\n",
	    (unsigned long long)d->reloads_failed);
	family(b, "cidlb_daemon_start_timestamp_seconds", "gauge", "Unix time cidlbd started.");
	out(b, "cidlb_daemon_start_timestamp_seconds %lld\n", (long long)d->started);
	family(b, "cidlb_daemon_adopted", "gauge",
	       "1 if this daemon adopted a running program (restart with keep).");
	out(b, "cidlb_daemon_adopted %d\n", d->adopted ? 1 : 0);
	pthread_mutex_unlock(&d->lock);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *type,
			     char *body, size_t len, bool owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **ctx)
{
	static char not_found[] = "cidlbd: only GET /metrics is served here\n";
	static char bad_method[] = "cidlbd: only GET is allowed\n";
	struct daemon *d = cls;
	struct buf b = { 0 };

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)ctx;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method,
			     strlen(bad_method), false);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found, strlen(not_found),
			     false);
	b.cap = 16384;
	b.p = malloc(b.cap);
	if (!b.p)
		return MHD_NO;
	render(d, &b);
	if (b.oom) {
		free(b.p);
		return MHD_NO;
	}
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len,
		     true);
}

/* Exposure limits: any local user (or anyone the address is reachable
 * from) can connect, so connections are bounded in number, per client
 * address and in time; past them the daemon refuses, never runs out of
 * file descriptors. */
#define METRICS_MAX_CONNS   64 /* at once, all clients */
#define METRICS_MAX_PER_IP  8  /* at once, one client address */
#define METRICS_TIMEOUT_S   10 /* an idle connection is closed */
#define METRICS_RETRY_MIN_S 1  /* a failed bind is tried again after this, */
#define METRICS_RETRY_MAX_S 60 /* doubling up to this */

static int metrics_addr(const char *spec, struct sockaddr_storage *ss, unsigned int *flags)
{
	char host[64];
	const char *colon;
	uint32_t port;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close)
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(close - spec - 1), spec + 1);
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	}
	if (*colon != ':' || cidlb_parse_u32(colon + 1, 1, 65535, &port))
		return -EINVAL;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*flags |= MHD_USE_IPv6;
	}
	return (int)port;
}

/* One attempt to listen; 0, or -EADDRINUSE (or what else bind said). */
static int metrics_try(struct daemon *d)
{
	struct sockaddr_storage ss;
	/* epoll: no FD_SETSIZE limit, and idle connections cost no wakeups */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	int port = metrics_addr(d->conf->metrics, &ss, &flags);

	if (port < 0)
		return port;
	errno = 0;
	d->httpd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, d,
				    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_MAX_CONNS,
				    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				    (unsigned int)METRICS_MAX_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
				    (unsigned int)METRICS_TIMEOUT_S, MHD_OPTION_END);
	if (!d->httpd)
		return errno ? -errno : -EADDRINUSE;
	return 0;
}

int metrics_start(struct daemon *d)
{
	int err;

	d->metrics_retry_s = 0;
	if (!*d->conf->metrics) {
		pr_info("metrics off");
		return 0;
	}
	err = metrics_try(d);
	if (err == -EINVAL) {
		pr_err("[daemon] metrics = %s: not ADDRESS:PORT", d->conf->metrics);
		return err;
	}
	if (err) {
		/* the data path and the control socket do not need it: retried */
		d->metrics_retry_s = METRICS_RETRY_MIN_S;
		d->metrics_next = time(NULL) + d->metrics_retry_s;
		pr_err("cannot serve metrics on %s: %s (another process holds the port? set [daemon] metrics = ADDRESS:PORT or off); forwarding and the control socket go on, trying again in %d s",
		       d->conf->metrics, strerror(-err), d->metrics_retry_s);
		return 0;
	}
	pr_info("metrics on http://%s/metrics (at most %d connections, %d per client address, idle ones closed after %d s)",
		d->conf->metrics, METRICS_MAX_CONNS, METRICS_MAX_PER_IP, METRICS_TIMEOUT_S);
	return 0;
}

void metrics_tick(struct daemon *d)
{
	time_t now = time(NULL);
	int err;

	if (d->httpd || !d->metrics_retry_s || now < d->metrics_next)
		return;
	err = metrics_try(d);
	if (!err) {
		pr_info("metrics on http://%s/metrics (the address is free now)", d->conf->metrics);
		d->metrics_retry_s = 0;
		return;
	}
	d->metrics_retry_s = d->metrics_retry_s * 2 > METRICS_RETRY_MAX_S ? METRICS_RETRY_MAX_S :
									    d->metrics_retry_s * 2;
	d->metrics_next = now + d->metrics_retry_s;
	pr_warn("still cannot serve metrics on %s: %s; trying again in %d s", d->conf->metrics,
		strerror(-err), d->metrics_retry_s);
}

void metrics_stop(struct daemon *d)
{
	if (d->httpd)
		MHD_stop_daemon(d->httpd);
	d->httpd = NULL;
	d->metrics_retry_s = 0;
}
