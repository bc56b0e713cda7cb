/* json.c - strict RFC 8259 validator and top-level member lookup.
 *
 * The parser walks the text once and never builds a tree: callers only
 * need a handful of top-level members, and a tree would be one more thing
 * hostile input could make large.  Recursion is bounded by JSON_MAX_DEPTH,
 * so the C stack use is bounded too. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  const unsigned char *s;
  size_t len;
  size_t pos;
} parser;

static int at_end(const parser *p) { return p->pos >= p->len; }

static int peek(const parser *p) { return at_end(p) ? -1 : p->s[p->pos]; }

static void skip_ws(parser *p)
{
  /* Only the four characters RFC 8259 calls whitespace. */
  while (!at_end(p)) {
    unsigned char c = p->s[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
      break;
    p->pos++;
  }
}

static int hexval(int c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 when it is
 * malformed (overlong, surrogate, beyond U+10FFFF, truncated).  Only called
 * for bytes >= 0x80. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
  unsigned char c = s[0];
  unsigned char lo = 0x80, hi = 0xBF;
  size_t need;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;       /* no overlongs */
    if (c == 0xED) hi = 0x9F;       /* no UTF-16 surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;       /* no overlongs */
    if (c == 0xF4) hi = 0x8F;       /* nothing past U+10FFFF */
  } else {
    return 0;
  }
  if (n < need + 1)
    return 0;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i <= need; i++)
    if (s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return need + 1;
}

/* Parse a string starting at the opening quote.  On success the content
 * (between the quotes, still escaped) is [*b, *e) and pos is past the
 * closing quote. */
static int parse_string(parser *p, size_t *b, size_t *e)
{
  if (peek(p) != '"')
    return 0;
  p->pos++;
  if (b) *b = p->pos;
  while (!at_end(p)) {
    unsigned char c = p->s[p->pos];
    if (c == '"') {
      if (e) *e = p->pos;
      p->pos++;
      return 1;
    }
    if (c < 0x20) {
      return 0;                     /* raw control characters are invalid */
    } else if (c == '\\') {
      p->pos++;
      if (at_end(p))
        return 0;
      c = p->s[p->pos];
      switch (c) {
      case '"': case '\\': case '/': case 'b':
      case 'f': case 'n': case 'r': case 't':
        p->pos++;
        break;
      case 'u':
        if (p->len - p->pos < 5)
          return 0;
        for (size_t i = 1; i <= 4; i++)
          if (hexval(p->s[p->pos + i]) < 0)
            return 0;
        p->pos += 5;
        break;
      default:
        return 0;
      }
    } else if (c < 0x80) {
      p->pos++;
    } else {
      size_t n = utf8_seq(p->s + p->pos, p->len - p->pos);
      if (n == 0)
        return 0;
      p->pos += n;
    }
  }
  return 0;                         /* unterminated */
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *p)
{
  /* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  if (peek(p) == '-')
    p->pos++;
  if (peek(p) == '0') {
    p->pos++;
  } else if (is_digit(peek(p))) {
    while (is_digit(peek(p)))
      p->pos++;
  } else {
    return 0;
  }
  if (peek(p) == '.') {
    p->pos++;
    if (!is_digit(peek(p)))
      return 0;
    while (is_digit(peek(p)))
      p->pos++;
  }
  if (peek(p) == 'e' || peek(p) == 'E') {
    p->pos++;
    if (peek(p) == '+' || peek(p) == '-')
      p->pos++;
    if (!is_digit(peek(p)))
      return 0;
    while (is_digit(peek(p)))
      p->pos++;
  }
  return 1;
}

static int parse_literal(parser *p, const char *lit)
{
  size_t n = strlen(lit);
  if (p->len - p->pos < n || memcmp(p->s + p->pos, lit, n) != 0)
    return 0;
  p->pos += n;
  return 1;
}

static json_type parse_value(parser *p, int depth);

/* Called with pos on '{' or '['; depth is the nesting level this container
 * would have. */
static int parse_container(parser *p, int depth, int is_obj)
{
  if (depth > JSON_MAX_DEPTH)
    return 0;
  unsigned char close = is_obj ? '}' : ']';
  p->pos++;
  skip_ws(p);
  if (peek(p) == close) {
    p->pos++;
    return 1;
  }
  for (;;) {
    if (is_obj) {
      if (!parse_string(p, NULL, NULL))
        return 0;
      skip_ws(p);
      if (peek(p) != ':')
        return 0;
      p->pos++;
      skip_ws(p);
    }
    if (parse_value(p, depth) == JSON_NONE)
      return 0;
    skip_ws(p);
    int c = peek(p);
    if (c == ',') {
      p->pos++;
      skip_ws(p);
      continue;
    }
    if (c == close) {
      p->pos++;
      return 1;
    }
    return 0;
  }
}

/* Parse one value at pos (no leading whitespace); depth is the nesting of
 * the enclosing container (0 at top level). */
static json_type parse_value(parser *p, int depth)
{
  switch (peek(p)) {
  case '"':
    return parse_string(p, NULL, NULL) ? JSON_STRING : JSON_NONE;
  case '{':
    return parse_container(p, depth + 1, 1) ? JSON_OBJECT : JSON_NONE;
  case '[':
    return parse_container(p, depth + 1, 0) ? JSON_ARRAY : JSON_NONE;
  case 't':
    return parse_literal(p, "true") ? JSON_TRUE : JSON_NONE;
  case 'f':
    return parse_literal(p, "false") ? JSON_FALSE : JSON_NONE;
  case 'n':
    return parse_literal(p, "null") ? JSON_NULL : JSON_NONE;
  default:
    return parse_number(p) ? JSON_NUMBER : JSON_NONE;
  }
}

int json_valid(const char *text, size_t len)
{
  if (text == NULL)
    return 0;
  parser p = { (const unsigned char *)text, len, 0 };
  skip_ws(&p);
  if (parse_value(&p, 0) == JSON_NONE)
    return 0;
  skip_ws(&p);
  return at_end(&p);
}

static unsigned read_hex4(const unsigned char *s)
{
  unsigned v = 0;
  for (int i = 0; i < 4; i++)
    v = (v << 4) | (unsigned)hexval(s[i]);
  return v;
}

/* Unescape already-validated string content s[0..n) into out (room for
 * n + 1 bytes: every escape is at least as long as the UTF-8 it stands
 * for).  0 on a lone surrogate or \u0000 (it could not survive as a C
 * string); 1 otherwise, with out NUL-terminated and *outlen its length. */
static int unescape_into(const unsigned char *s, size_t n, char *out,
                         size_t *outlen)
{
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    if (s[i] != '\\') {
      out[o++] = (char)s[i++];
      continue;
    }
    unsigned char c = s[i + 1];     /* validated: an escape is complete */
    i += 2;
    switch (c) {
    case 'b': out[o++] = '\b'; continue;
    case 'f': out[o++] = '\f'; continue;
    case 'n': out[o++] = '\n'; continue;
    case 'r': out[o++] = '\r'; continue;
    case 't': out[o++] = '\t'; continue;
    case 'u': break;
    default: out[o++] = (char)c; continue;   /* " \ / */
    }
    unsigned long cp = read_hex4(s + i);
    i += 4;
    if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
      return 0;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (n - i < 6 || s[i] != '\\' || s[i + 1] != 'u')
        return 0;
      for (size_t k = 2; k < 6; k++)
        if (hexval(s[i + k]) < 0)
          return 0;
      unsigned long lo = read_hex4(s + i + 2);
      if (lo < 0xDC00 || lo > 0xDFFF)
        return 0;
      i += 6;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp < 0x80) {
      out[o++] = (char)cp;
    } else if (cp < 0x800) {
      out[o++] = (char)(0xC0 | (cp >> 6));
      out[o++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out[o++] = (char)(0xE0 | (cp >> 12));
      out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
      out[o++] = (char)(0x80 | (cp & 0x3F));
    } else {
      out[o++] = (char)(0xF0 | (cp >> 18));
      out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
      out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
      out[o++] = (char)(0x80 | (cp & 0x3F));
    }
  }
  out[o] = '\0';
  *outlen = o;
  return 1;
}

/* malloc'd unescaped copy, NULL on a bad escape or malloc failure. */
static char *unescape(const unsigned char *s, size_t n)
{
  char *out = malloc(n + 1);
  size_t olen;
  if (out != NULL && !unescape_into(s, n, out, &olen)) {
    free(out);
    out = NULL;
  }
  return out;
}

/* 1 when the escaped key content s[0..n) unescapes to exactly key[0..klen).
 * The fast path avoids an allocation for the common escape-free key.  A key
 * that cannot be unescaped (lone surrogate, \u0000) simply does not match;
 * only malloc failure sets *oom. */
static int key_equals(const unsigned char *s, size_t n, const char *key,
                      size_t klen, int *oom)
{
  if (memchr(s, '\\', n) == NULL)
    return n == klen && memcmp(s, key, n) == 0;
  char *u = malloc(n + 1);
  if (u == NULL) {
    *oom = 1;
    return 0;
  }
  size_t ulen = 0;
  int eq = unescape_into(s, n, u, &ulen) && ulen == klen &&
           memcmp(u, key, klen) == 0;
  free(u);
  return eq;
}

static char *copy_span(const unsigned char *s, size_t n)
{
  char *out = malloc(n + 1);
  if (out == NULL)
    return NULL;
  memcpy(out, s, n);
  out[n] = '\0';
  return out;
}

json_type json_get(const char *text, size_t len, const char *key, char **out)
{
  if (out)
    *out = NULL;
  if (text == NULL || key == NULL)
    return JSON_NONE;

  parser p = { (const unsigned char *)text, len, 0 };
  size_t klen = strlen(key);
  int found = 0, oom = 0;
  json_type ftype = JSON_NONE;
  size_t vb = 0, ve = 0;            /* raw span of the found value */

  skip_ws(&p);
  if (peek(&p) != '{')
    return JSON_NONE;
  p.pos++;
  skip_ws(&p);
  if (peek(&p) == '}') {
    p.pos++;
  } else {
    for (;;) {
      size_t kb, ke;
      if (!parse_string(&p, &kb, &ke))
        return JSON_NONE;
      skip_ws(&p);
      if (peek(&p) != ':')
        return JSON_NONE;
      p.pos++;
      skip_ws(&p);
      size_t b = p.pos;
      json_type t = parse_value(&p, 1);
      if (t == JSON_NONE)
        return JSON_NONE;
      /* First wins: later duplicates are validated but not compared. */
      if (!found && key_equals(p.s + kb, ke - kb, key, klen, &oom)) {
        found = 1;
        ftype = t;
        vb = b;
        ve = p.pos;
      }
      if (oom)
        return JSON_NONE;
      skip_ws(&p);
      int c = peek(&p);
      if (c == ',') {
        p.pos++;
        skip_ws(&p);
        continue;
      }
      if (c == '}') {
        p.pos++;
        break;
      }
      return JSON_NONE;
    }
  }
  skip_ws(&p);
  if (!at_end(&p) || !found)
    return JSON_NONE;
  if (out == NULL) {
    /* Same answer with or without out: a string that cannot be unescaped
     * fails either way. */
    if (ftype == JSON_STRING) {
      char *tmp = unescape(p.s + vb + 1, ve - vb - 2);
      if (tmp == NULL)
        return JSON_NONE;
      free(tmp);
    }
    return ftype;
  }

  switch (ftype) {
  case JSON_STRING:
    *out = unescape(p.s + vb + 1, ve - vb - 2);
    break;
  case JSON_NUMBER:
  case JSON_OBJECT:
  case JSON_ARRAY:
    *out = copy_span(p.s + vb, ve - vb);
    break;
  default:
    return ftype;                   /* true/false/null: *out stays NULL */
  }
  return *out ? ftype : JSON_NONE;
}

char *json_get_str(const char *text, size_t len, const char *key)
{
  char *v = NULL;
  json_type t = json_get(text, len, key, &v);
  if (t == JSON_STRING || t == JSON_NUMBER)
    return v;
  free(v);
  return NULL;
}
