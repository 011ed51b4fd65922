/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tools/cidlb/cidlb.h - the `cidlb` operator command, bpftool style:
 *
 *	cidlb [-j] OBJECT VERB [args]
 *
 * main.c parses the global flags and dispatches OBJECT through its object
 * table. Each object lives in its own file, tools/cidlb/cmd_OBJECT.c, and
 * exports one entry point declared below. To add an object: write the
 * file, declare its cmd_*() here, and add one row to the table in main.c.
 *
 * Exit codes, the same for every object:
 *   0  success
 *   1  the answer is "no" (e.g. `cid decode` of an unroutable CID)
 *   2  bad arguments: one line on stderr naming the argument
 *   3  the operation failed (library, system or daemon error)
 */
#ifndef CIDLB_TOOL_H
#define CIDLB_TOOL_H

#include <stdbool.h>
#include <stdio.h>
#include "ctl/hex.h"

#define CIDLB_EXIT_OK	 0
#define CIDLB_EXIT_NO	 1
#define CIDLB_EXIT_USAGE 2
#define CIDLB_EXIT_FAIL	 3

/* -j / --json: print JSON (one object per command, on one line). */
extern bool cidlb_json;

/*
 * An object's entry point: argv[0] is the verb ("help" lists the verbs),
 * argc counts it; argc == 0 when the verb is missing. Returns an exit code.
 */
typedef int (*cidlb_cmd_fn)(int argc, char **argv);

struct cidlb_object {
	const char *name;
	cidlb_cmd_fn run;
	const char *summary; /* one line for `cidlb help` */
};

/* ---- objects (one file each) ---------------------------------------------- */
int cmd_cid(int argc, char **argv);	/* cmd_cid.c */
int cmd_status(int argc, char **argv);	/* cmd_status.c */
int cmd_backend(int argc, char **argv); /* cmd_backend.c */
int cmd_stats(int argc, char **argv);	/* cmd_stats.c */
int cmd_top(int argc, char **argv);	/* cmd_top.c */
int cmd_config(int argc, char **argv);	/* cmd_config.c */
int cmd_trace(int argc, char **argv);	/* cmd_trace.c */
int cmd_decap(int argc, char **argv);	/* cmd_decap.c */
int cmd_daemon(int argc, char **argv);	/* cmd_daemon.c */

/* ---- talking to cidlbd (cmd_daemon.c) -------------------------------------- */
#include <jansson.h>

/*
 * Sends @req (consumed) to cidlbd and returns an exit code: 0 with the
 * reply in *@reply (the caller frees it), else the error is printed and
 * the code follows the daemon's: not_found 1, bad_request 2, others and
 * an unreachable daemon 3.
 */
int cidlb_call(json_t *req, json_t **reply);
/* One line of compact JSON on stdout. */
void cidlb_print_json(json_t *o);

/* ---- helpers for every object (main.c) ------------------------------------ */

/* "cidlb: <message>" on stderr; returns CIDLB_EXIT_USAGE. */
int cidlb_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "cidlb: <message>" on stderr; returns CIDLB_EXIT_FAIL. */
int cidlb_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The program and maps pinned where @p says, checked against this
 * version: CIDLB_EXIT_OK with *@lb open (cidlb_lb_close() it), else the
 * error is printed, prefixed by @what, and CIDLB_EXIT_FAIL returned. */
struct cidlb_paths;
struct cidlb_lb;
int cidlb_open_pins(const char *what, const struct cidlb_paths *p, struct cidlb_lb **lb);

/* Octet strings in hex, read and written: cidlb_parse_hex_msg(),
 * cidlb_hex() of ctl/hex.h. */

#endif /* CIDLB_TOOL_H */
