/* repl.c - the interactive shell, in the manner of lua.c's: a line is
 * first tried as "return <line>" (an expression, whose values are
 * printed), then as statements; a chunk that ends too early continues on
 * a second prompt.  libedit edits the lines.
 *
 * This file owns the terminal, the signals and the history file;
 * lua/repl.lua does the banner, the dot commands, the printing (with
 * lua/pretty.lua), the completion candidates and the decision which lines
 * may be written to the history file.
 *
 * Every Lua call runs under lua_pcall: the whole loop is a C function
 * called in protected mode, and each step that runs user code (or code
 * the user can break: _PROMPT's __tostring, a broken error object) has a
 * pcall of its own, so that no error ends the shell or unwinds through
 * libedit. */
#include "repl.h"

#include <errno.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>
#include <editline/readline.h>
#include <lauxlib.h>

#include "interrupt.h"
#include "runtime.h"

#define HISTORY_MAX 1000       /* lines kept, in the file and in memory */
#define REPL_KEY "pamsh.repl"  /* registry: the lua/repl.lua module */
#define PROMPT1 "pamsh> "
#define PROMPT2 "  ...> "      /* as wide as PROMPT1: continued lines align */
#define CHUNKNAME "=stdin"
#define EOFMARK "<eof>"

/* Characters that end the word Tab completes.  Not ".", ":" (fields and
 * methods: pam.core.se<Tab>) nor "/" (REST paths: "/rest/fo<Tab>"); the
 * quotes are, so that a path inside a string is a word of its own. */
static char word_breaks[] = " \t\n\"'`@$><=;|&{(,)}[]+-*%^~#\\";

typedef struct {
  const settings *cfg;
  int code;          /* the exit code once the loop ends */
} repl_ctx;

static lua_State *repl_L;    /* for the completion callback */
static char *history_path;   /* NULL: no history file */
static char *last_entry;     /* the newest history entry: no repeats */
static char *pending_line;   /* a line from readline not yet in Lua */
static int history_warned;

enum { LINE_OK, LINE_EOF, LINE_CANCEL, LINE_STOP, LINE_COMMAND };

/* ---- Lua helpers ---------------------------------------------------- */

/* push repl.<name> (lua/repl.lua) */
static void push_repl_fn(lua_State *L, const char *name) {
  lua_getfield(L, LUA_REGISTRYINDEX, REPL_KEY);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
}

/* Errors as the shell shows them.  Our error objects ({kind = ...})
 * travel unchanged and become one line; anything else gets the message
 * and a traceback, without the frames of the shell itself. */
static int msghandler(lua_State *L) {
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
  size_t n;
  const char *tb = lua_tolstring(L, -1, &n);
  static const char tail[] = "\n\t[C]: in ?";
  size_t cut = n;
  while (cut >= sizeof tail - 1 && memcmp(tb + cut - (sizeof tail - 1), tail, sizeof tail - 1) == 0)
    cut -= sizeof tail - 1;
  if (cut != n) lua_pushlstring(L, tb, cut);
  return 1;
}

static int docall(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, nargs, nresults, base);
  lua_remove(L, base);
  return status;
}

/* print the error value at the top (and pop it) */
static void report(lua_State *L) {
  /* a signal that stopped the command may have left the hook armed; it
   * was meant for the command, not for saying what happened to it */
  lua_sethook(L, NULL, 0, 0);
  push_repl_fn(L, "error_text");
  lua_insert(L, -2);
  const char *text = NULL;
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) text = lua_tostring(L, -1);
  fflush(stdout);
  fprintf(stderr, "%s\n", text ? text : "error (and another while showing it)");
  fflush(stderr);
  lua_pop(L, 1);
}

/* ---- history file --------------------------------------------------- */

static void history_warn(const char *what, const char *path) {
  if (history_warned++) return;
  fprintf(stderr, "pamsh: history not saved: %s %s: %s\n", what, path, strerror(errno));
}

/* $XDG_STATE_HOME/pamsh/history, else ~/.local/state/pamsh/history; a
 * relative XDG_STATE_HOME is ignored, as the XDG spec says */
static char *history_file(void) {
  char *path = NULL;
  const char *xdg = getenv("XDG_STATE_HOME");
  if (xdg && xdg[0] == '/') {
    if (asprintf(&path, "%s/pamsh/history", xdg) < 0) return NULL;
    return path;
  }
  const char *home = getenv("HOME");
  if (!home || home[0] != '/') {
    struct passwd *pw = getpwuid(getuid());
    home = pw ? pw->pw_dir : NULL;
  }
  if (!home) return NULL;
  if (asprintf(&path, "%s/.local/state/pamsh/history", home) < 0) return NULL;
  return path;
}

/* create the directories above path that are missing, each 0700 (the
 * XDG state directory and ours hold nobody else's business) */
static int make_parents(const char *path) {
  char *dir = strdup(path);
  if (!dir) return -1;
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) {
    free(dir);
    return 0;
  }
  *slash = '\0';
  int rc = 0;
  for (char *p = dir + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir(dir, 0700) != 0 && errno != EEXIST) rc = -1;
      *p = c;
      if (c == '\0') break;
    }
  }
  struct stat st;
  if (rc == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) rc = -1;
  free(dir);
  return rc;
}

typedef struct {
  char *line[HISTORY_MAX];
  size_t first, count;  /* a ring of the newest HISTORY_MAX lines */
} line_ring;

/* takes ownership of s */
static void ring_push(line_ring *r, char *s) {
  if (r->count < HISTORY_MAX) {
    r->line[(r->first + r->count++) % HISTORY_MAX] = s;
  } else {
    free(r->line[r->first]);
    r->line[r->first] = s;
    r->first = (r->first + 1) % HISTORY_MAX;
  }
}

static void ring_free(line_ring *r) {
  for (size_t i = 0; i < r->count; i++) free(r->line[(r->first + i) % HISTORY_MAX]);
  r->count = 0;
}

static char *ring_at(line_ring *r, size_t i) {
  return r->line[(r->first + i) % HISTORY_MAX];
}

/* the newest HISTORY_MAX non-empty lines of the file (none if missing) */
static int ring_read(line_ring *r, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return errno == ENOENT ? 0 : -1;
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n;
  int rc = 0;
  while ((n = getline(&buf, &cap, f)) >= 0) {
    if (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
    if (n == 0) continue;
    char *copy = strdup(buf);
    if (!copy) {
      rc = -1;
      break;
    }
    ring_push(r, copy);
  }
  free(buf);
  fclose(f);
  return rc;
}

static void history_load(void) {
  if (!history_path) return;
  /* a file left readable by others (an older tool, a copy) is fixed
   * before anything is added to it */
  struct stat st;
  if (stat(history_path, &st) == 0 && (st.st_mode & 077) && st.st_uid == getuid())
    chmod(history_path, 0600);
  line_ring *r = calloc(1, sizeof *r);
  if (!r) return;
  if (ring_read(r, history_path) != 0) history_warn("cannot read", history_path);
  for (size_t i = 0; i < r->count; i++) add_history(ring_at(r, i));
  if (r->count) {
    free(last_entry);
    last_entry = strdup(ring_at(r, r->count - 1));
  }
  ring_free(r);
  free(r);
}

/* Add entry (one or more lines) to the file, keeping its newest
 * HISTORY_MAX lines.  The file is re-read each time, so that two shells
 * open at once both keep their lines, and replaced by a new file written
 * next to it: mkstemp creates it 0600, and rename() swaps it in whole, so
 * neither a crash nor a full disk leaves a readable or half-written
 * history behind. */
static void history_save(const char *entry) {
  if (!history_path) return;
  if (make_parents(history_path) != 0) {
    history_warn("cannot create the directory of", history_path);
    return;
  }
  line_ring *r = calloc(1, sizeof *r);
  char *tmp = NULL;
  if (!r) return;
  if (ring_read(r, history_path) != 0) {
    history_warn("cannot read", history_path);
    goto done;
  }
  for (const char *p = entry; *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len > 0) {
      char *copy = strndup(p, len);
      if (!copy) goto done;
      ring_push(r, copy);
    }
    p += len + (nl ? 1 : 0);
  }
  if (asprintf(&tmp, "%s.XXXXXX", history_path) < 0) {
    tmp = NULL;
    goto done;
  }
  int fd = mkstemp(tmp);
  if (fd < 0) {
    history_warn("cannot create a file next to", history_path);
    goto done;
  }
  FILE *out = fdopen(fd, "w");
  if (!out) {
    close(fd);
    unlink(tmp);
    history_warn("cannot write", tmp);
    goto done;
  }
  int bad = fchmod(fd, 0600) != 0;
  for (size_t i = 0; i < r->count && !bad; i++)
    bad = fputs(ring_at(r, i), out) == EOF || fputc('\n', out) == EOF;
  bad |= fflush(out) != 0 || fsync(fd) != 0;
  bad |= fclose(out) != 0;
  if (bad || rename(tmp, history_path) != 0) {
    history_warn("cannot write", history_path);
    unlink(tmp);
  }
done:
  free(tmp);
  ring_free(r);
  free(r);
}

/* the chunk at index idx: into the session's history (up-arrow), and
 * into the file unless repl.history_ok says it holds a secret.  The same
 * chunk twice in a row is kept once. */
static void history_add(lua_State *L, int idx) {
  const char *entry = lua_tostring(L, idx);
  if (!entry || !entry[strspn(entry, " \t\n")]) return;
  if (last_entry && strcmp(last_entry, entry) == 0) return;
  add_history(entry);
  free(last_entry);
  last_entry = strdup(entry);
  push_repl_fn(L, "history_ok");
  lua_pushvalue(L, idx);
  int ok = lua_pcall(L, 1, 1, 0) == LUA_OK && lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (ok) history_save(entry);
}

/* ---- the terminal --------------------------------------------------- */

/* One byte from the terminal, or EOF when the input ends or a signal
 * (Ctrl-C, SIGTERM, the deadline) has set interrupt_flag.  The signals
 * are blocked between the test of the flag and the wait (pselect), so a
 * Ctrl-C cannot slip in between and be noticed only one key later. */
static int read_byte(void) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGALRM);
  for (;;) {
    sigprocmask(SIG_BLOCK, &block, &old);
    if (interrupt_flag) {
      sigprocmask(SIG_SETMASK, &old, NULL);
      return EOF;
    }
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(STDIN_FILENO, &rd);
    int n = pselect(STDIN_FILENO + 1, &rd, NULL, NULL, NULL, &old);
    int err = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (n < 0) {
      if (err == EINTR) continue;  /* the flag is looked at again */
      return EOF;
    }
    unsigned char c;
    ssize_t r = read(STDIN_FILENO, &c, 1);
    if (r == 1) return c;
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return EOF;
  }
}

/* libedit's key reader (rl_getc_function): a whole character, decoded
 * from the locale's multibyte encoding (UTF-8), as libedit's own reader
 * would */
static int read_key(FILE *f) {
  (void)f;
  mbstate_t st;
  memset(&st, 0, sizeof st);
  for (;;) {
    int b = read_byte();
    if (b == EOF || b < 0x80 || MB_CUR_MAX == 1) return b;
    char c = (char)b;
    wchar_t wc;
    size_t r = mbrtowc(&wc, &c, 1, &st);
    if (r == (size_t)-2) continue;            /* more bytes to come */
    if (r == (size_t)-1) {                    /* not a character: skip it */
      memset(&st, 0, sizeof st);
      continue;
    }
    return (int)wc;
  }
}

typedef struct {
  const char *word;
  const char *line;   /* the line being edited */
  size_t before;      /* bytes of it before the word */
  char **matches;  /* [0] the replacement, [1..n] the candidates, NULL */
  size_t n;
} completion;

static int complete_lua(lua_State *L) {
  completion *c = lua_touserdata(L, 1);
  push_repl_fn(L, "complete");
  lua_pushstring(L, c->word);
  lua_pushlstring(L, c->line, c->before);
  lua_call(L, 2, 1);
  if (!lua_istable(L, -1)) return 0;
  lua_Unsigned n = lua_rawlen(L, -1);
  if (n == 0) return 0;
  if (n > 10000) n = 10000;
  c->matches = calloc(n + 2, sizeof *c->matches);
  if (!c->matches) return 0;
  for (lua_Unsigned i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i);
    const char *s = lua_tostring(L, -1);
    if (s) {
      char *copy = strdup(s);
      if (!copy) break;
      c->matches[++c->n] = copy;
    }
    lua_pop(L, 1);
  }
  return 0;
}

static void free_matches(char **m) {
  if (!m) return;
  for (size_t i = 0; m[i] || i == 0; i++) free(m[i]);
  free(m);
}

/* How many bytes of line come before the word being completed, which
 * starts at character start.  libedit counts characters (it decodes
 * UTF-8) while rl_line_buffer holds bytes, so the UTF-8 lead bytes are
 * counted; if that does not land on the word (another encoding), its
 * last occurrence is taken.  What comes before the word tells repl.lua
 * whether the word is inside a string. */
static size_t bytes_before(const char *line, const char *word, int start) {
  size_t len = strlen(line), wlen = strlen(word), pos = 0;
  for (int chars = 0; pos < len; pos++) {
    if (((unsigned char)line[pos] & 0xC0) == 0x80) continue;
    if (chars++ == start) break;
  }
  if (pos + wlen <= len && strncmp(line + pos, word, wlen) == 0) return pos;
  size_t found = 0;
  for (const char *p = line; wlen && (p = strstr(p, word)) != NULL; p++) found = (size_t)(p - line);
  return found;
}

/* rl_attempted_completion_function: candidates from repl.complete, never
 * libedit's default of file names */
static char **complete(const char *word, int start, int end) {
  (void)end;
  rl_attempted_completion_over = 1;
  lua_State *L = repl_L;
  if (!L) return NULL;
  const char *line = rl_line_buffer ? rl_line_buffer : "";
  completion c = {word, line, bytes_before(line, word, start), NULL, 0};
  int top = lua_gettop(L);
  lua_pushcfunction(L, complete_lua);
  lua_pushlightuserdata(L, &c);
  int status = lua_pcall(L, 1, 0, 0);
  lua_settop(L, top);
  if (status != LUA_OK || c.n == 0) {
    free_matches(c.matches);
    return NULL;
  }
  /* the word becomes what all candidates share */
  size_t common = strlen(c.matches[1]);
  for (size_t i = 2; i <= c.n; i++) {
    size_t j = 0;
    while (j < common && c.matches[i][j] == c.matches[1][j]) j++;
    common = j;
  }
  c.matches[0] = strndup(c.matches[1], common);
  if (!c.matches[0]) {
    free_matches(c.matches);
    return NULL;
  }
  return c.matches;
}

/* The stream libedit draws the prompt and the line on: standard output,
 * unless that is not a terminal (pamsh | tee log) and standard error is,
 * as Python's shell does; results still go to standard output.  libedit
 * on a stream that is no terminal neither prompts nor edits. */
static FILE *editor_stream(void) {
  if (!isatty(STDOUT_FILENO) && isatty(STDERR_FILENO)) return stderr;
  return stdout;
}

static void editor_init(void) {
  rl_outstream = editor_stream();
  rl_readline_name = "pamsh";   /* for "pamsh:" lines in ~/.editrc */
  rl_getc_function = read_key;
  rl_attempted_completion_function = complete;
  rl_basic_word_break_characters = word_breaks;
  rl_completer_word_break_characters = word_breaks;
  rl_completion_append_character = '\0';
  /* libedit's signal handling stays on: it puts the terminal back before
   * SIGTSTP and SIGINT reach their handlers, and redraws after SIGCONT
   * and SIGWINCH.  Our SIGINT handler (interrupt.c) runs after it. */
  rl_catch_signals = 1;
  rl_initialize();
  stifle_history(HISTORY_MAX);
}

/* ---- reading chunks --------------------------------------------------- */

static int prompt_lua(lua_State *L) {
  int first = lua_toboolean(L, 1);
  if (lua_getglobal(L, first ? "_PROMPT" : "_PROMPT2") == LUA_TNIL)
    lua_pushstring(L, first ? PROMPT1 : PROMPT2);
  else
    luaL_tolstring(L, -1, NULL);
  return 1;
}

/* read one line with the first or the second prompt; on LINE_OK it is
 * pushed */
static int read_line(lua_State *L, int first) {
  lua_pushcfunction(L, prompt_lua);
  lua_pushboolean(L, first);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushstring(L, first ? PROMPT1 : PROMPT2);
  }
  fflush(stdout);
  fflush(stderr);
  /* Raw mode before the prompt: libedit as Debian builds it prints the
   * prompt first and switches the terminal only when it reads the first
   * key, so keys typed in between were echoed twice (by the terminal and
   * by libedit) and a Ctrl-C there showed as "^C^C". */
  rl_prep_terminal(1);
  pending_line = readline(lua_tostring(L, -1));
  lua_pop(L, 1);
  if (!pending_line) {
    if (interrupt_flag == SIGINT) {
      fputs("^C\n", rl_outstream);
      return LINE_CANCEL;
    }
    if (interrupt_flag) return LINE_STOP;
    fputs("\n", rl_outstream);
    return LINE_EOF;
  }
  if (interrupt_flag && interrupt_flag != SIGINT) {
    free(pending_line);
    pending_line = NULL;
    return LINE_STOP;
  }
  lua_pushstring(L, pending_line);
  free(pending_line);
  pending_line = NULL;
  return LINE_OK;
}

/* a syntax error that only says the chunk ended too early */
static int incomplete(lua_State *L, int status) {
  if (status != LUA_ERRSYNTAX) return 0;
  size_t n;
  const char *msg = lua_tolstring(L, -1, &n);
  size_t m = sizeof EOFMARK - 1;
  return msg && n >= m && strcmp(msg + n - m, EOFMARK) == 0;
}

/* Read a chunk.  LINE_OK: the stack holds the chunk's text and, above
 * it, the compiled function or (*status not LUA_OK) the syntax error.
 * LINE_COMMAND: the stack holds the line (".help").  Otherwise nothing is
 * left on the stack. */
static int read_chunk(lua_State *L, int *status) {
  int r = read_line(L, 1);
  if (r != LINE_OK) return r;
  size_t len;
  const char *line = lua_tolstring(L, -1, &len);
  const char *p = line + strspn(line, " \t");
  if (p[0] == '.' && ((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z')))
    return LINE_COMMAND;
  /* an expression: its values are printed */
  const char *ret = lua_pushfstring(L, "return %s;", line);
  if (luaL_loadbuffer(L, ret, strlen(ret), CHUNKNAME) == LUA_OK) {
    lua_remove(L, -2);
    *status = LUA_OK;
    return LINE_OK;
  }
  lua_pop(L, 2);
  /* statements, maybe over several lines */
  for (;;) {
    const char *text = lua_tolstring(L, -1, &len);
    *status = luaL_loadbuffer(L, text, len, CHUNKNAME);
    if (!incomplete(L, *status)) return LINE_OK;
    r = read_line(L, 0);
    if (r == LINE_EOF) return LINE_OK;   /* Ctrl-D: show why it is incomplete */
    if (r != LINE_OK) {
      lua_pop(L, 2);
      return r;
    }
    lua_remove(L, -2);               /* the syntax error */
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* ---- the loop ----------------------------------------------------------- */

/* after a command: SIGTERM or the deadline end the shell */
static int stopping(repl_ctx *ctx) {
  if (!interrupt_flag || interrupt_flag == SIGINT) return 0;
  ctx->code = interrupt_exit_code();
  return 1;
}

/* one prompt, one chunk: 0 when the shell ends */
static int step(lua_State *L, repl_ctx *ctx) {
  lua_settop(L, 0);
  interrupt_reset();
  int status = LUA_OK;
  int r = read_chunk(L, &status);
  switch (r) {
  case LINE_EOF:
    ctx->code = EXIT_OK;
    return 0;
  case LINE_STOP:
    lua_settop(L, 0);
    interrupt_push_error(L);
    report(L);
    ctx->code = interrupt_exit_code();
    return 0;
  case LINE_CANCEL:
    return 1;
  case LINE_COMMAND:
    history_add(L, 1);
    interrupt_reset();
    push_repl_fn(L, "command");
    lua_pushvalue(L, 1);
    if (docall(L, 1, 1) != LUA_OK) {
      report(L);
      return !stopping(ctx);
    }
    if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "quit") == 0) {
      ctx->code = EXIT_OK;
      return 0;
    }
    return !stopping(ctx);
  default:
    break;
  }
  /* stack: text, function or syntax error */
  history_add(L, 1);
  if (status != LUA_OK) {
    report(L);
    return 1;
  }
  lua_remove(L, 1);
  interrupt_reset();  /* a Ctrl-C typed while the line was read is spent */
  if (docall(L, 0, LUA_MULTRET) != LUA_OK) {
    report(L);
    return !stopping(ctx);
  }
  int n = lua_gettop(L);
  if (n > 0) {
    luaL_checkstack(L, 2, "too many results to print");
    push_repl_fn(L, "show");
    lua_insert(L, 1);
    if (docall(L, n, 0) != LUA_OK) report(L);
  }
  return !stopping(ctx);
}

static int repl_main(lua_State *L) {
  repl_ctx *ctx = lua_touserdata(L, 1);
  lua_settop(L, 0);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "repl");
  lua_call(L, 1, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, REPL_KEY);

  push_repl_fn(L, "setup");
  lua_createtable(L, 0, 3);
  lua_pushstring(L, ctx->cfg->login ? ctx->cfg->login : "azure");
  lua_setfield(L, -2, "login");
  if (ctx->cfg->user) {
    lua_pushstring(L, ctx->cfg->user);
    lua_setfield(L, -2, "user");
  }
  if (history_path) {
    lua_pushstring(L, history_path);
    lua_setfield(L, -2, "history");
  }
  lua_call(L, 1, 0);

  push_repl_fn(L, "banner");
  if (docall(L, 0, 0) != LUA_OK) report(L);

  editor_init();
  history_load();
  while (step(L, ctx)) {}
  return 0;
}

int repl_run(lua_State *L, const settings *cfg) {
  /* the terminal's encoding, so that libedit edits UTF-8 text by
   * characters; only LC_CTYPE: numbers keep their "." */
  setlocale(LC_CTYPE, "");
  /* Ctrl-C stops the command, not the shell: no hard stop */
  interrupt_install(L, 0);
  repl_ctx ctx = {cfg, EXIT_OK};
  history_path = history_file();
  repl_L = L;
  lua_pushcfunction(L, repl_main);
  lua_pushlightuserdata(L, &ctx);
  int status = runtime_docall(L, 1, 0);
  repl_L = NULL;
  clear_history();
  free(pending_line);
  free(history_path);
  free(last_entry);
  pending_line = history_path = last_entry = NULL;
  fflush(stdout);
  if (status != LUA_OK) return runtime_report(L, status);
  return ctx.code;
}
