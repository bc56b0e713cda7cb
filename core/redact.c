/* redact.c - secret redaction.
 *
 * One left-to-right pass over the input, copying bytes to the output and
 * replacing what looks secret.  Every look-back is bounded (NAME_SCAN) and
 * every look-ahead consumes what it looked at, so the work stays linear in
 * the input however hostile it is. */
#include "redact.h"

#include "jwt.h"
#include "url.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* How far back a form name or a JSON key is looked for.  Secret names are
 * short; a longer key still has its last NAME_SCAN bytes examined. */
#define NAME_SCAN 256

typedef struct {
  char *p;
  size_t n, cap;
  int oom;
} buf;

static void put(buf *b, const void *s, size_t n)
{
  if (b->oom || n == 0)
    return;
  if (n > SIZE_MAX - b->n - 1) {
    b->oom = 1;
    return;
  }
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + n + 1)
      cap = cap > SIZE_MAX / 2 ? b->n + n + 1 : cap * 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void put_redacted(buf *b) { put(b, REDACTED, sizeof REDACTED - 1); }

/* Hand the buffer over as a NUL-terminated string, or free it on OOM. */
static char *finish(buf *b)
{
  if (b->oom) {
    free(b->p);
    return NULL;
  }
  if (b->p == NULL)
    return calloc(1, 1);
  return b->p;
}

static unsigned char lower(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static int ci_eq(const char *a, size_t n, const char *lit)
{
  size_t m = strlen(lit);
  if (n != m)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (lower((unsigned char)a[i]) != (unsigned char)lit[i])
      return 0;
  return 1;
}

static int ci_prefix(const char *a, size_t n, const char *lit)
{
  size_t m = strlen(lit);
  return n >= m && ci_eq(a, m, lit);
}

int redact_name_is_secret(const char *name, size_t len)
{
  static const char *const pats[] = {
    "password", "passwd", "secret", "key", "token", "passphrase", "pin",
    "credential", "cookie", "authorization", "azure", "assertion", "ticket",
  };
  if (name == NULL)
    return 0;
  for (size_t k = 0; k < sizeof pats / sizeof pats[0]; k++) {
    size_t m = strlen(pats[k]);
    for (size_t i = 0; i + m <= len; i++)
      if (ci_eq(name + i, m, pats[k]))
        return 1;
  }
  return 0;
}

/* ---- free text ---------------------------------------------------------- */

static int is_b64url(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int is_alnum(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9');
}

/* Characters of a form field name (percent-encoded names included). */
static int is_name_char(unsigned char c)
{
  return is_alnum(c) || c == '_' || c == '-' || c == '.' || c == '%' ||
         c == '+' || c == '~' || c == '[' || c == ']';
}

static int is_ws(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Number of consecutive backslashes ending just before s[j], not looking
 * before s[lo]. */
static size_t backslashes_before(const unsigned char *s, size_t j, size_t lo)
{
  size_t r = 0;
  while (j > lo && s[j - 1] == '\\') {
    j--;
    r++;
  }
  return r;
}

/* The JSON-in-a-string nesting level of a quote preceded by r backslashes.
 * A quote of level d is written with 2^d - 1 backslashes before it, and
 * each level doubles the backslashes of the level inside it, so the level
 * is the number of trailing one bits of r: 0 -> 0, 1 -> 1, 2 (an escaped
 * backslash, then a real quote) -> 0, 3 -> 2, 5 -> 1, 7 -> 3 ... */
static unsigned quote_level(size_t r)
{
  unsigned d = 0;
  while (r & 1) {
    d++;
    r >>= 1;
  }
  return d;
}

/* 2^d - 1, the backslashes that introduce a level-d quote. */
static size_t quote_bs(unsigned d) { return ((size_t)1 << d) - 1; }

/* When s[v..len) opens a string (2^d - 1 backslashes and a '"') return its
 * level in *d and 1, else 0. */
static int opens_string(const unsigned char *s, size_t len, size_t v,
                        unsigned *d)
{
  size_t r = 0;
  while (v + r < len && s[v + r] == '\\')
    r++;
  if (v + r >= len || s[v + r] != '"')
    return 0;
  unsigned lv = quote_level(r);
  if (lv >= sizeof(size_t) * 8 - 1 || r != quote_bs(lv))
    return 0;
  *d = lv;
  return 1;
}

/* Content of a level-d string starting at s[cs]: returns where the content
 * ends, i.e. where the closing quote's backslashes start.  A quote of a
 * deeper level is escaped content; one of a shallower level ends an outer
 * string, so ours must have ended too.  Unterminated: len. */
static size_t string_end(const unsigned char *s, size_t len, size_t cs,
                         unsigned d)
{
  for (size_t j = cs; j < len; j++) {
    if (s[j] != '"')
      continue;
    unsigned lv = quote_level(backslashes_before(s, j, cs));
    if (lv <= d)
      return j - quote_bs(lv);
  }
  return len;
}

/* End of a JSON number-ish run at s[v..). */
static size_t number_end(const unsigned char *s, size_t len, size_t v)
{
  while (v < len && ((s[v] >= '0' && s[v] <= '9') || s[v] == '-' ||
                     s[v] == '+' || s[v] == '.' || s[v] == 'e' ||
                     s[v] == 'E'))
    v++;
  return v;
}

/* Skip whitespace between ':' and a value: real whitespace, and at level
 * d >= 1 the escaped forms of \n \r \t (2^(d-1) backslashes and a letter),
 * as found in pretty-printed JSON stored inside a string. */
static size_t skip_json_ws(const unsigned char *s, size_t len, size_t v,
                           unsigned d)
{
  for (;;) {
    if (v < len && is_ws(s[v])) {
      v++;
      continue;
    }
    if (d >= 1) {
      size_t k = (size_t)1 << (d - 1), r = 0;
      while (v + r < len && r < k && s[v + r] == '\\')
        r++;
      if (r == k && v + r < len &&
          (s[v + r] == 'n' || s[v + r] == 'r' || s[v + r] == 't')) {
        v += r + 1;
        continue;
      }
    }
    return v;
  }
}

static void put_quote(buf *b, unsigned d)
{
  for (size_t k = quote_bs(d); k > 0; k--)
    put(b, "\\", 1);
  put(b, "\"", 1);
}

/* Closing quote of a level-d string at s[p..): its length (2^d - 1
 * backslashes and '"'), or 0 when something else is there. */
static size_t closing_quote(const unsigned char *s, size_t len, size_t p,
                            unsigned d)
{
  size_t r = 0;
  while (p + r < len && s[p + r] == '\\')
    r++;
  return (p + r < len && s[p + r] == '"' && r == quote_bs(d)) ? r + 1 : 0;
}

/* One JSON value of level d at s[v..) that redaction handles: a string or a
 * number, or (when allow_array) a flat array of those.  When it is one,
 * emits s[pre..v) and the redacted value and returns where to go on from;
 * otherwise emits nothing and returns v.  A string's closing quote is left
 * for the caller to copy. */
static size_t redact_json_value(buf *b, const unsigned char *s, size_t len,
                                size_t pre, size_t v, unsigned d,
                                int allow_array)
{
  unsigned sd;
  if (opens_string(s, len, v, &sd)) {
    /* The string's own level, which is the key's unless the text is
     * malformed; either way its content goes. */
    size_t cs = v + quote_bs(sd) + 1;
    size_t ce = string_end(s, len, cs, sd);
    put(b, s + pre, cs - pre);
    if (ce > cs)
      put_redacted(b);
    return ce;
  }
  if (v < len && (s[v] == '-' || (s[v] >= '0' && s[v] <= '9'))) {
    /* As a string, so the JSON stays JSON at its level. */
    put(b, s + pre, v - pre);
    put_quote(b, d);
    put_redacted(b);
    put_quote(b, d);
    return number_end(s, len, v);
  }
  if (!allow_array || v >= len || s[v] != '[')
    return v;

  put(b, s + pre, v + 1 - pre);
  size_t p = v + 1;
  for (;;) {
    size_t w = skip_json_ws(s, len, p, d);
    size_t q = redact_json_value(b, s, len, p, w, d, 0);
    if (q == w) {
      put(b, s + p, w - p);
      return w;                     /* "]", or something we leave alone */
    }
    p = q;
    if (opens_string(s, len, w, &sd)) {
      size_t cq = closing_quote(s, len, p, sd);
      if (cq == 0)
        return p;                   /* an outer string ended first */
      put(b, s + p, cq);
      p += cq;
    }
    w = skip_json_ws(s, len, p, d);
    put(b, s + p, w - p);
    p = w;
    if (p >= len || s[p] != ',')
      return p;
    put(b, s + p, 1);
    p++;
  }
}

/* At s[i] == ':': if a JSON key that looks secret ends just before, find
 * the key's level into *d and return 1. */
static int secret_key_before(const unsigned char *s, size_t i, unsigned *d)
{
  size_t j = i;
  while (j > 0 && is_ws(s[j - 1]))
    j--;
  if (j == 0 || s[j - 1] != '"')
    return 0;
  size_t q = j - 1;                 /* the key's closing quote */
  size_t lo = q > NAME_SCAN ? q - NAME_SCAN : 0;
  size_t r = backslashes_before(s, q, lo);
  unsigned lv = quote_level(r);
  if (lv >= sizeof(size_t) * 8 - 1)
    return 0;
  size_t ke = q - quote_bs(lv);     /* key content end */
  for (size_t k = ke; k > lo; k--) {
    if (s[k - 1] != '"')
      continue;
    size_t oq = k - 1;
    size_t r2 = backslashes_before(s, oq, lo);
    unsigned l2 = quote_level(r2);
    if (l2 > lv)
      continue;                     /* an escaped quote inside the key */
    if (l2 < lv)
      return 0;                     /* an outer string's quote: no key */
    if (!redact_name_is_secret((const char *)s + k, ke - k))
      return 0;
    *d = lv;
    return 1;
  }
  /* No opening quote within reach: judge the tail we can see. */
  if (lo > 0 && redact_name_is_secret((const char *)s + lo, ke - lo)) {
    *d = lv;
    return 1;
  }
  return 0;
}

/* At s[i] == '=': 1 when the form field name ending there looks secret. */
static int secret_form_name_before(const unsigned char *s, size_t i)
{
  size_t lo = i > NAME_SCAN ? i - NAME_SCAN : 0;
  size_t k = i;
  while (k > lo && is_name_char(s[k - 1]))
    k--;
  return k < i && redact_name_is_secret((const char *)s + k, i - k);
}

/* Where an unquoted form value starting at s[v] ends. */
static size_t form_value_end(const unsigned char *s, size_t len, size_t v)
{
  while (v < len) {
    unsigned char c = s[v];
    if (c == '&' || c == '#' || c <= ' ' || c == 0x7f || c == '"' ||
        c == '\'' || c == '<' || c == '>' || c == '\\')
      break;
    v++;
  }
  return v;
}

/* Redact the value of a secret form field; s[v] follows the '='.  Emits
 * what it consumed, returns the position to go on from. */
static size_t redact_form_value(buf *b, const unsigned char *s, size_t len,
                                size_t v)
{
  unsigned d;
  if (opens_string(s, len, v, &d))
    return redact_json_value(b, s, len, v, v, d, 0);
  if (v < len && s[v] == '\'') {
    size_t e = v + 1;
    while (e < len && s[e] != '\'' && s[e] != '\n')
      e++;
    put(b, s + v, 1);
    if (e > v + 1)
      put_redacted(b);
    return e;
  }
  size_t e = form_value_end(s, len, v);
  if (e > v)
    put_redacted(b);
  return e;
}

/* CAS tickets ("TGT-1-abc...", "ST-2-def...", "PT-..."): the ticket-granting
 * ticket travels in a Location header and a request path, the service
 * ticket as a whole response body.  Returns the length of the ticket run
 * starting at s[i] (prefix included), or 0. */
static size_t cas_ticket_span(const unsigned char *s, size_t len, size_t i)
{
  if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '-' || s[i - 1] == '_'))
    return 0;
  size_t p;
  if (len - i >= 4 && memcmp(s + i, "TGT-", 4) == 0)
    p = 4;
  else if (len - i >= 3 && (memcmp(s + i, "ST-", 3) == 0 || memcmp(s + i, "PT-", 3) == 0))
    p = 3;
  else
    return 0;
  size_t e = i + p;
  while (e < len && (is_alnum(s[e]) || s[e] == '-' || s[e] == '_' || s[e] == '.'))
    e++;
  return e - (i + p) >= 8 ? e - i : 0;
}

static void redact_into(buf *b, const unsigned char *s, size_t len)
{
  size_t i = 0, nojwt_until = 0;
  while (i < len && !b->oom) {
    unsigned char c = s[i];
    if (c == 'T' || c == 'S' || c == 'P') {
      size_t n = cas_ticket_span(s, len, i);
      if (n > 0) {
        put(b, s + i, c == 'T' ? 4 : 3);
        put_redacted(b);
        i += n;
        continue;
      }
    }
    if (c == 'e' && i >= nojwt_until && len - i >= 3 && s[i + 1] == 'y' &&
        s[i + 2] == 'J') {
      size_t n = jwt_span((const char *)s + i, len - i);
      if (n > 0) {
        put_redacted(b);
        i += n;
        continue;
      }
      /* Any later "eyJ" in this run would have the same tail and a
       * shorter header, so it cannot match either: skip the run, which
       * keeps a long "eyJeyJeyJ..." linear. */
      size_t e = i;
      while (e < len && is_b64url(s[e]))
        e++;
      nojwt_until = e;
    }
    if (c == '=' && secret_form_name_before(s, i)) {
      put(b, s + i, 1);
      i = redact_form_value(b, s, len, i + 1);
      continue;
    }
    unsigned d;
    if (c == ':' && secret_key_before(s, i, &d)) {
      size_t v = skip_json_ws(s, len, i + 1, d);
      size_t e = redact_json_value(b, s, len, i, v, d, 1);
      if (e != v) {
        i = e;
        continue;
      }
    }
    put(b, s + i, 1);
    i++;
  }
}

char *redact_text(const char *in, size_t len)
{
  buf b = { 0 };
  if (in == NULL)
    len = 0;
  redact_into(&b, (const unsigned char *)in, len);
  return finish(&b);
}

/* ---- header lines ------------------------------------------------------- */

/* Cookie / Set-Cookie pair list: redact the value of each "name=value"
 * segment (only the first one for Set-Cookie, whose later segments are
 * attributes). */
static void redact_cookie_pairs(buf *b, const char *v, size_t n,
                                int first_only)
{
  size_t i = 0;
  int seg = 0;
  while (i <= n) {
    size_t e = i;
    while (e < n && v[e] != ';')
      e++;
    if (first_only && seg > 0) {
      redact_into(b, (const unsigned char *)v + i, n - i);
      return;
    }
    size_t k = i;
    while (k < e && (v[k] == ' ' || v[k] == '\t'))
      k++;
    put(b, v + i, k - i);
    const char *eq = memchr(v + k, '=', e - k);
    if (eq) {
      /* The name goes through the text rules too: on hostile input it is
       * just bytes, and may hold a token. */
      redact_into(b, (const unsigned char *)v + k, (size_t)(eq - (v + k)));
      put(b, "=", 1);
      if ((size_t)(eq + 1 - v) < e)
        put_redacted(b);
    } else if (k < e) {
      put_redacted(b);              /* a bare value, no name */
    }
    if (e < n)
      put(b, ";", 1);
    i = e + 1;
    seg++;
    if (e >= n)
      break;
  }
}

/* What a header name is made of in practice: letters, digits, '-' and
 * '_' (a subset of the RFC 9110 token).  Anything else before the colon
 * (a request line, a URL, a dotted token-like run) makes the line free
 * text, so no part of it escapes the text rules.  Trailing blanks before
 * the colon are tolerated (and kept). */
static int is_header_name(const char *s, size_t n)
{
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!is_alnum(c) && c != '-' && c != '_')
      return 0;
  }
  return 1;
}

char *redact_header_line(const char *line, size_t len)
{
  buf b = { 0 };
  if (line == NULL)
    len = 0;
  size_t eol = len;
  if (eol >= 2 && line[eol - 2] == '\r' && line[eol - 1] == '\n')
    eol -= 2;
  else if (eol >= 1 && (line[eol - 1] == '\n' || line[eol - 1] == '\r'))
    eol -= 1;

  const char *colon = eol ? memchr(line, ':', eol) : NULL;
  if (colon != NULL && !is_header_name(line, (size_t)(colon - line)))
    colon = NULL;                   /* a request or status line, not a header */
  if (colon == NULL) {
    redact_into(&b, (const unsigned char *)line, eol);
  } else {
    size_t nlen = (size_t)(colon - line);
    while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
      nlen--;
    size_t vs = (size_t)(colon - line) + 1;
    while (vs < eol && (line[vs] == ' ' || line[vs] == '\t'))
      vs++;
    put(&b, line, vs);              /* name, colon, spacing as they were */
    const char *v = line + vs;
    size_t vn = eol - vs;

    if (ci_eq(line, nlen, "cookie")) {
      redact_cookie_pairs(&b, v, vn, 0);
    } else if (ci_eq(line, nlen, "set-cookie") ||
               ci_eq(line, nlen, "set-cookie2")) {
      redact_cookie_pairs(&b, v, vn, 1);
    } else if (ci_eq(line, nlen, "authorization") ||
               ci_eq(line, nlen, "proxy-authorization") ||
               ci_eq(line, nlen, "x-xsrf-token") ||
               ci_eq(line, nlen, "x-identity-header") ||
               ci_eq(line, nlen, "secret") ||
               (redact_name_is_secret(line, nlen) &&
                !ci_prefix(line, nlen, "access-control-") &&
                !ci_prefix(line, nlen, "x-azure-ref"))) {
      if (vn > 0)
        put_redacted(&b);
    } else {
      /* Metadata, Location and everything else: the free-text rules catch
       * JWTs and secret query parameters (Location: ...?ticket=...). */
      redact_into(&b, (const unsigned char *)v, vn);
    }
  }
  put(&b, line + eol, len - eol);
  return finish(&b);
}

char *redact_form(const char *in, size_t len)
{
  buf b = { 0 };
  size_t i = 0;
  while (in != NULL && i < len && !b.oom) {
    const char *amp = memchr(in + i, '&', len - i);
    size_t end = amp ? (size_t)(amp - in) : len;
    const char *eq = memchr(in + i, '=', end - i);
    size_t name_end = eq ? (size_t)(eq - in) : end;
    size_t nn = 0, vn = 0;
    char *name = url_decode(in + i, name_end - i, &nn);
    char *value = eq ? url_decode(eq + 1, end - name_end - 1, &vn) : NULL;
    if (i > 0)
      put(&b, "&", 1);
    if (name == NULL || (eq && value == NULL)) {
      /* not decodable: show it through the text rules, as it is */
      redact_into(&b, (const unsigned char *)in + i, end - i);
    } else {
      redact_into(&b, (const unsigned char *)name, nn);
      if (eq) {
        put(&b, "=", 1);
        if (redact_name_is_secret(name, nn)) {
          if (vn > 0)
            put_redacted(&b);
        } else {
          redact_into(&b, (const unsigned char *)value, vn);
        }
      }
    }
    if (value) {
      memset(value, 0, vn);
      free(value);
    }
    free(name);
    i = end + 1;
  }
  return finish(&b);
}
