/* pam.h - the PAM session: landing with a managed-identity token, the
 * session cookie (in memory, libcurl's engine), authenticated requests,
 * one re-login on 401, XSRF echo.  Uses http and identity; no Lua. */
#ifndef PAMSH_PAM_H
#define PAMSH_PAM_H

#include "err.h"
#include "http.h"
#include "identity.h"

typedef struct pam_session pam_session;

typedef enum { PAM_LOGIN_AZURE = 0, PAM_LOGIN_CAS } pam_login_method;

/* How to log in.  Azure: token, or NULL for a managed-identity token for
 * the configured resource.  CAS (servers with the Federated Sign-In module):
 * username + password, or api_token.  The session keeps a copy (in memory,
 * zeroed when done) to log in again when the session expires. */
typedef struct {
  pam_login_method method;
  const char *token;
  const char *username, *password;
  const char *api_token;
} pam_credentials;

typedef struct {
  const char *base_url;   /* ".../xtam", may be NULL until a request */
  const char *resource;   /* token audience */
  id_selector selector;
  pam_credentials login;  /* the configured way to log in */
  int allow_http;         /* http:// on a non-loopback host */
} pam_config;

typedef struct {
  const char *url;        /* base URL logged in to */
  const char *source;     /* "imds", ... (managed identity), "token" (a given
                             JWT) or "cas" */
  long long expires_on;   /* of the token used, 0 when unknown */
  long status;            /* landing status */
} pam_login_info;

pam_session *pam_session_new(http_client *http, identity *id, const pam_config *cfg);
void pam_session_free(pam_session *s);

/* Log in.  cred == NULL: the way the session last logged in (a managed
 * identity at first).  url == NULL: the configured base URL.  0 or -1 with
 * err. */
int pam_login(pam_session *s, const pam_credentials *cred, const char *url,
              pam_login_info *info, px_error *err);

/* One authenticated request; logs in first when there is no session, logs
 * in again once on 401.  content_type may be NULL when body is NULL.
 * Returns 0 with res filled for a status < 400; -1 with err (PX_HTTP with
 * status and the server's body, or PX_AUTH/PX_NETWORK/PX_USAGE). */
int pam_request(pam_session *s, const char *method, const char *path,
                const char *body, size_t body_len, const char *content_type,
                http_response *res, px_error *err);

/* Concurrent requests: start them (logging in first if needed, blocking),
 * drive them with pam_async_run (returns how many are unfinished), and
 * collect outcomes one by one with pam_async_next: 1 when one was
 * available (*user as given to start, *rc 0 with res or -1 with err, the
 * same meaning as pam_request's), 0 when none is ready yet.  A 401 leads
 * to one re-login shared by every request sent under the expired session. */
typedef struct pam_async pam_async;
pam_async *pam_async_start(pam_session *s, const char *method, const char *path,
                           const char *body, size_t body_len, const char *content_type,
                           void *user, px_error *err);
int pam_async_run(pam_session *s, int timeout_ms);
int pam_async_next(pam_session *s, void **user, int *rc, http_response *res, px_error *err);

int pam_logged_in(const pam_session *s);
void pam_logout(pam_session *s);

/* Extract a one-line message from an error body: JSON "error"/"message",
 * an HTML <title>, or NULL.  malloc'd. */
char *pam_error_text(const char *body, size_t len);

#endif
