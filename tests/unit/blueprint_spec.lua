-- Blueprint files (SPEC §7, lua/overmind/blueprint/init.lua): TOML and Lua
-- blueprints read into agents in file order with their `run` arguments,
-- validated before anything starts, with errors that name the file (and,
-- for TOML, the line).
local blueprint = require("overmind.blueprint")

local dir

local function write(name, text)
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

local function names(agents)
  local out = {}
  for i, a in ipairs(agents) do out[i] = a.name end
  return out
end

local function by_name(agents)
  local out = {}
  for _, a in ipairs(agents) do out[a.name] = a end
  return out
end

-- Loads a file that must fail; returns the message.
local function load_err(path)
  local agents, err = blueprint.load(path)
  assert.is_nil(agents, "expected an error for " .. path)
  assert.is_string(err)
  return err
end

describe("blueprint", function()
  before_each(function()
    local p = io.popen("mktemp -d /tmp/om-bp-unit.XXXXXX")
    dir = p:read("l")
    p:close()
  end)
  after_each(function()
    if dir and dir:match("^/tmp/om%-bp%-unit%.") then os.execute("rm -rf " .. dir) end
  end)

  describe("TOML", function()
    it("reads agents in file order with their dependencies", function()
      local path = write("diamond.toml", [[
# a diamond
[agents.zfetch]
command = "echo fetch"

[agents.lint]
command = "echo lint"
depends_on = ["zfetch"]

[agents.btest]
command = "echo test"
depends_on = ["zfetch"]

[agents.package]
command = "echo package"
depends_on = ["lint", "btest"]
]])
      local agents = assert(blueprint.load(path))
      assert.are.same({ "zfetch", "lint", "btest", "package" }, names(agents))
      local a = by_name(agents)
      assert.are.same({}, a.zfetch.depends_on)
      assert.are.same({ "zfetch" }, a.lint.depends_on)
      assert.are.same({ "lint", "btest" }, a.package.depends_on)
      assert.are.equal("echo package", a.package.args.command)
      assert.is_nil(a.package.args.depends_on, "depends_on is not a run flag")
    end)

    it("describes agents as `<name>: <command>` plus their dependencies", function()
      local path = write("d.toml", [[
[agents.a]
command = "echo a"
[agents.b]
command = "echo b"
depends_on = ["a"]
[agents.c]
command = "run c"
depends_on = ["a", "b"]
]])
      assert.are.same({
        "a: echo a",
        "b: echo b (depends on: a)",
        "c: run c (depends on: a, b)",
      }, blueprint.describe(assert(blueprint.load(path))))
    end)

    it("maps every documented field to its run argument", function()
      local path = write("fields.toml", [[
[agents.researcher]
command = "list 3 facts about OTP"
provider = "claude"
type = "session"
cwd = "/tmp"
model = "haiku"
restart = "on-failure"
max_restarts = 3
max_seconds = 30
backoff = 250
activity_timeout = 120
timeout = 600
stop_timeout = 5
env = { K = "V", N = 3 }
]])
      local a = assert(blueprint.load(path))[1]
      assert.are.equal("researcher", a.name)
      local args = a.args
      assert.are.equal("list 3 facts about OTP", args.command)
      assert.are.equal("claude", args.provider)
      assert.are.equal("session", args.type)
      assert.are.equal("/tmp", args.cwd)
      assert.are.equal("haiku", args.model)
      assert.are.equal("on-failure", args.restart)
      assert.are.equal(3, args.max_restarts)
      assert.are.equal(30, args.max_seconds)
      assert.are.equal(250, args.backoff_ms)
      assert.are.equal(120, args.activity_timeout)
      assert.are.equal(600, args.timeout)
      assert.are.equal(5, args.stop_timeout)
      assert.are.same({ K = "V", N = "3" }, args.env)
    end)

    it("resolves a relative cwd against the blueprint's directory", function()
      local path = write("cwd.toml", '[agents.a]\ncommand = "pwd"\ncwd = "sub"\n')
      local a = assert(blueprint.load(path))[1]
      assert.are.equal(dir .. "/sub", a.args.cwd)
    end)

    it("accepts a log_max size", function()
      local path = write("lm.toml", '[agents.a]\ncommand = "x"\nlog_max = "1M"\n')
      assert.are.equal(1024 * 1024, assert(blueprint.load(path))[1].args.log_max)
    end)

    it("names the file and line of an agent without a command", function()
      local path = write("nocmd.toml", [[
[agents.a]
command = "echo a"

[agents.b]
provider = "raw"
]])
      assert.are.equal(path .. ":4: missing command for agent: b", load_err(path))
    end)

    it("treats a blank command as missing", function()
      local path = write("blank.toml", '[agents.a]\ncommand = "  "\n')
      assert.are.equal(path .. ":1: missing command for agent: a", load_err(path))
    end)

    it("names an unknown dependency", function()
      local path = write("unknown.toml", [[
[agents.a]
command = "echo a"
[agents.b]
command = "echo b"
depends_on = ["a", "ghost"]
]])
      local err = load_err(path)
      local line, msg = err:match("^" .. path:gsub("%p", "%%%0") .. ":(%d+): (.*)$")
      assert.is_truthy(line, err)
      assert.is_truthy(line == "3" or line == "5", err)
      assert.are.equal("agent b depends on unknown agent: ghost", msg)
    end)

    it("gives the path of a dependency cycle", function()
      local path = write("cycle.toml", [[
[agents.a]
command = "echo a"
depends_on = ["b"]
[agents.b]
command = "echo b"
depends_on = ["c"]
[agents.c]
command = "echo c"
depends_on = ["a"]
]])
      local err = load_err(path)
      local msg = err:match("^" .. path:gsub("%p", "%%%0") .. ":%d+: (.*)$")
        or err:match("^" .. path:gsub("%p", "%%%0") .. ": (.*)$")
      assert.are.equal("dependency cycle: a -> b -> c -> a", msg, err)
    end)

    it("gives the path of a two-agent cycle", function()
      local path = write("cycle2.toml",
        '[agents.a]\ncommand = "x"\ndepends_on = ["b"]\n' ..
        '[agents.b]\ncommand = "y"\ndepends_on = ["a"]\n')
      local err = load_err(path)
      local tail = ": dependency cycle: a -> b -> a"
      assert.are.equal(tail, err:sub(-#tail), err)
    end)

    it("names the line of invalid TOML", function()
      local path = write("bad.toml", [[
[agents.a]
command = "echo a"
command = "twice"
]])
      local err = load_err(path)
      local prefix = path .. ": invalid TOML at line 3: "
      assert.are.equal(prefix, err:sub(1, #prefix), err)
      assert.is_true(#err > #prefix, "the reason follows: " .. err)
    end)

    it("names the line of an unterminated string", function()
      local path = write("bad2.toml", '[agents.a]\n\n\ncommand = "echo a\n')
      local prefix = path .. ": invalid TOML at line 4: "
      local err = load_err(path)
      assert.are.equal(prefix, err:sub(1, #prefix), err)
    end)

    it("rejects an unknown field and a field of the wrong type", function()
      local p1 = write("field.toml", '[agents.a]\ncommand = "x"\nbogus = 1\n')
      assert.is_truthy(load_err(p1):find(p1, 1, true))
      local p2 = write("type.toml", '[agents.a]\ncommand = "x"\nmax_restarts = "many"\n')
      assert.is_truthy(load_err(p2):find(p2, 1, true))
      local p3 = write("deps.toml", '[agents.a]\ncommand = "x"\ndepends_on = "b"\n')
      assert.is_truthy(load_err(p3):find(p3, 1, true))
    end)

    it("rejects a file without agents", function()
      local p = write("empty.toml", "# nothing\n")
      assert.is_truthy(load_err(p):find(p, 1, true))
      local p2 = write("noagents.toml", "[agents]\n")
      assert.is_truthy(load_err(p2):find(p2, 1, true))
    end)

    it("names a file it cannot read", function()
      local p = dir .. "/missing.toml"
      local err = load_err(p)
      assert.is_truthy(err:find(p, 1, true), err)
    end)
  end)

  describe("Lua", function()
    it("reads the same structure from a returned table", function()
      local path = write("bp.lua", [[
local agents = {}
for i = 1, 2 do
  agents["worker-" .. i] = { command = "echo " .. i, env = { I = i } }
end
agents.join = { command = "echo join", depends_on = { "worker-1", "worker-2" },
                restart = "on-failure", max_restarts = 1 }
return { agents = agents }
]])
      local agents = assert(blueprint.load(path))
      local a = by_name(agents)
      assert.are.equal(3, #agents)
      assert.are.equal("echo 1", a["worker-1"].args.command)
      assert.are.same({ I = "1" }, a["worker-1"].args.env)
      assert.are.same({ "worker-1", "worker-2" }, a.join.depends_on)
      assert.are.equal("on-failure", a.join.args.restart)
      assert.are.equal(1, a.join.args.max_restarts)
    end)

    it("validates as TOML does, naming the file", function()
      local p1 = write("nocmd.lua", 'return { agents = { a = { provider = "raw" } } }')
      assert.are.equal(p1 .. ": missing command for agent: a", load_err(p1))
      local p2 = write("dep.lua",
        'return { agents = { a = { command = "x", depends_on = { "q" } } } }')
      assert.are.equal(p2 .. ": agent a depends on unknown agent: q", load_err(p2))
      local p3 = write("self.lua",
        'return { agents = { a = { command = "x", depends_on = { "a" } } } }')
      assert.are.equal(p3 .. ": dependency cycle: a -> a", load_err(p3))
    end)

    it("names the file of a syntax error or a runtime error", function()
      local p1 = write("syntax.lua", "return { agents = {{{")
      assert.is_truthy(load_err(p1):find(p1, 1, true))
      local p2 = write("raise.lua", 'error("no blueprint for you")')
      local err = load_err(p2)
      assert.is_truthy(err:find(p2, 1, true), err)
      assert.is_truthy(err:find("no blueprint for you", 1, true), err)
      local p3 = write("nothing.lua", "return 42")
      assert.is_truthy(load_err(p3):find(p3, 1, true))
    end)
  end)

  describe("the shipped samples", function()
    local root = os.getenv("PWD") or "."
    it("blueprints/build.toml is a diamond", function()
      local agents = assert(blueprint.load(root .. "/blueprints/build.toml"))
      assert.are.same({ "fetch", "lint", "test", "package" }, names(agents))
      assert.are.same({ "lint", "test" }, by_name(agents).package.depends_on)
      assert.are.same({ CI = "1" }, by_name(agents).test.args.env)
    end)

    it("blueprints/research.toml and code-review.lua load", function()
      local r = assert(blueprint.load(root .. "/blueprints/research.toml"))
      assert.are.same({ "history", "design", "writer", "review" }, names(r))
      local c = assert(blueprint.load(root .. "/blueprints/code-review.lua"))
      assert.are.same({ "review-1", "review-2", "review-3" },
        by_name(c).summary.depends_on)
    end)
  end)
end)
