/* Fuzz target: the socket request decoder.  Bytes as a client would send
 * them go through the line framer of src/server.c (1 MiB cap, overflow is
 * an error) and each line through the daemon's request parsing
 * (overmind.daemon.server.parse_request), which must never raise and must
 * answer every line with a command or a reason.  The arguments then go
 * through the JSON encoder (src/json_encode.c) both ways, through the
 * mission options' check (overmind.options, what `run` validates with),
 * and every line through the `--since` parser of `events`. */
#include "harness.h"
#include "overmind/lines.h"

static const char *setup =
    "local server = require('overmind.daemon.server')\n"
    "local json = require('overmind.json')\n"
    "local options = require('overmind.options')\n"
    "local timefmt = require('overmind.timefmt')\n"
    "local function same(a, b)\n"
    /* a number past a double's range decodes to an infinity, which the
     * encoder writes as null (as it does NaN) */
    "  local function odd(x) return type(x) == 'number' and (x ~= x or x == math.huge or x == -math.huge) end\n"
    "  if (a == json.null and odd(b)) or (b == json.null and odd(a)) then return true end\n"
    "  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end\n"
    "  for k, v in pairs(a) do if not same(v, b[k]) then return false end end\n"
    "  for k in pairs(b) do if a[k] == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "return function(line)\n"
    "  local cmd, args = server.parse_request(line)\n"
    "  if cmd then\n"
    "    assert(type(cmd) == 'string' and type(args) == 'table')\n"
    /* the encoder on whatever a request can hold: byte for byte it reads
     * back the same; repaired it is always UTF-8 */
    "    assert(same(json.decode(json.encode_bytes(args)), args))\n"
    "    assert(utf8.len(json.encode(args)))\n"
    "    local ok, why = options.check(args)\n"
    "    assert(type(ok) == 'table' or (ok == nil and type(why) == 'string'))\n"
    "  else\n"
    "    assert(type(args) == 'string' and args ~= '')\n"
    "  end\n"
    "  local t = timefmt.parse_since(line, 1e9)\n"
    "  assert(t == nil or type(t) == 'number')\n"
    "end\n";

static void on_line(void *ud, const char *line, size_t len) {
  (void)ud;
  fuzz_call(line, len);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  om_lines_t f;
  fuzz_state(setup);
  /* A small cap so overflow is reachable with small inputs. */
  om_lines_init(&f, 4096, 0);
  /* Feed in two pieces, as two reads would arrive. */
  om_lines_feed(&f, (const char *)data, size / 2, on_line, NULL);
  om_lines_feed(&f, (const char *)data + size / 2, size - size / 2, on_line,
                NULL);
  om_lines_free(&f);
  return 0;
}
