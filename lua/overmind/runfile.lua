-- `overmind -l FILE [ARGS...]`: runs a Lua file as the stand-alone `lua`
-- interpreter would, with `arg` set, so tools such as busted run inside
-- this binary and can require("overmind.core").
local M = {}

function M.main(argv)
  local file = argv[2]
  if not file then
    io.stderr:write("usage: overmind -l FILE [ARGS...]\n")
    return 2
  end
  local args = { [-1] = argv[0], [0] = file }
  for i = 3, #argv do args[#args + 1] = argv[i] end
  _G.arg = args
  local chunk, err = loadfile(file)
  if not chunk then
    io.stderr:write("overmind: ", err, "\n")
    return 1
  end
  chunk(table.unpack(args, 1, #args))
  return 0
end

return M
