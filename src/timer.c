/* `overmind.timer`: a uv_timer_t as Lua userdata (luv src/timer.c).
 *
 *   local t = core.timer()
 *   t:start(timeout_ms, repeat_ms, function() ... end)
 *   t:stop(); t:close()
 *
 * While a timer is open, a registry reference to its userdata keeps it
 * alive; the close callback drops it (libuv: memory is released only after
 * the close callback). */
#include "overmind/core.h"

#define TIMER_MT "overmind.timer"

typedef struct {
  uv_timer_t handle;
  int self_ref; /* keeps the userdata alive while the handle is open */
  int cb_ref;
  int closed;
} om_timer_t;

static om_timer_t *check_timer(lua_State *L, int i) {
  om_timer_t *t = luaL_checkudata(L, i, TIMER_MT);
  luaL_argcheck(L, !t->closed, i, "timer is closed");
  return t;
}

static void timer_cb(uv_timer_t *h) {
  om_timer_t *t = h->data;
  lua_State *L = om_state();
  if (om_push_ref(L, t->cb_ref))
    om_pcall(L, 0, 0);
}

static int timer_new(lua_State *L) {
  om_timer_t *t = lua_newuserdatauv(L, sizeof(*t), 0);
  t->self_ref = t->cb_ref = LUA_NOREF;
  t->closed = 1; /* closed until the handle exists */
  luaL_setmetatable(L, TIMER_MT);
  uv_timer_init(om_loop(), &t->handle);
  t->handle.data = t;
  t->closed = 0;
  lua_pushvalue(L, -1);
  t->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

static int timer_start(lua_State *L) {
  om_timer_t *t = check_timer(L, 1);
  lua_Integer timeout = luaL_checkinteger(L, 2);
  lua_Integer rep = luaL_optinteger(L, 3, 0);
  luaL_checktype(L, 4, LUA_TFUNCTION);
  luaL_argcheck(L, timeout >= 0, 2, "negative timeout");
  luaL_argcheck(L, rep >= 0, 3, "negative repeat");
  om_unref(L, &t->cb_ref);
  lua_pushvalue(L, 4);
  t->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  uv_timer_start(&t->handle, timer_cb, (uint64_t)timeout, (uint64_t)rep);
  lua_settop(L, 1);
  return 1;
}

static int timer_stop(lua_State *L) {
  om_timer_t *t = luaL_checkudata(L, 1, TIMER_MT);
  if (!t->closed)
    uv_timer_stop(&t->handle);
  return 0;
}

static int timer_active(lua_State *L) {
  om_timer_t *t = luaL_checkudata(L, 1, TIMER_MT);
  lua_pushboolean(L, !t->closed && uv_is_active((uv_handle_t *)&t->handle));
  return 1;
}

static void timer_close_cb(uv_handle_t *h) {
  om_timer_t *t = h->data;
  lua_State *L = om_state();
  om_unref(L, &t->self_ref);
}

/* Idempotent; serves close, __gc and __close (liolib's f_gc). */
static int timer_close(lua_State *L) {
  om_timer_t *t = luaL_checkudata(L, 1, TIMER_MT);
  if (!t->closed) {
    t->closed = 1;
    om_unref(L, &t->cb_ref);
    uv_close((uv_handle_t *)&t->handle, timer_close_cb);
  }
  return 0;
}

/* At lua_close the loop is already closed: nothing left to release. */
static int timer_gc(lua_State *L) {
  om_timer_t *x = luaL_checkudata(L, 1, TIMER_MT);
  if (om_loop_closed())
    x->closed = 1;
  return timer_close(L);
}

static int timer_tostring(lua_State *L) {
  om_timer_t *t = luaL_checkudata(L, 1, TIMER_MT);
  lua_pushfstring(L, "overmind.timer (%p%s)", (void *)t,
                  t->closed ? ", closed" : "");
  return 1;
}

void om__open_timer(lua_State *L) {
  static const luaL_Reg methods[] = {{"start", timer_start},
                                     {"stop", timer_stop},
                                     {"active", timer_active},
                                     {"close", timer_close},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", timer_gc},
                                  {"__close", timer_close},
                                  {"__tostring", timer_tostring},
                                  {NULL, NULL}};
  om__new_class(L, TIMER_MT, methods, meta);
  lua_pushcfunction(L, timer_new);
  lua_setfield(L, -2, "timer");
}
