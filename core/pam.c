/* pam.c - the XTAM / Imprivata PAM session */
#include "pam.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
  char *given_token;     /* a JWT the script logged in with, for re-login */
  int logged_in;
};

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void free_secret(char *s) {
  if (!s) return;
  memset(s, 0, strlen(s));
  free(s);
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
  free_secret(s->given_token);
  free(s);
}

int pam_logged_in(const pam_session *s) { return s->logged_in; }

void pam_logout(pam_session *s) {
  /* the cookie lives only in libcurl's memory: forgetting it ends the
   * session on our side (no server-side logout endpoint is documented) */
  http_cookies_clear(s->http);
  s->logged_in = 0;
  free_secret(s->given_token);
  s->given_token = NULL;
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

int pam_login(pam_session *s, const char *token, const char *url,
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
  const char *jwt = token, *source = "token";
  long long expires_on = 0;
  if (!jwt) {
    id_selector sel = {s->sel_client_id, s->sel_object_id, s->sel_msi_res_id};
    const id_token *t = identity_get(s->id, s->resource, &sel, err);
    if (!t) return -1;
    jwt = t->access_token;
    source = t->source;
    expires_on = t->expires_on;
  }
  char *enc = url_encode(jwt, strlen(jwt));
  char *landing = url_join(base, "/landing");
  size_t n = enc ? strlen(enc) + 8 : 0;
  char *form = enc ? malloc(n) : NULL;
  if (!enc || !landing || !form) {
    free_secret(enc);
    free(landing);
    free(form);
    px_set(err, PX_NETWORK, "out of memory");
    return -1;
  }
  snprintf(form, n, "azure=%s", enc);
  free_secret(enc);

  /* a new session starts from no cookies: a stale XSRF-TOKEN must not be
   * echoed into the new one */
  http_cookies_clear(s->http);
  s->logged_in = 0;
  static const char *const headers[] = {
    "Content-Type: application/x-www-form-urlencoded",
    "Accept: application/json, text/html;q=0.5", NULL};
  http_request req = {.method = "POST", .url = landing, .headers = headers,
                      .body = form, .body_len = strlen(form)};
  http_response res;
  int rc = http_perform(s->http, &req, &res, err);
  free_secret(form);
  if (rc != 0) {
    free(landing);
    err->method[0] = err->path[0] = '\0';
    return -1;
  }
  int ok = res.status >= 200 && res.status < 400 && http_sets_cookie(&res);
  if (!ok) {
    char *why = pam_error_text(res.body, res.body_len);
    if (res.status >= 200 && res.status < 400)
      px_set(err, PX_AUTH, "login failed at %s: HTTP %ld without a session cookie%s%s "
             "(is xtam.landing.azure_auth=true on the server?)",
             landing, res.status, why ? ": " : "", why ? why : "");
    else
      px_set(err, PX_AUTH, "login refused by %s: HTTP %ld%s%s (check that --resource "
             "is the PAM App Registration's client ID and that the identity may sign in)",
             landing, res.status, why ? ": " : "", why ? why : "");
    err->status = res.status;
    /* the message names the landing URL; a request's method and path
     * would only mislead */
    err->method[0] = err->path[0] = '\0';
    free(why);
    http_response_free(&res);
    free(landing);
    return -1;
  }
  long status = res.status;
  http_response_free(&res);
  free(landing);
  if (base != s->login_url) {
    char *copy = strdup(base);
    if (!copy) {
      px_set(err, PX_NETWORK, "out of memory");
      return -1;
    }
    free(s->login_url);
    s->login_url = copy;
  }
  if (token && token != s->given_token) {
    free_secret(s->given_token);
    s->given_token = strdup(token);
  } else if (!token) {
    free_secret(s->given_token);
    s->given_token = NULL;
  }
  s->logged_in = 1;
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

int pam_request(pam_session *s, const char *method, const char *path,
                const char *body, size_t body_len, const char *content_type,
                http_response *res, px_error *err) {
  memset(res, 0, sizeof *res);
  if (!s->logged_in && pam_login(s, s->given_token, NULL, NULL, err) != 0)
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
  int rc = send_once(s, method, url, body, body_len, content_type, res, err);
  if (rc == 0 && (res->status == 401 || is_login_redirect(res->status, res))) {
    /* the session may have expired: log in again once, retry once */
    http_response_free(res);
    if (pam_login(s, s->given_token, s->login_url, NULL, err) != 0) {
      err->method[0] = err->path[0] = '\0';
      free(url);
      return -1;
    }
    rc = send_once(s, method, url, body, body_len, content_type, res, err);
  }
  free(url);
  if (rc != 0) return -1;
  if (res->status >= 400) {
    char *why = pam_error_text(res->body, res->body_len);
    px_set(err, PX_HTTP, "%s", why ? why : "");
    if (!why) {
      snprintf(err->message, sizeof err->message, "HTTP %ld", res->status);
    }
    free(why);
    err->status = res->status;
    err->body = res->body;  /* handed over; the caller decodes it */
    res->body = NULL;
    http_response_free(res);
    return -1;
  }
  return 0;
}
