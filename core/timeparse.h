/* timeparse.h - token expiry parsing.  Azure's identity endpoints send
 * expires_on in several shapes depending on the host (IMDS, App Service,
 * Arc, Cloud Shell), so all of them are read here, without ever consulting
 * the local time zone. */
#ifndef PAMSH_TIMEPARSE_H
#define PAMSH_TIMEPARSE_H

/* Strict decimal integer: digits only (a leading '-' or '+', surrounding
 * whitespace and overflow are rejected); a trailing fraction of one or more
 * digits (".0", ".123") is accepted and truncated, for epoch values like
 * "1700000000.0".  Returns 0 on success (*out set), -1 otherwise. */
int parse_epoch(const char *s, long long *out);

/* Parse an expires_on value into epoch seconds (UTC).  Accepts:
 *   epoch seconds            "1700000000", "1700000000.0"
 *   12-hour US date          "11/8/2023 8:12:34 PM +00:00"  (M/d/yyyy h:mm:ss)
 *   24-hour US date          "11/08/2023 20:12:34 +00:00"   (MM/dd/yyyy HH:mm:ss)
 *   ISO 8601 / RFC 3339      "2023-11-08T20:12:34Z", "...T20:12:34.1234567+01:00"
 * Offsets are "Z", "+hh:mm", "-hh:mm", "+hhmm" or "+hh" (the date forms take
 * them after one space); a missing offset means UTC.  AM/PM is
 * case-insensitive and needs hour 1-12 (12 AM is midnight).  Fractions of a
 * second are truncated.  Ranges are checked: month 1-12, day within the
 * month (leap years included), hour 0-23, minute 0-59, second 0-60, offset
 * up to 23:59.  Returns 0 on success (*out set), -1 otherwise. */
int parse_expires_on(const char *s, long long *out);

#endif
