// SPDX-License-Identifier: MIT
// id.c - object ids: from names (SHA-256 through OpenSSL's libcrypto), random, and hex.
// The hashing rule is part of the protocol: every client and server must agree on it.

#include <string.h>
#include <sys/random.h>
#include <errno.h>

#include <openssl/evp.h>

#include <dobj/id.h>

#include "hex.h"

dobj_err
dobj_id_from_name(const char *class_name, const char *name, dobj_id *out)
{
	static const unsigned char zero = 0;
	unsigned int len = 0;
	EVP_MD_CTX *md;
	int ok;

	if (class_name == NULL || name == NULL || out == NULL)
		return DOBJ_INVALID_ARGUMENT;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return DOBJ_RESOURCE_EXHAUSTED;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, class_name, strlen(class_name)) &&
	     EVP_DigestUpdate(md, &zero, 1) && EVP_DigestUpdate(md, name, strlen(name)) &&
	     EVP_DigestFinal_ex(md, out->bytes, &len);
	EVP_MD_CTX_free(md);
	return ok && len == DOBJ_ID_SIZE ? DOBJ_OK : DOBJ_INTERNAL;
}

dobj_err
dobj_id_unique(dobj_id *out)
{
	size_t got = 0;

	if (out == NULL)
		return DOBJ_INVALID_ARGUMENT;
	while (got < DOBJ_ID_SIZE) {
		ssize_t n = getrandom(out->bytes + got, DOBJ_ID_SIZE - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return DOBJ_INTERNAL;
		}
		got += (size_t)n;
	}
	return DOBJ_OK;
}

int
dobj__hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

dobj_err
dobj_id_from_string(const char *hex, dobj_id *out)
{
	dobj_id id;

	if (hex == NULL || out == NULL || strlen(hex) != 2 * DOBJ_ID_SIZE)
		return DOBJ_INVALID_ARGUMENT;
	for (size_t i = 0; i < DOBJ_ID_SIZE; i++) {
		int hi = dobj__hex_digit((unsigned char)hex[2 * i]);
		int lo = dobj__hex_digit((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return DOBJ_INVALID_ARGUMENT;
		id.bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = id;
	return DOBJ_OK;
}

void
dobj_id_to_string(const dobj_id *id, char buf[DOBJ_ID_HEX_SIZE])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < DOBJ_ID_SIZE; i++) {
		buf[2 * i] = digits[id->bytes[i] >> 4];
		buf[2 * i + 1] = digits[id->bytes[i] & 0xf];
	}
	buf[2 * DOBJ_ID_SIZE] = '\0';
}

int
dobj_id_equal(const dobj_id *a, const dobj_id *b)
{
	return memcmp(a->bytes, b->bytes, DOBJ_ID_SIZE) == 0;
}

unsigned
dobj_id_shard(const dobj_id *id, unsigned nshards)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | id->bytes[i];
	return (unsigned)(v % (nshards ? nshards : 1));
}
