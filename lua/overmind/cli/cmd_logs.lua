-- `logs [<id>] [-f|--follow] [--tail N]` (SPEC §3).  The daemon names the
-- files; this process reads them itself, so a log of hundreds of MB costs
-- the daemon nothing.  With --follow, the daemon streams what is appended
-- after the snapshot it reported, until the mission is final.
local core = require("overmind.core")
local client = require("overmind.cli.client")
local out = require("overmind.cli.out")

local M = {}

local FLAGS = {
  follow = { kind = "bool", short = "f" },
  tail = { kind = "integer" },
}

local BLOCK = 1 << 20

local broken = false -- stdout is gone (e.g. `| head`): stop quietly

local function emit(s)
  if broken or s == "" then return end
  if not io.stdout:write(s) then broken = true end
end

-- Copies bytes [from, to) of a file (to = nil: up to its end).
local function copy(path, from, to)
  local f = io.open(path, "rb")
  if not f then return end
  f:seek("set", from or 0)
  local left = to and (to - (from or 0)) or math.huge
  while left > 0 and not broken do
    local chunk = f:read(math.min(BLOCK, left))
    if not chunk then break end
    emit(chunk)
    left = left - #chunk
  end
  f:close()
end

-- Segments { path, size } oldest first; finds where the last n lines
-- start, as (segment index, offset).
local function tail_start(segs, n)
  local need = n
  local skip_final_newline = true
  for i = #segs, 1, -1 do
    local seg = segs[i]
    local f = io.open(seg.path, "rb")
    if f then
      local pos = seg.size
      while pos > 0 do
        local len = math.min(BLOCK, pos)
        pos = pos - len
        f:seek("set", pos)
        local block = f:read(len) or ""
        for k = #block, 1, -1 do
          if block:byte(k) == 10 then
            if skip_final_newline then
              skip_final_newline = false
            else
              need = need - 1
              if need == 0 then
                f:close()
                return i, pos + k
              end
            end
          else
            skip_final_newline = false
          end
        end
      end
      f:close()
    end
  end
  return 1, 0
end

local function print_segments(segs, tail)
  local first, offset = 1, 0
  if tail then
    if tail == 0 then return end
    first, offset = tail_start(segs, tail)
  end
  for i = first, #segs do
    copy(segs[i].path, i == first and offset or 0, segs[i].size)
  end
end

-- The files of a snapshot, oldest first, each with the size to read.  The
-- current file is identified by inode: if it rotated since the daemon
-- looked, it now has a suffix, and only what is older than it counts.
local function segments(e)
  local base = e.files[#e.files]
  if not base then return {} end
  base = base:gsub("%.%d+$", "")
  local candidates = { base, base .. ".1", base .. ".2", base .. ".3" }
  local cur = 1
  for k, p in ipairs(candidates) do
    local st = core.stat(p)
    if st and st.ino == e.ino then cur = k break end
  end
  local segs = {}
  for k = #candidates, cur + 1, -1 do
    local st = core.stat(candidates[k])
    if st then segs[#segs + 1] = { path = candidates[k], size = st.size } end
  end
  segs[#segs + 1] = { path = candidates[cur], size = e.size }
  return segs
end

local function all_segments(e)
  local segs = {}
  for _, p in ipairs(e.files) do
    local st = core.stat(p)
    if st then segs[#segs + 1] = { path = p, size = st.size } end
  end
  return segs
end

local function follow(c, e, tail)
  print_segments(segments(e), tail)
  io.stdout:flush()
  while not broken do
    local msg = client.next(c)
    if type(msg) ~= "table" or msg["end"] then break end
    if msg.data then
      emit(msg.data)
      io.stdout:flush()
    end
  end
  return 0
end

function M.logs(argv)
  local opts, pos = out.parse(argv, 2, FLAGS)
  if not opts then return pos end
  if #pos > 1 then return out.fail("unexpected argument: " .. pos[2]) end
  local id = pos[1]
  local c, err = client.connect()
  if not c then return out.fail(err) end
  local res, rerr = client.request(c, "logs", { id = id, follow = opts.follow })
  if not res then
    c:close()
    return out.fail(rerr)
  end
  if not id then
    c:close()
    for _, e in ipairs(res.missions or {}) do
      emit(("=== %s (%s) ===\n"):format(e.name, e.id))
      print_segments(all_segments(e), opts.tail)
    end
    return 0
  end
  if res.follow then
    local code = follow(c, res, opts.tail)
    c:close()
    return code
  end
  c:close()
  print_segments(all_segments(res), opts.tail)
  return 0
end

return M
