/* Fuzz target: the TOML reader of blueprints (lua/overmind/toml.lua) and
 * the blueprint validation behind it.  Whatever the text, parse returns a
 * table or nil and "invalid TOML at line <n>: ..."; it never raises. */
#include "harness.h"

static const char *setup =
    "local toml = require('overmind.toml')\n"
    "local blueprint = require('overmind.blueprint')\n"
    "return function(text)\n"
    "  local doc, err = toml.parse(text)\n"
    "  if doc == nil then\n"
    "    assert(type(err) == 'string' and\n"
    "      err:match('^invalid TOML at line %d+: '), tostring(err))\n"
    "    return\n"
    "  end\n"
    "  assert(type(doc) == 'table')\n"
    "  local agents, verr = blueprint.validate(doc, 'fuzz.toml', text)\n"
    "  assert(agents ~= nil or type(verr) == 'string')\n"
    "end\n";

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  fuzz_state(setup);
  fuzz_call((const char *)data, size);
  return 0;
}
