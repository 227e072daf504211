-- Printing for commands: results to stdout, `Error: <reason>` to stderr.
local json = require("overmind.json")

local M = {}

function M.fail(reason, code)
  io.stderr:write("Error: ", tostring(reason), "\n")
  return code or 1
end

function M.print(...)
  io.stdout:write(...)
  io.stdout:write("\n")
end

-- Re-encodes a reply for printing, keeping arrays arrays: the daemon's
-- `[]` decodes to an empty table, which must print as `[]` again.
local ARRAY_FIELDS = { children = true, files = true, ids = true,
                       removed = true, killed = true,
                       permission_denials = true }

local function fix(v, key)
  if type(v) ~= "table" then return v end
  if ARRAY_FIELDS[key] then return json.array(v) end
  for k, x in pairs(v) do v[k] = fix(x, k) end
  return v
end

-- {"id":"<id>","name":"<name>"}, keys in this order (SPEC §3).
function M.id_name(id, name)
  io.stdout:write('{"id":', json.encode(id), ',"name":', json.encode(name), "}\n")
end

-- What `run` and `script` print for the mission they started.
function M.started(res, as_json)
  if as_json then
    M.id_name(res.id, res.name)
  else
    M.print("Started mission ", res.id, " (", res.name, ")")
  end
  return 0
end

function M.json(v, is_array)
  v = fix(v)
  if is_array then v = json.array(v) end
  io.stdout:write(json.encode(v), "\n")
end

-- Parses flags or prints the usage error.
function M.parse(argv, first, flags, stop_at_positional)
  local opts, pos = require("overmind.cli.args").parse(argv, first, flags,
    stop_at_positional)
  if not opts then return nil, M.fail(pos) end
  return opts, pos
end

return M
