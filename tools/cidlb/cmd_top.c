// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_top.c - `cidlb top`: a live view of the data path in the terminal,
 * for operators without Grafana: packet rates, the CID-routed and
 * fallback shares, drops by reason, the decode cache hit rate, stateless
 * resets, each backend's traffic with its health, and the quarantine.
 * Rates come from the pinned maps (read twice, an interval apart), as
 * `cidlb stats` reads them; health, state and quarantine from cidlbd when
 * it answers ('-' otherwise). The same panels as the Grafana dashboard
 * in examples/cidlb-grafana.json.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "ctl/ctlsock.h"
#include "ctl/lb.h"
#include "ctl/paths.h"
#include "ctl/statefile.h"
#include "cidlb.h"

#define TOP_BACKENDS_SHOWN 32

static void usage(FILE *f)
{
	fprintf(f, "Usage: cidlb [-j] top [--interval SECONDS] [--count N]\n"
		   "\n"
		   "A live view of the data path, refreshed every --interval seconds\n"
		   "(default 1, 0.1..3600): packets a second, the CID-routed and fallback\n"
		   "shares, drops a second by reason, decode cache hit rate, stateless\n"
		   "resets, and per backend packets and Mbit/s with health and state (from\n"
		   "cidlbd when it answers, else '-'), the quarantined server IDs. Rates come\n"
		   "from the pinned maps, as 'cidlb stats' reads them. --count N stops after\n"
		   "N refreshes (default: until interrupted). -j: one JSON object a refresh.\n"
		   "Exit 0, 2 on bad arguments, 3 when nothing is pinned.\n");
}

struct top_sample {
	struct cidlb_counters c;
	struct cidlb_backend_stats *be; /* CIDLB_MAX_BACKENDS */
	struct timespec at;
};

static int sample(struct cidlb_lb *lb, struct top_sample *s)
{
	uint32_t i;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &s->at);
	err = cidlb_lb_read_counters(lb, &s->c);
	if (err)
		return err;
	for (i = 0; i < CIDLB_MAX_BACKENDS; i++)
		if (cidlb_lb_read_backend_stats(lb, i, &s->be[i]))
			memset(&s->be[i], 0, sizeof(s->be[i]));
	return 0;
}

static double secs_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static double rate_of(const struct top_sample *a, const struct top_sample *b, size_t off, double dt)
{
	__u64 x = *(const __u64 *)((const char *)&a->c + off);
	__u64 y = *(const __u64 *)((const char *)&b->c + off);

	return y >= x ? (double)(y - x) / dt : 0; /* a reset between: 0 */
}

#define RATE(f) rate_of(a, b, offsetof(struct cidlb_counters, f), dt)

/* cidlbd's view: health and state by backend name, the quarantine. NULL
 * when it does not answer (quietly: top goes on from the maps). */
static json_t *daemon_view(const struct cidlb_paths *p)
{
	json_t *r = NULL, *req = json_pack("{s:s}", "cmd", "backend.list");
	char why[256];

	if (!req || cidlb_ctl_call(p->socket, req, &r, why, sizeof(why)) ||
	    !json_is_true(json_object_get(r, "ok"))) {
		json_decref(req);
		json_decref(r);
		return NULL;
	}
	json_decref(req);
	return r;
}

static json_t *daemon_backend(json_t *view, const char *name)
{
	json_t *list = json_object_get(view, "backends"), *b;
	size_t i;

	json_array_foreach (list, i, b) {
		const char *n = json_string_value(json_object_get(b, "name"));

		if (n && !strcmp(n, name))
			return b;
	}
	return NULL;
}

static const char *str_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static long quarantined(const struct cidlb_paths *p)
{
	json_t *r = NULL, *req = json_pack("{s:s}", "cmd", "quarantine.list");
	char why[256];
	long n = -1;

	if (req && !cidlb_ctl_call(p->socket, req, &r, why, sizeof(why)) &&
	    json_is_true(json_object_get(r, "ok")))
		n = (long)json_array_size(json_object_get(r, "quarantine"));
	json_decref(req);
	json_decref(r);
	return n;
}

/* One refresh, from samples a and b. */
static void show(const struct top_sample *a, const struct top_sample *b,
		 const struct cidlb_state *st, bool have_names, const struct cidlb_paths *p,
		 bool clear)
{
	double dt = secs_between(&a->at, &b->at), rx, cid, fb, hits, miss, hit_pct = NAN;
	json_t *view = daemon_view(p), *o = NULL, *drops = NULL, *bes = NULL;
	long q = quarantined(p);
	size_t i, shown = 0;
	char when[32];
	time_t now = time(NULL);
	uint32_t idx;

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	rx = RATE(rx_packets);
	cid = RATE(route_cid);
	fb = RATE(route_lru) + RATE(route_maglev);
	hits = RATE(dcache_hit);
	miss = RATE(dcache_miss);
	if (hits + miss > 0)
		hit_pct = 100 * hits / (hits + miss);
	if (cidlb_json) {
		o = json_pack("{s:s,s:f,s:f,s:f,s:f,s:f}", "time", when, "interval_s", dt,
			      "packets_per_s", rx, "cid_routed_per_s", cid, "fallback_per_s", fb,
			      "resets_per_s", RATE(reset_sent));
		json_object_set_new(o, "dcache_hit_pct",
				    isnan(hit_pct) ? json_null() : json_real(hit_pct));
		drops = json_object();
		bes = json_array();
	} else {
		if (clear)
			printf("\033[H\033[2J");
		printf("cidlb top   every %.1f s   %s%s\n\n", dt, when,
		       view ? "" : "   (cidlbd does not answer: health and state '-')");
		printf("packets   %12.0f/s   CID-routed %5.1f %%   fallback %5.1f %%   decode cache hits %s\n",
		       rx, cid + fb > 0 ? 100 * cid / (cid + fb) : 0.0,
		       cid + fb > 0 ? 100 * fb / (cid + fb) : 0.0,
		       isnan(hit_pct) ? "-" :
					(snprintf(when, sizeof(when), "%.1f %%", hit_pct), when));
		printf("resets    %12.0f/s   quarantined server IDs %s\n", RATE(reset_sent),
		       q < 0 ? "-" : (snprintf(when, sizeof(when), "%ld", q), when));
		printf("drops/s  ");
	}
	for (i = 0; i < cidlb_counter_count; i++) {
		double r;

		if (strncmp(cidlb_counter_descs[i].name, "drop_", 5))
			continue;
		r = rate_of(a, b, cidlb_counter_descs[i].offset, dt);
		if (cidlb_json)
			json_object_set_new(drops, cidlb_counter_descs[i].name, json_real(r));
		else if (r > 0)
			printf(" %s %.0f", cidlb_counter_descs[i].name + 5, r);
	}
	if (!cidlb_json)
		printf("\n\n%-16s %-8s %-9s %12s %10s\n", "BACKEND", "HEALTH", "STATE", "PACKETS/S",
		       "MBIT/S");
	for (idx = 0; idx < CIDLB_MAX_BACKENDS; idx++) {
		const char *name = have_names ? cidlb_state_name(st, idx) : NULL;
		const struct cidlb_backend_stats *x = &a->be[idx], *y = &b->be[idx];
		double pps, mbit;
		json_t *db;

		if (!name && !y->packets)
			continue;
		pps = y->packets >= x->packets ? (double)(y->packets - x->packets) / dt : 0;
		mbit = y->bytes >= x->bytes ? (double)(y->bytes - x->bytes) * 8 / dt / 1e6 : 0;
		db = name ? daemon_backend(view, name) : NULL;
		if (cidlb_json) {
			json_array_append_new(bes, json_pack("{s:i,s:s?,s:f,s:f,s:s,s:s}", "index",
							     (int)idx, "name", name,
							     "packets_per_s", pps, "mbit_per_s",
							     mbit, "health", str_of(db, "health"),
							     "state", str_of(db, "state")));
		} else if (shown++ < TOP_BACKENDS_SHOWN) {
			printf("%-16s %-8s %-9s %12.0f %10.2f\n", name ? name : "-",
			       str_of(db, "health"), str_of(db, "state"), pps, mbit);
		}
	}
	if (cidlb_json) {
		json_object_set_new(o, "drops_per_s", drops);
		json_object_set_new(o, "backends", bes);
		json_object_set_new(o, "quarantined_server_ids",
				    q < 0 ? json_null() : json_integer(q));
		cidlb_print_json(o);
		json_decref(o);
	} else if (shown > TOP_BACKENDS_SHOWN) {
		printf("... and %zu more backends ('cidlb stats' lists them all)\n",
		       shown - TOP_BACKENDS_SHOWN);
	}
	fflush(stdout);
	json_decref(view);
}

int cmd_top(int argc, char **argv)
{
	struct top_sample s[2] = { 0 };
	double interval = 1;
	long count = -1, n;
	struct cidlb_paths p;
	struct cidlb_state st;
	struct cidlb_lb *lb;
	bool have_names;
	char why[1024], *end;
	int i, err, cur = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "help")) {
			usage(stdout);
			return CIDLB_EXIT_OK;
		}
		if (!strcmp(argv[i], "--interval") && i + 1 < argc) {
			interval = strtod(argv[++i], &end);
			if (*end || !(interval >= 0.1 && interval <= 3600))
				return cidlb_usage_error(
					"top: --interval '%s': want 0.1..3600 seconds", argv[i]);
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			count = strtol(argv[++i], &end, 10);
			if (*end || count < 1 || count > 1000000)
				return cidlb_usage_error("top: --count '%s': want 1..1000000",
							 argv[i]);
		} else {
			return cidlb_usage_error(
				"top: unexpected argument '%s' (--interval, --count)", argv[i]);
		}
	}
	cidlb_paths_resolve(&p);
	if (cidlb_open_pins("top", &p, &lb))
		return CIDLB_EXIT_FAIL;
	s[0].be = calloc(CIDLB_MAX_BACKENDS, sizeof(*s[0].be));
	s[1].be = calloc(CIDLB_MAX_BACKENDS, sizeof(*s[1].be));
	if (!s[0].be || !s[1].be) {
		err = cidlb_fail("out of memory");
		goto out;
	}
	err = sample(lb, &s[cur]);
	for (n = 0; !err && (count < 0 || n < count); n++) {
		struct timespec ts = { (time_t)interval,
				       (long)((interval - (double)(time_t)interval) * 1e9) };

		nanosleep(&ts, NULL);
		err = sample(lb, &s[!cur]);
		if (err)
			break;
		/* names may change between refreshes: read them each time */
		have_names = !cidlb_state_read(p.state_file, &st, why, sizeof(why));
		show(&s[cur], &s[!cur], &st, have_names, &p, isatty(STDOUT_FILENO) && count != 1);
		if (have_names)
			cidlb_state_free(&st);
		cur = !cur;
	}
	if (err)
		err = cidlb_fail("cannot read the maps under %s: %s", p.pin_dir, strerror(-err));
out:
	free(s[0].be);
	free(s[1].be);
	cidlb_lb_close(lb);
	return err ? CIDLB_EXIT_FAIL : CIDLB_EXIT_OK;
}
