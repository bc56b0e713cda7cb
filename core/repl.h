/* repl.h - the interactive shell: pamsh with no script on a terminal */
#ifndef PAMSH_REPL_H
#define PAMSH_REPL_H

#include <lua.h>
#include "config.h"

/* Read, evaluate and print until Ctrl-D, .quit or SIGTERM, with line
 * editing (libedit), completion and a history file.  L has the pam
 * module loaded.  Returns the process exit code: 0 at the end of input,
 * 143 after SIGTERM, 124 when --deadline passes, os.exit's code never
 * gets here. */
int repl_run(lua_State *L, const settings *cfg);

#endif
