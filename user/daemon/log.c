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

#include "log.h"

int log_level = LOG_INFO;
bool log_quiet_libbpf;
static bool journal;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void vlog(int prio, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
		[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
		[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
	};

	if (prio > log_level)
		return;
	pthread_mutex_lock(&log_lock);
	if (journal)
		fprintf(stderr, "<%d>", prio);
	else
		fprintf(stderr, "cidlbd: %s: ", names[prio & 7]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

/* libbpf and libxdp lines end with '\n' already and have their own levels. */
static void vlog_lib(int prio, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

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

void log_init(void)
{
	journal = getenv("JOURNAL_STREAM") != NULL;
	libbpf_set_print(bpf_print);
	libxdp_set_print(xdp_print);
}
