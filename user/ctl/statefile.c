// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* statefile.c - the daemon's state file (statefile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>

#include "ctl/statefile.h"

#define STATE_VERSION 1

int cidlb_state_write(const char *path, const struct cidlb_state *st)
{
	json_t *o = json_object(), *be = json_array(), *q = json_array(), *ifs = json_array();
	char tmp[4096], dir[4096], *slash, h[2 * CIDLB_SID_MAX + 1];
	int i, fd, err = 0;

	if (!o || !be || !q || !ifs) {
		err = -ENOMEM;
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			err = -errno;
			goto out;
		}
	}
	json_object_set_new(o, "version", json_integer(STATE_VERSION));
	for (i = 0; i < st->n_be; i++)
		json_array_append_new(be, json_pack("{s:s,s:I}", "name", st->be[i].name, "index",
						    (json_int_t)st->be[i].index));
	for (i = 0; i < st->n_q; i++) {
		cidlb_hex(st->q[i].sid, st->q[i].len, h, sizeof(h));
		json_array_append_new(q, json_pack("{s:i,s:i,s:s,s:s,s:I,s:I}", "pool",
						   st->q[i].pool, "config_id", st->q[i].config_id,
						   "server_id", h, "owner", st->q[i].owner, "index",
						   (json_int_t)st->q[i].index, "until_boottime_ns",
						   (json_int_t)st->q[i].until_ns));
	}
	for (i = 0; i < st->n_ifs; i++)
		json_array_append_new(ifs, json_pack("{s:s,s:s,s:i}", "name", st->ifs[i].name,
						     "mode", cidlb_attach_mode_str(st->ifs[i].mode),
						     "forwarding_set", st->ifs[i].fwd_set));
	json_object_set(o, "backends", be);
	json_object_set(o, "quarantine", q);
	json_object_set(o, "interfaces", ifs);
	if (st->seed)
		json_object_set_new(o, "seed", json_integer((json_int_t)st->seed));
	if (st->drained_since)
		json_object_set_new(o, "drained_since",
				    json_integer((json_int_t)st->drained_since));
	if (st->announce_table)
		json_object_set_new(o, "announce_table",
				    json_integer((json_int_t)st->announce_table));
	if (st->n_pools) {
		json_t *pl = json_array();

		for (i = 0; i < st->n_pools; i++)
			json_array_append_new(pl, json_string(st->pools[i]));
		json_object_set_new(o, "pools", pl);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (json_dumpfd(o, fd, JSON_INDENT(1) | JSON_PRESERVE_ORDER) || write(fd, "\n", 1) != 1 ||
	    fsync(fd)) {
		err = errno ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
	}
out:
	json_decref(be);
	json_decref(q);
	json_decref(ifs);
	json_decref(o);
	return err;
}

/* Limits of what a state file may hold: more is not a file this daemon wrote. */
#define STATE_MAX_Q (1 << 20) /* quarantine entries */

/* Where a value sits in the file, for the error: "backends[3].index". */
struct field {
	const char *path;
	const char *array; /* NULL: the top level */
	size_t i;
	char *why;
	size_t why_len;
};

static int bad(const struct field *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(const struct field *f, const char *key, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (f->array)
		snprintf(f->why, f->why_len, "%s: %s[%zu].%s: %s", f->path, f->array, f->i, key,
			 msg);
	else
		snprintf(f->why, f->why_len, "%s: %s: %s", f->path, key, msg);
	return -EINVAL;
}

/* An integer field in min..max (required). */
static int get_int(const struct field *f, json_t *o, const char *key, json_int_t min,
		   json_int_t max, json_int_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return bad(f, key, "missing");
	if (!json_is_integer(v))
		return bad(f, key, "must be an integer");
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return bad(f, key, "%lld is out of range %lld..%lld", (long long)*out,
			   (long long)min, (long long)max);
	return 0;
}

/* A string field of at most max octets (required; "" allowed when min 0). */
static int get_str(const struct field *f, json_t *o, const char *key, size_t min, size_t max,
		   const char **out)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (!v)
		return bad(f, key, "missing");
	if (!json_is_string(v))
		return bad(f, key, "must be a string");
	n = json_string_length(v);
	if (n < min || n > max || strlen(json_string_value(v)) != n)
		return bad(f, key, "must be %zu..%zu characters (no NUL)", min, max);
	*out = json_string_value(v);
	return 0;
}

/* An array field (missing: empty) of at most max elements, each an object. */
static int get_array(const struct field *f, json_t *o, const char *key, size_t max, json_t **out)
{
	json_t *a = json_object_get(o, key), *e;
	size_t i;

	*out = a;
	if (!a)
		return 0;
	if (!json_is_array(a))
		return bad(f, key, "must be an array");
	if (json_array_size(a) > max)
		return bad(f, key, "%zu entries, at most %zu", json_array_size(a), max);
	json_array_foreach (a, i, e)
		if (!json_is_object(e)) {
			snprintf(f->why, f->why_len, "%s: %s[%zu]: must be an object", f->path, key,
				 i);
			return -EINVAL;
		}
	return 0;
}

static int read_backends(struct field *f, json_t *a, struct cidlb_state *st)
{
	json_t *e;
	size_t i;
	int j;

	st->be = calloc(json_array_size(a) + 1, sizeof(*st->be));
	if (!st->be)
		return -ENOMEM;
	f->array = "backends";
	json_array_foreach (a, i, e) {
		struct cidlb_state_be *b = &st->be[st->n_be];
		const char *name;
		json_int_t idx;

		f->i = i;
		if (get_str(f, e, "name", 1, CIDLB_NAME_MAX, &name) ||
		    get_int(f, e, "index", 0, CIDLB_MAX_BACKENDS - 1, &idx))
			return -EINVAL;
		for (j = 0; j < st->n_be; j++) {
			if (!strcmp(st->be[j].name, name))
				return bad(f, "name", "'%s' appears twice", name);
			if (st->be[j].index == (uint32_t)idx)
				return bad(f, "index", "%lld is also backend '%s''s",
					   (long long)idx, st->be[j].name);
		}
		snprintf(b->name, sizeof(b->name), "%s", name);
		b->index = (uint32_t)idx;
		st->n_be++;
	}
	return 0;
}

static int read_quarantine(struct field *f, json_t *a, struct cidlb_state *st)
{
	json_t *e;
	size_t i;

	st->q = calloc(json_array_size(a) + 1, sizeof(*st->q));
	if (!st->q)
		return -ENOMEM;
	f->array = "quarantine";
	json_array_foreach (a, i, e) {
		struct cidlb_state_q *q = &st->q[st->n_q];
		const char *sid, *owner;
		json_int_t cr, idx, until, pool = 0;
		char why[256];
		size_t n = 0;

		f->i = i;
		if (get_int(f, e, "config_id", 0, CIDLB_CONFIG_IDS - 1, &cr) ||
		    get_str(f, e, "server_id", 0, 3 * CIDLB_SID_MAX - 1, &sid) ||
		    get_str(f, e, "owner", 1, CIDLB_NAME_MAX, &owner) ||
		    get_int(f, e, "index", 0, CIDLB_MAX_BACKENDS - 1, &idx) ||
		    get_int(f, e, "until_boottime_ns", 0, INT64_MAX, &until))
			return -EINVAL;
		/* written before pools: the implicit pool */
		if (json_object_get(e, "pool") &&
		    get_int(f, e, "pool", 0, CIDLB_MAX_POOLS - 1, &pool))
			return -EINVAL;
		/* "": an index reserved without a server ID */
		if (*sid && cidlb_parse_hex_msg("server ID", sid, q->sid, 1, CIDLB_SID_MAX, &n, why,
						sizeof(why)))
			return bad(f, "server_id", "%s", why);
		q->pool = (uint16_t)pool;
		q->config_id = (uint8_t)cr;
		q->len = (uint8_t)n;
		snprintf(q->owner, sizeof(q->owner), "%s", owner);
		q->index = (uint32_t)idx;
		q->until_ns = (uint64_t)until;
		st->n_q++;
	}
	return 0;
}

static int read_interfaces(struct field *f, json_t *a, struct cidlb_state *st)
{
	json_t *e;
	size_t i;

	f->array = "interfaces";
	json_array_foreach (a, i, e) {
		struct cidlb_state_if *s = &st->ifs[st->n_ifs];
		const char *name, *mode;
		json_int_t fwd;

		f->i = i;
		if (get_str(f, e, "name", 1, IF_NAMESIZE - 1, &name) ||
		    get_str(f, e, "mode", 1, 16, &mode) ||
		    get_int(f, e, "forwarding_set", 0,
			    CIDLB_FWD_SET_V4 | CIDLB_FWD_SET_V6 | CIDLB_FWD_SET_RA6, &fwd))
			return -EINVAL;
		if (!strcmp(mode, "native"))
			s->mode = CIDLB_ATTACH_NATIVE;
		else if (!strcmp(mode, "generic"))
			s->mode = CIDLB_ATTACH_GENERIC;
		else if (!strcmp(mode, "auto"))
			s->mode = CIDLB_ATTACH_AUTO;
		else
			return bad(f, "mode", "'%s': must be native, generic or auto", mode);
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->fwd_set = (uint8_t)fwd;
		st->n_ifs++;
	}
	return 0;
}

/* Every value is checked (type, range, length, count) before it is used:
 * the file outlives the daemon that wrote it and may be damaged or come
 * from another version. A bad file is refused as a whole. */
int cidlb_state_read(const char *path, struct cidlb_state *st, char *why, size_t why_len)
{
	struct field f = { .path = path, .why = why, .why_len = why_len };
	json_error_t jerr;
	json_t *o, *be, *q, *ifs;
	json_int_t version;
	int err;

	memset(st, 0, sizeof(*st));
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		if (access(path, F_OK))
			return -ENOENT;
		snprintf(why, why_len, "%s:%d: %s", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	err = -EINVAL;
	if (!json_is_object(o)) {
		snprintf(why, why_len, "%s: not a cidlbd state file (not a JSON object)", path);
		goto out;
	}
	if (get_int(&f, o, "version", STATE_VERSION, STATE_VERSION, &version)) {
		snprintf(why, why_len, "%s: not a cidlbd state file of version %d", path,
			 STATE_VERSION);
		goto out;
	}
	if (get_array(&f, o, "backends", CIDLB_MAX_BACKENDS, &be) ||
	    get_array(&f, o, "quarantine", STATE_MAX_Q, &q) ||
	    get_array(&f, o, "interfaces", CIDLB_MAX_IFACES, &ifs))
		goto out;
	err = read_backends(&f, be, st);
	if (!err)
		err = read_quarantine(&f, q, st);
	if (!err)
		err = read_interfaces(&f, ifs, st);
	if (!err && json_object_get(o, "seed")) { /* absent in older files */
		json_int_t seed;

		f.array = NULL;
		err = get_int(&f, o, "seed", 1, UINT32_MAX, &seed);
		if (!err)
			st->seed = (uint32_t)seed;
	}
	if (!err && json_object_get(o, "drained_since")) { /* absent unless drained */
		json_int_t t;

		f.array = NULL;
		err = get_int(&f, o, "drained_since", 1, INT64_MAX, &t);
		if (!err)
			st->drained_since = (int64_t)t;
	}
	if (!err && json_object_get(o, "announce_table")) { /* absent while 0, in older files */
		json_int_t t;

		f.array = NULL;
		err = get_int(&f, o, "announce_table", 1, CIDLB_ANNOUNCE_TABLE_MAX, &t);
		if (!err)
			st->announce_table = (uint32_t)t;
	}
	if (!err && json_object_get(o, "pools")) { /* where the file names pools */
		json_t *pl = json_object_get(o, "pools"), *e;
		size_t i;

		f.array = NULL;
		if (!json_is_array(pl) || json_array_size(pl) > CIDLB_MAX_POOLS) {
			snprintf(why, why_len, "%s: \"pools\": an array of at most %d names", path,
				 CIDLB_MAX_POOLS);
			err = -EINVAL;
		} else if (json_array_size(pl)) {
			st->pools = calloc(json_array_size(pl), sizeof(*st->pools));
			if (!st->pools)
				err = -ENOMEM;
			json_array_foreach (pl, i, e) {
				if (err)
					break;
				if (!json_is_string(e) ||
				    strlen(json_string_value(e)) > CIDLB_NAME_MAX) {
					snprintf(why, why_len, "%s: \"pools\"[%zu]: a pool's name",
						 path, i);
					err = -EINVAL;
					break;
				}
				snprintf(st->pools[i], sizeof(st->pools[i]), "%s",
					 json_string_value(e));
				st->n_pools = (int)i + 1;
			}
		}
	}
	if (err == -ENOMEM)
		snprintf(why, why_len, "%s: out of memory", path);
out:
	json_decref(o);
	if (err) { /* nothing of a file refused: no seed, no table, no drain */
		cidlb_state_free(st);
		memset(st, 0, sizeof(*st));
	}
	return err;
}

void cidlb_state_free(struct cidlb_state *st)
{
	free(st->be);
	free(st->q);
	free(st->pools);
	st->be = NULL;
	st->q = NULL;
	st->pools = NULL;
	st->n_be = st->n_q = st->n_ifs = st->n_pools = 0;
}

const char *cidlb_state_name(const struct cidlb_state *st, uint32_t idx)
{
	int i;

	for (i = 0; i < st->n_be; i++)
		if (st->be[i].index == idx)
			return st->be[i].name;
	return NULL;
}
