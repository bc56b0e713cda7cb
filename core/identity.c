/* identity.c - Azure IMDS managed-identity tokens, retried as the Azure
 * SDKs retry, and cached per (source, identity, resource). */
#include "identity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "timeparse.h"
#include "url.h"

#define IMDS_PATH "/metadata/identity/oauth2/token"
#define IMDS_API_VERSION "2018-02-01"
#define MAX_ATTEMPTS 5
#define REFRESH_MARGIN 300       /* refresh when under 5 minutes remain */
#define REFRESH_BACKOFF 30       /* after a failed refresh */

typedef struct cache_entry {
  char *key;
  id_token tok;
  long long next_try;          /* no refresh attempt before this */
  struct cache_entry *next;
} cache_entry;

struct identity {
  http_client *http;
  char *imds_base;
  long budget_ms;
  cache_entry *cache;
  int fetches;
};

identity *identity_new(http_client *http, const char *imds_base, long budget_ms) {
  identity *id = calloc(1, sizeof *id);
  if (!id) return NULL;
  id->http = http;
  id->budget_ms = budget_ms > 0 ? budget_ms : 30000;
  id->imds_base = strdup(imds_base);
  if (!id->imds_base) {
    free(id);
    return NULL;
  }
  /* the base may be given with a trailing slash */
  size_t n = strlen(id->imds_base);
  while (n && id->imds_base[n - 1] == '/') id->imds_base[--n] = '\0';
  return id;
}

static void token_clear(id_token *t) {
  if (t->access_token) {
    /* the cache is the only place the raw token lives in C */
    memset(t->access_token, 0, strlen(t->access_token));
    free(t->access_token);
  }
  free(t->resource);
  free(t->client_id);
  memset(t, 0, sizeof *t);
}

void identity_free(identity *id) {
  if (!id) return;
  for (cache_entry *e = id->cache, *n; e; e = n) {
    n = e->next;
    token_clear(&e->tok);
    free(e->key);
    free(e);
  }
  free(id->imds_base);
  free(id);
}

int identity_fetch_count(const identity *id) { return id->fetches; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double identity_backoff(int attempt, const char *retry_after, double jitter01) {
  long long ra;
  if (retry_after && parse_epoch(retry_after, &ra) == 0 && ra >= 0)
    return ra > 60 ? 60.0 : (double)ra;
  /* exponential from ~1 s with +-25 % jitter, capped at 60 s per wait */
  double base = pow(2.0, attempt);
  double wait = base * (0.75 + 0.5 * jitter01);
  return wait > 60.0 ? 60.0 : wait;
}

static int retryable(long status) {
  return status == 404 || status == 408 || status == 410 || status == 429 ||
         status >= 500;
}

/* "error_description" (or "error") of an identity error body, or NULL */
static char *error_text(const http_response *res) {
  char *d = json_get_str(res->body, res->body_len, "error_description");
  if (!d) d = json_get_str(res->body, res->body_len, "error");
  return d;
}

static const char *hint_for(long status, const char *desc) {
  if (status == 400 && desc) {
    if (strcasestr(desc, "multiple user assigned"))
      return "several user-assigned identities: pass --client-id, --object-id or --msi-res-id";
    if (strcasestr(desc, "identity not found"))
      return "no managed identity matches: assign one to this VM, or check --client-id/--object-id/--msi-res-id";
  }
  if (status == 429) return "IMDS is throttling this VM (about 20 requests/s)";
  if (status == 404 || status == 410) return "IMDS is updating; try again in a minute";
  return NULL;
}

static int fetch_imds(identity *id, const char *resource, const id_selector *sel,
                      id_token *out, px_error *err) {
  char *enc = url_encode(resource, strlen(resource));
  const char *selname = NULL, *selval = NULL;
  if (sel && sel->client_id) selname = "client_id", selval = sel->client_id;
  else if (sel && sel->object_id) selname = "object_id", selval = sel->object_id;
  else if (sel && sel->msi_res_id) selname = "msi_res_id", selval = sel->msi_res_id;
  char *encsel = selval ? url_encode(selval, strlen(selval)) : NULL;
  size_t n = strlen(id->imds_base) + strlen(IMDS_PATH) + (enc ? strlen(enc) : 0) +
             (encsel ? strlen(encsel) + 16 : 0) + 64;
  char *url = malloc(n);
  if (!enc || (selval && !encsel) || !url) {
    free(enc); free(encsel); free(url);
    px_set(err, PX_AUTH, "out of memory");
    return -1;
  }
  snprintf(url, n, "%s" IMDS_PATH "?api-version=" IMDS_API_VERSION "&resource=%s%s%s%s%s",
           id->imds_base, enc, selval ? "&" : "", selval ? selname : "",
           selval ? "=" : "", selval ? encsel : "");
  free(enc);
  free(encsel);

  static const char *const headers[] = {"Metadata: true", NULL};
  http_request req = {.method = "GET", .url = url, .headers = headers, .identity = 1};
  double start = mono_s(), budget = id->budget_ms / 1000.0;
  int rc = -1;
  for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    http_response res;
    px_error terr = {0};
    double left = budget - (mono_s() - start);
    req.timeout_ms = left > 0.001 ? (long)(left * 1000) : 1;
    long long sent = (long long)now_s();
    id->fetches++;
    int got = http_perform(id->http, &req, &res, &terr);
    const char *retry_after = NULL;
    char *ra_owned = NULL;
    int again = 0;
    if (got != 0) {
      /* connection refused: nothing listens, retrying only delays the
       * answer; a timeout or reset may be IMDS restarting */
      int refused = strstr(terr.message, "Couldn't connect") != NULL ||
                    strstr(terr.message, "Could not connect") != NULL;
      px_set(err, PX_AUTH, "imds: no token from %s" IMDS_PATH ": %s%s",
             id->imds_base, terr.message,
             refused ? " (no identity endpoint answered: is this an Azure VM "
                       "with a managed identity? PAMSH_IMDS_URL overrides the address)"
                     : "");
      again = !refused && strstr(terr.message, "interrupted") == NULL;
      px_clear(&terr);
    } else if (res.status == 200) {
      char *tok = NULL;
      if (!json_valid(res.body, res.body_len) ||
          json_get(res.body, res.body_len, "access_token", &tok) != JSON_STRING) {
        free(tok);
        /* something other than IMDS answered, a proxy or captive page */
        px_set(err, PX_AUTH, "imds: identity endpoint unavailable: the answer "
               "from %s" IMDS_PATH " is not a token (not JSON)", id->imds_base);
        http_response_free(&res);
        break;
      }
      memset(out, 0, sizeof *out);
      out->access_token = tok;
      out->obtained_at = sent;
      out->source = "imds";
      out->resource = json_get_str(res.body, res.body_len, "resource");
      if (!out->resource) out->resource = strdup(resource);
      out->client_id = json_get_str(res.body, res.body_len, "client_id");
      char *eo = json_get_str(res.body, res.body_len, "expires_on");
      char *ei = json_get_str(res.body, res.body_len, "expires_in");
      long long v;
      if (eo && parse_expires_on(eo, &v) == 0) out->expires_on = v;
      else if (ei && parse_epoch(ei, &v) == 0) out->expires_on = sent + v;
      else out->expires_on = sent + 3600;  /* unknown: assume an hour, refresh early */
      free(eo);
      free(ei);
      http_response_free(&res);
      rc = 0;
      break;
    } else {
      char *desc = error_text(&res);
      const char *hint = hint_for(res.status, desc);
      px_set(err, PX_AUTH, "imds: HTTP %ld from %s" IMDS_PATH "%s%s%s%s%s",
             res.status, id->imds_base, desc ? ": " : "", desc ? desc : "",
             hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
      err->status = res.status;
      free(desc);
      again = retryable(res.status);
      if (again) retry_after = ra_owned = http_header(&res, "Retry-After");
      http_response_free(&res);
    }
    if (!again || attempt + 1 == MAX_ATTEMPTS) {
      free(ra_owned);
      break;
    }
    double wait = identity_backoff(attempt, retry_after, (double)rand() / RAND_MAX);
    free(ra_owned);
    if (mono_s() - start + wait >= budget) break;  /* the caller's bound wins */
    http_trace(id->http, "* imds: retrying in %.1f s\n", wait);
    struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
    nanosleep(&ts, NULL);
  }
  free(url);
  return rc;
}

static char *cache_key(const char *resource, const id_selector *sel) {
  const char *kind = "system", *val = "";
  if (sel && sel->client_id) kind = "client_id", val = sel->client_id;
  else if (sel && sel->object_id) kind = "object_id", val = sel->object_id;
  else if (sel && sel->msi_res_id) kind = "msi_res_id", val = sel->msi_res_id;
  size_t n = strlen(kind) + strlen(val) + strlen(resource) + 16;
  char *k = malloc(n);
  if (k) snprintf(k, n, "imds|%s=%s|%s", kind, val, resource);
  return k;
}

static int needs_refresh(const id_token *t, long long now) {
  long long life = t->expires_on - t->obtained_at;
  if (t->expires_on - now < REFRESH_MARGIN) return 1;
  /* long-lived tokens are renewed at half-life, as the SDKs do */
  return life > 7200 && now >= t->obtained_at + life / 2;
}

const id_token *identity_get(identity *id, const char *resource,
                             const id_selector *sel, px_error *err) {
  if (!resource || !*resource) {
    px_set(err, PX_USAGE, "no token audience: pass --resource ID (the PAM App "
           "Registration's client ID) or set PAMSH_RESOURCE");
    return NULL;
  }
  int nsel = sel ? !!sel->client_id + !!sel->object_id + !!sel->msi_res_id : 0;
  if (nsel > 1) {
    px_set(err, PX_USAGE, "pick at most one of --client-id, --object-id, --msi-res-id");
    return NULL;
  }
  char *key = cache_key(resource, sel);
  if (!key) {
    px_set(err, PX_AUTH, "out of memory");
    return NULL;
  }
  cache_entry *e = id->cache;
  while (e && strcmp(e->key, key) != 0) e = e->next;
  long long now = (long long)now_s();
  if (e && !needs_refresh(&e->tok, now)) {
    free(key);
    return &e->tok;
  }
  int still_valid = e && e->tok.expires_on - now > 60;
  if (e && still_valid && now < e->next_try) {
    free(key);
    return &e->tok;
  }
  id_token fresh;
  if (fetch_imds(id, resource, sel, &fresh, err) != 0) {
    if (still_valid) {
      /* keep using the valid token; try again no sooner than 30 s */
      http_trace(id->http, "* imds: refresh failed, keeping the current token: %s\n",
                 err->message);
      px_clear(err);
      e->next_try = now + REFRESH_BACKOFF;
      free(key);
      return &e->tok;
    }
    free(key);
    return NULL;
  }
  if (!e) {
    e = calloc(1, sizeof *e);
    if (!e) {
      token_clear(&fresh);
      free(key);
      px_set(err, PX_AUTH, "out of memory");
      return NULL;
    }
    e->key = key;
    e->next = id->cache;
    id->cache = e;
  } else {
    free(key);
    token_clear(&e->tok);
  }
  e->tok = fresh;
  e->next_try = 0;
  return &e->tok;
}
