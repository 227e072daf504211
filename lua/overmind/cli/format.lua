-- Output formats of the CLI (SPEC §3): the ps table and tree, the status
-- block.  Pure functions of the daemon's replies, so specs check them
-- character by character.
local timefmt = require("overmind.timefmt")

local M = {}

M.COLUMNS = {
  { "ID", 12 }, { "NAME", 18 }, { "TYPE", 10 }, { "STATUS", 14 },
  { "RESTARTS", 10 }, { "PARENT", 12 }, { "CHILDREN", 10 }, { "UPTIME", 10 },
  { "COMMAND" },
}

-- Pads to the column width; a value as long as the column or longer is
-- followed by one space, so columns always split on whitespace.
function M.cell(v, width)
  v = tostring(v)
  local len = utf8.len(v) or #v -- tree connectors are multi-byte
  if len < width then return v .. string.rep(" ", width - len) end
  return v .. " "
end

-- At most n characters (UTF-8 aware, so a sequence is never cut).
function M.truncate(s, n)
  s = tostring(s or ""):gsub("[\r\n\t]", " ")
  local len = utf8.len(s)
  if not len then -- not UTF-8: bytes it is
    if #s > n then return s:sub(1, n - 3) .. "..." end
    return s
  end
  if len <= n then return s end
  return s:sub(1, utf8.offset(s, n - 2) - 1) .. "..."
end

function M.header()
  local out = {}
  for _, c in ipairs(M.COLUMNS) do
    out[#out + 1] = c[2] and M.cell(c[1], c[2]) or c[1]
  end
  return table.concat(out)
end

local function null(v)
  return v == nil or type(v) == "userdata"
end

-- One row; `prefix` (tree connectors) goes before the id.
function M.row(m, prefix)
  local cols = M.COLUMNS
  local parent = null(m.parent) and "-" or m.parent
  local uptime = null(m.uptime) and "-" or timefmt.short(m.uptime)
  local children = type(m.children) == "table" and #m.children or 0
  local values = {
    (prefix or "") .. m.id, m.name, m.type, m.status, m.restart_count or 0,
    parent, children, uptime,
  }
  local out = {}
  for i, v in ipairs(values) do out[i] = M.cell(v, cols[i][2]) end
  out[#out + 1] = M.truncate(m.command, 40)
  return table.concat(out)
end

function M.table(list)
  local lines = { M.header() }
  for _, m in ipairs(list) do lines[#lines + 1] = M.row(m) end
  return table.concat(lines, "\n") .. "\n"
end

-- ps --tree: roots are missions without a parent (or whose parent is
-- gone); children follow their parent, oldest first, with connectors.
function M.tree(list)
  local by_id, kids, roots = {}, {}, {}
  for _, m in ipairs(list) do by_id[m.id] = m end
  for _, m in ipairs(list) do
    if not null(m.parent) and by_id[m.parent] then
      kids[m.parent] = kids[m.parent] or {}
      table.insert(kids[m.parent], m)
    else
      roots[#roots + 1] = m
    end
  end
  local lines = { M.header() }
  local function walk(m, indent, connector)
    lines[#lines + 1] = M.row(m, indent .. connector)
    local cs = kids[m.id] or {}
    local child_indent = indent
    if connector == "├─ " then child_indent = indent .. "│  "
    elseif connector == "└─ " then child_indent = indent .. "   " end
    for i, c in ipairs(cs) do
      walk(c, child_indent, i == #cs and "└─ " or "├─ ")
    end
  end
  for _, r in ipairs(roots) do walk(r, "", "") end
  return table.concat(lines, "\n") .. "\n"
end

function M.status(s)
  local rss = string.format("%.1f", (s.rss or 0) / (1024 * 1024))
  return table.concat({
    "Overmind Daemon",
    "  PID:        " .. s.pid,
    "  Version:    " .. s.version,
    "  Uptime:     " .. timefmt.long(s.uptime),
    "  Memory:     " .. rss .. " MB",
    "  Home:       " .. s.home,
    "",
    "Missions",
    "  Running:  " .. s.running,
    "  Stopped:  " .. s.stopped,
    "  Crashed:  " .. s.crashed,
    "  Total:    " .. s.total,
  }, "\n") .. "\n"
end

return M
