-- TOML 1.0.0 reader for blueprints.
--
--   toml.parse(text)      -> table | nil, "invalid TOML at line <n>: <what>"
--   toml.parse_file(path) -> table | nil, message
--
-- Neither raises on bad input.  Values map to Lua as: string -> string,
-- integer -> integer, float -> float, boolean -> boolean, date and time
-- values -> the string exactly as written (its shape is checked), table ->
-- table, array -> sequence with metatable toml.array_mt, so that an empty
-- array can be told from an empty table.
local M = {}

M.array_mt = { __name = "toml.array" }

local array_mt = M.array_mt
local byte, sub, find, match = string.byte, string.sub, string.find,
  string.match
local concat = table.concat

-- Deeper nesting than this is no blueprint; stopping here gives a clear
-- message instead of a Lua stack overflow.
local MAX_DEPTH = 200

-- Characters no TOML string or comment may hold: every C0 control but tab,
-- and DEL.  Newline (\10) is left to each caller, which treats it apart.
local CTRL = "[\0-\8\11-\31\127]"

-- Errors travel through error() as a table, so one pcall at the top turns
-- them into a message.  The position becomes a line number only then:
-- counting lines for every token would be wasted work.
local function fail(pos, what)
  error({ pos = pos, what = what }, 0)
end

local function line_of(text, pos)
  local _, n = sub(text, 1, pos - 1):gsub("\n", "")
  return n + 1
end

local function message(line, what)
  return ("invalid TOML at line %d: %s"):format(line, what)
end

-- Shows one character in a message; control characters and the end of the
-- text have no readable glyph.
local function show(c)
  if c == "" then return "end of file" end
  if c == "\n" then return "end of line" end
  if find(c, "^[\33-\126]$") then return "'" .. c .. "'" end
  return ("U+%04X"):format(byte(c))
end

-- Keys in messages: bare parts as they are, others quoted, so that a
-- message stays on one line whatever the key holds.
local function key_name(parts, n)
  local out = {}
  for i = 1, n or #parts do
    local p = parts[i]
    if find(p, "^[A-Za-z0-9_%-]+$") then
      out[i] = p
    else
      out[i] = '"' .. p:gsub('[%c"\\]', function(c)
        return ("\\u%04X"):format(byte(c))
      end) .. '"'
    end
  end
  return concat(out, ".")
end

-- Whitespace is space and tab only; newlines mean something in TOML.
local function skip_ws(text, pos)
  return find(text, "[^ \t]", pos) or #text + 1
end

-- Returns the position of the newline (or end) that ends the comment.
local function skip_comment(text, pos)
  local e = find(text, "\n", pos, true) or #text + 1
  local bad = find(sub(text, pos, e - 1), CTRL)
  if bad then
    fail(pos + bad - 1, "control character "
      .. show(sub(text, pos + bad - 1, pos + bad - 1)) .. " in comment")
  end
  return e
end

-- Arrays may hold newlines and comments between their elements.
local function skip_trivia(text, pos)
  while true do
    pos = skip_ws(text, pos)
    local c = sub(text, pos, pos)
    if c == "\n" then
      pos = pos + 1
    elseif c == "#" then
      pos = skip_comment(text, pos)
    else
      return pos
    end
  end
end

-- A key/value pair or a table header must end its line (a comment may
-- follow); returns the position of the next line.
local function expect_eol(text, pos, after)
  pos = skip_ws(text, pos)
  local c = sub(text, pos, pos)
  if c == "#" then
    pos = skip_comment(text, pos)
    c = sub(text, pos, pos)
  end
  if c == "" then return pos end
  if c == "\n" then return pos + 1 end
  fail(pos, "unexpected " .. show(c) .. " after " .. after)
end

---------------------------------------------------------------- strings

local ESCAPES = {
  b = "\b", t = "\t", n = "\n", f = "\f", r = "\r",
  ['"'] = '"', ["\\"] = "\\",
}

-- pos is just after the backslash; returns the text the escape stands for
-- and the position after it.  \u and \U must name a Unicode scalar value,
-- so surrogates and values past U+10FFFF are refused.
local function read_escape(text, pos)
  local c = sub(text, pos, pos)
  local e = ESCAPES[c]
  if e then return e, pos + 1 end
  local n = (c == "u" and 4) or (c == "U" and 8)
  if not n then
    if find(c, "^[\33-\126]$") then
      fail(pos - 1, "invalid escape sequence \\" .. c)
    end
    fail(pos - 1, "invalid escape sequence: backslash before " .. show(c))
  end
  local hex = match(text, "^" .. ("%x"):rep(n), pos + 1)
  if not hex then
    fail(pos - 1, ("\\%s needs %d hex digits"):format(c, n))
  end
  local cp = tonumber(hex, 16)
  if cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then
    fail(pos - 1, "\\" .. c .. hex .. " is not a Unicode scalar value")
  end
  return utf8.char(cp), pos + 1 + n
end

-- What went wrong at a character that stops a string's plain run.
local function string_char_error(text, p, start)
  local c = sub(text, p, p)
  if c == "" then fail(start, "unterminated string") end
  if c == "\n" then fail(p, "newline in a single-line string") end
  fail(p, "control character " .. show(c) .. " in string")
end

-- "..." with escapes; pos is at the opening quote.
local function read_basic(text, pos)
  local buf, n, p = {}, 0, pos + 1
  while true do
    local s, e = find(text, '^[^"\\\0-\8\10-\31\127]+', p)
    if s then
      n = n + 1
      buf[n] = sub(text, s, e)
      p = e + 1
    end
    local c = sub(text, p, p)
    if c == '"' then return concat(buf), p + 1 end
    if c ~= "\\" then string_char_error(text, p, pos) end
    n = n + 1
    buf[n], p = read_escape(text, p + 1)
  end
end

-- '...' holds its text as written, with no escapes.
local function read_literal(text, pos)
  local _, e = find(text, "^[^'\0-\8\10-\31\127]*", pos + 1)
  if sub(text, e + 1, e + 1) ~= "'" then
    string_char_error(text, e + 1, pos)
  end
  return sub(text, pos + 1, e), e + 2
end

-- In a multi-line string a run of quotes ends it once the run is three or
-- longer; up to two more quotes may belong to the content, so """"" is a
-- closing """ with "" before it.  Returns the quotes that are content and
-- the position after the string, or nil if the run is content.
local function closing_run(text, p, q)
  local _, e = find(text, "^" .. q .. "+", p)
  local run = e - p + 1
  if run < 3 then return nil, e + 1 end
  if run > 5 then
    fail(p, "too many quotes at the end of a multi-line string")
  end
  return q:rep(run - 3), e + 1
end

-- """...""": the newline right after the opening quotes is dropped, and a
-- backslash at the end of a line drops it with all whitespace after it.
local function read_ml_basic(text, pos)
  local buf, n = {}, 0
  local p = pos + 3
  if sub(text, p, p) == "\n" then p = p + 1 end
  while true do
    local s, e = find(text, '^[^"\\\0-\8\11-\31\127]+', p)
    if s then
      n = n + 1
      buf[n] = sub(text, s, e)
      p = e + 1
    end
    local c = sub(text, p, p)
    if c == '"' then
      local tail, after = closing_run(text, p, '"')
      n = n + 1
      if tail then
        buf[n] = tail
        return concat(buf), after
      end
      buf[n] = sub(text, p, after - 1)
      p = after
    elseif c == "\\" then
      local nl = match(text, "^[ \t]*\n()", p + 1)
      if nl then
        p = find(text, "[^ \t\n]", nl) or #text + 1
      else
        n = n + 1
        buf[n], p = read_escape(text, p + 1)
      end
    elseif c == "" then
      fail(pos, "unterminated multi-line string")
    else
      fail(p, "control character " .. show(c) .. " in string")
    end
  end
end

-- '''...''': as written, the newline after the opening quotes dropped.
local function read_ml_literal(text, pos)
  local buf, n = {}, 0
  local p = pos + 3
  if sub(text, p, p) == "\n" then p = p + 1 end
  while true do
    local _, e = find(text, "^[^'\0-\8\11-\31\127]*", p)
    n = n + 1
    buf[n] = sub(text, p, e)
    p = e + 1
    local c = sub(text, p, p)
    if c == "'" then
      local tail, after = closing_run(text, p, "'")
      n = n + 1
      if tail then
        buf[n] = tail
        return concat(buf), after
      end
      buf[n] = sub(text, p, after - 1)
      p = after
    elseif c == "" then
      fail(pos, "unterminated multi-line string")
    else
      fail(p, "control character " .. show(c) .. " in string")
    end
  end
end

---------------------------------------------------------------- keys

-- One part of a key: bare (ASCII letters, digits, _ and -) or quoted.
local function read_key_part(text, pos)
  local c = sub(text, pos, pos)
  if c == '"' then
    if sub(text, pos, pos + 2) == '"""' then
      fail(pos, "a key cannot be a multi-line string")
    end
    return read_basic(text, pos)
  elseif c == "'" then
    if sub(text, pos, pos + 2) == "'''" then
      fail(pos, "a key cannot be a multi-line string")
    end
    return read_literal(text, pos)
  end
  local e = select(2, find(text, "^[A-Za-z0-9_%-]+", pos))
  if not e then fail(pos, "expected a key, found " .. show(c)) end
  return sub(text, pos, e), e + 1
end

-- A dotted key, with whitespace allowed around the dots; returns its parts
-- and the position after the last one.
local function read_key(text, pos)
  local parts = {}
  while true do
    parts[#parts + 1], pos = read_key_part(text, pos)
    local p = skip_ws(text, pos)
    if sub(text, p, p) ~= "." then return parts, pos end
    pos = skip_ws(text, p + 1)
  end
end

---------------------------------------------------------------- numbers

-- Underscores may only stand between two digits of the given class.
local function digits_ok(s, class)
  if s == "" or find(s, "^_") or find(s, "_$") or find(s, "__") then
    return false
  end
  return not find(s, "[^" .. class .. "_]")
end

-- Largest number of significant digits a non-negative 64-bit integer has
-- in each base; hex also needs its first digit checked (7fff... is max).
local RADIX = {
  x = { base = 16, class = "%x", digits = 16 },
  o = { base = 8, class = "0-7", digits = 21 },
  b = { base = 2, class = "01", digits = 63 },
}

local function read_radix(s, r)
  if not digits_ok(s, r.class) then
    return nil, "bad digits or underscores"
  end
  local d = s:gsub("_", ""):gsub("^0+", "")
  if #d > r.digits or (r.base == 16 and #d == 16 and sub(d, 1, 1) > "7")
  then
    return nil, "integer out of range"
  end
  if d == "" then return 0 end
  return math.tointeger(tonumber(d, r.base))
end

-- Decimal digits of an integer part: no stray underscores and, since
-- TOML wants one spelling for each number, no leading zeros.
local function int_part_error(s)
  if not digits_ok(s, "%d") then return "bad digits or underscores" end
  if #s > 1 and sub(s, 1, 1) == "0" then
    return "leading zeros are not allowed"
  end
end

-- tok is a run of number-like characters; returns the number or nil and
-- why it is not one.
local function read_number(tok)
  local sign, body = match(tok, "^([+-]?)(.*)$")
  if body == "inf" then
    return sign == "-" and -math.huge or math.huge
  elseif body == "nan" then
    return 0 / 0
  end
  local r = sub(body, 1, 1) == "0" and RADIX[sub(body, 2, 2)]
  if r then
    if sign ~= "" then
      return nil, "a sign is not allowed before hex, octal or binary"
    end
    return read_radix(sub(body, 3), r)
  end
  if find(body, "^[0-9_]+$") then
    local why = int_part_error(body)
    if why then return nil, why end
    local v = tonumber(sign .. body:gsub("_", ""))
    if math.type(v) ~= "integer" then
      return nil, "integer out of range"
    end
    return v
  end
  -- A float: integer part, then a fraction, an exponent or both.
  local int, frac, exp = match(body, "^([^.eE]*)%.?([^eE]*)[eE]?(.*)$")
  local has_frac = find(body, ".", 1, true)
  local has_exp = find(body, "[eE]")
  if not (has_frac or has_exp) then return nil, "not a number" end
  if has_exp and has_frac and has_exp < has_frac then
    return nil, "the exponent must come after the fraction"
  end
  local why = int_part_error(int)
  if why then return nil, why end
  if has_frac and frac == "" then
    return nil, "a point needs digits on both sides"
  elseif has_frac and not digits_ok(frac, "%d") then
    return nil, "bad digits or underscores after the point"
  end
  if has_exp and not digits_ok(match(exp, "^[+-]?(.*)$"), "%d") then
    return nil, "bad exponent"
  end
  local v = tonumber(sign .. body:gsub("_", ""))
  if not v then return nil, "not a number" end
  -- "* 1.0", not "+ 0.0": the sum would turn -0.0 into 0.0.
  return v * 1.0
end

---------------------------------------------------------------- dates

local MONTH_DAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local function date_ok(y, m, d)
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 then return false end
  local max = MONTH_DAYS[m]
  if m == 2 and y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0) then
    max = 29
  end
  return d <= max
end

-- HH:MM:SS with an optional fraction; seconds may be 60 (leap second), as
-- RFC 3339 allows.  Returns the position after the time.
local function read_time(text, pos, start)
  local h, mi, s, e = match(text, "^(%d%d):(%d%d):(%d%d)()", pos)
  if not h then fail(start, "invalid time: want HH:MM:SS") end
  if tonumber(h) > 23 or tonumber(mi) > 59 or tonumber(s) > 60 then
    fail(start, "time out of range")
  end
  if sub(text, e, e) == "." then
    e = match(text, "^%.%d+()", e)
    if not e then fail(start, "a time's fraction needs digits") end
  end
  return e
end

-- Offset date-time, local date-time or local date; the value is the text
-- as written.  A space may stand for the T only when a time follows it.
local function read_date(text, pos)
  local y, mo, d, p = match(text, "^(%d%d%d%d)%-(%d%d)%-(%d%d)()", pos)
  if not y then fail(pos, "invalid date: want YYYY-MM-DD") end
  if not date_ok(y, mo, d) then fail(pos, "date out of range") end
  local c = sub(text, p, p)
  if not (c == "T" or c == "t"
      or (c == " " and find(text, "^%d%d:", p + 1))) then
    return sub(text, pos, p - 1), p
  end
  local e = read_time(text, p + 1, pos)
  c = sub(text, e, e)
  if c == "Z" or c == "z" then
    e = e + 1
  elseif c == "+" or c == "-" then
    local oh, om, oe = match(text, "^[+-](%d%d):(%d%d)()", e)
    if not oh or tonumber(oh) > 23 or tonumber(om) > 59 then
      fail(pos, "invalid time offset")
    end
    e = oe
  end
  return sub(text, pos, e - 1), e
end

---------------------------------------------------------------- values

local read_value

-- Numbers, dates and times: whatever starts with a digit or a sign, or is
-- inf or nan.
local function read_scalar(text, pos)
  if find(text, "^%d%d%d%d%-", pos) then return read_date(text, pos) end
  if find(text, "^%d%d:", pos) then
    local e = read_time(text, pos, pos)
    return sub(text, pos, e - 1), e
  end
  local e = select(2, find(text, "^[A-Za-z0-9_%.%+%-]+", pos))
  if not e then
    fail(pos, "expected a value, found " .. show(sub(text, pos, pos)))
  end
  local tok = sub(text, pos, e)
  if not find(tok, "^[%d%+%-]") and not find(tok, "^inf") and
      not find(tok, "^nan") then
    fail(pos, "invalid value '" .. tok .. "'")
  end
  local v, why = read_number(tok)
  if v == nil then
    fail(pos, ("invalid number '%s': %s"):format(tok, why))
  end
  return v, e + 1
end

-- [ v, v, ... ] across lines, comments allowed, trailing comma allowed.
local function read_array(st, pos, depth)
  local text = st.text
  local arr, n = setmetatable({}, array_mt), 0
  local p = skip_trivia(text, pos + 1)
  while true do
    local c = sub(text, p, p)
    if c == "]" then return arr, p + 1 end
    if c == "" then fail(pos, "unterminated array") end
    n = n + 1
    arr[n], p = read_value(st, p, depth + 1)
    p = skip_trivia(text, p)
    c = sub(text, p, p)
    if c == "," then
      p = skip_trivia(text, p + 1)
    elseif c ~= "]" then
      if c == "" then fail(pos, "unterminated array") end
      fail(p, "expected ',' or ']' in array, found " .. show(c))
    end
  end
end

local assign

-- { k = v, k.k = v }: one line, no trailing comma.  Each inline table is
-- its own scope for dotted keys and is sealed once read, so nothing after
-- it (header, dotted key) can add to it.
local function read_inline(st, pos, depth)
  local text = st.text
  local t = {}
  st.scopes = st.scopes + 1
  local scope = st.scopes
  local p = skip_ws(text, pos + 1)
  if sub(text, p, p) == "}" then
    st.kind[t] = "inline"
    return t, p + 1
  end
  while true do
    local c = sub(text, p, p)
    if c == "\n" then fail(p, "newline in inline table") end
    if c == "" then fail(pos, "unterminated inline table") end
    p = assign(st, p, t, scope, depth + 1)
    p = skip_ws(text, p)
    c = sub(text, p, p)
    if c == "}" then
      st.kind[t] = "inline"
      return t, p + 1
    elseif c == "," then
      p = skip_ws(text, p + 1)
      if sub(text, p, p) == "}" then
        fail(p, "trailing comma in inline table")
      end
    elseif c == "\n" then
      fail(p, "newline in inline table")
    elseif c == "" then
      fail(pos, "unterminated inline table")
    else
      fail(p, "expected ',' or '}' in inline table, found " .. show(c))
    end
  end
end

-- Any value; returns it and the position after it.
function read_value(st, pos, depth)
  if depth > MAX_DEPTH then fail(pos, "arrays or tables nested too deep") end
  local text = st.text
  st.last = pos
  local c = sub(text, pos, pos)
  if c == '"' then
    if sub(text, pos, pos + 2) == '"""' then
      return read_ml_basic(text, pos)
    end
    return read_basic(text, pos)
  elseif c == "'" then
    if sub(text, pos, pos + 2) == "'''" then
      return read_ml_literal(text, pos)
    end
    return read_literal(text, pos)
  elseif c == "[" then
    return read_array(st, pos, depth)
  elseif c == "{" then
    return read_inline(st, pos, depth)
  elseif find(text, "^true", pos) then
    return true, pos + 4
  elseif find(text, "^false", pos) then
    return false, pos + 5
  elseif c == "" or c == "\n" or c == "#" or c == "," or c == "]"
      or c == "}" then
    fail(pos, "missing value")
  end
  return read_scalar(text, pos)
end

---------------------------------------------------------------- tables

-- st.kind[t] records how each table came to be, which decides what may
-- add to it later:
--   implicit  named on the way to a [header]; a later [header] or dotted
--             keys may still define it
--   header    defined by [header] or [[header]]; closed to dotted keys
--             from other sections and to a second [header]
--   dotted    made by dotted keys; open to more dotted keys of the same
--             section (st.scope[t]) and to [headers] of sub-tables only
--   inline    an inline table; sealed
-- Arrays carry array_mt; st.kind[arr] == "aot" marks one made by [[ ]].

local function is_array(v)
  return getmetatable(v) == array_mt
end

-- One step of a dotted key in a key/value pair.
local function enter_dotted(st, t, parts, i, scope, keypos)
  local k = parts[i]
  local v = t[k]
  if v == nil then
    v = {}
    t[k] = v
    st.kind[v], st.scope[v] = "dotted", scope
    return v
  end
  local name = key_name(parts, i)
  if type(v) ~= "table" then
    fail(keypos, ("key '%s' already has a value"):format(name))
  end
  if is_array(v) then
    fail(keypos, ("cannot add to array '%s' with a dotted key"):format(name))
  end
  local kind = st.kind[v]
  if kind == "implicit" then
    st.kind[v], st.scope[v] = "dotted", scope
    return v
  end
  if kind == "dotted" and st.scope[v] == scope then return v end
  if kind == "inline" then
    fail(keypos, ("cannot add to inline table '%s'"):format(name))
  end
  fail(keypos, ("table '%s' is already defined"):format(name))
end

-- key = value into table t; returns the position after the value.
function assign(st, pos, t, scope, depth)
  local text = st.text
  local parts, p = read_key(text, pos)
  p = skip_ws(text, p)
  if sub(text, p, p) ~= "=" then
    fail(p, ("expected '=' after key '%s', found %s")
      :format(key_name(parts), show(sub(text, p, p))))
  end
  for i = 1, #parts - 1 do
    t = enter_dotted(st, t, parts, i, scope, pos)
  end
  local last = parts[#parts]
  if t[last] ~= nil then
    fail(pos, ("duplicate key '%s'"):format(key_name(parts)))
  end
  t[last], p = read_value(st, skip_ws(text, p + 1), depth)
  return p
end

-- One step along a [header] or [[header]] path: an array of tables leads
-- into its last element.
local function descend(st, t, parts, i, keypos)
  local k = parts[i]
  local v = t[k]
  if v == nil then
    v = {}
    t[k] = v
    st.kind[v] = "implicit"
    return v
  end
  local name = key_name(parts, i)
  if type(v) ~= "table" then
    fail(keypos, ("key '%s' already has a value"):format(name))
  end
  if is_array(v) then
    if st.kind[v] == "aot" then return v[#v] end
    fail(keypos, ("cannot add to static array '%s'"):format(name))
  end
  if st.kind[v] == "inline" then
    fail(keypos, ("cannot add to inline table '%s'"):format(name))
  end
  return v
end

-- [a.b.c]: returns the table that following pairs go into.
local function open_table(st, parts, keypos)
  local t = st.root
  for i = 1, #parts - 1 do t = descend(st, t, parts, i, keypos) end
  local k = parts[#parts]
  local v = t[k]
  local name = key_name(parts)
  if v == nil then
    v = {}
    t[k] = v
  elseif type(v) ~= "table" then
    fail(keypos, ("key '%s' already has a value"):format(name))
  elseif is_array(v) then
    fail(keypos, ("'%s' is an array, not a table"):format(name))
  elseif st.kind[v] ~= "implicit" then
    fail(keypos, ("table '%s' is already defined"):format(name))
  end
  st.kind[v] = "header"
  return v
end

-- [[a.b.c]]: appends a table to the array of tables and returns it.
local function append_table(st, parts, keypos)
  local t = st.root
  for i = 1, #parts - 1 do t = descend(st, t, parts, i, keypos) end
  local k = parts[#parts]
  local arr = t[k]
  local name = key_name(parts)
  if arr == nil then
    arr = setmetatable({}, array_mt)
    t[k] = arr
    st.kind[arr] = "aot"
  elseif not is_array(arr) then
    fail(keypos, ("'%s' is already defined and is not an array of tables")
      :format(name))
  elseif st.kind[arr] ~= "aot" then
    fail(keypos, ("cannot add to static array '%s'"):format(name))
  end
  local v = {}
  st.kind[v] = "header"
  arr[#arr + 1] = v
  return v
end

-- [header] or [[header]] at pos; returns the new current table and the
-- position of the next line.
local function read_header(st, pos)
  local text = st.text
  local aot = sub(text, pos + 1, pos + 1) == "["
  local close = aot and "]]" or "]"
  local keypos = skip_ws(text, pos + #close)
  local parts, p = read_key(text, keypos)
  p = skip_ws(text, p)
  if sub(text, p, p + #close - 1) ~= close then
    fail(p, ("expected '%s' to close the table header, found %s")
      :format(close, show(sub(text, p, p))))
  end
  local t
  if aot then
    t = append_table(st, parts, keypos)
  else
    t = open_table(st, parts, keypos)
  end
  return t, expect_eol(text, p + #close, "table header")
end

local function read_document(st)
  local text = st.text
  local current, scope = st.root, 0
  local pos = 1
  while true do
    pos = skip_ws(text, pos)
    local c = sub(text, pos, pos)
    if c == "" then return st.root end
    if c == "\n" then
      pos = pos + 1
    elseif c == "#" then
      pos = skip_comment(text, pos)
    elseif c == "[" then
      current, pos = read_header(st, pos)
      st.scopes = st.scopes + 1
      scope = st.scopes
    else
      st.last = pos
      pos = assign(st, pos, current, scope, 0)
      pos = expect_eol(text, pos, "value")
    end
  end
end

---------------------------------------------------------------- API

local BOM = "\239\187\191"

function M.parse(text)
  if type(text) ~= "string" then
    return nil, message(1, "expected a string, got " .. type(text))
  end
  if sub(text, 1, 3) == BOM then text = sub(text, 4) end
  -- TOML is UTF-8; utf8.len also refuses surrogates and overlong forms.
  local ok, at = utf8.len(text)
  if not ok then return nil, message(line_of(text, at), "invalid UTF-8") end
  -- CRLF counts as one newline; a lone CR is then an error wherever it is.
  text = text:gsub("\r\n", "\n")
  local st = {
    text = text, root = {}, kind = {}, scope = {}, scopes = 0, last = 1,
  }
  local done, res = pcall(read_document, st)
  if done then return res end
  if type(res) == "table" then
    return nil, message(line_of(text, res.pos), res.what)
  end
  -- Not a TOML error but still no raise: stack exhaustion and the like.
  return nil, message(line_of(text, st.last), tostring(res))
end

function M.parse_file(path)
  local f, err = io.open(path, "rb")
  if not f then
    -- io.open says "<path>: <reason>"; keep only the reason.
    if sub(err, 1, #path + 2) == path .. ": " then
      err = sub(err, #path + 3)
    end
    return nil, ("cannot read %s: %s"):format(path, err)
  end
  local text, rerr = f:read("a")
  f:close()
  if not text then
    return nil, ("cannot read %s: %s"):format(path, tostring(rerr))
  end
  return M.parse(text)
end

return M
