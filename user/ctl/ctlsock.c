// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ctlsock.c - control socket messages and the client side (ctlsock.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ctl/ctlsock.h"
#include "ctl/log.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	long long left = deadline - now_ms();
	int rc;

	if (left <= 0)
		return -ETIMEDOUT;
	rc = poll(&p, 1, (int)left);
	if (rc < 0)
		return -errno;
	return rc ? 0 : -ETIMEDOUT;
}

int cidlb_ctl_read_msg(int fd, char **buf, size_t max, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t len = 0, cap = 4096;
	char *b = malloc(cap + 1), *nl;
	int err;

	*buf = NULL;
	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		err = wait_fd(fd, POLLIN, deadline);
		if (err)
			goto fail;
		if (len == cap) {
			char *nb;

			if (cap >= max) {
				err = -EMSGSIZE;
				goto fail;
			}
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(b, cap + 1);
			if (!nb) {
				err = -ENOMEM;
				goto fail;
			}
			b = nb;
		}
		n = read(fd, b + len, cap - len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		nl = memchr(b + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			len = (size_t)(nl - b);
			break;
		}
	}
	b[len] = '\0';
	*buf = b;
	return (int)len;
fail:
	free(b);
	return err;
}

static int write_all(int fd, const char *p, size_t len, long long deadline)
{
	size_t off = 0;
	int err;

	while (off < len) {
		ssize_t n;

		err = wait_fd(fd, POLLOUT, deadline);
		if (err)
			return err;
		n = send(fd, p + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

int cidlb_ctl_write_msg(int fd, const char *buf, size_t len, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int err = write_all(fd, buf, len, deadline);

	return err ? err : write_all(fd, "\n", 1, deadline);
}

int cidlb_ctl_call(const char *path, json_t *req, json_t **reply, char *why, size_t why_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_error_t jerr;
	char *out = NULL, *in = NULL;
	int fd, err;

	*reply = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return cidlb_why(why, why_len, -ENAMETOOLONG, "control socket path %s is too long",
				 path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		return cidlb_why(why, why_len, err, "socket: %s", strerror(-err));
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		if (err == -ENOENT || err == -ECONNREFUSED)
			snprintf(why, why_len, "cidlbd is not running (nothing listens on %s)",
				 path);
		else if (err == -EACCES || err == -EPERM)
			snprintf(why, why_len,
				 "permission denied on %s: the control socket is for root only",
				 path);
		else
			snprintf(why, why_len, "cannot connect to cidlbd at %s: %s", path,
				 strerror(-err));
		goto out;
	}
	out = json_dumps(req, JSON_COMPACT);
	if (!out) {
		err = -ENOMEM;
		snprintf(why, why_len, "out of memory");
		goto out;
	}
	err = cidlb_ctl_write_msg(fd, out, strlen(out), CIDLB_CTL_TIMEOUT_MS);
	if (err) {
		snprintf(why, why_len, "sending to cidlbd at %s: %s", path, strerror(-err));
		goto out;
	}
	shutdown(fd, SHUT_WR);
	err = cidlb_ctl_read_msg(fd, &in, CIDLB_CTL_MAX_MSG, 60000);
	if (err < 0) {
		snprintf(why, why_len, "no reply from cidlbd at %s: %s", path, strerror(-err));
		goto out;
	}
	*reply = json_loads(in, 0, &jerr);
	if (!json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
		err = -EPROTO;
		snprintf(why, why_len, "cidlbd sent a reply that is not a JSON object: %s",
			 in[0] ? in : "(empty: it refused the connection)");
		goto out;
	}
	err = 0;
out:
	free(out);
	free(in);
	close(fd);
	return err;
}
