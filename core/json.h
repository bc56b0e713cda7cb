/* json.h - a strict, minimal JSON reader (RFC 8259).
 *
 * Just enough to validate a document and pull top-level members out of an
 * object (token responses, JWT payloads, PAM error bodies).  No tree, no
 * allocation except for the values handed back.  Plain C: no Lua. */
#ifndef PAMSH_JSON_H
#define PAMSH_JSON_H

#include <stddef.h>

typedef enum {
  JSON_NONE = 0,
  JSON_STRING,
  JSON_NUMBER,
  JSON_TRUE,
  JSON_FALSE,
  JSON_NULL,
  JSON_OBJECT,
  JSON_ARRAY
} json_type;

/* Deepest nesting of objects/arrays json_valid() accepts. */
#define JSON_MAX_DEPTH 128

/* 1 when text[0..len) is exactly one valid JSON value (surrounding
 * whitespace allowed), nesting depth <= JSON_MAX_DEPTH; else 0.
 * Strings must be valid UTF-8 without raw control characters.  A \u escape
 * of a lone surrogate is grammatical JSON and is accepted here; json_get()
 * refuses to unescape it. */
int json_valid(const char *text, size_t len);

/* Look up the top-level member `key` of a JSON object text.  Returns its
 * type, or JSON_NONE when the text is not a valid JSON object or the key is
 * absent (the whole text is validated).  Keys are compared after
 * unescaping.  When out != NULL:
 *   string        -> *out = malloc'd NUL-terminated unescaped UTF-8
 *                    (a lone surrogate or \u0000 makes the lookup fail
 *                    with JSON_NONE);
 *   number        -> *out = malloc'd copy of the literal;
 *   true/false/null -> *out = NULL;
 *   object/array  -> *out = malloc'd copy of the raw value text.
 * On JSON_NONE *out is NULL.  Duplicate keys: the first wins.  The result
 * is the same whether or not out is NULL.
 * malloc failure yields JSON_NONE. */
json_type json_get(const char *text, size_t len, const char *key, char **out);

/* Convenience: string or number member as a malloc'd string (numbers as
 * their literal), else NULL. */
char *json_get_str(const char *text, size_t len, const char *key);

#endif
