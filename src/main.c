/* build/overmind: CLI, daemon, script runner and REPL in one binary.
 *
 * main() builds the Lua state (standard libraries, lua-cjson, the C core,
 * and a searcher for the Lua modules compiled into the binary) and hands
 * argv to `overmind.main`, which decides what this process is. */
#include "overmind/core.h"
#include "overmind/embed.h"

#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);

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

/* package.searchers entry: finds a module among the embedded sources. */
static int embedded_searcher(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  for (const om_embedded_t *e = om_embedded; e->name != NULL; e++) {
    if (strcmp(e->name, name) == 0) {
      if (luaL_loadbufferx(L, (const char *)e->data, e->len, e->chunk, "t") !=
          LUA_OK)
        return lua_error(L);
      lua_pushstring(L, e->chunk + 1);
      return 2;
    }
  }
  lua_pushfstring(L, "no embedded module '%s'", name);
  return 1;
}

/* With OVERMIND_LUA_PATH the files on disk win (development); otherwise
 * the embedded copy is found right after package.preload. */
static void install_searcher(lua_State *L) {
  const char *dir = getenv("OVERMIND_LUA_PATH");
  lua_Integer pos;
  lua_getglobal(L, "package"); /* [package] */
  if (dir != NULL && dir[0] != '\0') {
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir,
                    lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 1);
  }
  lua_getfield(L, -1, "searchers"); /* [package, searchers] */
  pos = luaL_len(L, -1) + 1;
  if (dir == NULL || dir[0] == '\0') {
    for (lua_Integer i = pos; i > 2; i--) {
      lua_rawgeti(L, -1, i - 1);
      lua_rawseti(L, -2, i);
    }
    pos = 2;
  }
  lua_pushcfunction(L, embedded_searcher);
  lua_rawseti(L, -2, pos);
  lua_pop(L, 2);
}

static void preload(lua_State *L, const char *name, lua_CFunction f) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, f);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
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
  L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "overmind: cannot create Lua state\n");
    return 1;
  }
  luaL_openlibs(L);
  preload(L, "cjson", luaopen_cjson);
  preload(L, "cjson.safe", luaopen_cjson_safe);
  preload(L, "overmind.core", luaopen_overmind_core);
  install_searcher(L);

  lua_pushcfunction(L, traceback);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "overmind.main");
  if (lua_pcall(L, 1, 1, 1) != LUA_OK) {
    fprintf(stderr, "overmind: %s\n", lua_tostring(L, -1));
    lua_close(L);
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
  lua_close(L);
  return code;
}
