/* b64.h - base64url (RFC 4648 section 5), as used by JWTs. */
#ifndef PAMSH_B64_H
#define PAMSH_B64_H

#include <stddef.h>

/* Decode base64url; '=' padding is optional (but when present it must be
 * complete and only at the end), and the standard '+' '/' alphabet is
 * accepted too.  Returns a malloc'd buffer with a NUL appended (not counted
 * in *outlen; outlen may be NULL), or NULL when the input is not valid
 * base64 (bad character, impossible length) or malloc fails.  Non-zero
 * trailing bits are accepted.  Empty input decodes to an empty buffer. */
unsigned char *b64url_decode(const char *in, size_t len, size_t *outlen);

/* 1 when b64url_decode() would accept in[0..len) (it then fails only on
 * malloc failure); needs no memory. */
int b64url_valid(const char *in, size_t len);

/* Encode as base64url without padding; malloc'd NUL-terminated string, or
 * NULL on malloc failure / size overflow. */
char *b64url_encode(const unsigned char *in, size_t len);

#endif
