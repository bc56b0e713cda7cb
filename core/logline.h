/* logline.h - diagnostics on stderr, as text or JSON lines (--log-format).
 * Text lines carry an ISO-8601 time stamp when stderr is not a terminal
 * (journald and cron mail want one); JSON lines are one object each with
 * ts, level, msg and fields.  Plain C: the runtime, the HTTP trace and the
 * Lua `log` module all write through here. */
#ifndef PAMSH_LOGLINE_H
#define PAMSH_LOGLINE_H

#include <stddef.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* json: 1 for JSON lines; min: the lowest level written */
void log_setup(int json, log_level min);
int log_enabled(log_level level);
int log_is_json(void);

/* A field: key and a value already in JSON form when json_value is set
 * (numbers, true/false, null), else a string to be quoted/escaped. */
typedef struct {
  const char *key;
  const char *value;
  int json_value;
} log_field;

void log_write(log_level level, const char *msg, const log_field *fields, size_t nfields);
/* printf-style message without fields */
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* one line of the -v HTTP trace (already redacted): raw text, or a debug
 * JSON line */
void log_trace(const char *line);

const char *log_level_name(log_level level);

#endif
