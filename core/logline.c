/* logline.c - text or JSON diagnostic lines on stderr */
#include "logline.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int use_json;
static log_level min_level = LOG_INFO;
static int stamp_text = -1;  /* decided on first use: stderr not a tty */

void log_setup(int json, log_level min) {
  use_json = json;
  min_level = min;
}

int log_enabled(log_level level) { return level >= min_level; }
int log_is_json(void) { return use_json; }

const char *log_level_name(log_level level) {
  switch (level) {
  case LOG_DEBUG: return "debug";
  case LOG_INFO: return "info";
  case LOG_WARN: return "warn";
  default: return "error";
  }
}

static void timestamp(char *buf, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void put_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    default:
      if (*p < 0x20) fprintf(f, "\\u%04x", *p);
      else fputc(*p, f);
    }
  }
  fputc('"', f);
}

void log_write(log_level level, const char *msg, const log_field *fields, size_t nfields) {
  if (!log_enabled(level)) return;
  FILE *f = stderr;
  char ts[40];
  timestamp(ts, sizeof ts);
  flockfile(f);
  if (use_json) {
    fputs("{\"ts\":", f);
    put_json_string(f, ts);
    fprintf(f, ",\"level\":\"%s\",\"msg\":", log_level_name(level));
    put_json_string(f, msg);
    for (size_t i = 0; i < nfields; i++) {
      if (!fields[i].key || strcmp(fields[i].key, "ts") == 0 ||
          strcmp(fields[i].key, "level") == 0 || strcmp(fields[i].key, "msg") == 0)
        continue;  /* the three names belong to the line itself */
      fputc(',', f);
      put_json_string(f, fields[i].key);
      fputc(':', f);
      if (fields[i].json_value) fputs(fields[i].value, f);
      else put_json_string(f, fields[i].value ? fields[i].value : "");
    }
    fputs("}\n", f);
  } else {
    if (stamp_text < 0) stamp_text = !isatty(STDERR_FILENO);
    if (stamp_text) fprintf(f, "%s ", ts);
    fprintf(f, "pamsh: %s%s%s", level >= LOG_WARN && level != LOG_ERROR ? "warning: " : "",
            level == LOG_DEBUG ? "debug: " : "", msg);
    for (size_t i = 0; i < nfields; i++) {
      const char *v = fields[i].value ? fields[i].value : "";
      /* key=value, quoted when the value has blanks or is empty */
      if (!fields[i].json_value && (!*v || strpbrk(v, " \t\"=")))
        fprintf(f, " %s=\"%s\"", fields[i].key, v);
      else
        fprintf(f, " %s=%s", fields[i].key, v);
    }
    fputc('\n', f);
  }
  funlockfile(f);
  fflush(f);
}

void log_msg(log_level level, const char *fmt, ...) {
  if (!log_enabled(level)) return;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  log_write(level, buf, NULL, 0);
}

void log_trace(const char *line) {
  if (use_json) {
    log_write(LOG_DEBUG, line, NULL, 0);
  } else {
    fputs(line, stderr);
    fputc('\n', stderr);
  }
}
