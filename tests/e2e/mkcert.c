// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mkcert.c - a throwaway P-256 key and self-signed certificate for the
 * end-to-end tests' QUIC servers (libcrypto only: the openssl command is
 * not a build dependency). The client does not verify it.
 *   mkcert KEY.pem CERT.pem
 */
#include <stdio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

int main(int argc, char **argv)
{
	EVP_PKEY *pkey;
	X509 *x;
	X509_NAME *name;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: mkcert KEY.pem CERT.pem\n");
		return 2;
	}
	pkey = EVP_EC_gen("P-256");
	x = X509_new();
	if (!pkey || !x)
		goto fail;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 7L * 24 * 3600);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"cidlb-e2e", -1,
				   -1, 0);
	X509_set_issuer_name(x, name);
	if (!X509_sign(x, pkey, EVP_sha256()))
		goto fail;
	f = fopen(argv[1], "w");
	if (!f || !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) || fclose(f))
		goto fail;
	f = fopen(argv[2], "w");
	if (!f || !PEM_write_X509(f, x) || fclose(f))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "mkcert: could not make a key and certificate\n");
	return 1;
}
