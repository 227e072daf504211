-- Where Overmind keeps its state (SPEC §1): $OVERMIND_HOME, default
-- $HOME/.overmind.
local M = {}

-- Always absolute: the daemon runs from "/" and prints it in `status`.
function M.home()
  local h = os.getenv("OVERMIND_HOME")
  if not h or h == "" then h = (os.getenv("HOME") or "/tmp") .. "/.overmind" end
  if h:sub(1, 1) ~= "/" then
    local cwd = require("overmind.core").getcwd() or "."
    h = cwd .. "/" .. h
  end
  h = h:gsub("/+$", "")
  return h
end

function M.socket(home) return (home or M.home()) .. "/overmind.sock" end
function M.pidfile(home) return (home or M.home()) .. "/daemon.pid" end
function M.daemon_log(home) return (home or M.home()) .. "/daemon.log" end
function M.start_lock(home) return (home or M.home()) .. "/start.lock" end
function M.missions(home) return (home or M.home()) .. "/missions" end

function M.mission_dir(id, home)
  return M.missions(home) .. "/" .. id
end

function M.output_log(id, home)
  return M.mission_dir(id, home) .. "/output.log"
end

-- A rotated log keeps this many older files (SPEC §2).
M.LOG_KEEP = 3

-- The daemon's lifecycle events, for `events --since` (SPEC §8).
function M.events(home) return (home or M.home()) .. "/events.jsonl" end

-- Log files oldest first: output.log.<keep> ... output.log.1, output.log.
function M.log_files(id, home)
  local base = M.output_log(id, home)
  local files = {}
  for k = M.LOG_KEEP, 1, -1 do files[#files + 1] = base .. "." .. k end
  files[#files + 1] = base
  return files
end

-- mkdir -p with mode 0700 for what it creates.
function M.mkdirs(path)
  local core = require("overmind.core")
  local acc = path:sub(1, 1) == "/" and "" or "."
  for part in path:gmatch("[^/]+") do
    acc = acc .. "/" .. part
    local ok, err, code = core.mkdir(acc, 448)
    if not ok and code ~= "EEXIST" then return nil, err end
  end
  return true
end

return M
