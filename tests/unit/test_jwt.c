/* test_jwt.c - base64url codec and JWT helpers. */
#include "b64.h"
#include "json.h"
#include "jwt.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dec_case {
  const char *in;
  size_t inlen;        /* 0: strlen(in) */
  const char *want;    /* NULL: must fail */
  size_t wantlen;      /* 0: strlen(want) */
};

static const struct dec_case dec_cases[] = {
  { "", 0, "", 0 },
  { "Zg", 0, "f", 0 },
  { "Zg==", 0, "f", 0 },
  { "Zm8", 0, "fo", 0 },
  { "Zm8=", 0, "fo", 0 },
  { "Zm9v", 0, "foo", 0 },
  { "Zm9vYg", 0, "foob", 0 },
  { "Zm9vYmE", 0, "fooba", 0 },
  { "Zm9vYmFy", 0, "foobar", 0 },
  { "-_8", 0, "\xfb\xff", 0 },
  { "+/8", 0, "\xfb\xff", 0 },            /* standard alphabet */
  { "+_8=", 0, "\xfb\xff", 0 },           /* mixed alphabets */
  { "Zh", 0, "f", 0 },                    /* non-zero trailing bits ok */
  { "AA", 0, "\0", 1 },                   /* NUL byte decoded, counted */
  { "Z", 0, NULL, 0 },                    /* impossible length */
  { "Zm9vY", 0, NULL, 0 },
  { "Zg=", 0, NULL, 0 },                  /* incomplete padding */
  { "Zg===", 0, NULL, 0 },
  { "Zm8==", 0, NULL, 0 },
  { "Zm9v=", 0, NULL, 0 },
  { "Zm8=Zm8=", 0, NULL, 0 },             /* padding in the middle */
  { "=Zg", 0, NULL, 0 },
  { "====", 0, NULL, 0 },
  { "Zm 9v", 0, NULL, 0 },                /* whitespace */
  { "Zm9v\n", 0, NULL, 0 },
  { "Zm9*", 0, NULL, 0 },
  { "Zm\x80v", 0, NULL, 0 },
  { "Zm\0v", 4, NULL, 0 },                /* NUL inside */
};

struct jwt_case {
  const char *header;   /* JSON, encoded by the test; NULL: raw used */
  const char *payload;
  const char *sig;
  const char *raw;      /* used as is when header is NULL */
  const char *want;     /* expected payload, or NULL */
  const char *why;      /* expected reason when want is NULL */
};

static const char W3[] = "not a JWT: expected three dot-separated parts";
static const char WB[] = "payload is not valid base64url";
static const char WJ[] = "payload is not a JSON object";

static const struct jwt_case jwt_cases[] = {
  { "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
    "{\"aud\":\"https://pam\",\"exp\":1700000000,\"oid\":\"x\"}", "c2ln",
    NULL, "{\"aud\":\"https://pam\",\"exp\":1700000000,\"oid\":\"x\"}", NULL },
  { "{\"alg\":\"none\"}", "{\"sub\":\"me\"}", "", NULL, "{\"sub\":\"me\"}",
    NULL },                                           /* unsecured JWT */
  { "{\"alg\":\"none\"}", " {\"a\":[1,2]} ", "c2ln", NULL, " {\"a\":[1,2]} ",
    NULL },
  { "{\"alg\":\"none\"}", "[1,2]", "c2ln", NULL, NULL, WJ },
  { "{\"alg\":\"none\"}", "\"str\"", "c2ln", NULL, NULL, WJ },
  { "{\"alg\":\"none\"}", "not json", "c2ln", NULL, NULL, WJ },
  { "{\"alg\":\"none\"}", "{\"a\":1} x", "c2ln", NULL, NULL, WJ },
  { "{\"alg\":\"none\"}", "{\"a\":1", "c2ln", NULL, NULL, WJ },
  { NULL, NULL, NULL, "", NULL, W3 },
  { NULL, NULL, NULL, "abc", NULL, W3 },
  { NULL, NULL, NULL, "eyJh.eyJi", NULL, W3 },
  { NULL, NULL, NULL, "a.b.c.d", NULL, W3 },
  { NULL, NULL, NULL, ".eyJhIjoxfQ.c2ln", NULL, W3 },  /* empty header */
  { NULL, NULL, NULL, "eyJh..c2ln", NULL, W3 },        /* empty payload */
  { NULL, NULL, NULL, "eyJh.eyJhIjoxfQ*.c2ln", NULL, WB },
  { NULL, NULL, NULL, "eyJh.e.c2ln", NULL, WB },       /* bad length */
  { NULL, NULL, NULL, "eyJh.eyJhIjoxfQ=.c2ln", NULL, WB },   /* bad pad */
  { NULL, NULL, NULL, "eyJh.eyJhIjoxfQ.c2ln", "{\"a\":1}", NULL },
  { NULL, NULL, NULL, "eyJh.eyJhIjoxfQ==.c2ln", "{\"a\":1}", NULL },
  { NULL, NULL, NULL, "eyJh.eyJhIjoxfQA.c2ln", NULL, WJ },   /* NUL byte */
};

struct looks_case {
  const char *s;
  int want;
};

static const struct looks_case looks_cases[] = {
  { "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", 1 },
  { "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", 1 },      /* empty signature */
  { "eyJh.eyJh.abcd", 1 },
  { "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0", 0 },      /* one dot */
  { "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln.ZXh0", 0 },  /* three dots */
  { "eyJhbGciOiJIUzI1NiJ9..c2lnbmF0dXJl", 0 },        /* empty payload */
  { "eyJ.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", 0 },          /* header too short */
  { "eyJhbGciOiJIUzI1NiJ9.eyJ.c2lnbmF0dXJl", 0 },     /* payload too short */
  { "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2", 0 },   /* signature too short */
  { "abJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", 0 },
  { "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln+mF0dXJl", 0 },  /* '+' */
  { "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0=.c2lnbmF0dXJl", 0 }, /* '=' */
  { "eyJhbGci OiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", 0 },
  { "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", 0 },
  { "", 0 },
  { "eyJ", 0 },
  { "e", 0 },
};

static char *make_jwt(const char *h, const char *p, const char *sig)
{
  char *eh = b64url_encode((const unsigned char *)h, strlen(h));
  char *ep = b64url_encode((const unsigned char *)p, strlen(p));
  char *out = NULL;
  if (eh && ep) {
    size_t n = strlen(eh) + strlen(ep) + strlen(sig) + 3;
    out = malloc(n);
    if (out)
      snprintf(out, n, "%s.%s.%s", eh, ep, sig);
  }
  free(eh);
  free(ep);
  return out;
}

void test_jwt(void)
{
  for (size_t i = 0; i < sizeof dec_cases / sizeof dec_cases[0]; i++) {
    const struct dec_case *c = &dec_cases[i];
    size_t inlen = c->inlen ? c->inlen : strlen(c->in);
    size_t outlen = 12345;
    unsigned char *out = b64url_decode(c->in, inlen, &outlen);
    if (c->want == NULL) {
      ok(out == NULL && !b64url_valid(c->in, inlen),
         "b64url_decode rejects '%s'", c->in);
    } else {
      size_t wl = c->wantlen ? c->wantlen : strlen(c->want);
      ok(out != NULL && outlen == wl && memcmp(out, c->want, wl) == 0 &&
         out[wl] == '\0' && b64url_valid(c->in, inlen),
         "b64url_decode '%s'", c->in);
    }
    free(out);
  }
  {
    unsigned char *out = b64url_decode("Zm9v", 4, NULL);
    is_str((char *)out, "foo", "b64url_decode with NULL outlen");
    free(out);
    ok(b64url_decode(NULL, 1, NULL) == NULL, "b64url_decode(NULL, 1)");
  }

  static const struct { const char *in; size_t n; const char *want; } enc[] = {
    { "", 0, "" },
    { "f", 1, "Zg" },
    { "fo", 2, "Zm8" },
    { "foo", 3, "Zm9v" },
    { "foobar", 6, "Zm9vYmFy" },
    { "\xfb\xff", 2, "-_8" },
    { "\0", 1, "AA" },
  };
  for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++) {
    char *e = b64url_encode((const unsigned char *)enc[i].in, enc[i].n);
    is_str(e, enc[i].want, "b64url_encode");
    free(e);
  }
  {
    /* Every byte value and every length remainder survives a round trip. */
    unsigned char all[258];
    for (int i = 0; i < 258; i++)
      all[i] = (unsigned char)(i * 7 + 3);
    int good = 1;
    for (size_t n = 0; n <= sizeof all; n++) {
      char *e = b64url_encode(all, n);
      size_t dl = 0;
      unsigned char *d = e ? b64url_decode(e, strlen(e), &dl) : NULL;
      if (!d || dl != n || memcmp(d, all, n) != 0)
        good = 0;
      free(e);
      free(d);
    }
    ok(good, "b64url round trip for lengths 0..258");
  }

  for (size_t i = 0; i < sizeof jwt_cases / sizeof jwt_cases[0]; i++) {
    const struct jwt_case *c = &jwt_cases[i];
    char *tok = c->header ? make_jwt(c->header, c->payload, c->sig)
                          : strdup(c->raw);
    const char *why = "unset";
    char *pl = tok ? jwt_payload(tok, strlen(tok), &why) : NULL;
    if (c->want) {
      ok(pl && strcmp(pl, c->want) == 0 && json_valid(pl, strlen(pl)) &&
         why == NULL, "jwt_payload %s", tok ? tok : "?");
    } else {
      ok(pl == NULL && why && strcmp(why, c->why) == 0,
         "jwt_payload %s: %s", tok ? tok : "?", c->why);
      if (why && c->why && strcmp(why, c->why) != 0)
        diag("why: %s", why);
    }
    free(pl);
    free(tok);
  }
  {
    char *pl = jwt_payload("x", 1, NULL);
    ok(pl == NULL, "jwt_payload with NULL why");
    pl = jwt_payload(NULL, 5, NULL);
    ok(pl == NULL, "jwt_payload(NULL)");
    /* len bounds the token: the tail after len is ignored. */
    const char *t = "eyJh.eyJhIjoxfQ.c2ln.extra";
    pl = jwt_payload(t, 20, NULL);
    is_str(pl, "{\"a\":1}", "jwt_payload honours len");
    free(pl);
  }

  for (size_t i = 0; i < sizeof looks_cases / sizeof looks_cases[0]; i++) {
    const struct looks_case *c = &looks_cases[i];
    is_int(jwt_looks_like(c->s, strlen(c->s)), c->want, c->s);
  }
  ok(!jwt_looks_like(NULL, 0), "jwt_looks_like(NULL)");

  static const struct { const char *s; size_t want; } spans[] = {
    { "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl rest", 49 },
    { "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl.", 49 },
    { "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. Next", 36 },
    { "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0\"", 0 },
    { "eyJhbGciOiJIUzI1NiJ9 eyJzdWIiOiIxIn0.x", 0 },
    { "xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", 0 },
  };
  for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++)
    is_int(jwt_span(spans[i].s, strlen(spans[i].s)), spans[i].want,
           spans[i].s);
}
