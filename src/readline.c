/* Line editing and history for `overmind repl`, through libedit's
 * readline interface (Debian's libedit-dev; BSD-licensed).
 *
 *   core.readline(prompt) -> line | nil at end of input
 *   core.add_history(line); core.read_history(path); core.write_history(path)
 */
#include "overmind/core.h"

#include <stdio.h>
#include <stdlib.h>

#include <editline/readline.h>

static int rl_readline(lua_State *L) {
  const char *prompt = luaL_optstring(L, 1, "> ");
  char *line = readline(prompt);
  if (line == NULL) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushstring(L, line);
  free(line);
  return 1;
}

static int rl_add_history(lua_State *L) {
  add_history(luaL_checkstring(L, 1));
  return 0;
}

static int rl_read_history(lua_State *L) {
  lua_pushboolean(L, read_history(luaL_checkstring(L, 1)) == 0);
  return 1;
}

static int rl_write_history(lua_State *L) {
  lua_pushboolean(L, write_history(luaL_checkstring(L, 1)) == 0);
  return 1;
}

void om__open_readline(lua_State *L) {
  static const luaL_Reg funcs[] = {{"readline", rl_readline},
                                   {"add_history", rl_add_history},
                                   {"read_history", rl_read_history},
                                   {"write_history", rl_write_history},
                                   {NULL, NULL}};
  luaL_setfuncs(L, funcs, 0);
}
