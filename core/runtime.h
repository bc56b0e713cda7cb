/* runtime.h - the Lua state: libraries, embedded modules, protected calls
 * with tracebacks, and the mapping of errors to exit codes. */
#ifndef PAMSH_RUNTIME_H
#define PAMSH_RUNTIME_H

#include <lua.h>
#include "config.h"

enum {
  EXIT_OK = 0,
  EXIT_SCRIPT = 1,
  EXIT_USAGE = 2,
  EXIT_AUTH = 3,
  EXIT_API = 4,
  EXIT_NETWORK = 5,
  EXIT_LOCKED = 75,
};

/* the embedded lua/ modules (generated at build time) */
typedef struct {
  const char *name;       /* module name, "pam" or "pamsh.cmd.version" */
  const char *chunkname;  /* "@lua/pam.lua" */
  const char *source;
  size_t len;
} embedded_module;
extern const embedded_module embedded_modules[];

lua_State *runtime_new(const settings *cfg);
void runtime_close(lua_State *L);

/* run the invocation described by cfg; returns the process exit code */
int runtime_main(lua_State *L, const settings *cfg);

/* call the function at the top with nargs arguments below it, under a
 * traceback message handler; LUA_OK or an error status with the error
 * value on the stack */
int runtime_docall(lua_State *L, int nargs, int nresults);
/* print the error at the top of the stack and return its exit code */
int runtime_report(lua_State *L, int status);

#endif
