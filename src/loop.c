/* The event loop as seen from Lua: run, stop, clocks, and the shutdown
 * that closes every handle before the Lua state goes away. */
#include "overmind/core.h"

#include <sys/time.h>

static int loop_closed;

int om_loop_closed(void) { return loop_closed; }

static int loop_run(lua_State *L) {
  const char *mode = luaL_optstring(L, 1, "default");
  uv_run_mode m = UV_RUN_DEFAULT;
  if (mode[0] == 'o')
    m = UV_RUN_ONCE;
  else if (mode[0] == 'n')
    m = UV_RUN_NOWAIT;
  lua_pushboolean(L, uv_run(om_loop(), m));
  return 1;
}

static int loop_stop(lua_State *L) {
  (void)L;
  uv_stop(om_loop());
  return 0;
}

/* Monotonic milliseconds, fresh (not the loop's cached time). */
static int loop_now(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)(uv_hrtime() / 1000000));
  return 1;
}

static int loop_hrtime(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)uv_hrtime());
  return 1;
}

/* Wall clock, seconds as a float. */
static int loop_time(lua_State *L) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  lua_pushnumber(L, (lua_Number)tv.tv_sec + (lua_Number)tv.tv_usec / 1e6);
  return 1;
}

static void close_walk_cb(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) {
    /* Lua closed what it owns through each module's close path; what is
     * still open (a mission killed at shutdown, the resume timers of
     * src/proc.c) is closed without a callback: its memory belongs to a
     * userdata or a static that outlives the loop, and the modules' __gc
     * no longer touch libuv once om_loop_closed() is true. */
    uv_close(h, NULL);
  }
}

/* Shutdown order (tmux, libuv docs): Lua has closed what it owns; close
 * whatever remains, run the loop until every close callback ran, then close
 * the loop.  Only after this may the Lua state be closed. */
static int loop_close(lua_State *L) {
  uv_loop_t *loop = om_loop();
  int rc;
  uv_run(loop, UV_RUN_NOWAIT);
  uv_walk(loop, close_walk_cb, NULL);
  while ((rc = uv_loop_close(loop)) == UV_EBUSY)
    uv_run(loop, UV_RUN_ONCE);
  loop_closed = 1;
  lua_pushboolean(L, rc == 0);
  return 1;
}

static int loop_alive(lua_State *L) {
  lua_pushboolean(L, uv_loop_alive(om_loop()));
  return 1;
}

void om__open_loop(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"run", loop_run},     {"stop", loop_stop}, {"now", loop_now},
      {"hrtime", loop_hrtime}, {"time", loop_time}, {"close_loop", loop_close},
      {"loop_alive", loop_alive}, {NULL, NULL}};
  luaL_setfuncs(L, funcs, 0);
}
