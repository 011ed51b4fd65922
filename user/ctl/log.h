/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * log.h - the one log of cidlbd, cidlb and the library code in user/ctl:
 * one line per event on stderr, and libbpf's and libxdp's lines routed
 * through it with their levels mapped.
 *
 * log_init(ident, to_daemon) chooses the form. A daemon under systemd
 * (JOURNAL_STREAM set) starts each line with the syslog priority "<N>" so
 * the journal records its level; elsewhere with "IDENT: LEVEL: ". A
 * command (to_daemon false) writes "IDENT: message".
 *
 * A function that hands an error text back to its caller (control-socket
 * replies, configuration errors) takes `char *why, size_t why_len` and
 * fills it with cidlb_why().
 */
#ifndef CIDLB_CTL_LOG_H
#define CIDLB_CTL_LOG_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

/* The levels an operator can choose (log_level, --log-level, -d): one
 * X(priority, name) line each, most severe first. */
#define CIDLB_LOG_LEVELS(X) \
	X(LOG_ERR, "error") \
	X(LOG_WARNING, "warning") \
	X(LOG_INFO, "info") \
	X(LOG_DEBUG, "debug")

/* "error, warning, info or debug", for messages */
#define CIDLB_LOG_LEVEL_LIST "error, warning, info or debug"

extern int log_level;	      /* LOG_ERR .. LOG_DEBUG: lines above it are dropped */
extern bool log_quiet_libbpf; /* libbpf warnings as debug lines */

void log_init(const char *ident, bool to_daemon);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define pr_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* The priority named @name ("error" .. "debug"), or -EINVAL. */
static inline int cidlb_log_level_parse(const char *name)
{
#define X(prio, str) \
	if (!strcmp(name, str)) \
		return prio;
	CIDLB_LOG_LEVELS(X)
#undef X
	return -EINVAL;
}

/* The name of priority @prio, or NULL for one that is not in the table. */
static inline const char *cidlb_log_level_name(int prio)
{
#define X(p, str) \
	if (prio == p) \
		return str;
	CIDLB_LOG_LEVELS(X)
#undef X
	return NULL;
}

/* Writes the sentence into @why (@why_len octets, may be 0) and returns
 * @err, a negative errno: `return cidlb_why(why, why_len, -EINVAL, ...);` */
static inline int cidlb_why(char *why, size_t why_len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline int cidlb_why(char *why, size_t why_len, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return err;
}

#endif /* CIDLB_CTL_LOG_H */
