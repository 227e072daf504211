-- Mission ids and generated names (SPEC §2): ids are 8 random lowercase
-- hex characters, names `<adjective>-<noun>`.
local M = {}

local adjectives = {
  "amber", "bold", "brave", "brisk", "calm", "clever", "cosmic", "crisp",
  "daring", "deft", "eager", "early", "fair", "fierce", "fleet", "gentle",
  "glad", "golden", "grand", "hardy", "hidden", "humble", "jolly", "keen",
  "kind", "lively", "lucid", "lucky", "mellow", "merry", "mighty", "misty",
  "nimble", "noble", "patient", "plucky", "polar", "proud", "quick", "quiet",
  "rapid", "rustic", "silent", "silver", "sleek", "smooth", "solar", "steady",
  "stellar", "stoic", "sturdy", "sunny", "swift", "tidy", "tranquil", "vast",
  "vivid", "warm", "wild", "wise", "witty", "young", "zealous", "zesty",
}

local nouns = {
  "anchor", "arrow", "aurora", "badger", "beacon", "birch", "bison", "brook",
  "canyon", "cedar", "comet", "coral", "crane", "delta", "dune", "eagle",
  "ember", "falcon", "fern", "fjord", "forge", "fox", "glacier", "grove",
  "harbor", "hawk", "heron", "island", "lagoon", "lark", "lynx", "maple",
  "meadow", "mesa", "meteor", "nebula", "oak", "orbit", "otter", "owl",
  "peak", "pine", "planet", "prairie", "quartz", "raven", "reef", "ridge",
  "river", "sparrow", "spruce", "summit", "tide", "tiger", "trail", "tundra",
  "valley", "vortex", "willow", "wolf", "wren", "yak", "zenith", "zephyr",
}

local function random_bytes(n)
  local ok, bytes = pcall(function()
    return require("overmind.core").random(n)
  end)
  if ok and bytes and #bytes == n then return bytes end
  -- No getrandom (an old kernel?): math.random is seeded per process.
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

function M.new_id()
  return (random_bytes(4):gsub(".", function(c)
    return string.format("%02x", c:byte())
  end))
end

local function pick(list, byte)
  return list[byte % #list + 1]
end

-- `taken(name)` says whether a name is in use; we try a few random names,
-- then fall back to a numbered one, so generation always ends.
function M.new_name(taken)
  for _ = 1, 32 do
    local b = random_bytes(2)
    local name = pick(adjectives, b:byte(1)) .. "-" .. pick(nouns, b:byte(2))
    if not (taken and taken(name)) then return name end
  end
  local b = random_bytes(2)
  local base = pick(adjectives, b:byte(1)) .. "-" .. pick(nouns, b:byte(2))
  local n = 2
  while taken and taken(base .. "-" .. n) do n = n + 1 end
  return base .. "-" .. n
end

-- A name a user may give a mission or an agent: a letter or digit, then
-- letters, digits, `.`, `_` and `-`.
function M.valid(name)
  return type(name) == "string" and name:match("^[%w][%w%._%-]*$") ~= nil
end

M.adjectives, M.nouns = adjectives, nouns

return M
