/* Fuzz target: the stream-json path of an agent's output.  Each line is
 * decoded in C (src/json.c), with and without the claude provider's field
 * selection, and handed to the claude provider's parse and format, as the
 * daemon does (lua/overmind/daemon/run.lua).  None of it may raise on
 * any input; a full decode must agree with lua-cjson on what is JSON. */
#include "harness.h"
#include "overmind/json.h"
#include "overmind/lines.h"

static const char *setup =
    "local core = require('overmind.core')\n"
    "local claude = require('overmind.providers.claude')\n"
    "local codex = require('overmind.providers.codex')\n"
    "local gemini = require('overmind.providers.gemini')\n"
    "local safe = require('cjson.safe')\n"
    "local sel = core.json_fields(claude.fields)\n"
    "return function(line)\n"
    "  local full = core.json_decode(line)\n"
    "  local theirs = safe.decode(line)\n"
    "  -- cjson accepts a few things JSON does not (leading zeros, hex,\n"
    "  -- inf); we must never accept what it rejects.\n"
    "  if theirs == nil and full ~= nil then error('accepted bad JSON') end\n"
    "  local raw = core.json_decode(line, sel)\n"
    "  if (raw == nil) ~= (full == nil) then error('selection changed validity') end\n"
    "  for _, p in ipairs({ claude, codex, gemini }) do\n"
    "    local r = p == claude and raw or full\n"
    "    if type(r) ~= 'table' then r = nil end\n"
    "    local ev = p.parse(line, r)\n"
    "    assert(type(ev) == 'table' and type(ev.type) == 'string', tostring(ev and ev.type) .. ' from ' .. line)\n"
    "    local text = p.format(ev)\n"
    "    assert(text == nil or type(text) == 'string')\n"
    "  end\n"
    "end\n";

static void on_line(void *ud, const char *line, size_t len) {
  (void)ud;
  fuzz_call(line, len);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  om_lines_t f;
  fuzz_state(setup);
  om_lines_init(&f, 1 << 16, 1);
  om_lines_feed(&f, (const char *)data, size, on_line, NULL);
  om_lines_flush(&f, on_line, NULL);
  om_lines_free(&f);
  return 0;
}
