/* lpam.h - the Lua bindings: the only C that speaks to Lua about PAM */
#ifndef PAMSH_LPAM_H
#define PAMSH_LPAM_H

#include <signal.h>
#include <lua.h>
#include "config.h"

#define PAMSH_ERROR_MT "pamsh.error"
#define PAMSH_SECRET_MT "pamsh.secret"

/* Opens "pam.core" (imds_token, pam_login, pam_request, secret, ...)
 * and sets the three primitives as globals.  cfg must outlive L. */
int luaopen_pam_core(lua_State *L);
void lpam_setup(lua_State *L, const settings *cfg, volatile sig_atomic_t *abort_flag);

/* forget the PAM session, if any (the end of a run stopped by a signal
 * or --deadline); "logged out of PAM" at debug level when there was one */
void lpam_logout(lua_State *L);

/* push a new pam.secret holding a copy of s[0..len) */
void lpam_push_secret(lua_State *L, const char *s, size_t len);

#endif
