/* http.c - the only file that speaks libcurl.  One easy handle per origin
 * is kept for the life of the client so that sequential requests reuse the
 * connection and the TLS session (curl_easy_reset keeps both). */
#include "http.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "curl_load.h"
#include "logline.h"
#include "redact.h"
#include "url.h"

#define MAX_HANDLES 16
#define TRACE_BODY_MAX 2048

typedef struct {
  char key[320];     /* origin key, plus "#id" for identity handles */
  CURL *easy;
} http_handle;

typedef struct {
  char *data;
  size_t len, cap, max;
  int overflow;
} buffer;

struct http_client {
  http_config cfg;
  CURLSH *share;
  CURL *cookie_view;  /* attached to the share only to read cookies */
  http_handle handles[MAX_HANDLES];
  int nhandles;
  CURLM *multi;            /* concurrent transfers (pam.map) */
  CURL *pool[64];          /* idle easy handles for them */
  int npool;
  int in_flight;
  struct http_async *done; /* finished, not yet taken */
};

static int buffer_append(buffer *b, const char *p, size_t n) {
  if (b->max && b->len + n > b->max) {
    b->overflow = 1;
    return -1;
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  buffer *b = ud;
  return buffer_append(b, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  buffer *b = ud;
  size_t len = size * n;
  /* a new status line starts a new header block (1xx, redirects) */
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) b->len = 0;
  return buffer_append(b, p, len) == 0 ? len : 0;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un) {
  (void)dt; (void)dn; (void)ut; (void)un;
  volatile sig_atomic_t *flag = ud;
  return flag && *flag ? 1 : 0;
}

void http_trace(http_client *c, const char *fmt, ...) {
  if (!c || !c->cfg.verbose) return;
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  size_t n = strlen(line);
  while (n && line[n - 1] == '\n') line[--n] = '\0';
  log_trace(line);
}

/* one trace line: prefix + text (already redacted) */
static void trace_line(const char *prefix, const char *text, size_t n) {
  char line[4096];
  snprintf(line, sizeof line, "%s%.*s", prefix, (int)(n > 4000 ? 4000 : n), text);
  log_trace(line);
}

/* libcurl's informational text names cookies with their values
 * ("Added cookie JSESSIONID="abc" for domain ..."): cut the value. */
static void trace_text(const char *p, size_t n) {
  const char *end = p + n;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    const char *ck = NULL;
    for (size_t i = 0; i + 7 <= len; i++)
      if (strncasecmp(p + i, "cookie ", 7) == 0) { ck = p + i; break; }
    if (ck) {
      const char *q = memchr(ck, '"', len - (size_t)(ck - p));
      size_t keep = q ? (size_t)(q - p) : len;
      char buf[1024];
      snprintf(buf, sizeof buf, "%.*s%s", (int)(keep > 900 ? 900 : keep), p, q ? "[REDACTED]" : "");
      trace_line("* ", buf, strlen(buf));
    } else {
      char *r = redact_text(p, len);
      const char *t = r ? r : "[trace line dropped]";
      trace_line("* ", t, strlen(t));
      free(r);
    }
    p += len + 1;
  }
}

static void trace_headers(char dir, const char *p, size_t n) {
  const char *end = p + n;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
    size_t vis = len;
    while (vis && (p[vis - 1] == '\n' || p[vis - 1] == '\r')) vis--;
    if (vis) {
      char *r = redact_header_line(p, vis);
      const char *t = r ? r : "[header dropped]";
      char prefix[3] = {dir, ' ', '\0'};
      trace_line(prefix, t, strlen(t));
      free(r);
    }
    p += len;
  }
}

static int on_debug(CURL *h, curl_infotype type, char *p, size_t n, void *ud) {
  (void)h; (void)ud;
  switch (type) {
  case CURLINFO_TEXT: trace_text(p, n); break;
  case CURLINFO_HEADER_OUT: trace_headers('>', p, n); break;
  case CURLINFO_HEADER_IN: trace_headers('<', p, n); break;
  default: break;  /* bodies are traced whole, after redaction, below */
  }
  return 0;
}

static void trace_body(http_client *c, char dir, const char *body, size_t len, int form) {
  if (!c->cfg.verbose || !body || !len) return;
  size_t show = len > TRACE_BODY_MAX ? TRACE_BODY_MAX : len;
  /* a form is decoded first: percent-encoding would hide a secret inside
   * a field (custom = {"Password": ...}) from the redactor */
  char *r = form ? redact_form(body, show) : redact_text(body, show);
  /* redaction works on whole values; a value cut by the length limit
   * could leak its head, so a truncated body is shown only when the
   * redactor saw it whole */
  char head[64];
  if (show < len) {
    snprintf(head, sizeof head, "%c [body: %zu bytes, not shown whole]", dir, len);
    trace_line(head, "", 0);
  } else {
    snprintf(head, sizeof head, "%c [body: %zu bytes] ", dir, len);
    trace_line(head, r ? r : "", r ? strlen(r) : 0);
  }
  free(r);
}

static char init_error[320];

const char *http_init_error(void) {
  return init_error[0] ? init_error : "cannot initialise libcurl";
}

http_client *http_client_new(const http_config *cfg) {
  static int initialised;
  if (!initialised) {
    /* libcurl is loaded here, at the first client (core/curl_load.c) */
    const char *why = curl_load_error();
    if (why) {
      snprintf(init_error, sizeof init_error, "%s", why);
      return NULL;
    }
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
      snprintf(init_error, sizeof init_error, "cannot initialise libcurl: %s",
               curl_easy_strerror(rc));
      return NULL;
    }
    initialised = 1;
  }
  http_client *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->cfg = *cfg;
  if (!c->cfg.max_body) c->cfg.max_body = HTTP_DEFAULT_MAX_BODY;
  if (!c->cfg.timeout_ms) c->cfg.timeout_ms = 30000;
  c->share = curl_share_init();
  c->cookie_view = curl_easy_init();
  if (!c->share || !c->cookie_view) {
    http_client_free(c);
    return NULL;
  }
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  /* one connection pool for the sequential handle and the concurrent ones */
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  /* the share alone gives this handle the cookie jar; COOKIEFILE on a
   * handle that never performs would leak libcurl's file list */
  curl_easy_setopt(c->cookie_view, CURLOPT_SHARE, c->share);
  return c;
}

void http_client_free(http_client *c) {
  if (!c) return;
  while (c->done) http_async_cancel(c, c->done);
  for (int i = 0; i < c->npool; i++) curl_easy_cleanup(c->pool[i]);
  if (c->multi) curl_multi_cleanup(c->multi);
  for (int i = 0; i < c->nhandles; i++) curl_easy_cleanup(c->handles[i].easy);
  if (c->cookie_view) curl_easy_cleanup(c->cookie_view);
  if (c->share) curl_share_cleanup(c->share);
  free(c);
}

static CURL *handle_for(http_client *c, const char *url, int identity, int *fresh) {
  url_origin_t o;
  char key[320];
  if (url_origin(url, &o) != 0) return NULL;
  url_origin_key(&o, key, sizeof key - 4);
  if (identity) strcat(key, "#id");
  for (int i = 0; i < c->nhandles; i++)
    if (strcmp(c->handles[i].key, key) == 0) return c->handles[i].easy;
  if (c->nhandles == MAX_HANDLES) {
    /* more origins than expected: recycle the oldest slot */
    curl_easy_cleanup(c->handles[0].easy);
    memmove(c->handles, c->handles + 1, sizeof c->handles[0] * (MAX_HANDLES - 1));
    c->nhandles--;
  }
  CURL *e = curl_easy_init();
  if (!e) return NULL;
  *fresh = 1;
  http_handle *h = &c->handles[c->nhandles++];
  snprintf(h->key, sizeof h->key, "%s", key);
  h->easy = e;
  return e;
}

static void handle_setup(http_client *c, CURL *e, int identity) {
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, c->cfg.user_agent);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)c->cfg.abort_flag);
  if (identity) {
    /* IMDS and friends must never go through a proxy ("" would mean the
     * opposite), never carry the PAM session's cookies, and are not
     * relaxed by --insecure */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  } else {
    /* cookies, DNS and TLS sessions shared by every PAM handle */
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
    if (c->cfg.cacert) curl_easy_setopt(e, CURLOPT_CAINFO, c->cfg.cacert);
    if (c->cfg.pin) curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, c->cfg.pin);
    if (c->cfg.insecure) {
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  }
  if (c->cfg.verbose) {
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
  }
}

/* ---- certificate thumbprint pinning ----------------------------------
 * Service Fabric's identity endpoint presents a certificate no CA signed;
 * the platform tells us its SHA-1 thumbprint instead.  Chain verification
 * is replaced by a comparison of the leaf's thumbprint, inside the
 * handshake, so the secret header is never sent to another server. */

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* parse "AB:CD..." or "abcd..." into 20 bytes; 0 or -1 */
static int parse_thumbprint(const char *s, unsigned char out[20]) {
  int n = 0;
  for (const char *p = s; *p; p++) {
    if (*p == ':' || *p == ' ') continue;
    int hi = hexval(*p), lo = p[1] ? hexval(p[1]) : -1;
    if (hi < 0 || lo < 0 || n == 20) return -1;
    out[n++] = (unsigned char)(hi << 4 | lo);
    p++;
  }
  return n == 20 ? 0 : -1;
}

static int verify_pin(X509_STORE_CTX *store, void *arg) {
  const unsigned char *want = arg;
  X509 *leaf = X509_STORE_CTX_get0_cert(store);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (leaf && X509_digest(leaf, EVP_sha1(), md, &n) && n == 20 &&
      CRYPTO_memcmp(md, want, 20) == 0) {
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
  }
  X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
  return 0;
}

static CURLcode on_ssl_ctx(CURL *e, void *ssl_ctx, void *arg) {
  (void)e;
  SSL_CTX_set_cert_verify_callback((SSL_CTX *)ssl_ctx, verify_pin, arg);
  return CURLE_OK;
}

static const char *method_path(const char *url, char *buf, size_t n) {
  /* "scheme://host/path?query" -> "/path" for messages: the query of an
   * identity request is harmless, but a habit of never echoing queries
   * keeps tickets and codes out of errors */
  const char *p = strstr(url, "://");
  p = p ? strchr(p + 3, '/') : NULL;
  snprintf(buf, n, "%s", p ? p : "/");
  char *q = strchr(buf, '?');
  if (q) *q = '\0';
  return buf;
}

#define MAX_STATS 64
static http_stat stats[MAX_STATS];
static int nstats;

int http_stats(const http_stat **out) {
  *out = stats;
  return nstats;
}

static void count_request(const char *method, long status) {
  for (int i = 0; i < nstats; i++)
    if (stats[i].status == status && strcmp(stats[i].method, method) == 0) {
      stats[i].count++;
      return;
    }
  if (nstats == MAX_STATS) return;
  snprintf(stats[nstats].method, sizeof stats[nstats].method, "%s", method);
  stats[nstats].status = status;
  stats[nstats++].count = 1;
}

/* One request's state from set-up to completion: owned by the caller's
 * stack (http_perform) or by an http_async (the multi interface). */
typedef struct {
  CURL *e;
  buffer body, hdrs;
  struct curl_slist *list;
  unsigned char pin[20];
  char errbuf[CURL_ERROR_SIZE];
  url_origin_t o;
  char method[16];
  char where[512];
  int identity;
} transfer;

/* Set every per-request option of t->e for req.  copy_body: libcurl keeps
 * its own copy of the body (asynchronous transfers outlive the caller's
 * buffer).  0, or -1 with err. */
static int transfer_prepare(http_client *c, transfer *t, const http_request *req,
                            int copy_body, px_error *err) {
  CURL *e = t->e;
  t->body.max = c->cfg.max_body;
  t->hdrs.max = 1 << 20;
  t->identity = req->identity;
  url_origin(req->url, &t->o);
  const char *m = req->method ? req->method : "GET";
  snprintf(t->method, sizeof t->method, "%s", m);
  method_path(req->url, t->where, sizeof t->where);
  struct curl_slist *tmp;
  int ok = 1;
  for (const char *const *h = req->headers; h && *h; h++) {
    if (!(tmp = curl_slist_append(t->list, *h))) ok = 0; else t->list = tmp;
  }
  /* no "Expect: 100-continue" round trip for small bodies */
  if ((tmp = curl_slist_append(t->list, "Expect:"))) t->list = tmp; else ok = 0;
  if (!ok) {
    px_set(err, PX_NETWORK, "out of memory");
    return -1;
  }

  long timeout = req->timeout_ms ? req->timeout_ms : c->cfg.timeout_ms;
  long connect = c->cfg.connect_timeout_ms ? c->cfg.connect_timeout_ms : 10000;
  if (connect > timeout) connect = timeout;

  t->errbuf[0] = '\0';
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_URL, req->url);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->list);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t->body);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t->hdrs);

  if (req->pin_sha1) {
    if (parse_thumbprint(req->pin_sha1, t->pin) != 0) {
      px_set(err, PX_USAGE, "not a SHA-1 certificate thumbprint: %s", req->pin_sha1);
      return -1;
    }
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);  /* the pin names the server */
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, t->pin);
    /* a cached TLS session would skip the handshake, and the check */
    curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  } else if (req->identity) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, NULL);
    if (req->cainfo) curl_easy_setopt(e, CURLOPT_CAINFO, req->cainfo);
  }

  /* back to a plain GET first: the handle remembers the last method */
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
  if (strcmp(m, "GET") == 0) {
    /* done */
  } else if (strcmp(m, "HEAD") == 0) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    if (strcmp(m, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    if (req->body || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                       (curl_off_t)(req->body ? req->body_len : 0));
      curl_easy_setopt(e, copy_body ? CURLOPT_COPYPOSTFIELDS : CURLOPT_POSTFIELDS,
                       req->body ? req->body : "");
    }
  }
  int form = 0;
  for (const char *const *h = req->headers; h && *h; h++)
    if (strcasestr(*h, "application/x-www-form-urlencoded")) form = 1;
  trace_body(c, '>', req->body, req->body_len, form);
  return 0;
}

/* Turn a finished transfer into a response or an error; frees what t
 * holds except the handle.  0 or -1 with err. */
static int transfer_complete(http_client *c, transfer *t, CURLcode rc, http_response *res,
                             px_error *err) {
  CURL *e = t->e;
  const char *m = t->method;
  curl_slist_free_all(t->list);
  t->list = NULL;
  if (!t->identity) {
    long st = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st);
    count_request(m, st);
  }
  if (rc != CURLE_OK) {
    char origin[300];
    const char *where = t->where;
    url_origin_key(&t->o, origin, sizeof origin);
    if (t->body.overflow) {
      px_set(err, PX_NETWORK, "%s %s%s: response body exceeds the %zu MiB cap",
             m, origin, where, c->cfg.max_body >> 20);
    } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
      px_set(err, PX_NETWORK, "%s %s%s: interrupted", m, origin, where);
    } else {
      /* worth another try: timeouts and connections cut short; not: TLS
       * verification, names that do not resolve, ports nobody listens on */
      err->transient = rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR ||
                       rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
                       rc == CURLE_PARTIAL_FILE || rc == CURLE_SSL_CONNECT_ERROR;
      err->unreachable = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;
      px_set(err, PX_NETWORK, "%s %s%s: %s%s%s", m, origin, where,
             curl_easy_strerror(rc), t->errbuf[0] ? ": " : "", t->errbuf);
      if (rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
        snprintf(err->message + strlen(err->message),
                 sizeof err->message - strlen(err->message),
                 " (the server's public key does not match --pin)");
      else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
        snprintf(err->message + strlen(err->message),
                 sizeof err->message - strlen(err->message),
                 " (pass the server's CA with --cacert FILE)");
    }
    free(t->body.data);
    free(t->hdrs.data);
    memset(&t->body, 0, sizeof t->body);
    memset(&t->hdrs, 0, sizeof t->hdrs);
    return -1;
  }
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &res->status);
  if (!t->body.data) buffer_append(&t->body, "", 0);
  if (!t->hdrs.data) buffer_append(&t->hdrs, "", 0);
  res->body = t->body.data;
  res->body_len = t->body.len;
  res->headers = t->hdrs.data;
  res->headers_len = t->hdrs.len;
  memset(&t->body, 0, sizeof t->body);
  memset(&t->hdrs, 0, sizeof t->hdrs);
  trace_body(c, '<', res->body, res->body_len, 0);
  return 0;
}

int http_perform(http_client *c, const http_request *req, http_response *res,
                 px_error *err) {
  memset(res, 0, sizeof *res);
  url_origin_t o;
  if (url_origin(req->url, &o) != 0) {
    px_set(err, PX_USAGE, "not an http(s) URL: %s", req->url);
    return -1;
  }
  int fresh = 0;
  CURL *e = handle_for(c, req->url, req->identity, &fresh);
  if (!e) {
    px_set(err, PX_NETWORK, "cannot create an HTTP handle");
    return -1;
  }
  /* Options that never change are set once per handle.  No
   * curl_easy_reset between requests: with a share attached, libcurl 7.88
   * leaks the queued COOKIEFILE list across a reset. */
  if (fresh) handle_setup(c, e, req->identity);
  transfer t;
  memset(&t, 0, sizeof t);
  t.e = e;
  if (transfer_prepare(c, &t, req, 0, err) != 0) {
    curl_slist_free_all(t.list);
    return -1;
  }
  CURLcode rc = curl_easy_perform(e);
  return transfer_complete(c, &t, rc, res, err);
}

/* ---- the multi interface: many transfers in flight -------------------- */

#define POOL_MAX 64

struct http_async {
  transfer t;
  CURLcode rc;
  int done;
  void *user;
  struct http_async *next;  /* the done list */
};

static int multi_ready(http_client *c) {
  if (c->multi) return 0;
  c->multi = curl_multi_init();
  if (!c->multi) return -1;
  /* HTTP/2 multiplexing when the server offers it, else keep-alive
   * connections, a few per host */
  curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  return 0;
}

http_async *http_async_start(http_client *c, const http_request *req, void *user,
                             px_error *err) {
  url_origin_t o;
  if (url_origin(req->url, &o) != 0) {
    px_set(err, PX_USAGE, "not an http(s) URL: %s", req->url);
    return NULL;
  }
  if (req->identity) {
    px_set(err, PX_USAGE, "identity requests are not made asynchronously");
    return NULL;
  }
  http_async *a = calloc(1, sizeof *a);
  if (!a || multi_ready(c) != 0) {
    free(a);
    px_set(err, PX_NETWORK, "out of memory");
    return NULL;
  }
  CURL *e = c->npool ? c->pool[--c->npool] : NULL;
  if (!e) {
    e = curl_easy_init();
    if (!e) {
      free(a);
      px_set(err, PX_NETWORK, "cannot create an HTTP handle");
      return NULL;
    }
    handle_setup(c, e, 0);
  }
  a->t.e = e;
  a->user = user;
  if (transfer_prepare(c, &a->t, req, 1, err) != 0) {
    curl_slist_free_all(a->t.list);
    if (c->npool < POOL_MAX) c->pool[c->npool++] = e; else curl_easy_cleanup(e);
    free(a);
    return NULL;
  }
  curl_easy_setopt(e, CURLOPT_PRIVATE, a);
  if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
    curl_slist_free_all(a->t.list);
    curl_easy_cleanup(e);
    free(a);
    px_set(err, PX_NETWORK, "cannot start a transfer");
    return NULL;
  }
  c->in_flight++;
  return a;
}

int http_async_run(http_client *c, int timeout_ms) {
  if (!c->multi) return 0;
  int running = 0;
  curl_multi_perform(c->multi, &running);
  if (running && !c->done) {
    curl_multi_poll(c->multi, NULL, 0, timeout_ms, NULL);
    curl_multi_perform(c->multi, &running);
  }
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(c->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    http_async *a = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&a);
    curl_multi_remove_handle(c->multi, msg->easy_handle);
    if (!a) continue;
    a->rc = msg->data.result;
    a->done = 1;
    a->next = c->done;
    c->done = a;
  }
  return c->in_flight;
}

http_async *http_async_take(http_client *c) {
  http_async *a = c->done;
  if (a) {
    c->done = a->next;
    a->next = NULL;
  }
  return a;
}

void *http_async_user(const http_async *a) { return a->user; }

int http_async_finish(http_client *c, http_async *a, http_response *res, px_error *err) {
  memset(res, 0, sizeof *res);
  int rc = transfer_complete(c, &a->t, a->rc, res, err);
  CURL *e = a->t.e;
  if (c->npool < POOL_MAX) c->pool[c->npool++] = e; else curl_easy_cleanup(e);
  c->in_flight--;
  free(a);
  return rc;
}

void http_async_cancel(http_client *c, http_async *a) {
  if (!a->done) curl_multi_remove_handle(c->multi, a->t.e);
  else {
    /* unlink from the done list */
    for (http_async **p = &c->done; *p; p = &(*p)->next)
      if (*p == a) { *p = a->next; break; }
  }
  curl_slist_free_all(a->t.list);
  free(a->t.body.data);
  free(a->t.hdrs.data);
  curl_easy_cleanup(a->t.e);
  c->in_flight--;
  free(a);
}

void http_response_free(http_response *res) {
  if (!res) return;
  free(res->body);
  free(res->headers);
  memset(res, 0, sizeof *res);
}

char *http_header(const http_response *res, const char *name) {
  if (!res->headers) return NULL;
  size_t nl = strlen(name);
  const char *p = res->headers, *end = p + res->headers_len;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
    if (len > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
      const char *v = p + nl + 1, *ve = p + len;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
      char *out = malloc((size_t)(ve - v) + 1);
      if (!out) return NULL;
      memcpy(out, v, (size_t)(ve - v));
      out[ve - v] = '\0';
      return out;
    }
    p += len + 1;
  }
  return NULL;
}

int http_sets_cookie(const http_response *res) {
  char *v = http_header(res, "Set-Cookie");
  int yes = v && strchr(v, '=') != NULL;
  free(v);
  return yes;
}

char *http_cookie(http_client *c, const char *url, const char *name) {
  url_origin_t o;
  if (url_origin(url, &o) != 0) return NULL;
  struct curl_slist *cookies = NULL;
  if (curl_easy_getinfo(c->cookie_view, CURLINFO_COOKIELIST, &cookies) != CURLE_OK)
    return NULL;
  char *found = NULL;
  for (struct curl_slist *l = cookies; l && !found; l = l->next) {
    /* Netscape format: domain, tailmatch, path, secure, expires, name, value */
    char *f[7] = {0};
    char *line = strdup(l->data), *save = NULL, *p = line;
    int n = 0;
    if (!line) break;
    while (n < 7 && (f[n] = strtok_r(p, "\t", &save))) { p = NULL; n++; }
    if (n >= 6) {  /* an empty value leaves six fields */
      const char *dom = f[0];
      if (strncmp(dom, "#HttpOnly_", 10) == 0) dom += 10;
      if (*dom == '.') dom++;
      if (strcasecmp(dom, o.host) == 0 && strcmp(f[5], name) == 0)
        found = strdup(n == 7 ? f[6] : "");
    }
    free(line);
  }
  curl_slist_free_all(cookies);
  return found;
}

void http_cookies_clear(http_client *c) {
  curl_easy_setopt(c->cookie_view, CURLOPT_COOKIELIST, "ALL");
}

const char *http_version_string(void) {
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  return v ? v->version : "unavailable";
}

const char *http_tls_backend(void) {
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  return v && v->ssl_version ? v->ssl_version : "none";
}

/* ---- TLS probe (doctor) ---------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *ud) {
  (void)p; (void)ud;
  return size * n;
}

static void copy_certinfo(CURL *e, http_tls_info *out) {
  struct curl_certinfo *ci = NULL;
  if (curl_easy_getinfo(e, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
    return;
  /* the first certificate of the chain is the server's own */
  for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next) {
    const char *d = l->data;
    if (strncmp(d, "Subject:", 8) == 0) snprintf(out->subject, sizeof out->subject, "%s", d + 8);
    else if (strncmp(d, "Issuer:", 7) == 0) snprintf(out->issuer, sizeof out->issuer, "%s", d + 7);
    else if (strncmp(d, "Start date:", 11) == 0)
      snprintf(out->not_before, sizeof out->not_before, "%s", d + 11);
    else if (strncmp(d, "Expire date:", 12) == 0)
      snprintf(out->not_after, sizeof out->not_after, "%s", d + 12);
  }
  out->have_cert = out->subject[0] != '\0';
}

static CURLcode probe_once(http_client *c, const char *url, int verify, http_tls_info *out,
                           char *errbuf) {
  CURL *e = curl_easy_init();
  if (!e) return CURLE_OUT_OF_MEMORY;
  long timeout = c->cfg.timeout_ms;
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout < 10000 ? timeout : 10000L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, c->cfg.user_agent);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)c->cfg.abort_flag);
  if (c->cfg.cacert) curl_easy_setopt(e, CURLOPT_CAINFO, c->cfg.cacert);
  if (!verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  CURLcode rc = curl_easy_perform(e);
  copy_certinfo(e, out);
  curl_easy_cleanup(e);
  return rc;
}

int http_tls_probe(http_client *c, const char *url, http_tls_info *out, px_error *err) {
  memset(out, 0, sizeof *out);
  url_origin_t o;
  if (url_origin(url, &o) != 0) {
    px_set(err, PX_USAGE, "not an http(s) URL: %s", url);
    return -1;
  }
  if (strcmp(o.scheme, "https") != 0) {
    px_set(err, PX_USAGE, "%s is not an https URL: nothing to verify", url);
    return -1;
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  CURLcode rc = probe_once(c, url, !c->cfg.insecure, out, errbuf);
  if (rc == CURLE_OK) {
    out->verified = !c->cfg.insecure;
    if (c->cfg.insecure)
      snprintf(out->verify_error, sizeof out->verify_error, "not verified (--insecure)");
    return 0;
  }
  if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
      rc == CURLE_SSL_CERTPROBLEM) {
    snprintf(out->verify_error, sizeof out->verify_error, "%s%s%s",
             curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
    char errbuf2[CURL_ERROR_SIZE] = "";
    probe_once(c, url, 0, out, errbuf2);  /* only to show the certificate */
    return 0;
  }
  px_set(err, PX_NETWORK, "%s: %s%s%s", url, curl_easy_strerror(rc),
         errbuf[0] ? ": " : "", errbuf);
  return -1;
}
