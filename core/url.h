/* url.h - the little URL handling pamsh needs: encoding query values,
 * joining the PAM base URL with REST paths, and origins (for cookie and
 * credential scoping). */
#ifndef PAMSH_URL_H
#define PAMSH_URL_H

#include <stddef.h>

/* Percent-encode everything except RFC 3986 unreserved characters
 * (ALPHA DIGIT - . _ ~), with upper-case hex; malloc'd, NULL on malloc
 * failure. */
char *url_encode(const char *s, size_t len);

/* Decode %XX and '+' (form encoding: '+' is a space); malloc'd with a NUL
 * appended (not counted in *outlen; outlen may be NULL; "%00" decodes to a
 * NUL byte that *outlen counts).  NULL on a bad escape or malloc failure. */
char *url_decode(const char *s, size_t len, size_t *outlen);

/* Join a base URL ("https://h:6443/xtam" or with trailing "/") and a path
 * ("/rest/x", "rest/x", "") with exactly one slash: trailing slashes of the
 * base and leading slashes of the path are collapsed, so "" gives
 * "base/".  A path that is already an absolute http(s) URL (scheme matched
 * case-insensitively) is returned as is.  NULL arguments count as "".
 * malloc'd, NULL on malloc failure. */
char *url_join(const char *base, const char *path);

typedef struct {
  char scheme[16];   /* "http" or "https", lower case */
  char host[256];    /* lower case; IPv6 literal without brackets */
  int port;
} url_origin_t;

/* Parse scheme://[userinfo@]host[:port][/...|?...|#...].  IPv6 literal in
 * brackets (stored without them, validated); default port 80 for http, 443
 * for https; an empty port ("h:") means the default; only http/https
 * accepted (case-insensitively).  Strict where parsers disagree: a host
 * made of anything but RFC 3986 unreserved characters, a userinfo with
 * characters RFC 3986 does not allow there (a second '@', a backslash),
 * port 0 or > 65535 are errors.  Returns 0 on success, -1 on error (then
 * *o is zeroed). */
int url_origin(const char *url, url_origin_t *o);

/* 1 when host is loopback: "localhost" (any case, optional trailing dot),
 * 127.0.0.0/8 in strict dotted-quad form, ::1 (any spelling, with or
 * without brackets) or ::ffff:127.x.y.z.  Anything else, including
 * shorthand like "127.1", is 0: a false "yes" could let a secret travel in
 * clear text. */
int url_host_is_loopback(const char *host);

/* Format the origin key "scheme://host:port" into buf (IPv6 hosts in
 * brackets), always NUL-terminated when n > 0, truncated if too small. */
void url_origin_key(const url_origin_t *o, char *buf, size_t n);

#endif
