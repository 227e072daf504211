/* The Lua state every process of ours runs: the standard libraries,
 * lua-cjson, the C core, and a searcher for the Lua modules compiled into
 * the binary.  Shared by main() and the fuzz targets (tests/fuzz/). */
#include "overmind/alloc.h"
#include "overmind/core.h"
#include "overmind/embed.h"

#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);

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

/* An error outside any protected call (as luaL_newstate's panic). */
static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "overmind: unprotected error: %s\n",
          msg ? msg : "(not a string)");
  return 0; /* Lua aborts */
}

lua_State *om_newstate(void) {
  om_pool_t *pool = om_pool_new();
  lua_State *L = lua_newstate(om_pool_alloc, pool);
  if (L == NULL) {
    om_pool_free(pool);
    return NULL;
  }
  lua_atpanic(L, panic);
  luaL_openlibs(L);
  preload(L, "cjson", luaopen_cjson);
  preload(L, "cjson.safe", luaopen_cjson_safe);
  preload(L, "overmind.core", luaopen_overmind_core);
  install_searcher(L);
  return L;
}

void om_closestate(lua_State *L) {
  void *pool;
  lua_getallocf(L, &pool);
  lua_close(L);
  om_pool_free(pool);
}
