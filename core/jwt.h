/* jwt.h - just enough JWT handling to show claims and to spot tokens for
 * redaction.  Signatures are never checked here: the issuer's audience
 * checks them; we only read what we were handed. */
#ifndef PAMSH_JWT_H
#define PAMSH_JWT_H

#include <stddef.h>

/* Shortest header or payload part jwt_looks_like() takes for a token. */
#define JWT_MIN_PART 4

/* Given a compact JWS "header.payload.signature", decode the payload and
 * return it as malloc'd JSON text that json_valid() accepts and that is an
 * object; or NULL with *why (when why != NULL) set to a static English
 * reason:
 *   "not a JWT: expected three dot-separated parts"  (also: empty header
 *                                                     or payload)
 *   "payload is not valid base64url"
 *   "payload is not a JSON object"
 *   "out of memory" */
char *jwt_payload(const char *jwt, size_t len, const char **why);

/* 1 when s[0..len) looks like a JWT: starts with "eyJ", exactly two dots,
 * every part made of base64url characters only (no padding), header and
 * payload at least JWT_MIN_PART characters, the signature empty or at least
 * JWT_MIN_PART characters.  Used for redaction. */
int jwt_looks_like(const char *s, size_t len);

/* Length of the JWT-shaped run at the start of s[0..len) (header "eyJ...",
 * '.', payload, '.', optional signature, each a maximal base64url run), or
 * 0 when there is none that jwt_looks_like() accepts.  Lets redaction find
 * tokens inside free text, where a sentence may end in a dot right after
 * the signature. */
size_t jwt_span(const char *s, size_t len);

#endif
