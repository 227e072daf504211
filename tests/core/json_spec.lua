-- core.json_decode: the C decoder on the hot path of agent output.
local core = require("overmind.core")
local cjson = require("cjson")

-- Deep equality; lua-cjson 2.1.0 gives floats where we give integers, so
-- numbers compare by value.
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

describe("core.json_decode", function()
  it("decodes every JSON type, integers as integers", function()
    local v = assert(core.json_decode(
      '{"s":"x\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/","i":42,"n":-7,"f":2.5,' ..
      '"e":-3e2,"t":true,"F":false,"z":null,"a":[1,[],{}],"o":{"k":"v"}}'))
    assert.are.equal("xé😀\n\t\"\\/", v.s)
    assert.are.equal("integer", math.type(v.i))
    assert.are.equal(-7, v.n)
    assert.are.equal(2.5, v.f)
    assert.are.equal(-300.0, v.e)
    assert.is_true(v.t)
    assert.is_false(v.F)
    assert.are.equal(cjson.null, v.z)
    assert.are.equal(3, #v.a)
    assert.are.equal("v", v.o.k)
  end)

  it("agrees with lua-cjson on agent output lines", function()
    local lines = {
      '{"type":"system","subtype":"init","session_id":"s-1","tools":["Bash"]}',
      '{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash","input":{"command":"ls -la"}}]}}',
      '{"type":"result","subtype":"success","is_error":false,"total_cost_usd":0.0123,"num_turns":3}',
    }
    for _, l in ipairs(lines) do
      assert.is_true(same(cjson.decode(l), core.json_decode(l)), l)
    end
  end)

  it("rejects what is not JSON, with the byte where it stopped", function()
    for _, bad in ipairs({ "", "{", '{"a" 1}', '"\\x"', "[1,]", "{'a':1}",
        "tru", '"a\nb"', "01", "1.", "-", '{"a":1}x', "\1" }) do
      local v, err = core.json_decode(bad)
      assert.is_nil(v, bad)
      assert.is_truthy(err:match("^invalid JSON at byte %d+$"), err)
    end
  end)

  it("builds only the selected members, and nested selections", function()
    local sel = core.json_fields({ type = true, message = { content = true } })
    local v = core.json_decode('{"type":"assistant","uuid":"u","message":' ..
      '{"id":"m","content":[{"type":"text","text":"hi"}],"usage":{"a":1}}}', sel)
    assert.are.equal("assistant", v.type)
    assert.is_nil(v.uuid)
    assert.is_nil(v.message.id)
    assert.is_nil(v.message.usage)
    assert.are.equal("hi", v.message.content[1].text)
  end)

  it("is as strict about skipped members as about built ones", function()
    -- regression (fuzz_streamjson): a control character or a bad escape
    -- inside a string that the selection drops made the line valid
    local sel = core.json_fields({ type = true })
    for _, bad in ipairs({ '{"type":"x","skip":"a\1b"}',
        '{"type":"x","skip":"bad \\q"}', '{"type":"x","sk\7ip":1}',
        '{"type":"x","skip":"\\u12"}' }) do
      assert.is_nil(core.json_decode(bad, sel), bad)
      assert.is_nil(core.json_decode(bad), bad)
    end
    assert.are.equal("x", core.json_decode('{"type":"x","skip":"ok \\" \\\\"}',
      sel).type)
  end)

  it("refuses nesting deeper than its limit instead of overflowing", function()
    assert.is_nil(core.json_decode(string.rep("[", 10000) ..
      string.rep("]", 10000)))
    assert.is_truthy(core.json_decode(string.rep("[", 100) ..
      string.rep("]", 100)))
  end)
end)
