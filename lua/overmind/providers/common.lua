-- Helpers shared by the built-in agent providers.
local M = {}

-- Appends words to a command line's list (the providers build theirs so).
function M.append(words, ...)
  for _, w in ipairs({ ... }) do words[#words + 1] = w end
  return words
end

-- The agent's executable (`exe` is the provider's { var, name }):
-- $<var> from the mission's environment (its client's, with --env), else
-- the name looked up on PATH.
function M.executable(m, exe)
  local v = m.env and m.env[exe.var]
  if v and v ~= "" then return v end
  -- The daemon's own only for a mission whose client sent no environment
  -- (a record from before SPEC §9): otherwise the client's is the truth.
  if not m.client_env then
    v = os.getenv(exe.var)
    if v and v ~= "" then return v end
  end
  return exe.name
end

-- The agent's executable as a path, looked up on the mission's PATH (the
-- client's), or nil when there is none: `run` says so at once rather
-- than starting a mission that can only crash (SPEC §9).
function M.find_executable(m, exe)
  local core = require("overmind.core")
  local bin = M.executable(m, exe)
  local function runnable(path)
    local st = core.stat(path)
    return st and st.type ~= "directory" and st.mode & 73 ~= 0 -- 0111
  end
  if bin:find("/", 1, true) then
    if bin:sub(1, 1) ~= "/" and m.cwd then bin = m.cwd .. "/" .. bin end
    return runnable(bin) and bin or nil
  end
  local path = m.env and m.env.PATH or os.getenv("PATH") or "/usr/bin:/bin"
  for dir in path:gmatch("[^:]+") do
    if runnable(dir .. "/" .. bin) then return dir .. "/" .. bin end
  end
  return nil
end

-- The check every agent provider makes before `run` (see providers/init).
function M.check_executable(m, exe)
  if not M.find_executable(m, exe) then
    return nil, "provider_error: " .. M.executable(m, exe) .. " not found"
  end
  return true
end

-- The `check` of an agent provider whose CLI lacks some of the agent
-- flags: what it has no option for is refused, not dropped (SPEC §9).
function M.check_agent(m, exe, name, missing)
  local ok, err = M.check_executable(m, exe)
  if not ok then return nil, err end
  for _, k in ipairs(missing or {}) do
    if m[k] ~= nil then
      return nil, "unsupported_option: " .. name .. " has no " ..
        k:gsub("_", "-")
    end
  end
  return true
end

-- A session's command is its first message, sent once: not again when a
-- restarted session resumes its conversation.
function M.first_message(m)
  if m.type == "session" and not m.session_id and (m.command or "") ~= "" then
    return m.command
  end
end

return M
