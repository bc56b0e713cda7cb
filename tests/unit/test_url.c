/* test_url.c - encoding, joining, origins, loopback. */
#include "tap.h"
#include "url.h"

#include <stdlib.h>
#include <string.h>

struct str_case {
  const char *a;
  const char *b;
  const char *want;
};

static const struct str_case enc_cases[] = {
  { "abcXYZ019-._~", NULL, "abcXYZ019-._~" },
  { "a b", NULL, "a%20b" },
  { "https://pam:6443/x?y=1&z", NULL,
    "https%3A%2F%2Fpam%3A6443%2Fx%3Fy%3D1%26z" },
  { "+/=", NULL, "%2B%2F%3D" },
  { "\xc3\xa9", NULL, "%C3%A9" },
  { "", NULL, "" },
};

static const struct str_case dec_cases[] = {
  { "a%20b", NULL, "a b" },
  { "a+b", NULL, "a b" },
  { "%2b%2B", NULL, "++" },
  { "%C3%a9", NULL, "\xc3\xa9" },
  { "plain", NULL, "plain" },
  { "", NULL, "" },
  { "%", NULL, NULL },
  { "%4", NULL, NULL },
  { "%G1", NULL, NULL },
  { "a%2", NULL, NULL },
  { "%%41", NULL, NULL },
};

static const struct str_case join_cases[] = {
  { "https://h:6443/xtam", "/rest/x", "https://h:6443/xtam/rest/x" },
  { "https://h:6443/xtam/", "/rest/x", "https://h:6443/xtam/rest/x" },
  { "https://h:6443/xtam", "rest/x", "https://h:6443/xtam/rest/x" },
  { "https://h:6443/xtam/", "rest/x", "https://h:6443/xtam/rest/x" },
  { "https://h:6443/xtam//", "//rest/x", "https://h:6443/xtam/rest/x" },
  { "https://h:6443/xtam", "", "https://h:6443/xtam/" },
  { "https://h:6443/xtam/", "", "https://h:6443/xtam/" },
  { "https://h", "/", "https://h/" },
  { "https://h/xtam", "https://other/y", "https://other/y" },
  { "https://h/xtam", "HTTP://other/y", "HTTP://other/y" },
  { "https://h/xtam", "//evil/x", "https://h/xtam/evil/x" },
  { "https://h/xtam", "ftp://x/y", "https://h/xtam/ftp://x/y" },
  { "https://", "x", "https://x" },
  { "", "x", "/x" },
  { NULL, "x", "/x" },
  { "https://h", NULL, "https://h/" },
};

struct origin_case {
  const char *url;
  int rc;
  const char *scheme;
  const char *host;
  int port;
  const char *key;
};

static const struct origin_case origin_cases[] = {
  { "https://pam.example.com:6443/xtam", 0, "https", "pam.example.com", 6443,
    "https://pam.example.com:6443" },
  { "https://pam.example.com/xtam", 0, "https", "pam.example.com", 443,
    "https://pam.example.com:443" },
  { "http://pam", 0, "http", "pam", 80, "http://pam:80" },
  { "HTTPS://PAM.Example.COM", 0, "https", "pam.example.com", 443,
    "https://pam.example.com:443" },
  { "https://user:pw@pam:8443/x", 0, "https", "pam", 8443,
    "https://pam:8443" },
  { "https://a@b@pam/x", -1, NULL, NULL, 0, NULL },
  { "https://[::1]:8443/x", 0, "https", "::1", 8443, "https://[::1]:8443" },
  { "http://[FE80::1]", 0, "http", "fe80::1", 80, "http://[fe80::1]:80" },
  { "http://127.0.0.1:8080?x=1", 0, "http", "127.0.0.1", 8080,
    "http://127.0.0.1:8080" },
  { "https://h:/x", 0, "https", "h", 443, "https://h:443" },
  { "https://h#frag", 0, "https", "h", 443, "https://h:443" },
  { "https://h:65535", 0, "https", "h", 65535, "https://h:65535" },
  { "ftp://h/x", -1, NULL, NULL, 0, NULL },
  { "h/x", -1, NULL, NULL, 0, NULL },
  { "https:/h/x", -1, NULL, NULL, 0, NULL },
  { "https://", -1, NULL, NULL, 0, NULL },
  { "https:///x", -1, NULL, NULL, 0, NULL },
  { "https://user@/x", -1, NULL, NULL, 0, NULL },
  { "https://us er@h/x", -1, NULL, NULL, 0, NULL },
  { "https://h:0", -1, NULL, NULL, 0, NULL },
  { "https://h:65536", -1, NULL, NULL, 0, NULL },
  { "https://h:99999999999999999999", -1, NULL, NULL, 0, NULL },
  { "https://h:-1", -1, NULL, NULL, 0, NULL },
  { "https://h:8a", -1, NULL, NULL, 0, NULL },
  { "https://[::1", -1, NULL, NULL, 0, NULL },
  { "https://[]/", -1, NULL, NULL, 0, NULL },
  { "https://[::1]x/", -1, NULL, NULL, 0, NULL },
  { "https://[zz::1]/", -1, NULL, NULL, 0, NULL },
  { "https://[fe80::1%25eth0]/", -1, NULL, NULL, 0, NULL },
  { "https://ho st/", -1, NULL, NULL, 0, NULL },
  { "https://evil.com\\@good.com/", -1, NULL, NULL, 0, NULL },
  { "https://h%2e/", -1, NULL, NULL, 0, NULL },
  { "httpx://h/", -1, NULL, NULL, 0, NULL },
  { "", -1, NULL, NULL, 0, NULL },
};

struct loop_case {
  const char *host;
  int want;
};

static const struct loop_case loop_cases[] = {
  { "localhost", 1 }, { "LocalHost", 1 }, { "localhost.", 1 },
  { "127.0.0.1", 1 }, { "127.255.255.254", 1 }, { "127.1.2.3", 1 },
  { "::1", 1 }, { "[::1]", 1 }, { "0:0:0:0:0:0:0:1", 1 },
  { "::ffff:127.0.0.1", 1 },
  { "localhost.evil.com", 0 }, { "mylocalhost", 0 }, { "127.0.0.1.evil", 0 },
  { "128.0.0.1", 0 }, { "10.0.0.1", 0 }, { "127.1", 0 }, { "0177.0.0.1", 0 },
  { "127.0.0.256", 0 }, { "::2", 0 }, { "::", 0 }, { "0.0.0.0", 0 },
  { "", 0 }, { "[]", 0 }, { "::ffff:10.0.0.1", 0 },
};

void test_url(void)
{
  for (size_t i = 0; i < sizeof enc_cases / sizeof enc_cases[0]; i++) {
    char *got = url_encode(enc_cases[i].a, strlen(enc_cases[i].a));
    is_str(got, enc_cases[i].want, enc_cases[i].a);
    free(got);
  }
  {
    char *got = url_encode("a\0b", 3);
    is_str(got, "a%00b", "url_encode NUL byte");
    free(got);
  }
  for (size_t i = 0; i < sizeof dec_cases / sizeof dec_cases[0]; i++) {
    size_t n = 99;
    char *got = url_decode(dec_cases[i].a, strlen(dec_cases[i].a), &n);
    is_str(got, dec_cases[i].want, dec_cases[i].a);
    if (got)
      ok(n == strlen(dec_cases[i].want), "url_decode length for '%s'",
         dec_cases[i].a);
    free(got);
  }
  {
    size_t n = 0;
    char *got = url_decode("a%00b", 5, &n);
    ok(got && n == 3 && got[1] == '\0' && got[2] == 'b',
       "url_decode %%00 keeps length");
    free(got);
    got = url_decode("%41%42", 4, NULL);     /* len cuts an escape */
    is_str(got, NULL, "url_decode honours len");
    free(got);
  }

  for (size_t i = 0; i < sizeof join_cases / sizeof join_cases[0]; i++) {
    const struct str_case *c = &join_cases[i];
    char *got = url_join(c->a, c->b);
    ok(got && strcmp(got, c->want) == 0, "url_join('%s', '%s') = '%s'",
       c->a ? c->a : "NULL", c->b ? c->b : "NULL", c->want);
    if (got && strcmp(got, c->want) != 0)
      diag("got '%s'", got);
    free(got);
  }

  for (size_t i = 0; i < sizeof origin_cases / sizeof origin_cases[0]; i++) {
    const struct origin_case *c = &origin_cases[i];
    url_origin_t o;
    memset(&o, 0x55, sizeof o);
    int rc = url_origin(c->url, &o);
    if (c->rc != 0) {
      ok(rc == -1 && o.host[0] == '\0' && o.port == 0,
         "url_origin rejects '%s'", c->url);
      continue;
    }
    char key[300];
    url_origin_key(&o, key, sizeof key);
    ok(rc == 0 && strcmp(o.scheme, c->scheme) == 0 &&
       strcmp(o.host, c->host) == 0 && o.port == c->port &&
       strcmp(key, c->key) == 0, "url_origin '%s' -> %s", c->url, c->key);
    if (rc == 0 && strcmp(key, c->key) != 0)
      diag("got %s", key);
  }
  {
    url_origin_t o;
    ok(url_origin(NULL, &o) == -1, "url_origin(NULL)");
    ok(url_origin("https://h", NULL) == -1, "url_origin(.., NULL)");
    /* 255-character host fits, 256 does not. */
    char u[400];
    strcpy(u, "https://");
    memset(u + 8, 'a', 255);
    u[8 + 255] = '\0';
    ok(url_origin(u, &o) == 0 && strlen(o.host) == 255, "255-char host");
    strcat(u, "a/");
    ok(url_origin(u, &o) == -1, "256-char host rejected");

    url_origin_t k = { "https", "pam", 6443 };
    char small[12];
    url_origin_key(&k, small, sizeof small);
    is_str(small, "https://pam", "url_origin_key truncates safely");
    url_origin_key(&k, small, 0);            /* must not write */
    ok(1, "url_origin_key with n == 0");
  }

  for (size_t i = 0; i < sizeof loop_cases / sizeof loop_cases[0]; i++)
    is_int(url_host_is_loopback(loop_cases[i].host), loop_cases[i].want,
           loop_cases[i].host);
  ok(!url_host_is_loopback(NULL), "url_host_is_loopback(NULL)");
}
