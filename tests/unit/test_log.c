// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_log.c - the log layer (user/ctl/log.c): the exact lines cidlbd
 * writes for the journal and for a terminal, and cidlb for an operator;
 * levels filter; libbpf's and libxdp's lines arrive through it at their
 * mapped levels; the level-name table and cidlb_why().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "ctl/log.h"

static FILE *cap;
static int saved_fd = -1;

/* stderr into a temporary file until cap_end(), which returns it */
static void cap_start(void)
{
	fflush(stderr);
	cap = tmpfile();
	assert_non_null(cap);
	saved_fd = dup(2);
	assert_true(saved_fd >= 0);
	assert_int_equal(dup2(fileno(cap), 2), 2);
}

static const char *cap_end(void)
{
	static char buf[4096];
	size_t n;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	rewind(cap);
	n = fread(buf, 1, sizeof(buf) - 1, cap);
	buf[n] = '\0';
	fclose(cap);
	return buf;
}

/* the printers log_init() handed to libbpf and libxdp */
static libbpf_print_fn_t bpf_printer(void)
{
	libbpf_print_fn_t fn = libbpf_set_print(NULL);

	libbpf_set_print(fn);
	return fn;
}

static libxdp_print_fn_t xdp_printer(void)
{
	libxdp_print_fn_t fn = libxdp_set_print(NULL);

	libxdp_set_print(fn);
	return fn;
}

static void bpf_line(enum libbpf_print_level l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bpf_printer()(l, fmt, ap);
	va_end(ap);
}

static void xdp_line(enum libxdp_print_level l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xdp_printer()(l, fmt, ap);
	va_end(ap);
}

static void test_levels(void **state)
{
	static const struct {
		const char *name;
		int prio;
	} want[] = {
		{ "error", LOG_ERR },
		{ "warning", LOG_WARNING },
		{ "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_int_equal(cidlb_log_level_parse(want[i].name), want[i].prio);
		assert_string_equal(cidlb_log_level_name(want[i].prio), want[i].name);
	}
	assert_int_equal(cidlb_log_level_parse("loud"), -EINVAL);
	assert_int_equal(cidlb_log_level_parse("Error"), -EINVAL);
	assert_int_equal(cidlb_log_level_parse(""), -EINVAL);
	assert_null(cidlb_log_level_name(LOG_NOTICE));
	assert_string_equal(CIDLB_LOG_LEVEL_LIST, "error, warning, info or debug");
}

static void test_why(void **state)
{
	char why[8];

	(void)state;
	assert_int_equal(cidlb_why(why, sizeof(why), -EINVAL, "'%s' %d", "ab", 7), -EINVAL);
	assert_string_equal(why, "'ab' 7");
	/* cut to the buffer, always terminated */
	assert_int_equal(cidlb_why(why, sizeof(why), -ENOENT, "%s", "0123456789"), -ENOENT);
	assert_string_equal(why, "0123456");
	/* no buffer: only the error */
	assert_int_equal(cidlb_why(NULL, 0, -EPERM, "x"), -EPERM);
}

/* cidlbd on a terminal: "cidlbd: LEVEL: message", lines above log_level dropped */
static void test_daemon_terminal(void **state)
{
	(void)state;
	unsetenv("JOURNAL_STREAM");
	log_init("cidlbd", true);
	log_level = LOG_INFO;
	cap_start();
	pr_err("cannot open %s: %s", "x.o", "No such file");
	pr_warn("w %d", 1);
	pr_info("i");
	pr_debug("dropped");
	assert_string_equal(cap_end(), "cidlbd: error: cannot open x.o: No such file\n"
				       "cidlbd: warning: w 1\n"
				       "cidlbd: info: i\n");
	log_level = LOG_ERR;
	cap_start();
	pr_warn("dropped");
	pr_err("kept");
	assert_string_equal(cap_end(), "cidlbd: error: kept\n");
}

/* cidlbd under systemd: the syslog priority for the journal */
static void test_daemon_journal(void **state)
{
	(void)state;
	setenv("JOURNAL_STREAM", "8:12345", 1);
	log_init("cidlbd", true);
	log_level = LOG_DEBUG;
	cap_start();
	pr_err("e");
	pr_warn("w");
	pr_info("i");
	pr_debug("d");
	assert_string_equal(cap_end(), "<3>e\n<4>w\n<6>i\n<7>d\n");
	unsetenv("JOURNAL_STREAM");
}

/* cidlb: plain "cidlb: message", journal or not */
static void test_command(void **state)
{
	(void)state;
	setenv("JOURNAL_STREAM", "8:12345", 1);
	log_init("cidlb", false);
	log_level = LOG_WARNING;
	cap_start();
	pr_err("config: unknown verb '%s'", "x");
	pr_warn("w");
	pr_info("dropped");
	assert_string_equal(cap_end(), "cidlb: config: unknown verb 'x'\ncidlb: w\n");
	unsetenv("JOURNAL_STREAM");
}

/* libbpf: WARN/INFO/DEBUG at warning/info/debug, its newline removed;
 * the unused-section notice and log_quiet_libbpf turn warnings to debug */
static void test_libbpf(void **state)
{
	(void)state;
	unsetenv("JOURNAL_STREAM");
	log_init("cidlbd", true);
	log_level = LOG_INFO;
	cap_start();
	bpf_line(LIBBPF_WARN, "libbpf: map '%s': bad\n", "m");
	bpf_line(LIBBPF_INFO, "libbpf: info %d\n", 2);
	bpf_line(LIBBPF_DEBUG, "libbpf: dropped\n");
	bpf_line(LIBBPF_WARN, "libbpf: elf: skipping unrecognized data section(%d) %s\n", 7,
		 "xdp_metadata");
	log_quiet_libbpf = true;
	bpf_line(LIBBPF_WARN, "libbpf: quiet\n");
	log_quiet_libbpf = false;
	bpf_line(LIBBPF_WARN, "\n");
	assert_string_equal(cap_end(), "cidlbd: warning: libbpf: map 'm': bad\n"
				       "cidlbd: info: libbpf: info 2\n");
	log_level = LOG_DEBUG;
	cap_start();
	bpf_line(LIBBPF_WARN, "libbpf: elf: skipping unrecognized data section(%d) %s\n", 7,
		 "xdp_metadata");
	bpf_line(LIBBPF_DEBUG, "libbpf: d\n");
	assert_string_equal(
		cap_end(),
		"cidlbd: debug: libbpf: elf: skipping unrecognized data section(7) xdp_metadata\n"
		"cidlbd: debug: libbpf: d\n");
}

/* libxdp: its warnings (the dispatcher fallback) are info, the rest debug */
static void test_libxdp(void **state)
{
	(void)state;
	unsetenv("JOURNAL_STREAM");
	log_init("cidlb", false);
	log_level = LOG_INFO;
	cap_start();
	xdp_line(LIBXDP_WARN, "libxdp: falling back to loading single prog %s\n", "p");
	xdp_line(LIBXDP_INFO, "libxdp: dropped\n");
	xdp_line(LIBXDP_DEBUG, "libxdp: dropped\n");
	assert_string_equal(cap_end(), "cidlb: libxdp: falling back to loading single prog p\n");
	log_level = LOG_WARNING;
	cap_start();
	xdp_line(LIBXDP_WARN, "libxdp: dropped\n");
	assert_string_equal(cap_end(), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),		cmocka_unit_test(test_why),
		cmocka_unit_test(test_daemon_terminal), cmocka_unit_test(test_daemon_journal),
		cmocka_unit_test(test_command),		cmocka_unit_test(test_libbpf),
		cmocka_unit_test(test_libxdp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
