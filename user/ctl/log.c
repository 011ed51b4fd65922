// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* log.c - leveled logging to stderr / the journal (log.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "ctl/log.h"

int log_level = LOG_INFO;
bool log_quiet_libbpf;
static const char *log_ident = "cidlb";
static bool log_daemon;
static bool journal;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_vmsg(int prio, const char *fmt, va_list ap)
{
	const char *name;

	if (prio > log_level)
		return;
	pthread_mutex_lock(&log_lock);
	if (journal) {
		fprintf(stderr, "<%d>", prio);
	} else if (log_daemon) {
		name = cidlb_log_level_name(prio);
		fprintf(stderr, "%s: %s: ", log_ident, name ? name : "log");
	} else {
		fprintf(stderr, "%s: ", log_ident);
	}
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

/* libbpf and libxdp lines end with '\n' already and have their own levels. */
static void vlog_lib(int prio, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if (prio > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n)
		log_msg(prio, "%s", line);
}

static int bpf_print(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	int prio = l == LIBBPF_WARN ? LOG_WARNING : l == LIBBPF_INFO ? LOG_INFO : LOG_DEBUG;

	/* sections libbpf does not use (xdp_metadata for libxdp): not a problem */
	if (strstr(fmt, "skipping unrecognized data section") || log_quiet_libbpf)
		prio = LOG_DEBUG;
	vlog_lib(prio, fmt, ap);
	return 0;
}

static int xdp_print(enum libxdp_print_level l, const char *fmt, va_list ap)
{
	/* libxdp reports its dispatcher fallback as a warning: it is expected */
	vlog_lib(l == LIBXDP_WARN ? LOG_INFO : LOG_DEBUG, fmt, ap);
	return 0;
}

void log_init(const char *ident, bool to_daemon)
{
	log_ident = ident;
	log_daemon = to_daemon;
	journal = to_daemon && getenv("JOURNAL_STREAM") != NULL;
	libbpf_set_print(bpf_print);
	libxdp_set_print(xdp_print);
}
