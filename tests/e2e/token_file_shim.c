// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * token_file_shim.c - LD_PRELOAD shim that lets Debian's gtlsclient
 * (ngtcp2 0.12.1, GnuTLS build) read its --token-file.
 *
 * Its read_token() takes the file's length with tellg() before seeking to
 * the end, so it hands gnutls_pem_base64_decode2() an empty string and
 * the client never sends the token it stored (it says "Could not read
 * token in FILE"). Here, a decode of an empty "QUIC TOKEN" reads the file
 * named by CIDLB_TOKEN_FILE (the same path as --token-file) instead. Any
 * other call goes to GnuTLS as it is.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* gnutls_datum_t of gnutls/gnutls.h, not included: the shim builds without
 * GnuTLS's headers */
struct shim_datum {
	unsigned char *data;
	unsigned int size;
};

typedef int (*decode_fn)(const char *header, const struct shim_datum *b64,
			 struct shim_datum *result);

int gnutls_pem_base64_decode2(const char *header, const struct shim_datum *b64,
			      struct shim_datum *result)
{
	decode_fn real = (decode_fn)dlsym(RTLD_NEXT, "gnutls_pem_base64_decode2");
	const char *path = getenv("CIDLB_TOKEN_FILE");
	static char buf[4096];
	struct shim_datum d;
	size_t n;
	FILE *f;

	if (!real)
		return -1;
	if (!header || strcmp(header, "QUIC TOKEN") || !b64 || b64->size || !path || !*path)
		return real(header, b64, result);
	f = fopen(path, "r");
	if (!f)
		return real(header, b64, result);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	d.data = (unsigned char *)buf;
	d.size = (unsigned int)n;
	return real(header, &d, result);
}
