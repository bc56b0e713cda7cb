/* jwt.c - JWT payload decoding and shape detection. */
#include "jwt.h"

#include "b64.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

static int is_b64url(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

char *jwt_payload(const char *jwt, size_t len, const char **why)
{
  const char *dummy;
  if (why == NULL)
    why = &dummy;
  *why = NULL;

  const char *d1 = jwt ? memchr(jwt, '.', len) : NULL;
  const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt))
                      : NULL;
  if (d1 == NULL || d2 == NULL || d1 == jwt || d2 == d1 + 1 ||
      memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)) != NULL) {
    *why = "not a JWT: expected three dot-separated parts";
    return NULL;
  }

  const char *pl = d1 + 1;
  size_t plen = (size_t)(d2 - pl);
  if (!b64url_valid(pl, plen)) {
    *why = "payload is not valid base64url";
    return NULL;
  }
  size_t olen = 0;
  unsigned char *raw = b64url_decode(pl, plen, &olen);
  if (raw == NULL) {
    *why = "out of memory";
    return NULL;
  }

  size_t i = 0;
  while (i < olen && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' ||
                      raw[i] == '\r'))
    i++;
  if (i == olen || raw[i] != '{' || !json_valid((const char *)raw, olen)) {
    free(raw);
    *why = "payload is not a JSON object";
    return NULL;
  }
  return (char *)raw;
}

/* Length of the maximal base64url run at s[0..n). */
static size_t b64_run(const unsigned char *s, size_t n)
{
  size_t i = 0;
  while (i < n && is_b64url(s[i]))
    i++;
  return i;
}

int jwt_looks_like(const char *s, size_t len)
{
  if (s == NULL || len < 3 || memcmp(s, "eyJ", 3) != 0)
    return 0;
  const unsigned char *u = (const unsigned char *)s;
  size_t h = b64_run(u, len);
  if (h < JWT_MIN_PART || h >= len || u[h] != '.')
    return 0;
  size_t p = b64_run(u + h + 1, len - h - 1);
  size_t at = h + 1 + p;
  if (p < JWT_MIN_PART || at >= len || u[at] != '.')
    return 0;
  size_t sig = b64_run(u + at + 1, len - at - 1);
  if (at + 1 + sig != len)
    return 0;                       /* a third dot or a foreign character */
  return sig == 0 || sig >= JWT_MIN_PART;
}

size_t jwt_span(const char *s, size_t len)
{
  if (s == NULL || len < 3 || memcmp(s, "eyJ", 3) != 0)
    return 0;
  const unsigned char *u = (const unsigned char *)s;
  size_t h = b64_run(u, len);
  if (h >= len || u[h] != '.')
    return 0;
  size_t p = b64_run(u + h + 1, len - h - 1);
  size_t at = h + 1 + p;
  if (at >= len || u[at] != '.')
    return 0;
  size_t end = at + 1 + b64_run(u + at + 1, len - at - 1);
  if (!jwt_looks_like(s, end)) {
    /* "eyJa.bbbb.c" with a too-short signature: the token may still be
     * header.payload followed by a sentence's full stop. */
    return jwt_looks_like(s, at + 1) ? at + 1 : 0;
  }
  return end;
}
