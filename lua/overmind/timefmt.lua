-- Time and size formats shared by the daemon and the CLI.
local M = {}

-- ISO 8601 in UTC to the second: 2026-11-24T04:52:57Z.
function M.iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

-- Parses what M.iso writes (UTC), back to epoch seconds.
function M.parse_iso(s)
  local y, mo, d, h, mi, se = tostring(s):match(
    "^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z$")
  if not y then return nil end
  -- os.time reads local time; correct by the offset of the epoch itself.
  local t = os.time({ year = y, month = mo, day = d, hour = h, min = mi,
                      sec = se, isdst = false })
  local utc0 = os.time(os.date("!*t", 0))
  return t - utc0
end

-- RFC 3339 (2026-12-01T20:05:32Z, with fractions of a second or an
-- offset such as +01:00) -> epoch seconds (a float with fractions), or nil.
function M.parse_rfc3339(s)
  local date, frac, zone = tostring(s):match(
    "^(%d%d%d%d%-%d%d%-%d%d[Tt ]%d%d:%d%d:%d%d)(%.?%d*)([Zz+-]?[%d:]*)$")
  if not date then return nil end
  local t = M.parse_iso(date:gsub("[t ]", "T") .. "Z")
  if not t then return nil end
  -- os.time normalizes (month 13 is next January): a real date reads
  -- back the same.
  if M.iso(t) ~= date:gsub("[t ]", "T") .. "Z" then return nil end
  if frac ~= "" then
    if frac == "." then return nil end
    t = t + tonumber("0" .. frac)
  end
  if zone == "Z" or zone == "z" then return t end
  local sign, zh, zm = zone:match("^([+-])(%d%d):(%d%d)$")
  if not sign then return nil end
  local off = tonumber(zh) * 3600 + tonumber(zm) * 60
  return sign == "+" and t - off or t + off
end

-- `--since`: RFC 3339, or a duration before `now` (30s, 5m, 2h, 1d) ->
-- epoch seconds, or nil.
function M.parse_since(s, now)
  local n, unit = tostring(s):match("^(%d+%.?%d*)([smhd])$")
  if n then
    local mult = ({ s = 1, m = 60, h = 3600, d = 86400 })[unit]
    return now - tonumber(n) * mult
  end
  return M.parse_rfc3339(s)
end

-- ps UPTIME: the largest unit only: 42s, 7m, 3h, 2d.
function M.short(secs)
  secs = math.max(0, math.floor(secs))
  if secs < 60 then return secs .. "s" end
  if secs < 3600 then return (secs // 60) .. "m" end
  if secs < 86400 then return (secs // 3600) .. "h" end
  return (secs // 86400) .. "d"
end

-- status Uptime: 2d 3h 14m | 5h 2m | 12m | 40s.
function M.long(secs)
  secs = math.max(0, math.floor(secs))
  local d, h, m = secs // 86400, secs % 86400 // 3600, secs % 3600 // 60
  if d > 0 then return string.format("%dd %dh %dm", d, h, m) end
  if h > 0 then return string.format("%dh %dm", h, m) end
  if m > 0 then return string.format("%dm", m) end
  return secs .. "s"
end

-- "64M", "512k", "1G", "100" (bytes) -> integer bytes, or nil.
function M.parse_size(s)
  local n, unit = tostring(s):match("^(%d+)%s*([kKmMgG]?)[iI]?[bB]?$")
  if not n then return nil end
  local mult = ({ [""] = 1, k = 1024, m = 1024 ^ 2, g = 1024 ^ 3 })[unit:lower()]
  return math.tointeger(tonumber(n) * mult)
end

-- Bytes as `--log-max` takes them, when they are a whole number of a unit:
-- 67108864 -> "64M".
function M.format_size(n)
  for _, u in ipairs({ { "G", 1024 ^ 3 }, { "M", 1024 ^ 2 }, { "k", 1024 } }) do
    if n >= u[2] and n % u[2] == 0 then
      return string.format("%d%s", n // u[2], u[1])
    end
  end
  return tostring(n)
end

return M
