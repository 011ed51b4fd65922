/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ctlsock.h - cidlbd's control socket: a Unix stream socket, one JSON
 * request and one JSON reply per connection. The request ends at a
 * newline or when the client shuts down its sending side; the reply is
 * one line. Requests: {"cmd": "...", ...}; replies: {"ok": true, ...} or
 * {"ok": false, "error": "sentence", "code": "..."} (docs/operations.md
 * lists them all).
 */
#ifndef CIDLB_CTL_CTLSOCK_H
#define CIDLB_CTL_CTLSOCK_H

#include <stddef.h>
#include <jansson.h>

#define CIDLB_CTL_MAX_MSG    (16u << 20) /* 16 MiB: ~350k CIDs in one request */
#define CIDLB_CTL_TIMEOUT_MS 5000

/* Error codes of a reply ("code"). */
#define CIDLB_CTL_E_BAD_REQUEST "bad_request" /* malformed or invalid request */
#define CIDLB_CTL_E_NOT_FOUND	"not_found"   /* no such backend */
#define CIDLB_CTL_E_CONFLICT	"conflict"    /* refused: quarantine, duplicate */
#define CIDLB_CTL_E_FAILED	"failed"      /* a map write or system call failed */
#define CIDLB_CTL_E_DENIED	"denied"      /* peer is not root */

/*
 * Read one message from @fd: up to a newline or EOF, at most @max octets,
 * within @timeout_ms. *@buf is allocated and NUL-terminated. Returns its
 * length, -EMSGSIZE when too long, -ETIMEDOUT, or another -errno.
 */
int cidlb_ctl_read_msg(int fd, char **buf, size_t max, int timeout_ms);
/* Write all of @buf (with a trailing newline) within @timeout_ms. */
int cidlb_ctl_write_msg(int fd, const char *buf, size_t len, int timeout_ms);

/*
 * Send @req to the daemon listening on @path and return its reply in
 * *@reply (a JSON object). Returns 0 or a negative errno with @why set
 * (daemon not running, permission, timeout, malformed reply).
 */
int cidlb_ctl_call(const char *path, json_t *req, json_t **reply, char *why, size_t why_len);

#endif
