/* http.h - everything libcurl: reused easy handles (one per origin, so
 * keep-alive and TLS sessions are reused), a shared cookie/DNS/TLS-session
 * cache, body buffers with a cap, timeouts, and a redacted -v trace.
 * Knows nothing of Lua, identity or PAM. */
#ifndef PAMSH_HTTP_H
#define PAMSH_HTTP_H

#include <signal.h>
#include <stddef.h>
#include "err.h"

#define HTTP_DEFAULT_MAX_BODY ((size_t)64 << 20)

typedef struct http_client http_client;

typedef struct {
  int verbose;             /* redacted trace on stderr */
  int insecure;            /* skip TLS verification (caller warns) */
  const char *cacert;      /* CA bundle for TLS, or NULL for the system's */
  const char *pin;         /* CURLOPT_PINNEDPUBLICKEY for PAM handles */
  long timeout_ms;         /* whole transfer */
  long connect_timeout_ms; /* connection set-up */
  size_t max_body;         /* response body cap; 0 = default */
  const char *user_agent;
  /* set asynchronously (signal handler, deadline); a transfer in flight
   * is aborted at the next progress callback */
  volatile sig_atomic_t *abort_flag;
} http_config;

typedef struct {
  const char *method;          /* "GET", "POST", ... */
  const char *url;
  const char *const *headers;  /* NULL-terminated "Name: value" lines */
  const char *body;            /* may be NULL */
  size_t body_len;
  int identity;  /* identity endpoint: bypass proxies, no cookies, no TLS
                    relaxation from --insecure */
  long timeout_ms; /* 0 = the client's */
  /* identity endpoints over TLS: a CA bundle (NULL = the system's), or a
   * SHA-1 thumbprint of the server certificate (hex, any case, ':' allowed)
   * that replaces chain verification (Service Fabric) */
  const char *cainfo;
  const char *pin_sha1;
} http_request;

typedef struct {
  long status;
  char *body;          /* malloc'd, NUL-terminated (may hold NULs) */
  size_t body_len;
  char *headers;       /* raw header block of the last response */
  size_t headers_len;
} http_response;

/* NULL when libcurl cannot be loaded or initialised: http_init_error()
 * says why */
http_client *http_client_new(const http_config *cfg);
void http_client_free(http_client *c);
const char *http_init_error(void);

/* Perform one request.  Returns 0 when an HTTP response was received (any
 * status), -1 with err filled (PX_NETWORK) on transport failure. */
int http_perform(http_client *c, const http_request *req, http_response *res,
                 px_error *err);
void http_response_free(http_response *res);

/* Concurrent transfers (the multi interface), for pam.map.  Start any
 * number, drive them with http_async_run (waits up to timeout_ms for
 * activity; returns how many are still unfinished), take finished ones
 * one at a time and turn each into a response with http_async_finish
 * (which frees it).  Cookies, TLS sessions, DNS and connections are shared
 * with the sequential requests. */
typedef struct http_async http_async;
http_async *http_async_start(http_client *c, const http_request *req, void *user,
                             px_error *err);
int http_async_run(http_client *c, int timeout_ms);
http_async *http_async_take(http_client *c);
void *http_async_user(const http_async *a);
int http_async_finish(http_client *c, http_async *a, http_response *res, px_error *err);
void http_async_cancel(http_client *c, http_async *a);

/* The value of response header `name` (case-insensitive), malloc'd, or
 * NULL.  The first occurrence wins. */
char *http_header(const http_response *res, const char *name);
/* 1 when the response set at least one cookie */
int http_sets_cookie(const http_response *res);

/* Cookie engine (shared by every non-identity handle): value of cookie
 * `name` valid for url, malloc'd or NULL; forget all cookies. */
char *http_cookie(http_client *c, const char *url, const char *name);
void http_cookies_clear(http_client *c);

/* What a TLS handshake with url shows: the server certificate's subject,
 * issuer and validity, and whether it verified with the client's settings
 * (CA bundle, --insecure).  Sends one GET without cookies on a throw-away
 * handle; when verification fails, a second, unverified handshake fetches
 * the certificate so the user can see what the server presents. */
typedef struct {
  int verified;            /* 1 when the chain and host name verified */
  char verify_error[512];  /* libcurl's words when not */
  char subject[512], issuer[512], not_before[64], not_after[64];
  int have_cert;
} http_tls_info;
int http_tls_probe(http_client *c, const char *url, http_tls_info *out, px_error *err);

/* Requests sent to PAM (not identity endpoints) this process, by method
 * and status (0 = transport failure), for --metrics. */
typedef struct {
  char method[16];
  long status;
  unsigned long count;
} http_stat;
int http_stats(const http_stat **out);

/* libcurl + TLS backend version line for `pamsh version` ("unavailable"
 * when libcurl cannot be loaded) */
const char *http_version_string(void);
const char *http_tls_backend(void);

/* trace a line on stderr when verbose (already-redacted text) */
void http_trace(http_client *c, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

#endif
