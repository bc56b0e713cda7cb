/* fuzz_url.c - URL joining and origins: url_join, url_origin,
 * url_origin_key, url_host_is_loopback, url_encode/url_decode.
 *
 * Input: "base\0path"; without a NUL the whole input is both the URL for
 * url_origin and the path for url_join (with a fixed base). */
#include "fuzz.h"

#include <strings.h>

#include "url.h"

static int is_unreserved(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

static size_t http_prefix(const char *s)
{
  if (strncasecmp(s, "http://", 7) == 0)
    return 7;
  if (strncasecmp(s, "https://", 8) == 0)
    return 8;
  return 0;
}

static void join_props(const char *base, const char *path)
{
  char *j = url_join(base, path);
  FUZZ_CHECK(j != NULL);
  if (http_prefix(path)) {
    FUZZ_CHECK(strcmp(j, path) == 0);
  } else {
    /* base without trailing slashes (never into "scheme://"), one '/',
     * path without leading slashes */
    size_t bl = strlen(base), floor = http_prefix(base);
    while (bl > floor && base[bl - 1] == '/')
      bl--;
    const char *p = path;
    while (*p == '/')
      p++;
    FUZZ_CHECK(strncmp(j, base, bl) == 0);
    size_t o = bl;
    if (bl == 0 || base[bl - 1] != '/') {
      FUZZ_CHECK(j[o] == '/');
      o++;
    }
    FUZZ_CHECK(strcmp(j + o, p) == 0);
  }
  free(j);
}

static void origin_props(const char *url)
{
  url_origin_t o;
  memset(&o, 0x5a, sizeof o);
  int rc = url_origin(url, &o);
  FUZZ_CHECK(rc == 0 || rc == -1);
  if (rc != 0) {
    url_origin_t zero;
    memset(&zero, 0, sizeof zero);
    FUZZ_CHECK(memcmp(&o, &zero, sizeof o) == 0);
    return;
  }
  FUZZ_CHECK(strcmp(o.scheme, "http") == 0 || strcmp(o.scheme, "https") == 0);
  FUZZ_CHECK(o.port >= 1 && o.port <= 65535);
  size_t hl = strnlen(o.host, sizeof o.host);
  FUZZ_CHECK(hl > 0 && hl < sizeof o.host);
  int v6 = strchr(o.host, ':') != NULL;
  for (size_t i = 0; i < hl; i++) {
    unsigned char c = (unsigned char)o.host[i];
    FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    FUZZ_CHECK(is_unreserved(c) || (v6 && (c == ':' || c == '.')));
  }
  /* the origin key parses back to the same origin */
  char key[300];
  url_origin_key(&o, key, sizeof key);
  url_origin_t back;
  FUZZ_CHECK(url_origin(key, &back) == 0);
  FUZZ_CHECK(strcmp(back.scheme, o.scheme) == 0 &&
             strcmp(back.host, o.host) == 0 && back.port == o.port);
  char key2[300];
  url_origin_key(&back, key2, sizeof key2);
  FUZZ_CHECK(strcmp(key, key2) == 0);
  /* truncation keeps the terminator */
  char small[8];
  url_origin_key(&o, small, sizeof small);
  FUZZ_CHECK(memchr(small, '\0', sizeof small) != NULL);
  (void)url_host_is_loopback(o.host);
}

static void coding_props(const char *s, size_t n)
{
  size_t dn = 99;
  char *d = url_decode(s, n, &dn);
  if (d) {
    FUZZ_CHECK(dn <= n && d[dn] == '\0');
  } else {
    FUZZ_CHECK(dn == 0);
    FUZZ_CHECK(memchr(s, '%', n) != NULL);
  }
  free(d);
  char *e = url_encode(s, n);
  FUZZ_CHECK(e != NULL);
  size_t el = strlen(e);
  for (size_t i = 0; i < el; i++)
    FUZZ_CHECK(is_unreserved((unsigned char)e[i]) || e[i] == '%' ||
               (e[i] >= '0' && e[i] <= '9') || (e[i] >= 'A' && e[i] <= 'F'));
  char *back = url_decode(e, el, &dn);
  FUZZ_CHECK(back != NULL && dn == n && (n == 0 || memcmp(back, s, n) == 0));
  free(back);
  free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = fuzz_dup0(data, size);
  const char *nul = memchr(s, '\0', size);
  if (nul != NULL) {
    const char *base = s, *path = nul + 1;
    join_props(base, path);
    join_props(path, base);
    origin_props(base);
    origin_props(path);
    char *j = url_join(base, path);
    FUZZ_CHECK(j != NULL);
    origin_props(j);
    free(j);
  } else {
    join_props("https://pam.example:6443/xtam/", s);
    join_props(s, "/rest/folder/list");
    join_props(s, "");
    origin_props(s);
  }
  (void)url_host_is_loopback(s);
  coding_props((const char *)data, size);
  char *jn = url_join(NULL, NULL);
  FUZZ_CHECK(jn != NULL && strcmp(jn, "/") == 0);
  free(jn);
  free(s);
  return 0;
}
