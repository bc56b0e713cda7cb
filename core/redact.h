/* redact.h - secret redaction for traces and messages.
 *
 * Everything pamsh prints about a request (trace lines, error bodies,
 * messages) goes through here first.  The rules err on the side of hiding
 * too much: a redacted harmless value costs a little debugging, a leaked
 * token costs a credential. */
#ifndef PAMSH_REDACT_H
#define PAMSH_REDACT_H

#include <stddef.h>

#define REDACTED "[REDACTED]"

/* 1 when a field name looks secret: case-insensitive substring match of any
 * of: password, passwd, secret, key, token, passphrase, pin, credential,
 * cookie, authorization, azure, assertion, ticket. */
int redact_name_is_secret(const char *name, size_t len);

/* Redact one HTTP header line (may end in "\r\n" or "\n"; the line ending
 * is kept).  Header names are matched case-insensitively.
 *   Cookie: names kept, values redacted:
 *     "Cookie: JSESSIONID=[REDACTED]; XSRF-TOKEN=[REDACTED]"
 *   Set-Cookie: name and attributes kept, value redacted:
 *     "Set-Cookie: JSESSIONID=[REDACTED]; Path=/xtam; HttpOnly"
 *   Authorization, Proxy-Authorization, X-XSRF-TOKEN, X-IDENTITY-HEADER,
 *   Secret, and any other header whose name looks secret
 *   (redact_name_is_secret) except Access-Control-* (their values are
 *   header names and flags): the whole value becomes [REDACTED].
 *   Metadata is not secret.
 *   Location / Content-Location: values of query (and fragment) parameters
 *   whose names look secret are redacted ("ticket=[REDACTED]").
 *   Every other header: unchanged, except JWT-looking substrings.
 * A line that is not "Name: value" (no colon, or anything but letters,
 * digits, '-' and '_' before it: a request or status line) is redacted as
 * free text (redact_text).
 * Returns a malloc'd string, NULL on malloc failure. */
char *redact_header_line(const char *line, size_t len);

/* Redact secrets in free text (a request or response body, an error
 * message); bytes, not characters: NULs and invalid UTF-8 are copied.
 *   - every JWT-looking run (jwt_span) -> [REDACTED];
 *   - form encoding "a=1&password=x&azure=eyJ...": non-empty values of
 *     secret-looking names -> [REDACTED] (a value ends at '&', '#',
 *     whitespace, a control byte, '"', '\'', '<', '>' or '\\'; a value
 *     that starts with a quote runs to the matching quote);
 *   - JSON "name": "value" where the name looks secret: a non-empty string
 *     value becomes "[REDACTED]"; a number becomes the string
 *     "[REDACTED]"; a flat array has each string/number element redacted.
 *     This works at any level of JSON embedded as a string inside JSON
 *     (\"Password\":\"S3cr3t\" -> \"Password\":\"[REDACTED]\"), and
 *     escaped quotes inside the value (\\\" at that level) do not end it;
 *   - everything else, including "custom" values, is left alone.
 * Returns a malloc'd NUL-terminated string (NULL input gives ""), NULL on
 * malloc failure. */
char *redact_text(const char *in, size_t len);

/* Redact an application/x-www-form-urlencoded body for display: each
 * field is decoded, a secret-looking name gets [REDACTED], any other value
 * goes through redact_text (a JSON string of record fields, say), and the
 * result reads "name=value&name=value" with the values decoded.  malloc'd. */
char *redact_form(const char *in, size_t len);

#endif
