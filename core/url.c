/* url.c - URL helpers. */
#include "url.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(int c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int is_unreserved(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

static unsigned char lower(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

char *url_encode(const char *s, size_t len)
{
  static const char hex[] = "0123456789ABCDEF";
  if (s == NULL && len > 0)
    return NULL;
  if (len > (SIZE_MAX - 1) / 3)
    return NULL;
  char *out = malloc(len * 3 + 1);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_unreserved(c)) {
      out[o++] = (char)c;
    } else {
      out[o++] = '%';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  out[o] = '\0';
  return out;
}

char *url_decode(const char *s, size_t len, size_t *outlen)
{
  if (outlen)
    *outlen = 0;
  if (s == NULL && len > 0)
    return NULL;
  if (len == SIZE_MAX)
    return NULL;
  char *out = malloc(len + 1);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '+') {
      out[o++] = ' ';
    } else if (c == '%') {
      int hi = i + 2 < len ? hexval((unsigned char)s[i + 1]) : -1;
      int lo = i + 2 < len ? hexval((unsigned char)s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        free(out);
        return NULL;
      }
      out[o++] = (char)(hi << 4 | lo);
      i += 2;
    } else {
      out[o++] = c;
    }
  }
  out[o] = '\0';
  if (outlen)
    *outlen = o;
  return out;
}

/* Length of "http://" or "https://" at the start of s (any case), else 0. */
static size_t http_prefix(const char *s)
{
  if (strncasecmp(s, "http://", 7) == 0)
    return 7;
  if (strncasecmp(s, "https://", 8) == 0)
    return 8;
  return 0;
}

char *url_join(const char *base, const char *path)
{
  if (base == NULL)
    base = "";
  if (path == NULL)
    path = "";
  if (http_prefix(path))
    return strdup(path);

  size_t blen = strlen(base);
  /* Never eat into "scheme://" itself, so a bare "https://" stays put. */
  size_t floor = http_prefix(base);
  while (blen > floor && base[blen - 1] == '/')
    blen--;
  while (*path == '/')
    path++;
  size_t plen = strlen(path);
  if (blen > SIZE_MAX - plen - 2)
    return NULL;
  char *out = malloc(blen + plen + 2);
  if (out == NULL)
    return NULL;
  memcpy(out, base, blen);
  size_t o = blen;
  if (o == 0 || out[o - 1] != '/')
    out[o++] = '/';
  memcpy(out + o, path, plen);
  out[o + plen] = '\0';
  return out;
}

/* Characters allowed in a registered name or IPv4 host: RFC 3986
 * unreserved only.  Percent-encoding and sub-delims are refused: no real
 * PAM host needs them, and two spellings of one host would give two
 * origin keys. */
static int is_host_char(unsigned char c)
{
  return is_unreserved(c);
}

int url_origin(const char *url, url_origin_t *o)
{
  if (o == NULL)
    return -1;
  memset(o, 0, sizeof *o);
  if (url == NULL)
    return -1;

  const char *sep = strstr(url, "://");
  if (sep == NULL)
    return -1;
  size_t slen = (size_t)(sep - url);
  int defport;
  if (slen == 4 && strncasecmp(url, "http", 4) == 0)
    defport = 80;
  else if (slen == 5 && strncasecmp(url, "https", 5) == 0)
    defport = 443;
  else
    return -1;

  const char *auth = sep + 3;
  size_t alen = strcspn(auth, "/?#");
  /* userinfo ends at the '@'.  It may hold only what RFC 3986 allows, so
   * a second '@' or a backslash is an error rather than a guess: parsers
   * that guessed differently would disagree about which host this is. */
  const char *at = memchr(auth, '@', alen);
  if (at != NULL) {
    for (const char *u = auth; u < at; u++) {
      unsigned char c = (unsigned char)*u;
      if (!is_unreserved(c) && c != '%' && c != ':' &&
          !strchr("!$&'()*+,;=", c))
        goto bad;
    }
  }
  const char *h = at ? at + 1 : auth;
  const char *end = auth + alen;
  const char *hend;
  const char *portp;

  if (h < end && *h == '[') {
    const char *rb = memchr(h, ']', (size_t)(end - h));
    if (rb == NULL || rb == h + 1)
      goto bad;
    size_t hl = (size_t)(rb - h - 1);
    if (hl >= sizeof o->host)
      goto bad;
    memcpy(o->host, h + 1, hl);
    o->host[hl] = '\0';
    /* inet_pton also refuses zone ids, which have no place here. */
    unsigned char a6[16];
    if (inet_pton(AF_INET6, o->host, a6) != 1)
      goto bad;
    hend = rb + 1;
    if (hend < end && *hend != ':')
      goto bad;
    portp = hend;
  } else {
    const char *colon = memchr(h, ':', (size_t)(end - h));
    hend = colon ? colon : end;
    size_t hl = (size_t)(hend - h);
    if (hl == 0 || hl >= sizeof o->host)
      goto bad;
    for (size_t i = 0; i < hl; i++) {
      if (!is_host_char((unsigned char)h[i]))
        goto bad;
      o->host[i] = h[i];
    }
    o->host[hl] = '\0';
    portp = hend;
  }
  for (char *c = o->host; *c; c++)
    *c = (char)lower((unsigned char)*c);

  o->port = defport;
  if (portp < end) {                /* *portp == ':' */
    const char *d = portp + 1;
    if (d < end) {
      long v = 0;
      for (; d < end; d++) {
        if (*d < '0' || *d > '9')
          goto bad;
        v = v * 10 + (*d - '0');
        if (v > 65535)
          goto bad;
      }
      if (v == 0)
        goto bad;
      o->port = (int)v;
    }
  }
  memcpy(o->scheme, defport == 80 ? "http" : "https",
         defport == 80 ? 5 : 6);
  return 0;
bad:
  memset(o, 0, sizeof *o);
  return -1;
}

int url_host_is_loopback(const char *host)
{
  if (host == NULL)
    return 0;
  size_t n = strlen(host);
  if ((n == 9 || (n == 10 && host[9] == '.')) &&
      strncasecmp(host, "localhost", 9) == 0)
    return 1;

  char buf[64];
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
    host++;
    n -= 2;
  }
  if (n == 0 || n >= sizeof buf)
    return 0;
  memcpy(buf, host, n);
  buf[n] = '\0';

  unsigned char a[16];
  /* inet_pton's AF_INET form is strict dotted-quad: no "127.1", no octal,
   * no hex; exactly the forms we are prepared to trust. */
  if (inet_pton(AF_INET, buf, a) == 1)
    return a[0] == 127;
  if (inet_pton(AF_INET6, buf, a) == 1) {
    static const unsigned char lo6[16] = { [15] = 1 };
    static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
    if (memcmp(a, lo6, 16) == 0)
      return 1;
    return memcmp(a, mapped, 12) == 0 && a[12] == 127;
  }
  return 0;
}

void url_origin_key(const url_origin_t *o, char *buf, size_t n)
{
  if (buf == NULL || n == 0)
    return;
  if (o == NULL) {
    buf[0] = '\0';
    return;
  }
  /* The struct may come from anywhere: never read past its arrays. */
  int sl = (int)strnlen(o->scheme, sizeof o->scheme);
  int hl = (int)strnlen(o->host, sizeof o->host);
  int v6 = memchr(o->host, ':', (size_t)hl) != NULL;
  snprintf(buf, n, "%.*s://%s%.*s%s:%d", sl, o->scheme, v6 ? "[" : "", hl,
           o->host, v6 ? "]" : "", o->port);
}
