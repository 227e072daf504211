local envmod = require("overmind.daemon.env")

local function as_map(list)
  local t = {}
  for _, kv in ipairs(list) do
    local k, v = kv:match("^([^=]*)=(.*)$")
    assert.is_truthy(k, kv)
    assert.is_nil(t[k], "duplicate " .. k)
    t[k] = v
  end
  return t
end

describe("daemon.env.build", function()
  local base = {
    PATH = "/usr/bin:/bin", HOME = "/root", LANG = "C.UTF-8",
    CLAUDECODE = "1", CLAUDE_CODE_ENTRYPOINT = "cli",
    OVERMIND_MISSION_ID = "deadbeef", OVERMIND_MISSION_NAME = "old-name",
    OVERMIND_HOME = "/elsewhere",
  }
  local m = { id = "abcd1234", name = "swift-reef" }

  it("is an array of K=V strings", function()
    local list = envmod.build(base, m, "/tmp/home")
    assert.is_true(#list > 0)
    for _, kv in ipairs(list) do
      assert.are.equal("string", type(kv))
      assert.is_truthy(kv:find("=", 1, true))
    end
  end)

  it("keeps the daemon's environment", function()
    local e = as_map(envmod.build(base, m, "/tmp/home"))
    assert.are.equal("/usr/bin:/bin", e.PATH)
    assert.are.equal("/root", e.HOME)
    assert.are.equal("C.UTF-8", e.LANG)
  end)

  it("removes CLAUDECODE and CLAUDE_CODE_ENTRYPOINT", function()
    local e = as_map(envmod.build(base, m, "/tmp/home"))
    assert.is_nil(e.CLAUDECODE)
    assert.is_nil(e.CLAUDE_CODE_ENTRYPOINT)
  end)

  it("sets the mission's identity and home", function()
    local e = as_map(envmod.build(base, m, "/tmp/home"))
    assert.are.equal("abcd1234", e.OVERMIND_MISSION_ID)
    assert.are.equal("swift-reef", e.OVERMIND_MISSION_NAME)
    assert.are.equal("/tmp/home", e.OVERMIND_HOME)
  end)

  it("adds --env pairs, which win over the daemon's", function()
    local mm = { id = "abcd1234", name = "swift-reef",
                 env = { FOO = "bar", PATH = "/custom/bin", EMPTY = "" } }
    local e = as_map(envmod.build(base, mm, "/tmp/home"))
    assert.are.equal("bar", e.FOO)
    assert.are.equal("/custom/bin", e.PATH)
    assert.are.equal("", e.EMPTY)
  end)

  it("does not change the daemon's table", function()
    envmod.build(base, { id = "x", name = "y", env = { PATH = "/p" } }, "/h")
    assert.are.equal("1", base.CLAUDECODE)
    assert.are.equal("/usr/bin:/bin", base.PATH)
  end)

  it("works from an empty environment", function()
    local e = as_map(envmod.build({}, m, "/h"))
    assert.are.same({ OVERMIND_MISSION_ID = "abcd1234",
                      OVERMIND_MISSION_NAME = "swift-reef",
                      OVERMIND_HOME = "/h" }, e)
  end)
end)
