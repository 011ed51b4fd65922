// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* statefile.c - the daemon's state file (statefile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>

#include "ctl/statefile.h"

#define STATE_VERSION 1

static void hex(char *out, const uint8_t *in, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
	out[2 * n] = '\0';
}

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
		json_array_append_new(be, json_pack("{s:s,s:I}", "name", st->be[i].name,
						    "index", (json_int_t)st->be[i].index));
	for (i = 0; i < st->n_q; i++) {
		hex(h, st->q[i].sid, st->q[i].len);
		json_array_append_new(q, json_pack("{s:i,s:s,s:s,s:I,s:I}",
						   "config_id", st->q[i].config_id,
						   "server_id", h, "owner", st->q[i].owner,
						   "index", (json_int_t)st->q[i].index,
						   "until_boottime_ns", (json_int_t)st->q[i].until_ns));
	}
	for (i = 0; i < st->n_ifs; i++)
		json_array_append_new(ifs, json_pack("{s:s,s:s,s:i}", "name", st->ifs[i].name, "mode",
						     cidlb_attach_mode_str(st->ifs[i].mode),
						     "forwarding_set", st->ifs[i].fwd_set));
	json_object_set(o, "backends", be);
	json_object_set(o, "quarantine", q);
	json_object_set(o, "interfaces", ifs);
	if (st->seed)
		json_object_set_new(o, "seed", json_integer((json_int_t)st->seed));
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

int cidlb_state_read(const char *path, struct cidlb_state *st, char *why, size_t why_len)
{
	json_error_t jerr;
	json_t *o, *a, *e;
	size_t i;
	int err = -EINVAL;

	memset(st, 0, sizeof(*st));
	o = json_load_file(path, 0, &jerr);
	if (!o) {
		if (access(path, F_OK))
			return -ENOENT;
		snprintf(why, why_len, "%s:%d: %s", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	if (json_integer_value(json_object_get(o, "version")) != STATE_VERSION) {
		snprintf(why, why_len, "%s: not a cidlbd state file of version %d", path,
			 STATE_VERSION);
		goto out;
	}
	a = json_object_get(o, "backends");
	st->be = calloc(json_array_size(a) + 1, sizeof(*st->be));
	json_array_foreach(a, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		json_int_t idx = json_integer_value(json_object_get(e, "index"));

		if (!name || idx < 0 || idx >= CIDLB_MAX_BACKENDS) {
			snprintf(why, why_len, "%s: backends[%zu]: needs a name and an index 0..%d",
				 path, i, CIDLB_MAX_BACKENDS - 1);
			goto out;
		}
		snprintf(st->be[st->n_be].name, sizeof(st->be[0].name), "%s", name);
		st->be[st->n_be++].index = (uint32_t)idx;
	}
	a = json_object_get(o, "quarantine");
	st->q = calloc(json_array_size(a) + 1, sizeof(*st->q));
	json_array_foreach(a, i, e) {
		struct cidlb_state_q *q = &st->q[st->n_q];
		const char *sid = json_string_value(json_object_get(e, "server_id"));
		const char *owner = json_string_value(json_object_get(e, "owner"));
		json_int_t cr = json_integer_value(json_object_get(e, "config_id"));
		/* "" : an index reserved without a server ID */
		int n = !sid ? -1 : !*sid ? 0 : cidlb_parse_hex(sid, q->sid, CIDLB_SID_MAX);

		if (n < 0 || cr < 0 || cr >= CIDLB_CONFIG_IDS || !owner) {
			snprintf(why, why_len, "%s: quarantine[%zu]: bad entry", path, i);
			goto out;
		}
		q->config_id = (uint8_t)cr;
		q->len = (uint8_t)n;
		snprintf(q->owner, sizeof(q->owner), "%s", owner);
		q->index = (uint32_t)json_integer_value(json_object_get(e, "index"));
		q->until_ns = (uint64_t)json_integer_value(json_object_get(e, "until_boottime_ns"));
		st->n_q++;
	}
	e = json_object_get(o, "seed");	/* absent in older files */
	if (e && (!json_is_integer(e) || json_integer_value(e) < 1 ||
		  json_integer_value(e) > UINT32_MAX)) {
		snprintf(why, why_len, "%s: seed: must be a number 1..4294967295", path);
		goto out;
	}
	st->seed = (uint32_t)json_integer_value(e);
	a = json_object_get(o, "interfaces");
	json_array_foreach(a, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *mode = json_string_value(json_object_get(e, "mode"));

		if (!name || st->n_ifs >= CIDLB_MAX_IFACES)
			continue;
		snprintf(st->ifs[st->n_ifs].name, IF_NAMESIZE, "%s", name);
		st->ifs[st->n_ifs].fwd_set = (uint8_t)(json_integer_value(json_object_get(e, "forwarding_set")) &
						       (CIDLB_FWD_SET_V4 | CIDLB_FWD_SET_V6 |
							CIDLB_FWD_SET_RA6));
		st->ifs[st->n_ifs++].mode = mode && !strcmp(mode, "generic") ?
					    CIDLB_ATTACH_GENERIC : CIDLB_ATTACH_NATIVE;
	}
	err = 0;
out:
	json_decref(o);
	if (err)
		cidlb_state_free(st);
	return err;
}

void cidlb_state_free(struct cidlb_state *st)
{
	free(st->be);
	free(st->q);
	st->be = NULL;
	st->q = NULL;
	st->n_be = st->n_q = 0;
}

const char *cidlb_state_name(const struct cidlb_state *st, uint32_t idx)
{
	int i;

	for (i = 0; i < st->n_be; i++)
		if (st->be[i].index == idx)
			return st->be[i].name;
	return NULL;
}
