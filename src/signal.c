/* `overmind.signal`: a uv_signal_t as Lua userdata.
 *
 *   local s = core.signal("TERM", function(signame) ... end)
 *   s:close()
 *
 * libuv turns the signal into a loop event, so the callback runs in Lua
 * like any other.  SIGCHLD is libuv's own and is never watched here. */
#include "overmind/core.h"

#include <signal.h>
#include <string.h>

#define SIGNAL_MT "overmind.signal"

typedef struct {
  uv_signal_t handle;
  int self_ref;
  int cb_ref;
  int closed;
} om_signal_t;

static const struct {
  const char *name;
  int num;
} signames[] = {{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT},
                {"KILL", SIGKILL}, {"USR1", SIGUSR1},   {"USR2", SIGUSR2},
                {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM},
                {"CONT", SIGCONT}, {"STOP", SIGSTOP},   {"TSTP", SIGTSTP},
                {"WINCH", SIGWINCH}, {"CHLD", SIGCHLD}, {"ABRT", SIGABRT},
                {"SEGV", SIGSEGV}, {"BUS", SIGBUS},     {"FPE", SIGFPE},
                {"ILL", SIGILL},   {"TRAP", SIGTRAP},   {"TTIN", SIGTTIN},
                {"TTOU", SIGTTOU}, {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
                {"SYS", SIGSYS}};

/* Accepts 15, "TERM" or "SIGTERM". */
int om__checksignal(lua_State *L, int i) {
  const char *name;
  if (lua_type(L, i) == LUA_TNUMBER) {
    lua_Integer n = luaL_checkinteger(L, i);
    luaL_argcheck(L, n > 0 && n < 65, i, "invalid signal number");
    return (int)n;
  }
  name = luaL_checkstring(L, i);
  if (strncmp(name, "SIG", 3) == 0)
    name += 3;
  for (size_t k = 0; k < sizeof(signames) / sizeof(signames[0]); k++)
    if (strcmp(signames[k].name, name) == 0)
      return signames[k].num;
  return luaL_argerror(L, i, "unknown signal name");
}

const char *om__signame(int num) {
  for (size_t k = 0; k < sizeof(signames) / sizeof(signames[0]); k++)
    if (signames[k].num == num)
      return signames[k].name;
  return NULL;
}

static void signal_cb(uv_signal_t *h, int signum) {
  om_signal_t *s = h->data;
  lua_State *L = om_state();
  const char *name = om__signame(signum);
  if (om_push_ref(L, s->cb_ref)) {
    if (name)
      lua_pushstring(L, name);
    else
      lua_pushinteger(L, signum);
    om_pcall(L, 1, 0);
  }
}

static void close_watcher(om_signal_t *s);

static int signal_new(lua_State *L) {
  int signum = om__checksignal(L, 1);
  om_signal_t *s;
  int rc;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  luaL_argcheck(L, signum != SIGCHLD, 1, "SIGCHLD belongs to libuv");
  s = lua_newuserdatauv(L, sizeof(*s), 0);
  s->self_ref = s->cb_ref = LUA_NOREF;
  s->closed = 1;
  luaL_setmetatable(L, SIGNAL_MT);
  uv_signal_init(om_loop(), &s->handle);
  s->handle.data = s;
  s->closed = 0;
  lua_pushvalue(L, -1);
  s->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, 2);
  s->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  rc = uv_signal_start(&s->handle, signal_cb, signum);
  if (rc != 0) {
    /* Closed in C: a lua_call here would be a way into Lua that bypasses
     * om_pcall, for no gain. */
    close_watcher(s);
    return om_push_error(L, rc);
  }
  /* Signal watchers must not keep the loop alive on their own. */
  uv_unref((uv_handle_t *)&s->handle);
  return 1;
}

static void signal_close_cb(uv_handle_t *h) {
  om_signal_t *s = h->data;
  om_unref(om_state(), &s->self_ref);
}

/* Idempotent: serves close(), __close and __gc. */
static void close_watcher(om_signal_t *s) {
  if (!s->closed) {
    s->closed = 1;
    om_unref(om_state(), &s->cb_ref);
    uv_close((uv_handle_t *)&s->handle, signal_close_cb);
  }
}

static int signal_close(lua_State *L) {
  close_watcher(luaL_checkudata(L, 1, SIGNAL_MT));
  return 0;
}

/* At lua_close the loop is already closed: nothing left to release. */
static int signal_gc(lua_State *L) {
  om_signal_t *x = luaL_checkudata(L, 1, SIGNAL_MT);
  if (om_loop_closed())
    x->closed = 1;
  return signal_close(L);
}

static int signal_tostring(lua_State *L) {
  om_signal_t *s = luaL_checkudata(L, 1, SIGNAL_MT);
  lua_pushfstring(L, "overmind.signal (%p%s)", (void *)s,
                  s->closed ? ", closed" : "");
  return 1;
}

static int signal_number(lua_State *L) {
  lua_pushinteger(L, om__checksignal(L, 1));
  return 1;
}

void om__open_signal(lua_State *L) {
  static const luaL_Reg methods[] = {{"close", signal_close}, {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", signal_gc},
                                  {"__close", signal_close},
                                  {"__tostring", signal_tostring},
                                  {NULL, NULL}};
  om__new_class(L, SIGNAL_MT, methods, meta);
  lua_pushcfunction(L, signal_new);
  lua_setfield(L, -2, "signal");
  lua_pushcfunction(L, signal_number);
  lua_setfield(L, -2, "signum");
}
