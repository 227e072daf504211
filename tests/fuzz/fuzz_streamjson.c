/* Fuzz target: the stream-json path of an agent's output.  Each line is
 * decoded in C (src/json.c), whole and with each provider's field
 * selection, and handed to the claude, codex and gemini providers' parse
 * and format, as the daemon does (lua/overmind/daemon/run.lua).  None
 * of it may raise on any input; a full decode must agree with lua-cjson
 * on what is JSON; a selected decode must be valid exactly when the full
 * one is and hold the full one's value for every member it selects. */
#include "harness.h"
#include "overmind/json.h"
#include "overmind/lines.h"

#include <string.h>

static const char *setup =
    "local core = require('overmind.core')\n"
    "local claude = require('overmind.providers.claude')\n"
    "local codex = require('overmind.providers.codex')\n"
    "local gemini = require('overmind.providers.gemini')\n"
    "local safe = require('cjson.safe')\n"
    "local providers = { claude, codex, gemini }\n"
    "local sels = {}\n"
    "for i, p in ipairs(providers) do\n"
    "  sels[i] = core.json_fields(p.fields)\n"
    "end\n"
    "local function same(a, b)\n"
    "  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end\n"
    "  for k, v in pairs(a) do if not same(v, b[k]) then return false end end\n"
    "  for k in pairs(b) do if a[k] == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "-- got is full decoded under fields (true: whole): an object keeps the\n"
    "-- selected members, each under its own fields; an array's elements are\n"
    "-- under the array's fields; anything else is as it is in full.  An\n"
    "-- array has integer keys only, an object string keys only.\n"
    "local function agree(fields, got, full, path)\n"
    "  if fields == true or type(full) ~= 'table' then\n"
    "    if not same(got, full) then error('selection changed ' .. path) end\n"
    "    return\n"
    "  end\n"
    "  if type(got) ~= 'table' then error('selection lost ' .. path) end\n"
    "  for k, v in pairs(full) do\n"
    "    local f = fields\n"
    "    if type(k) == 'string' then f = fields[k] end\n"
    "    if f then agree(f, got[k], v, path .. '.' .. tostring(k))\n"
    "    elseif got[k] ~= nil then\n"
    "      error('selection kept ' .. path .. '.' .. k)\n"
    "    end\n"
    "  end\n"
    "  for k in pairs(got) do\n"
    "    if full[k] == nil then\n"
    "      error('selection added ' .. path .. '.' .. tostring(k))\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return function(line)\n"
    "  local full = core.json_decode(line)\n"
    "  local theirs = safe.decode(line)\n"
    "  -- cjson accepts a few things JSON does not (leading zeros, hex,\n"
    "  -- inf); we must never accept what it rejects.\n"
    "  if theirs == nil and full ~= nil then error('accepted bad JSON') end\n"
    "  for i, p in ipairs(providers) do\n"
    "    local raw = core.json_decode(line, sels[i])\n"
    "    if (raw == nil) ~= (full == nil) then\n"
    "      error('selection changed validity')\n"
    "    end\n"
    "    if full ~= nil then agree(p.fields, raw, full, '') end\n"
    "    if type(raw) ~= 'table' then raw = nil end\n"
    "    local ev = p.parse(line, raw)\n"
    "    assert(type(ev) == 'table' and type(ev.type) == 'string', tostring(ev and ev.type) .. ' from ' .. line)\n"
    "    local text = p.format(ev)\n"
    "    assert(text == nil or type(text) == 'string')\n"
    "  end\n"
    "end\n";

/* The claude selection, compiled in C for the decode below. */
static om_json_fields_t *claude_sel;

/* The decoder reads the input's bytes and none past them (the daemon
 * decodes lines in place, in the read buffer): decoded once more from an
 * exact-size heap copy, where AddressSanitizer sees a read one byte past
 * the end (a Lua string has a NUL there). */
static void decode_exact(const char *line, size_t len) {
  lua_State *L = fuzz_L;
  char *copy = malloc(len > 0 ? len : 1);
  int top = lua_gettop(L);
  if (copy == NULL)
    abort();
  memcpy(copy, line, len);
  om_json_decode_fields(L, copy, len, NULL, NULL);
  om_json_decode_fields(L, copy, len, claude_sel, NULL);
  lua_settop(L, top);
  free(copy);
}

static void on_line(void *ud, const char *line, size_t len) {
  (void)ud;
  decode_exact(line, len);
  fuzz_call(line, len);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  om_lines_t f;
  lua_State *L = fuzz_state(setup);
  if (claude_sel == NULL) {
    if (luaL_dostring(L, "return require('overmind.providers.claude')"
                         ".fields") != LUA_OK ||
        (claude_sel = om_json_fields_new(L, -1)) == NULL)
      abort();
    lua_pop(L, 1);
  }
  om_lines_init(&f, 1 << 16, 1);
  om_lines_feed(&f, (const char *)data, size, on_line, NULL);
  om_lines_flush(&f, on_line, NULL);
  om_lines_free(&f);
  return 0;
}
