/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * log.h - cidlbd's log: one line per event on stderr. Under systemd
 * (JOURNAL_STREAM set) each line starts with the syslog priority "<N>" so
 * the journal records its level; elsewhere with the level's name.
 */
#ifndef CIDLBD_LOG_H
#define CIDLBD_LOG_H

#include <stdbool.h>
#include <syslog.h>

extern int log_level;
extern bool log_quiet_libbpf;	/* libbpf warnings as debug lines */	/* LOG_ERR .. LOG_DEBUG: lines above it are dropped */

void log_init(void);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define pr_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
