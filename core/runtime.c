/* runtime.c - Lua state, embedded modules, docall/msghandler in the
 * manner of lua.c, exit codes */
#include "runtime.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>

#include "interrupt.h"
#include "logline.h"
#include "lpam.h"
#include "repl.h"

int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);


/* ---- embedded modules ---------------------------------------------- */

static int load_embedded(lua_State *L) {
  const embedded_module *m = lua_touserdata(L, lua_upvalueindex(1));
  if (luaL_loadbufferx(L, m->source, m->len, m->chunkname, "t") != LUA_OK)
    return lua_error(L);
  lua_pushstring(L, m->name);
  lua_call(L, 1, 1);
  return 1;
}

static void register_embedded(lua_State *L) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  for (const embedded_module *m = embedded_modules; m->name; m++) {
    lua_pushlightuserdata(L, (void *)m);
    lua_pushcclosure(L, load_embedded, 1);
    lua_setfield(L, -2, m->name);
  }
  lua_pop(L, 2);
}

/* ---- errors -------------------------------------------------------- */

static int msghandler(lua_State *L) {
  /* our structured errors travel up unchanged: the runtime turns them
   * into one line and an exit code */
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_getfield(L, 1, "kind");
    int ours = lua_type(L, -1) == LUA_TSTRING;
    lua_pop(L, 1);
    if (ours) return 1;
  }
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int runtime_docall(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, nargs, nresults, base);
  lua_remove(L, base);
  return status;
}

static int exit_code_for_kind(const char *kind) {
  if (!kind) return EXIT_SCRIPT;
  if (strcmp(kind, "interrupted") == 0 || strcmp(kind, "deadline") == 0)
    return interrupt_exit_code() ? interrupt_exit_code() : EXIT_SCRIPT;
  if (strcmp(kind, "auth") == 0) return EXIT_AUTH;
  if (strcmp(kind, "http") == 0) return EXIT_API;
  if (strcmp(kind, "network") == 0) return EXIT_NETWORK;
  if (strcmp(kind, "usage") == 0) return EXIT_USAGE;
  return EXIT_SCRIPT;
}

int runtime_report(lua_State *L, int status) {
  if (status == LUA_OK) return EXIT_OK;
  int code = EXIT_SCRIPT;
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_getfield(L, -1, "kind");
    const char *kind = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    code = exit_code_for_kind(kind);
    if (interrupt_flag) code = interrupt_exit_code();
    char kind_copy[32] = "", status_buf[24] = "", exit_buf[16];
    if (kind) snprintf(kind_copy, sizeof kind_copy, "%s", kind);
    lua_pop(L, 1);
    lua_getfield(L, -1, "status");
    if (lua_isinteger(L, -1)) snprintf(status_buf, sizeof status_buf, "%lld", (long long)lua_tointeger(L, -1));
    lua_pop(L, 1);
    snprintf(exit_buf, sizeof exit_buf, "%d", code);
    const char *line = luaL_tolstring(L, -1, NULL);
    /* text: one clean line; JSON: the same with the error's fields */
    log_field fields[3];
    size_t n = 0;
    if (log_is_json()) {
      if (kind_copy[0]) fields[n++] = (log_field){"kind", kind_copy, 0};
      if (status_buf[0]) fields[n++] = (log_field){"status", status_buf, 1};
      fields[n++] = (log_field){"exit", exit_buf, 1};
    }
    log_write(LOG_ERROR, line, fields, n);
    lua_pop(L, 1);
  } else {
    const char *msg = lua_tostring(L, -1);
    if (interrupt_flag) code = interrupt_exit_code();
    char exit_buf[16];
    snprintf(exit_buf, sizeof exit_buf, "%d", code);
    log_field f = {"exit", exit_buf, 1};
    log_write(LOG_ERROR, msg ? msg : "(error object is not a string)", &f, log_is_json() ? 1 : 0);
  }
  lua_pop(L, 1);
  return code;
}

/* ---- state --------------------------------------------------------- */

lua_State *runtime_new(const settings *cfg) {
  lua_State *L = luaL_newstate();
  if (!L) return NULL;
  luaL_openlibs(L);
  luaL_requiref(L, "cjson", luaopen_cjson, 1);
  lua_pop(L, 1);
  luaL_requiref(L, "cjson.safe", luaopen_cjson_safe, 0);
  lua_pop(L, 1);
  register_embedded(L);
  lpam_setup(L, cfg, &interrupt_flag);
  return L;
}

void runtime_close(lua_State *L) {
  lua_close(L);
}

/* the global `arg`, as lua.c builds it: arg[0] the script, negative
 * indices the interpreter and options, positive ones the arguments */
static void create_arg_table(lua_State *L, const settings *cfg) {
  int script = cfg->target_index < cfg->argc ? cfg->target_index : 0;
  lua_createtable(L, cfg->argc - script, script + 1);
  for (int i = 0; i < cfg->argc; i++) {
    lua_pushstring(L, cfg->argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int push_script_args(lua_State *L, const settings *cfg) {
  int n = cfg->argc - cfg->target_index - 1;
  if (n < 0) n = 0;
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = 0; i < n; i++) lua_pushstring(L, cfg->argv[cfg->target_index + 1 + i]);
  return n;
}

static int run_chunk(lua_State *L, const char *chunk) {
  int status = luaL_loadbuffer(L, chunk, strlen(chunk), "=(command line)");
  if (status == LUA_OK) status = runtime_docall(L, 0, 0);
  return runtime_report(L, status);
}

static int run_file(lua_State *L, const settings *cfg, const char *path) {
  if (path) {
    FILE *f = fopen(path, "r");
    if (!f) {
      log_msg(LOG_ERROR, "cannot open script %s: %s", path, strerror(errno));
      return EXIT_USAGE;
    }
    fclose(f);
  }
  int status = luaL_loadfile(L, path);  /* skips a #! line */
  if (status == LUA_OK) {
    int n = push_script_args(L, cfg);
    status = runtime_docall(L, n, 0);
  }
  return runtime_report(L, status);
}

static int run_command(lua_State *L, const settings *cfg) {
  char modname[128];
  snprintf(modname, sizeof modname, "pamsh.cmd.%s", cfg->target);
  const embedded_module *m = embedded_modules;
  while (m->name && strcmp(m->name, modname) != 0) m++;
  if (!m->name || strchr(cfg->target, '.')) {
    char cmds[512] = "";
    for (const embedded_module *e = embedded_modules; e->name; e++)
      if (strncmp(e->name, "pamsh.cmd.", 10) == 0 && strlen(cmds) + strlen(e->name) < sizeof cmds - 2)
        strcat(strcat(cmds, " "), e->name + 10);
    log_msg(LOG_ERROR, "unknown command '%s' (a script path needs a '/' or '.lua'); "
            "commands:%s", cfg->target, cmds);
    return EXIT_USAGE;
  }
  lua_getglobal(L, "require");
  lua_pushstring(L, modname);
  int status = runtime_docall(L, 1, 1);
  if (status != LUA_OK) return runtime_report(L, status);
  int n = push_script_args(L, cfg);
  status = runtime_docall(L, n, 1);
  if (status != LUA_OK) return runtime_report(L, status);
  int code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : EXIT_OK;
  lua_pop(L, 1);
  return code;
}

static int run(lua_State *L, const settings *cfg) {
  create_arg_table(L, cfg);

  /* the friendly layer is there for every script */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "pam");
  int status = runtime_docall(L, 1, 1);
  if (status != LUA_OK) return runtime_report(L, status);
  lua_setglobal(L, "pam");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "log");
  status = runtime_docall(L, 1, 1);
  if (status != LUA_OK) return runtime_report(L, status);
  lua_setglobal(L, "log");

  for (int i = 0; i < cfg->nchunks; i++) {
    int code = run_chunk(L, cfg->chunks[i]);
    if (code != EXIT_OK) return code;
  }
  switch (cfg->mode) {
  case RUN_CHUNKS_ONLY: return EXIT_OK;
  case RUN_SCRIPT: return run_file(L, cfg, cfg->target);
  case RUN_STDIN: return run_file(L, cfg, NULL);
  case RUN_COMMAND: return run_command(L, cfg);
  case RUN_REPL_OR_STDIN:
  default:
    if (isatty(STDIN_FILENO)) return repl_run(L, cfg);
    return run_file(L, cfg, NULL);
  }
}

int runtime_main(lua_State *L, const settings *cfg) {
  /* a closed pipe (pamsh ... | head) is an error on write, not a kill */
  signal(SIGPIPE, SIG_IGN);
  interrupt_install(L, 1);
  if (cfg->deadline > 0) interrupt_set_deadline(cfg->deadline);
  int code = run(L, cfg);
  /* a run stopped by a signal or the deadline: the script's own cleanup
   * (to-be-closed variables, error handlers) has run as the error
   * unwound; now the session ends too, well inside the grace period */
  if (interrupt_flag) lpam_logout(L);
  return code;
}
