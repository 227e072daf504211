/* Shared by the fuzz targets: one Lua state per process, with the
 * embedded modules, and a way to call a Lua function that must not fail. */
#ifndef OVERMIND_FUZZ_HARNESS_H
#define OVERMIND_FUZZ_HARNESS_H

#include "overmind/core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static lua_State *fuzz_L;

/* libFuzzer sees coverage of instrumented C only; the Lua VM (Debian's
 * liblua) is not, so Lua code would be fuzzed blind.  A line hook feeds
 * libFuzzer's extra counters with (chunk, line) pairs instead, which
 * guides mutation through the Lua parsers and providers too. */
#define LUA_COUNTERS (1 << 16)
__attribute__((section("__libfuzzer_extra_counters")))
static uint8_t lua_counters[LUA_COUNTERS];

static void line_hook(lua_State *L, lua_Debug *ar) {
  uintptr_t h;
  if (!lua_getinfo(L, "S", ar))
    return;
  h = ((uintptr_t)ar->source >> 4) * 2654435761u + (uintptr_t)ar->currentline;
  lua_counters[h % LUA_COUNTERS]++;
}

/* Creates the state and runs `setup` (Lua source that returns the function
 * each input is handed to), keeping that function in the registry. */
static lua_State *fuzz_state(const char *setup) {
  if (fuzz_L != NULL)
    return fuzz_L;
  fuzz_L = om_newstate();
  if (fuzz_L == NULL)
    abort();
  if (luaL_dostring(fuzz_L, setup) != LUA_OK) {
    fprintf(stderr, "fuzz setup: %s\n", lua_tostring(fuzz_L, -1));
    abort();
  }
  lua_setfield(fuzz_L, LUA_REGISTRYINDEX, "fuzz.target");
  return fuzz_L;
}

/* Calls the target with the bytes; a Lua error is a finding. */
static void fuzz_call(const char *data, size_t n) {
  lua_State *L = fuzz_L;
  static unsigned calls;
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.target");
  lua_pushlstring(L, data, n);
  lua_sethook(L, line_hook, LUA_MASKLINE, 0);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "Lua error on fuzz input: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_sethook(L, NULL, 0, 0);
  if (++calls % 256 == 0)
    lua_gc(L, LUA_GCCOLLECT);
}

#endif
