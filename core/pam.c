/* pam.c - the XTAM / Imprivata PAM session */
#include "pam.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backoff.h"
#include "json.h"
#include "redact.h"
#include "url.h"

struct pam_session {
  http_client *http;
  identity *id;
  char *base_url;        /* configured */
  char *resource;
  char *sel_client_id, *sel_object_id, *sel_msi_res_id;
  char *login_url;       /* base URL of the live session */
  pam_credentials cred;  /* how the session logged in, for re-login */
  pam_credentials defaults; /* the configured way (--login) */
  unsigned generation;   /* counts logins: one re-login serves every request
                            that started before it */
  int allow_http;
  int logged_in;
};

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void free_secret(char *s) {
  if (!s) return;
  memset(s, 0, strlen(s));
  free(s);
}

static int same_origin(const char *a, const char *b);

/* ---- credentials kept for re-login ---------------------------------- */

static void cred_free(pam_credentials *c) {
  free_secret((char *)c->token);
  free_secret((char *)c->username);
  free_secret((char *)c->password);
  free_secret((char *)c->api_token);
  memset(c, 0, sizeof *c);
}

static int cred_copy(pam_credentials *dst, const pam_credentials *src) {
  pam_credentials c = {.method = src->method};
  c.token = dup_or_null(src->token);
  c.username = dup_or_null(src->username);
  c.password = dup_or_null(src->password);
  c.api_token = dup_or_null(src->api_token);
  if ((src->token && !c.token) || (src->username && !c.username) ||
      (src->password && !c.password) || (src->api_token && !c.api_token)) {
    cred_free(&c);
    return -1;
  }
  *dst = c;
  return 0;
}

pam_session *pam_session_new(http_client *http, identity *id, const pam_config *cfg) {
  pam_session *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->http = http;
  s->id = id;
  s->base_url = dup_or_null(cfg->base_url);
  s->resource = dup_or_null(cfg->resource);
  s->sel_client_id = dup_or_null(cfg->selector.client_id);
  s->sel_object_id = dup_or_null(cfg->selector.object_id);
  s->sel_msi_res_id = dup_or_null(cfg->selector.msi_res_id);
  s->allow_http = cfg->allow_http;
  if (cred_copy(&s->defaults, &cfg->login) != 0 || cred_copy(&s->cred, &cfg->login) != 0) {
    pam_session_free(s);
    return NULL;
  }
  return s;
}

void pam_session_free(pam_session *s) {
  if (!s) return;
  free(s->base_url);
  free(s->resource);
  free(s->sel_client_id);
  free(s->sel_object_id);
  free(s->sel_msi_res_id);
  free(s->login_url);
  cred_free(&s->cred);
  cred_free(&s->defaults);
  free(s);
}

int pam_logged_in(const pam_session *s) { return s->logged_in; }

void pam_logout(pam_session *s) {
  /* the cookie lives only in libcurl's memory: forgetting it ends the
   * session on our side (no server-side logout endpoint is documented) */
  http_cookies_clear(s->http);
  s->logged_in = 0;
  /* forget given secrets; the next login uses the configured method */
  pam_login_method m = s->cred.method;
  const pam_credentials *d = &s->defaults;
  cred_free(&s->cred);
  if (cred_copy(&s->cred, d) != 0) s->cred.method = m;
}

/* copy at most n bytes of s, trimmed, into a malloc'd string */
static char *trimmed(const char *s, size_t n) {
  while (n && isspace((unsigned char)*s)) s++, n--;
  while (n && isspace((unsigned char)s[n - 1])) n--;
  char *o = malloc(n + 1);
  if (!o) return NULL;
  memcpy(o, s, n);
  o[n] = '\0';
  for (char *p = o; *p; p++)
    if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
  return o;
}

char *pam_error_text(const char *body, size_t len) {
  if (!body || !len) return NULL;
  char *text = NULL;
  if (json_valid(body, len)) {
    char *e = json_get_str(body, len, "error");
    char *m = json_get_str(body, len, "message");
    if (e && m && strcmp(e, m) != 0) {
      size_t n = strlen(e) + strlen(m) + 3;
      text = malloc(n);
      if (text) snprintf(text, n, "%s: %s", e, m);
      free(e);
      free(m);
    } else {
      text = e ? e : m;
      if (e && m) free(m);
    }
  } else {
    /* an HTML error page: its <title> says what happened */
    const char *t = NULL, *end = body + len;
    for (const char *p = body; p + 7 <= end; p++)
      if (strncasecmp(p, "<title>", 7) == 0) { t = p + 7; break; }
    if (t) {
      const char *c = t;
      while (c + 8 <= end && strncasecmp(c, "</title>", 8) != 0) c++;
      if (c + 8 <= end && c - t < 200) text = trimmed(t, (size_t)(c - t));
    }
  }
  if (text && strlen(text) > 300) text[300] = '\0';
  if (text) {
    /* a server may echo what it was sent: never let a token through */
    char *r = redact_text(text, strlen(text));
    free(text);
    text = r;
  }
  return text;
}

static int is_login_redirect(long status, const http_response *res) {
  /* (unconfirmed) an expired session may be answered with a redirect to
   * the login page instead of a 401 */
  if (status != 302 && status != 303) return 0;
  char *loc = http_header(res, "Location");
  int yes = loc && (strcasestr(loc, "login") || strcasestr(loc, "/cas"));
  free(loc);
  return yes;
}

/* POST a form; res filled, 0 or -1 with err (transport) */
static int post_form(pam_session *s, const char *url, const char *form,
                     http_response *res, px_error *err) {
  static const char *const headers[] = {
    "Content-Type: application/x-www-form-urlencoded",
    "Accept: application/json, text/html;q=0.5, text/plain;q=0.4", NULL};
  http_request req = {.method = "POST", .url = url, .headers = headers,
                      .body = form, .body_len = strlen(form)};
  return http_perform(s->http, &req, res, err);
}

/* "name=<enc value>" appended to a form being built; secret-safe */
static char *form_add(char *form, const char *name, const char *value) {
  if (!form) return NULL;
  char *enc = url_encode(value, strlen(value));
  size_t n = strlen(form) + strlen(name) + (enc ? strlen(enc) : 0) + 3;
  char *out = enc ? malloc(n) : NULL;
  if (out) snprintf(out, n, "%s%s%s=%s", form, *form ? "&" : "", name, enc);
  free_secret(enc);
  free_secret(form);
  return out;
}

static void login_failed(px_error *err, const char *where, const http_response *res,
                         const char *hint) {
  char *why = pam_error_text(res->body, res->body_len);
  if (res->status >= 200 && res->status < 400)
    px_set(err, PX_AUTH, "login failed at %s: HTTP %ld without a session cookie%s%s (%s)",
           where, res->status, why ? ": " : "", why ? why : "", hint);
  else
    px_set(err, PX_AUTH, "login refused by %s: HTTP %ld%s%s (%s)", where, res->status,
           why ? ": " : "", why ? why : "", hint);
  err->status = res->status;
  free(why);
}

/* Azure: POST <base>/landing, form azure=<JWT> -> a session cookie */
static int login_azure(pam_session *s, const char *base, const char *jwt,
                       long *status, px_error *err) {
  char *landing = url_join(base, "/landing");
  char *form = form_add(strdup(""), "azure", jwt);
  if (!landing || !form) {
    free(landing);
    free_secret(form);
    px_set(err, PX_NETWORK, "out of memory");
    return -1;
  }
  http_response res;
  int rc = post_form(s, landing, form, &res, err);
  free_secret(form);
  if (rc == 0) {
    *status = res.status;
    if (!(res.status >= 200 && res.status < 400 && http_sets_cookie(&res))) {
      login_failed(err, landing, &res,
                   res.status >= 200 && res.status < 400
                     ? "is xtam.landing.azure_auth=true on the server?"
                     : "check that --resource is the PAM App Registration's client ID "
                       "and that the identity may sign in");
      rc = -1;
    }
    http_response_free(&res);
  }
  free(landing);
  return rc;
}

/* CAS REST protocol: tickets -> ticket-granting ticket (Location) ->
 * service ticket -> GET <base>/?ticket=ST -> a session cookie.  Every
 * ticket is a credential: none of them is kept or shown. */
static int login_cas(pam_session *s, const char *base, const pam_credentials *c,
                     long *status, px_error *err) {
  url_origin_t o;
  char origin[320], tickets[400];
  url_origin(base, &o);
  url_origin_key(&o, origin, sizeof origin);
  snprintf(tickets, sizeof tickets, "%s/cas/v1/tickets", origin);

  char *form = strdup("");
  if (c->username) {
    form = form_add(form, "username", c->username);
    form = form_add(form, "password", c->password ? c->password : "");
  } else {
    /* (unconfirmed) the form field that carries an API token */
    form = form_add(form, "token", c->api_token);
  }
  char *service = url_join(base, "");
  if (!form || !service) {
    free_secret(form);
    free(service);
    px_set(err, PX_NETWORK, "out of memory");
    return -1;
  }
  http_response res;
  int rc = post_form(s, tickets, form, &res, err);
  free_secret(form);
  if (rc != 0) {
    free(service);
    return -1;
  }
  *status = res.status;
  char *tgt = res.status == 201 ? http_header(&res, "Location") : NULL;
  if (!tgt) {
    login_failed(err, tickets, &res, res.status == 201
                   ? "the CAS answer named no ticket-granting ticket"
                   : "check the user name and password (or API token) and that the "
                     "server has the Federated Sign-In module");
    http_response_free(&res);
    free(service);
    return -1;
  }
  http_response_free(&res);
  char *tgt_url = url_join(origin, tgt);
  free_secret(tgt);
  url_origin_t to;
  if (!tgt_url || url_origin(tgt_url, &to) != 0 || strcmp(to.host, o.host) != 0 ||
      strcmp(to.scheme, o.scheme) != 0 || to.port != o.port) {
    /* credentials go to the PAM origin only */
    free_secret(tgt_url);
    free(service);
    px_set(err, PX_AUTH, "login refused: CAS at %s pointed its ticket elsewhere", tickets);
    return -1;
  }
  form = form_add(strdup(""), "service", service);
  rc = form ? post_form(s, tgt_url, form, &res, err) : -1;
  free_secret(form);
  free_secret(tgt_url);
  if (rc != 0) {
    if (!form) px_set(err, PX_NETWORK, "out of memory");
    free(service);
    return -1;
  }
  *status = res.status;
  char *st = NULL;
  if (res.status == 200 && res.body_len > 0 && res.body_len < 4096) st = trimmed(res.body, res.body_len);
  if (!st || !*st) {
    login_failed(err, "the CAS ticket-granting ticket", &res,
                 "the CAS server issued no service ticket");
    free_secret(st);
    http_response_free(&res);
    free(service);
    return -1;
  }
  http_response_free(&res);
  char *enc = url_encode(st, strlen(st));
  free_secret(st);
  size_t n = strlen(service) + (enc ? strlen(enc) : 0) + 16;
  char *url = enc ? malloc(n) : NULL;
  if (url) snprintf(url, n, "%s%sticket=%s", service, strchr(service, '?') ? "&" : "?", enc);
  free_secret(enc);
  free(service);
  if (!url) {
    px_set(err, PX_NETWORK, "out of memory");
    return -1;
  }
  static const char *const headers[] = {"Accept: text/html, application/json", NULL};
  http_request req = {.method = "GET", .url = url, .headers = headers};
  rc = http_perform(s->http, &req, &res, err);
  free_secret(url);
  if (rc != 0) return -1;
  *status = res.status;
  if (!(res.status >= 200 && res.status < 400 && http_sets_cookie(&res))) {
    login_failed(err, "the PAM service URL", &res, "the service ticket was not accepted");
    rc = -1;
  }
  http_response_free(&res);
  return rc;
}

int pam_login(pam_session *s, const pam_credentials *cred, const char *url,
              pam_login_info *info, px_error *err) {
  const char *base = url ? url : s->base_url;
  url_origin_t o;
  if (!base || !*base) {
    px_set(err, PX_USAGE, "no PAM URL: pass --url URL (e.g. https://pam.corp:6443/xtam) or set PAMSH_URL");
    return -1;
  }
  if (url_origin(base, &o) != 0) {
    px_set(err, PX_USAGE, "not an http(s) URL: %s", base);
    return -1;
  }
  if (strcmp(o.scheme, "http") == 0 && !url_host_is_loopback(o.host) && !s->allow_http) {
    /* tokens and passwords in clear text across a network: refused
     * before anything is sent */
    px_set(err, PX_USAGE, "refusing plain http:// to %s: tokens and cookies would cross the "
           "network unencrypted (use https://, or --allow-http for a test set-up)", o.host);
    return -1;
  }
  const pam_credentials *c = cred ? cred : &s->cred;
  if (c->method == PAM_LOGIN_AZURE && !c->token && s->base_url && url != NULL &&
      !same_origin(url, s->base_url)) {
    /* a managed-identity token goes only to the configured PAM server */
    px_set(err, PX_USAGE, "refusing to send this machine's identity token to %s: it is "
           "not the configured PAM URL (log in there with an explicit token)", url);
    return -1;
  }
  if (c->method == PAM_LOGIN_CAS && !c->api_token && !c->username) {
    px_set(err, PX_USAGE, "CAS login needs a user name and password, or an API token");
    return -1;
  }
  const char *source = c->method == PAM_LOGIN_CAS ? "cas" : "token";
  long long expires_on = 0;
  const char *jwt = c->token;
  if (c->method == PAM_LOGIN_AZURE && !jwt) {
    id_selector sel = {s->sel_client_id, s->sel_object_id, s->sel_msi_res_id};
    const id_token *t = identity_get(s->id, s->resource, &sel, err);
    if (!t) return -1;
    jwt = t->access_token;
    source = t->source;
    expires_on = t->expires_on;
  }
  /* a new session starts from no cookies: a stale XSRF-TOKEN must not be
   * echoed into the new one */
  http_cookies_clear(s->http);
  s->logged_in = 0;
  long status = 0;
  int rc = c->method == PAM_LOGIN_CAS ? login_cas(s, base, c, &status, err)
                                      : login_azure(s, base, jwt, &status, err);
  if (rc != 0) {
    /* the message names the login URL; a request's method and path would
     * only mislead */
    err->method[0] = err->path[0] = '\0';
    return -1;
  }
  if (base != s->login_url) {
    char *copy = strdup(base);
    if (!copy) {
      px_set(err, PX_NETWORK, "out of memory");
      return -1;
    }
    free(s->login_url);
    s->login_url = copy;
  }
  if (c != &s->cred) {
    pam_credentials keep;
    if (cred_copy(&keep, c) != 0) {
      px_set(err, PX_NETWORK, "out of memory");
      return -1;
    }
    cred_free(&s->cred);
    s->cred = keep;
  }
  s->logged_in = 1;
  s->generation++;
  if (info) {
    info->url = s->login_url;
    info->source = source;
    info->expires_on = expires_on;
    info->status = status;
  }
  return 0;
}

static int same_origin(const char *a, const char *b) {
  url_origin_t x, y;
  return url_origin(a, &x) == 0 && url_origin(b, &y) == 0 &&
         strcasecmp(x.scheme, y.scheme) == 0 && strcasecmp(x.host, y.host) == 0 &&
         x.port == y.port;
}

static int send_once(pam_session *s, const char *method, const char *url,
                     const char *body, size_t body_len, const char *content_type,
                     http_response *res, px_error *err) {
  const char *headers[4];
  char ct[160], xsrf_line[600];
  int nh = 0;
  headers[nh++] = "Accept: application/json";
  if (body) {
    snprintf(ct, sizeof ct, "Content-Type: %s",
             content_type ? content_type : "application/json");
    headers[nh++] = ct;
  }
  char *xsrf = NULL;
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    xsrf = http_cookie(s->http, url, "XSRF-TOKEN");
    if (xsrf && strlen(xsrf) < 500) {
      snprintf(xsrf_line, sizeof xsrf_line, "X-XSRF-TOKEN: %s", xsrf);
      headers[nh++] = xsrf_line;
    }
  }
  headers[nh] = NULL;
  http_request req = {.method = method, .url = url, .headers = headers,
                      .body = body, .body_len = body_len};
  int rc = http_perform(s->http, &req, res, err);
  free_secret(xsrf);
  memset(xsrf_line, 0, sizeof xsrf_line);
  return rc;
}

/* What a final answer means: 3xx (never followed) and >= 400 become
 * errors carrying the server's words; 0 for a success. */
static int finish_status(http_response *res, px_error *err) {
  if (res->status >= 300 && res->status < 400) {
    /* redirects are not followed: a session cookie or token must not
     * travel to wherever the Location points (another host, a loop) */
    char *loc = http_header(res, "Location");
    char *shown = loc ? redact_text(loc, strlen(loc)) : NULL;
    px_set(err, PX_HTTP, "HTTP %ld redirect to %s, not followed", res->status,
           shown ? shown : "(no Location)");
    free(loc);
    free(shown);
    err->status = res->status;
    http_response_free(res);
    return -1;
  }
  if (res->status >= 400) {
    char *why = pam_error_text(res->body, res->body_len);
    px_set(err, PX_HTTP, "%s", why ? why : "");
    if (!why) snprintf(err->message, sizeof err->message, "HTTP %ld", res->status);
    free(why);
    err->status = res->status;
    err->body = res->body;  /* handed over; the caller decodes it */
    res->body = NULL;
    http_response_free(res);
    return -1;
  }
  return 0;
}

/* 429 and 503 say "later": an idempotent request is tried again, a
 * bounded number of times, after Retry-After (capped) or a short backoff;
 * a POST is not (it may have been applied) */
#define PAM_RETRIES 2
#define PAM_RETRY_CAP 30.0

static int idempotent(const char *method) {
  return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
         strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0 ||
         strcmp(method, "OPTIONS") == 0;
}

static int send_with_retries(pam_session *s, const char *method, const char *url,
                             const char *body, size_t body_len, const char *content_type,
                             http_response *res, px_error *err) {
  for (int attempt = 0;; attempt++) {
    int rc = send_once(s, method, url, body, body_len, content_type, res, err);
    if (rc != 0 || (res->status != 429 && res->status != 503) || !idempotent(method) ||
        attempt == PAM_RETRIES)
      return rc;
    char *ra = http_header(res, "Retry-After");
    double wait = identity_backoff(attempt, ra, 0.5);
    free(ra);
    if (wait > PAM_RETRY_CAP) wait = PAM_RETRY_CAP;
    http_trace(s->http, "* PAM answered %ld: retrying in %.1f s", res->status, wait);
    http_response_free(res);
    struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
    /* a signal or the deadline (SIGALRM) cuts the wait short; the next
     * transfer then stops at once */
    nanosleep(&ts, NULL);
  }
}

int pam_request(pam_session *s, const char *method, const char *path,
                const char *body, size_t body_len, const char *content_type,
                http_response *res, px_error *err) {
  memset(res, 0, sizeof *res);
  if (!s->logged_in && pam_login(s, NULL, NULL, NULL, err) != 0)
    return -1;
  char *url = url_join(s->login_url, path);
  if (!url) {
    px_set(err, PX_NETWORK, "out of memory");
    return -1;
  }
  /* cookies and tokens go only to the PAM origin we logged in to */
  if (!same_origin(url, s->login_url)) {
    px_set(err, PX_USAGE, "%s %s: the path must be relative to the PAM URL", method, path);
    free(url);
    return -1;
  }
  snprintf(err->method, sizeof err->method, "%s", method);
  snprintf(err->path, sizeof err->path, "%s", path);
  int rc = send_with_retries(s, method, url, body, body_len, content_type, res, err);
  if (rc == 0 && (res->status == 401 || is_login_redirect(res->status, res))) {
    /* the session may have expired: log in again once, retry once */
    http_response_free(res);
    if (pam_login(s, NULL, s->login_url, NULL, err) != 0) {
      err->method[0] = err->path[0] = '\0';
      free(url);
      return -1;
    }
    rc = send_with_retries(s, method, url, body, body_len, content_type, res, err);
  }
  free(url);
  if (rc != 0) return -1;
  return finish_status(res, err);
}

/* ---- concurrent requests (pam.map) ------------------------------------ */

struct pam_async {
  pam_session *s;
  http_async *h;
  char method[16];
  char path[512];
  char *url, *body, *ctype;
  size_t body_len;
  unsigned generation;  /* of the login the request was sent under */
  int relogged;
  void *user;
};

static void async_free(pam_async *a) {
  if (!a) return;
  free(a->url);
  free_secret(a->body);
  free(a->ctype);
  free(a);
}

static int async_send(pam_async *a, px_error *err) {
  pam_session *s = a->s;
  const char *headers[4];
  char ct[160], xsrf_line[600];
  int nh = 0;
  headers[nh++] = "Accept: application/json";
  if (a->body) {
    snprintf(ct, sizeof ct, "Content-Type: %s", a->ctype ? a->ctype : "application/json");
    headers[nh++] = ct;
  }
  char *xsrf = NULL;
  if (strcmp(a->method, "GET") != 0 && strcmp(a->method, "HEAD") != 0) {
    xsrf = http_cookie(s->http, a->url, "XSRF-TOKEN");
    if (xsrf && strlen(xsrf) < 500) {
      snprintf(xsrf_line, sizeof xsrf_line, "X-XSRF-TOKEN: %s", xsrf);
      headers[nh++] = xsrf_line;
    }
  }
  headers[nh] = NULL;
  http_request req = {.method = a->method, .url = a->url, .headers = headers,
                      .body = a->body, .body_len = a->body_len};
  a->generation = s->generation;
  a->h = http_async_start(s->http, &req, a, err);
  free_secret(xsrf);
  memset(xsrf_line, 0, sizeof xsrf_line);
  return a->h ? 0 : -1;
}

pam_async *pam_async_start(pam_session *s, const char *method, const char *path,
                           const char *body, size_t body_len, const char *content_type,
                           void *user, px_error *err) {
  if (!s->logged_in && pam_login(s, NULL, NULL, NULL, err) != 0) return NULL;
  pam_async *a = calloc(1, sizeof *a);
  if (!a) {
    px_set(err, PX_NETWORK, "out of memory");
    return NULL;
  }
  a->s = s;
  a->user = user;
  snprintf(a->method, sizeof a->method, "%s", method);
  snprintf(a->path, sizeof a->path, "%s", path);
  a->url = url_join(s->login_url, path);
  if (body) {
    a->body = malloc(body_len + 1);
    if (a->body) {
      memcpy(a->body, body, body_len);
      a->body[body_len] = '\0';
    }
    a->body_len = body_len;
  }
  a->ctype = content_type ? strdup(content_type) : NULL;
  if (!a->url || (body && !a->body) || (content_type && !a->ctype)) {
    async_free(a);
    px_set(err, PX_NETWORK, "out of memory");
    return NULL;
  }
  if (!same_origin(a->url, s->login_url)) {
    px_set(err, PX_USAGE, "%s %s: the path must be relative to the PAM URL", method, path);
    async_free(a);
    return NULL;
  }
  snprintf(err->method, sizeof err->method, "%s", method);
  snprintf(err->path, sizeof err->path, "%s", path);
  if (async_send(a, err) != 0) {
    async_free(a);
    return NULL;
  }
  return a;
}

int pam_async_run(pam_session *s, int timeout_ms) {
  return http_async_run(s->http, timeout_ms);
}

int pam_async_next(pam_session *s, void **user, int *rc, http_response *res, px_error *err) {
  http_async *h;
  while ((h = http_async_take(s->http))) {
    pam_async *a = http_async_user(h);
    px_clear(err);
    snprintf(err->method, sizeof err->method, "%s", a->method);
    snprintf(err->path, sizeof err->path, "%s", a->path);
    int r = http_async_finish(s->http, h, res, err);
    a->h = NULL;
    if (r == 0 && !a->relogged && (res->status == 401 || is_login_redirect(res->status, res))) {
      /* one re-login serves every request sent under the old session */
      http_response_free(res);
      a->relogged = 1;
      int ok = 1;
      if (a->generation == s->generation &&
          pam_login(s, NULL, s->login_url, NULL, err) != 0) {
        err->method[0] = err->path[0] = '\0';
        ok = 0;
      }
      if (ok && async_send(a, err) == 0) continue;  /* in flight again */
      *user = a->user;
      *rc = -1;
      async_free(a);
      return 1;
    }
    if (r == 0 && !a->relogged && res->status == 403 && a->generation != s->generation &&
        strcmp(a->method, "GET") != 0 && strcmp(a->method, "HEAD") != 0) {
      /* another item's re-login replaced the session after this write took
       * its X-XSRF-TOKEN but before libcurl put the (shared) cookies on the
       * wire: the server saw the new session with the old token and refused
       * it.  Send it once more, with the current session's token. */
      http_response_free(res);
      a->relogged = 1;
      if (async_send(a, err) == 0) continue;
      *user = a->user;
      *rc = -1;
      async_free(a);
      return 1;
    }
    *user = a->user;
    *rc = r == 0 ? finish_status(res, err) : -1;
    async_free(a);
    return 1;
  }
  return 0;
}
