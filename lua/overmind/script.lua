-- What a `script` mission runs (`overmind __script FILE ARGS...`): the
-- user's Lua file with `arg` set and `require("overmind")` giving the om
-- API.  A Lua error ends the script with its traceback in the log and
-- exit status 1, so the mission is `crashed`.
local M = {}

function M.main(argv)
  io.stdout:setvbuf("line")
  local file = argv[2]
  local args = { [0] = file }
  for i = 3, #argv do args[#args + 1] = argv[i] end
  _G.arg = args
  local chunk, err = loadfile(file)
  if not chunk then
    io.stderr:write(err, "\n")
    return 1
  end
  local ok, res = xpcall(chunk, debug.traceback, table.unpack(args, 1, #args))
  io.stdout:flush()
  if not ok then
    io.stderr:write(tostring(res), "\n")
    return 1
  end
  if math.type(res) == "integer" then return res end
  return 0
end

return M
