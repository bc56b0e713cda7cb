/* fuzz_json.c - the strict JSON reader: json_valid, json_get, json_get_str.
 *
 * Input: the first byte k (mod 32) is the length of a lookup key that
 * follows; the rest is the document.  Fixed keys that pamsh looks up in
 * token responses and error bodies are tried too. */
#include "fuzz.h"

#include "json.h"

/* well-formed UTF-8 without NULs (what json_get promises for strings) */
static int utf8_ok(const unsigned char *s, size_t n)
{
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c == 0)
      return 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; }
    else return 0;
    if (n - i < need + 1)
      return 0;
    for (size_t k = 1; k <= need; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return 0;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += need + 1;
  }
  return 1;
}

static int is_object(const char *t, size_t n)
{
  size_t i = 0;
  while (i < n && t[i] && strchr(" \t\r\n", t[i]))
    i++;
  return i < n && t[i] == '{';
}

static void lookup(const char *doc, size_t n, const char *key, int valid)
{
  char *out = (char *)1;
  json_type t = json_get(doc, n, key, &out);
  FUZZ_CHECK(json_get(doc, n, key, NULL) == t);
  if (t != JSON_NONE)
    FUZZ_CHECK(valid && is_object(doc, n));
  switch (t) {
  case JSON_NONE:
  case JSON_TRUE:
  case JSON_FALSE:
  case JSON_NULL:
    FUZZ_CHECK(out == NULL);
    break;
  case JSON_STRING:
    FUZZ_CHECK(out != NULL && out != (char *)1);
    FUZZ_CHECK(utf8_ok((const unsigned char *)out, strlen(out)));
    break;
  case JSON_NUMBER:
  case JSON_OBJECT:
  case JSON_ARRAY: {
    FUZZ_CHECK(out != NULL && out != (char *)1);
    size_t m = strlen(out);
    FUZZ_CHECK(json_valid(out, m));
    char c = out[0];
    if (t == JSON_NUMBER)
      FUZZ_CHECK(c == '-' || (c >= '0' && c <= '9'));
    else
      FUZZ_CHECK(c == (t == JSON_OBJECT ? '{' : '['));
    break;
  }
  default:
    FUZZ_CHECK(0);
  }
  char *str = json_get_str(doc, n, key);
  if (t == JSON_STRING || t == JSON_NUMBER)
    FUZZ_CHECK(str != NULL && strcmp(str, out) == 0);
  else
    FUZZ_CHECK(str == NULL);
  free(str);
  if (out != (char *)1)
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const keys[] = { "access_token", "expires_on",
                                      "expires_in", "message", "error", "" };
  if (size == 0) {
    FUZZ_CHECK(!json_valid("", 0));
    return 0;
  }
  size_t klen = data[0] % 32;
  if (klen > size - 1)
    klen = size - 1;
  char *key = fuzz_dup0(data + 1, klen);
  /* the document in a buffer of its exact size, so overreads show */
  size_t n = size - 1 - klen;
  char *doc = malloc(n ? n : 1);
  if (doc == NULL)
    abort();
  if (n)
    memcpy(doc, data + 1 + klen, n);

  int valid = json_valid(doc, n);
  FUZZ_CHECK(valid == 0 || valid == 1);
  lookup(doc, n, key, valid);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    lookup(doc, n, keys[i], valid);

  free(doc);
  free(key);
  return 0;
}
