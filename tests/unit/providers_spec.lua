-- The provider loader (SPEC §6): raw is built in, a user adds
-- $OVERMIND_HOME/providers/<name>.lua, and failures are provider_error for
-- that mission, never a Lua error.
local providers = require("overmind.providers")

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  return out
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

describe("providers", function()
  local home

  before_each(function()
    home = sh("mktemp -d /tmp/om-unit-prov.XXXXXX"):gsub("%s+$", "")
    os.execute("mkdir -p " .. home .. "/providers")
  end)

  after_each(function()
    if home and home:match("^/tmp/om%-unit%-prov%.") then
      os.execute("rm -rf " .. home)
    end
  end)

  describe("raw", function()
    it("is built in and runs the command as given", function()
      local p, err = providers.get("raw", home)
      assert.is_nil(err)
      assert.are.equal("table", type(p))
      assert.are.equal("echo hi", p.build_command({ type = "task",
        command = "echo hi" }))
    end)

    it("is the default", function()
      local p = providers.get(nil, home)
      assert.are.equal("echo hi", p.build_command({ type = "task",
        command = "echo hi" }))
    end)

    it("runs cat for a session without a command", function()
      local p = providers.get("raw", home)
      assert.are.equal("cat", p.build_command({ type = "session", command = "" }))
      assert.are.equal("cat", p.build_command({ type = "session" }))
    end)

    it("gets the defaults for parse, format and encode_message", function()
      local p = providers.get("raw", home)
      assert.are.same({ type = "plain", text = "a line" }, p.parse("a line"))
      assert.are.equal("t", p.format({ type = "text", text = "t" }))
      assert.are.equal("hello\n", p.encode_message("hello"))
    end)
  end)

  describe("a user provider", function()
    it("is loaded from <home>/providers/<name>.lua", function()
      write(home .. "/providers/mine.lua", [[
        return {
          build_command = function(m) return "mine " .. m.command end,
          parse = function(line) return { type = "text", text = "<" .. line .. ">" } end,
        }
      ]])
      local p, err = providers.get("mine", home)
      assert.is_nil(err)
      assert.are.equal("mine go", p.build_command({ command = "go" }))
      assert.are.same({ type = "text", text = "<x>" }, p.parse("x"))
      -- missing functions get the defaults
      assert.are.equal("y", p.format({ text = "y" }))
      assert.are.equal("m\n", p.encode_message("m"))
    end)

    it("wins over a built-in of the same name", function()
      write(home .. "/providers/raw.lua", [[
        return { build_command = function(m) return "custom" end }
      ]])
      local p = providers.get("raw", home)
      assert.are.equal("custom", p.build_command({ command = "x" }))
    end)

    it("is read from the home it is asked for", function()
      local other = sh("mktemp -d /tmp/om-unit-prov.XXXXXX"):gsub("%s+$", "")
      os.execute("mkdir -p " .. other .. "/providers")
      write(home .. "/providers/same.lua",
        'return { build_command = function() return "one" end }')
      write(other .. "/providers/same.lua",
        'return { build_command = function() return "two" end }')
      local a = providers.get("same", home)
      local b = providers.get("same", other)
      os.execute("rm -rf " .. other)
      assert.are.equal("one", a.build_command({}))
      assert.are.equal("two", b.build_command({}))
    end)

    it("picks up a changed file", function()
      local path = home .. "/providers/edit.lua"
      write(path, 'return { build_command = function() return "v1" end }')
      assert.are.equal("v1", providers.get("edit", home).build_command({}))
      write(path, 'return { build_command = function() return "version2" end }')
      assert.are.equal("version2", providers.get("edit", home).build_command({}))
    end)
  end)

  describe("failures are provider_error", function()
    local function expect_error(name, pattern)
      local p, err = providers.get(name, home)
      assert.is_nil(p)
      assert.are.equal("string", type(err))
      assert.are.equal("provider_error: ", err:sub(1, 16), err)
      if pattern then assert.is_truthy(err:find(pattern, 1, true), err) end
      return err
    end

    it("for a file that does not compile", function()
      write(home .. "/providers/broken.lua", "return { build_command = ")
      expect_error("broken")
    end)

    it("for a file that raises while loading", function()
      write(home .. "/providers/boom.lua", 'error("kaboom")')
      expect_error("boom", "kaboom")
    end)

    it("for a provider without build_command", function()
      write(home .. "/providers/nocmd.lua", "return { parse = function() end }")
      expect_error("nocmd", "build_command")
    end)

    it("for a provider that is not a table", function()
      write(home .. "/providers/str.lua", 'return "nope"')
      expect_error("str")
    end)

    it("for a parse that is not a function", function()
      write(home .. "/providers/badparse.lua",
        'return { build_command = function() return "x" end, parse = 3 }')
      expect_error("badparse", "parse")
    end)

    it("for an unknown provider", function()
      expect_error("nosuchprovider", "nosuchprovider")
    end)

    it("for a name that could escape the providers directory", function()
      write(home .. "/evil.lua",
        'return { build_command = function() return "evil" end }')
      expect_error("../evil")
      expect_error("")
    end)

    it("for a provider function that raises, through providers.call", function()
      write(home .. "/providers/raises.lua", [[
        return { build_command = function() error("no command today") end }
      ]])
      local p = assert(providers.get("raises", home))
      local v, err = providers.call(p, "build_command", {})
      assert.is_nil(v)
      assert.are.equal("provider_error: ", err:sub(1, 16))
      assert.is_truthy(err:find("no command today", 1, true))
    end)

    it("a fixed file loads after a broken one", function()
      local path = home .. "/providers/fixme.lua"
      write(path, "this is not lua")
      expect_error("fixme")
      write(path, 'return { build_command = function() return "fixed" end }')
      local p = assert(providers.get("fixme", home))
      assert.are.equal("fixed", p.build_command({}))
    end)
  end)
end)

-- Regression (fuzz_streamjson): a line whose text is not a string, e.g.
-- {"type":"assistant","message":{"content":[{"type":"text","text":5}]}},
-- must give no log text rather than a number.
describe("provider format with text that is not a string", function()
  for _, name in ipairs({ "claude", "codex", "gemini" }) do
    it(name .. " returns nil", function()
      local p = require("overmind.providers." .. name)
      assert.is_nil(p.format({ type = "text", text = 5 }))
      assert.is_nil(p.format({ type = "plain", text = {} }))
    end)
  end
  it("the default format returns nil", function()
    local home = os.tmpname()
    os.remove(home)
    local p = assert(providers.get("raw", home))
    assert.is_nil(p.format({ type = "plain", text = 5 }))
  end)
end)

-- The daemon hands claude.parse its lines decoded through claude.fields
-- (only what parse reads is built): the events and the log text must be
-- those of a full decode, but for `raw`.
describe("claude parse through its field selection", function()
  local core = require("overmind.core")
  local claude = require("overmind.providers.claude")
  local sel = core.json_fields(claude.fields)
  local SID = '"session_id":"cd92519e-b1b3-4b72-8b10-baaf95f09895"'
  local function assistant(blocks)
    return '{"type":"assistant","message":{"id":"msg_70","type":"message",' ..
      '"role":"assistant","model":"claude-sonnet-4-5","content":' .. blocks ..
      ',"stop_reason":null,"usage":{"input_tokens":12}},' ..
      '"parent_tool_use_id":null,' .. SID .. ',"uuid":"675a"}'
  end
  local lines = {
    '{"type":"system","subtype":"init","cwd":"/tmp",' .. SID ..
      ',"tools":["Bash"],"mcp_servers":[],"uuid":"bb26"}',
    assistant('[{"type":"thinking","thinking":"The user wrote: hi",' ..
      '"signature":"sig"}]'),
    assistant('[{"type":"tool_use","id":"toolu_a7","name":"Bash",' ..
      '"input":{"command":"echo \\"hi\\"","opts":[{"a":1}]},' ..
      '"caller":{"type":"direct"}}]'),
    assistant('[{"type":"text","text":"Answer:\\nhi \\u00e9",' ..
      '"citations":[{"url":"x"}]}]'),
    assistant('[{"type":"text","text":"one"},{"type":"tool_use",' ..
      '"id":"t2","name":"Read","input":{}},"odd",7,{"type":"image"},' ..
      '{"type":"text","text":5}]'),
    assistant('"plain content"'),
    assistant('[]'),
    assistant('{"type":"text","text":"not an array"}'),
    '{"type":"user","message":{"role":"user","content":[{"tool_use_id":' ..
      '"toolu_a7","type":"tool_result","content":"hello","is_error":false}]},' ..
      SID .. '}',
    '{"type":"user","message":{"role":"user","content":[{"tool_use_id":' ..
      '"toolu_a7","type":"tool_result","content":[{"type":"text",' ..
      '"text":"out","extra":1}],"is_error":true}]},' .. SID .. '}',
    '{"type":"user","message":{"role":"user","content":"typed by a user"}}',
    '{"type":"user","message":{"role":"user","content":[{"type":"text",' ..
      '"text":"also typed"}]}}',
    '{"type":"result","subtype":"success","is_error":false,' ..
      '"duration_ms":15,"num_turns":2,"result":"Answer: hi",' .. SID ..
      ',"total_cost_usd":0.0012,"usage":{"input_tokens":24}}',
    '{"type":"result","subtype":"error_during_execution","is_error":true,' ..
      '"duration_ms":3,"num_turns":1,' .. SID .. ',"cost_usd":2}',
    '{"type":"stream_event","event":{"type":"content_block_delta"},' ..
      SID .. '}',
  }

  local function same(a, b)
    if type(a) ~= type(b) then return false end
    if type(a) ~= "table" then return a == b end
    for k, v in pairs(a) do
      if k ~= "raw" and not same(v, b[k]) then return false end
    end
    for k in pairs(b) do
      if k ~= "raw" and a[k] == nil then return false end
    end
    return true
  end

  -- What an event says (SPEC §6): a content block is its own event, so a
  -- full decode's event also holds the members nobody reads (a block's
  -- id, signature, citations).
  local SAYS = { "type", "text", "name", "input", "is_error", "content",
                 "tool_use_id", "subtype", "session_id", "duration_ms",
                 "cost_usd", "num_turns", "block_type" }
  local function says(ev)
    if type(ev) ~= "table" then return ev end
    local out = {}
    for _, k in ipairs(SAYS) do out[k] = ev[k] end
    if ev.blocks then
      out.blocks = {}
      for j, b in ipairs(ev.blocks) do out.blocks[j] = says(b) end
    end
    return out
  end

  for i, line in ipairs(lines) do
    it("gives line " .. i .. " the events and text of a full decode",
        function()
      local full = claude.parse(line, assert(core.json_decode(line)))
      local got = claude.parse(line, assert(core.json_decode(line, sel)))
      assert.is_true(same(says(full), says(got)), line)
      assert.are.equal(claude.format(full), claude.format(got))
    end)
  end
end)
