-- Helpers for end-to-end specs: each spec gets a private OVERMIND_HOME in
-- a temporary directory, drives the real binary (OVERMIND_BIN, default
-- build/overmind) and shuts its daemon down afterwards.
local M = {}

local function abspath(p)
  if p:sub(1, 1) == "/" then return p end
  local pwd = os.getenv("PWD") or io.popen("pwd"):read("l")
  return pwd .. "/" .. p
end

M.bin = abspath(os.getenv("OVERMIND_BIN") or "build/overmind")
M.root = abspath(".")

function M.quote(s)
  s = tostring(s)
  if s:match("^[%w%._/=:,%-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end
M.read_all = read_all

function M.sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

-- A fresh home: { home = dir, env = "OVERMIND_HOME=... " }.
function M.new_home()
  local dir = M.sh("mktemp -d /tmp/om-test.XXXXXX"):gsub("%s+$", "")
  return { home = dir }
end

-- Runs `overmind <args...>` against `h`; returns { out, err, code }.
-- opts.env: extra "K=V" strings; opts.stdin: text fed to stdin.
function M.om(h, args, opts)
  opts = opts or {}
  local parts = { "env", "OVERMIND_HOME=" .. M.quote(h.home) }
  for _, kv in ipairs(opts.env or {}) do parts[#parts + 1] = M.quote(kv) end
  parts[#parts + 1] = M.quote(M.bin)
  for _, a in ipairs(args) do parts[#parts + 1] = M.quote(a) end
  local errf = os.tmpname()
  local cmd = table.concat(parts, " ") .. " 2>" .. errf
  if opts.stdin then
    local inf = os.tmpname()
    local f = io.open(inf, "wb")
    f:write(opts.stdin)
    f:close()
    cmd = cmd .. " <" .. inf
    opts._in = inf
  else
    cmd = cmd .. " </dev/null"
  end
  local out, code = M.sh(cmd)
  local err = read_all(errf)
  os.remove(errf)
  if opts._in then os.remove(opts._in) end
  return { out = out, err = err, code = code }
end

-- Shorthand: runs and returns stdout, asserting exit status 0.
function M.ok(h, args, opts)
  local r = M.om(h, args, opts)
  if r.code ~= 0 then
    error(("overmind %s failed (%d): %s%s"):format(table.concat(args, " "),
      r.code, r.out, r.err), 2)
  end
  return r.out
end

-- Starts a mission and returns its id.
function M.run(h, args)
  local full = { "run", "--json" }
  for _, a in ipairs(args) do full[#full + 1] = a end
  local out = M.ok(h, full)
  return assert(out:match('"id":"(%x+)"'), "no id in: " .. out)
end

function M.info(h, id)
  local cjson = require("cjson")
  return cjson.decode(M.ok(h, { "info", id }))
end

function M.now()
  local ok, core = pcall(require, "overmind.core")
  if ok then return core.now() / 1000 end
  return os.time()
end

function M.sleep(s)
  local ok, core = pcall(require, "overmind.core")
  if ok then return core.sleep(math.floor(s * 1000)) end
  os.execute("sleep " .. s)
end

-- Polls `fn` until it returns a truthy value or `timeout` seconds pass.
function M.wait_for(fn, timeout, what)
  local deadline = M.now() + (timeout or 10)
  while true do
    local v = fn()
    if v then return v end
    if M.now() > deadline then
      error("timed out waiting for " .. (what or "condition"), 2)
    end
    M.sleep(0.02)
  end
end

function M.status_of(h, id)
  return M.info(h, id).status
end

function M.daemon_pid(h)
  local s = read_all(h.home .. "/daemon.pid")
  return tonumber(s:match("%d+"))
end

function M.alive(pid)
  if not pid then return false end
  local _, code = M.sh("kill -0 " .. pid .. " 2>/dev/null")
  return code == 0
end

-- Shuts the daemon down (killing it if it will not go) and removes the
-- home.  Call from after_each / finally.
function M.cleanup(h)
  local pid = M.daemon_pid(h)
  M.om(h, { "shutdown" })
  if pid and M.alive(pid) then
    pcall(M.wait_for, function() return not M.alive(pid) end, 15, "daemon exit")
    if M.alive(pid) then M.sh("kill -9 " .. pid) end
  end
  M.sh("rm -rf " .. M.quote(h.home))
end

-- Sends raw lines to the daemon's socket and collects the reply lines.
function M.raw_request(h, payload, nreplies, timeout_ms)
  local core = require("overmind.core")
  local c = assert(core.connect(h.home .. "/overmind.sock"))
  c:send(payload)
  local replies = {}
  for _ = 1, nreplies or 1 do
    local line = c:recv(timeout_ms or 5000)
    if not line then break end
    replies[#replies + 1] = line
  end
  c:close()
  return replies
end

return M
