/* prompt.h - ask the terminal for a secret without echoing it */
#ifndef PAMSH_PROMPT_H
#define PAMSH_PROMPT_H

/* Writes prompt to the controlling terminal (/dev/tty) and reads one line
 * with echo off.  malloc'd (the caller zeroes and frees), or NULL when
 * there is no terminal or on EOF. */
char *prompt_secret(const char *prompt);

#endif
