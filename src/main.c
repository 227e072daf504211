/* build/overmind: CLI, daemon, script runner and REPL in one binary.
 *
 * main() builds the Lua state (src/state.c) and hands argv to
 * `overmind.main`, which decides what this process is. */
#include "overmind/core.h"

#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Trampoline for missions run in a PTY: libuv has made us a session leader
 * with the PTY slave on fds 0-2; adopt it as the controlling terminal (so
 * the line discipline delivers ^C and SIGWINCH) and become the program. */
static int pty_exec(int argc, char **argv) {
  if (argc < 4)
    return 127;
  ioctl(0, TIOCSCTTY, 0);
  execv(argv[2], argv + 3);
  perror(argv[2]);
  return 127;
}

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L;
  int code = 1;
  if (argc >= 2 && strcmp(argv[1], "--pty-exec") == 0)
    return pty_exec(argc, argv);
  /* A vanished reader must be an EPIPE, not the death of the daemon. */
  signal(SIGPIPE, SIG_IGN);
  L = om_newstate();
  if (L == NULL) {
    fprintf(stderr, "overmind: cannot create Lua state\n");
    return 1;
  }

  lua_pushcfunction(L, traceback);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "overmind.main");
  if (lua_pcall(L, 1, 1, 1) != LUA_OK) {
    fprintf(stderr, "overmind: %s\n", lua_tostring(L, -1));
    om_closestate(L);
    return 1;
  }
  /* [traceback, main] */
  lua_createtable(L, argc, 0);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i);
  }
  if (lua_pcall(L, 1, 1, 1) != LUA_OK) {
    fprintf(stderr, "overmind: %s\n", lua_tostring(L, -1));
  } else {
    code = (int)luaL_optinteger(L, -1, 0);
  }
  om_closestate(L);
  return code;
}
