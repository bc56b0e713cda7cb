/* test_json.c - json_valid / json_get / json_get_str. */
#include "json.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

struct valid_case {
  const char *text;
  size_t len;   /* 0: strlen(text) */
  int want;
};

/* Explicit lengths let cases carry NUL bytes. */
#define L(s) s, sizeof(s) - 1

static const struct valid_case valid_cases[] = {
  { "{}", 0, 1 },
  { "[]", 0, 1 },
  { " \t\r\n{ \"a\" : [1, 2.5, -0, 1e3, 1E-2, 0.0e+1] }\n ", 0, 1 },
  { "\"x\"", 0, 1 },
  { "0", 0, 1 },
  { "-12.5e10", 0, 1 },
  { "true", 0, 1 },
  { "false", 0, 1 },
  { "null", 0, 1 },
  { "{\"a\":{\"b\":[{}]}}", 0, 1 },
  { "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"", 0, 1 },
  { "\"\\ud800\"", 0, 1 },               /* grammatical, json_get refuses */
  { "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", 0, 1 },
  { "", 0, 0 },
  { "   ", 0, 0 },
  { "{", 0, 0 },
  { "{\"a\":1,}", 0, 0 },                /* trailing comma */
  { "[1,]", 0, 0 },
  { "[,1]", 0, 0 },
  { "{\"a\" 1}", 0, 0 },
  { "{a:1}", 0, 0 },                     /* unquoted key */
  { "{'a':1}", 0, 0 },
  { "{1:1}", 0, 0 },
  { "01", 0, 0 },                        /* leading zero */
  { "-", 0, 0 },
  { "1.", 0, 0 },
  { ".5", 0, 0 },
  { "1e", 0, 0 },
  { "+1", 0, 0 },
  { "NaN", 0, 0 },
  { "Infinity", 0, 0 },
  { "tru", 0, 0 },
  { "nulll", 0, 0 },
  { "{} {}", 0, 0 },                     /* trailing garbage */
  { "{}x", 0, 0 },
  { "[1] ,", 0, 0 },
  { "\"abc", 0, 0 },                     /* unterminated */
  { "\"a\\x\"", 0, 0 },                  /* bad escape */
  { "\"\\u12G4\"", 0, 0 },
  { "\"\\u12\"", 0, 0 },
  { "\"tab\there\"", 0, 0 },             /* raw control character */
  { "\"\xc3\"", 0, 0 },                  /* truncated UTF-8 */
  { "\"\xc0\xaf\"", 0, 0 },              /* overlong */
  { "\"\xed\xa0\x80\"", 0, 0 },          /* UTF-8 encoded surrogate */
  { "\"\xf4\x90\x80\x80\"", 0, 0 },      /* beyond U+10FFFF */
  { "\"\xff\"", 0, 0 },
  { "\xef\xbb\xbf{}", 0, 0 },            /* BOM */
  { L("{\"a\":1}\0"), 0 },               /* NUL after the value */
  { L("\"a\0b\""), 0 },                  /* NUL inside a string */
  { "{\"a\":1}\f", 0, 0 },               /* form feed is not JSON space */
};

/* Nested arrays n deep, optionally a scalar in the middle. */
static char *nest(int n)
{
  char *s = malloc((size_t)n * 2 + 2);
  if (!s)
    return NULL;
  for (int i = 0; i < n; i++)
    s[i] = '[';
  s[n] = '1';
  for (int i = 0; i < n; i++)
    s[n + 1 + i] = ']';
  s[2 * n + 1] = '\0';
  return s;
}

/* {"a": + n '[' + n ']' + } */
static char *nest_obj(int n)
{
  char *s = malloc((size_t)n * 2 + 8);
  if (!s)
    return NULL;
  size_t k = 0;
  memcpy(s, "{\"a\":", 5);
  k = 5;
  for (int i = 0; i < n; i++)
    s[k++] = '[';
  for (int i = 0; i < n; i++)
    s[k++] = ']';
  s[k++] = '}';
  s[k] = '\0';
  return s;
}

struct get_case {
  const char *text;
  const char *key;
  json_type type;
  const char *out;     /* expected *out (NULL for none) */
};

static const struct get_case get_cases[] = {
  { "{\"access_token\":\"abc\",\"expires_on\":\"1700000000\"}",
    "access_token", JSON_STRING, "abc" },
  { "{\"access_token\":\"abc\",\"expires_on\":\"1700000000\"}",
    "expires_on", JSON_STRING, "1700000000" },
  { "{\"n\": -1.5e3 }", "n", JSON_NUMBER, "-1.5e3" },
  { "{\"t\":true}", "t", JSON_TRUE, NULL },
  { "{\"f\":false}", "f", JSON_FALSE, NULL },
  { "{\"z\":null}", "z", JSON_NULL, NULL },
  { "{\"o\": {\"a\": [1, {\"b\":2}]} , \"x\":1}", "o", JSON_OBJECT,
    "{\"a\": [1, {\"b\":2}]}" },
  { "{\"arr\":[1,\"two\",[]]}", "arr", JSON_ARRAY, "[1,\"two\",[]]" },
  { "{\"a\":1}", "b", JSON_NONE, NULL },
  { "{\"a\":1}", "", JSON_NONE, NULL },
  { "{\"\":7}", "", JSON_NUMBER, "7" },
  { "[\"a\",1]", "a", JSON_NONE, NULL },             /* not an object */
  { "\"a\"", "a", JSON_NONE, NULL },
  { "{\"a\":1} x", "a", JSON_NONE, NULL },           /* trailing garbage */
  { "{\"a\":1,\"b\":}", "a", JSON_NONE, NULL },      /* invalid later */
  { "{\"a\":1,\"a\":2}", "a", JSON_NUMBER, "1" },    /* first wins */
  { "{\"a\":\"x\",\"a\":\"\\ud800\"}", "a", JSON_STRING, "x" },
  { "{\"inner\":{\"k\":1},\"k\":2}", "k", JSON_NUMBER, "2" },  /* top only */
  { "{\"s\":\"q\\\"b\\\\s\\/n\\nr\\rt\\tb\\bf\\f\"}", "s", JSON_STRING,
    "q\"b\\s/n\nr\rt\tb\bf\f" },
  { "{\"s\":\"\\u0041\\u00e9\\u20AC\"}", "s", JSON_STRING,
    "A\xc3\xa9\xe2\x82\xac" },
  { "{\"s\":\"\\uD83D\\uDE00!\"}", "s", JSON_STRING, "\xf0\x9f\x98\x80!" },
  { "{\"s\":\"\\uDBFF\\uDFFF\"}", "s", JSON_STRING, "\xf4\x8f\xbf\xbf" },
  { "{\"s\":\"\\ud800\"}", "s", JSON_NONE, NULL },           /* lone high */
  { "{\"s\":\"\\udc00x\"}", "s", JSON_NONE, NULL },          /* lone low */
  { "{\"s\":\"\\ud800\\u0041\"}", "s", JSON_NONE, NULL },    /* bad pair */
  { "{\"s\":\"\\ud800\\n\"}", "s", JSON_NONE, NULL },
  { "{\"s\":\"a\\u0000b\"}", "s", JSON_NONE, NULL },         /* NUL */
  { "{\"\\u0061\":\"esc key\"}", "a", JSON_STRING, "esc key" },
  { "{\"\\ud800\":1,\"b\":2}", "b", JSON_NUMBER, "2" },     /* odd key ok */
  { "{\"caf\xc3\xa9\":\"u\"}", "caf\xc3\xa9", JSON_STRING, "u" },
  { " {\"s\":\"\"} ", "s", JSON_STRING, "" },
  { "{}", "a", JSON_NONE, NULL },
};

static const char *type_name(json_type t)
{
  static const char *const names[] = { "NONE", "STRING", "NUMBER", "TRUE",
                                       "FALSE", "NULL", "OBJECT", "ARRAY" };
  return (unsigned)t < 8 ? names[t] : "?";
}

void test_json(void)
{
  for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
    const struct valid_case *c = &valid_cases[i];
    size_t len = c->len ? c->len : strlen(c->text);
    is_int(json_valid(c->text, len), c->want, c->text);
  }
  ok(!json_valid(NULL, 0), "json_valid(NULL)");
  /* A length shorter than the string: only the prefix counts. */
  ok(json_valid("[1]]]", 3), "json_valid honours len");

  char *deep = nest(JSON_MAX_DEPTH);
  ok(deep && json_valid(deep, strlen(deep)), "depth %d accepted",
     JSON_MAX_DEPTH);
  free(deep);
  deep = nest(JSON_MAX_DEPTH + 1);
  ok(deep && !json_valid(deep, strlen(deep)), "depth %d rejected",
     JSON_MAX_DEPTH + 1);
  free(deep);
  deep = nest(100000);
  ok(deep && !json_valid(deep, strlen(deep)), "depth 100000 rejected");
  free(deep);
  /* The top-level object is level 1: 127 arrays inside it are fine. */
  char *obj = nest_obj(JSON_MAX_DEPTH - 1);
  is_int(obj ? (int)json_get(obj, strlen(obj), "a", NULL) : -1, JSON_ARRAY,
         "member at max depth");
  free(obj);
  obj = nest_obj(JSON_MAX_DEPTH);
  ok(obj && !json_valid(obj, strlen(obj)), "object one past max depth");
  is_int(obj ? (int)json_get(obj, strlen(obj), "a", NULL) : -1, JSON_NONE,
         "json_get past max depth");
  free(obj);

  for (size_t i = 0; i < sizeof get_cases / sizeof get_cases[0]; i++) {
    const struct get_case *c = &get_cases[i];
    char *out = (char *)"sentinel";
    json_type t = json_get(c->text, strlen(c->text), c->key, &out);
    int good = t == c->type &&
               (c->out == NULL ? out == NULL
                               : out != NULL && strcmp(out, c->out) == 0);
    ok(good, "json_get %s [%s] -> %s", c->text, c->key, type_name(c->type));
    if (!good)
      diag("got %s '%s'", type_name(t), out ? out : "(null)");
    /* Same verdict without out. */
    is_int(json_get(c->text, strlen(c->text), c->key, NULL), c->type,
           "json_get without out agrees");
    free(out);
  }
  is_int(json_get(NULL, 0, "a", NULL), JSON_NONE, "json_get(NULL text)");
  is_int(json_get("{\"a\":1}", 7, NULL, NULL), JSON_NONE,
         "json_get(NULL key)");

  const char *tok = "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
                    "\"ok\":true,\"o\":{}}";
  char *s = json_get_str(tok, strlen(tok), "token_type");
  is_str(s, "Bearer", "json_get_str string");
  free(s);
  s = json_get_str(tok, strlen(tok), "expires_in");
  is_str(s, "3599", "json_get_str number literal");
  free(s);
  s = json_get_str(tok, strlen(tok), "ok");
  is_str(s, NULL, "json_get_str bool is NULL");
  s = json_get_str(tok, strlen(tok), "o");
  is_str(s, NULL, "json_get_str object is NULL");
  s = json_get_str(tok, strlen(tok), "missing");
  is_str(s, NULL, "json_get_str missing is NULL");
}
