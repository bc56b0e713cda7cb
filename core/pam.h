/* pam.h - the PAM session: landing with a managed-identity token, the
 * session cookie (in memory, libcurl's engine), authenticated requests,
 * one re-login on 401, XSRF echo.  Uses http and identity; no Lua. */
#ifndef PAMSH_PAM_H
#define PAMSH_PAM_H

#include "err.h"
#include "http.h"
#include "identity.h"

typedef struct pam_session pam_session;

typedef struct {
  const char *base_url;   /* ".../xtam", may be NULL until a request */
  const char *resource;   /* token audience */
  id_selector selector;
} pam_config;

typedef struct {
  const char *url;        /* base URL logged in to */
  const char *source;     /* token source, "imds" or "token" */
  long long expires_on;   /* of the token used, 0 when unknown */
  long status;            /* landing status */
} pam_login_info;

pam_session *pam_session_new(http_client *http, identity *id, const pam_config *cfg);
void pam_session_free(pam_session *s);

/* Log in.  token == NULL: a managed-identity token for the configured
 * resource.  url == NULL: the configured base URL.  0 or -1 with err. */
int pam_login(pam_session *s, const char *token, const char *url,
              pam_login_info *info, px_error *err);

/* One authenticated request; logs in first when there is no session, logs
 * in again once on 401.  content_type may be NULL when body is NULL.
 * Returns 0 with res filled for a status < 400; -1 with err (PX_HTTP with
 * status and the server's body, or PX_AUTH/PX_NETWORK/PX_USAGE). */
int pam_request(pam_session *s, const char *method, const char *path,
                const char *body, size_t body_len, const char *content_type,
                http_response *res, px_error *err);

int pam_logged_in(const pam_session *s);
void pam_logout(pam_session *s);

/* Extract a one-line message from an error body: JSON "error"/"message",
 * an HTML <title>, or NULL.  malloc'd. */
char *pam_error_text(const char *body, size_t len);

#endif
