/* `overmind.core`: the module table, the one way into Lua, and the shared
 * helpers every userdata module uses. */
#include "overmind/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lua_State *main_state;
static uv_loop_t *loop;

uv_loop_t *om_loop(void) {
  if (loop == NULL)
    loop = uv_default_loop();
  return loop;
}

lua_State *om_state(void) { return main_state; }

/* lua.c's msghandler: turns any error value into a message with a
 * traceback, so the daemon log says where a callback failed. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)",
                          luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Hands an error to Lua's `core.on_error` hook when the daemon installed
 * one (it writes daemon.log), else to stderr. */
static void report_error(lua_State *L, const char *msg) {
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "overmind.on_error");
  if (lua_isfunction(L, -1)) {
    lua_pushstring(L, msg);
    if (lua_pcall(L, 1, 0, 0) == LUA_OK) {
      lua_settop(L, top);
      return;
    }
  }
  lua_settop(L, top);
  fprintf(stderr, "overmind: %s\n", msg);
}

int om_pcall(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs; /* function index */
  int status;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  status = lua_pcall(L, nargs, nresults, base);
  lua_remove(L, base);
  if (status == LUA_ERRMEM) {
    fprintf(stderr, "overmind: out of memory in Lua\n");
    abort();
  }
  if (status != LUA_OK) {
    report_error(L, lua_tostring(L, -1));
    lua_pop(L, 1);
    /* Callers expecting results get nils. */
    for (int i = 0; i < nresults; i++)
      lua_pushnil(L);
  }
  return status;
}

int om_push_ref(lua_State *L, int ref) {
  if (ref == LUA_NOREF || ref == LUA_REFNIL)
    return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  return 1;
}

void om_unref(lua_State *L, int *ref) {
  if (*ref != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, *ref);
    *ref = LUA_NOREF;
  }
}

int om_push_error(lua_State *L, int err) {
  char buf[64];
  const char *name;
  if (err > 0)
    err = -err;
  /* uv_err_name() would malloc (and leak) a name for an unknown code. */
  name = uv_err_name_r(err, buf, sizeof(buf));
  lua_pushnil(L);
  if (strncmp(name, "Unknown", 7) == 0 && strerrorname_np(-err) != NULL) {
    /* An errno libuv has no name for (ECHILD, ...): ask libc. */
    name = strerrorname_np(-err);
    lua_pushfstring(L, "%s: %s", name, strerror(-err));
  } else {
    lua_pushfstring(L, "%s: %s", name, uv_strerror(err));
  }
  lua_pushstring(L, name);
  return 3;
}

void om__new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                   const luaL_Reg *meta) {
  luaL_newmetatable(L, name); /* [mt] */
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L); /* [mt, methods] */
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index"); /* [mt] */
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

/* Warnings (for instance errors raised inside __gc) go where errors go. */
static void warnf(void *ud, const char *msg, int tocont) {
  static char buf[1024];
  static size_t len;
  size_t n = strlen(msg);
  (void)ud;
  if (len + n >= sizeof(buf))
    n = sizeof(buf) - len - 1;
  memcpy(buf + len, msg, n);
  len += n;
  buf[len] = '\0';
  if (!tocont) {
    if (buf[0] != '@') /* control messages such as "@on" are ignored */
      report_error(main_state, buf);
    len = 0;
  }
}

static int core_on_error(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, "overmind.on_error");
  return 0;
}

int luaopen_overmind_core(lua_State *L) {
  static const luaL_Reg funcs[] = {{"on_error", core_on_error}, {NULL, NULL}};
  if (main_state == NULL) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    main_state = lua_tothread(L, -1);
    lua_pop(L, 1);
    lua_setwarnf(main_state, warnf, NULL);
  }
  lua_newtable(L);
  luaL_setfuncs(L, funcs, 0);
  lua_pushliteral(L, OM_VERSION);
  lua_setfield(L, -2, "version");
  om__open_loop(L);
  om__open_timer(L);
  om__open_signal(L);
  om__open_logfile(L);
  om__open_proc(L);
  om__open_server(L);
  om__open_client(L);
  om__open_fs(L);
  om__open_sys(L);
  om__open_tty(L);
  om__open_readline(L);
  om__open_json(L);
  om__open_utf8(L);
  om__open_json_encode(L);
  return 1;
}
