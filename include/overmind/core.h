/* The C core of Overmind, exposed to Lua as `overmind.core`.
 *
 * Each module below wraps one libuv handle kind (or one OS facility) as one
 * Lua userdata type.  C owns mechanisms; every decision about what an event
 * means is taken in Lua.  Public symbols are prefixed `om_`, internal ones
 * `om__`. */
#ifndef OVERMIND_CORE_H
#define OVERMIND_CORE_H

#include <lua.h>
#include <lauxlib.h>
#include <uv.h>

#define OM_VERSION "0.1.0"

/* The one loop of the process.  The CLI never runs it; the daemon and
 * scripts do. */
uv_loop_t *om_loop(void);

/* True once `core.close_loop()` ran: from then on handles are gone and the
 * __gc of a userdata must not touch libuv (only lua_close follows). */
int om_loop_closed(void);

/* Signal names and numbers: accepts 15, "TERM" or "SIGTERM". */
int om__checksignal(lua_State *L, int i);
const char *om__signame(int num);

/* A new Lua state with the standard libraries, lua-cjson, overmind.core
 * and the embedded Lua modules (src/state.c); NULL when out of memory. */
lua_State *om_newstate(void);

/* Closes a state made by om_newstate and frees its allocator's pool. */
void om_closestate(lua_State *L);

/* Opens `overmind.core` and leaves the module table on the stack. */
int luaopen_overmind_core(lua_State *L);

/* The single way into Lua from a libuv callback: calls the function below
 * its `nargs` arguments in a protected call with a traceback handler.
 * Errors are logged and swallowed (only LUA_ERRMEM aborts), so a faulty Lua
 * callback never takes the daemon down.  Returns the lua_pcall status. */
int om_pcall(lua_State *L, int nargs, int nresults);

/* The main thread's state, set once by luaopen_overmind_core.  libuv
 * callbacks carry no lua_State, so they use this one. */
lua_State *om_state(void);

/* Pushes the function kept under registry reference `ref` (or nothing and
 * returns 0 if ref is LUA_NOREF). */
int om_push_ref(lua_State *L, int ref);
void om_unref(lua_State *L, int *ref);

/* Errors from the operating system follow luv's convention: the function
 * returns nil, "ECODE: message", "ECODE".  `err` is a negative libuv
 * error code (-errno works too). */
int om_push_error(lua_State *L, int err);

/* Module registration, one per C file.  Each adds its functions to the
 * table on top of the stack and creates its metatables. */
void om__open_loop(lua_State *L);
void om__open_timer(lua_State *L);
void om__open_signal(lua_State *L);
void om__open_logfile(lua_State *L);
void om__open_proc(lua_State *L);
void om__open_server(lua_State *L);
void om__open_client(lua_State *L);
void om__open_fs(lua_State *L);
void om__open_sys(lua_State *L);
void om__open_tty(lua_State *L);
void om__open_readline(lua_State *L);
void om__open_json(lua_State *L);
void om__open_utf8(lua_State *L);
void om__open_json_encode(lua_State *L);

/* Shared helper for userdata metatables: creates metatable `name` with
 * `methods` in __index and `meta` as metamethods. */
void om__new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                   const luaL_Reg *meta);

#endif
