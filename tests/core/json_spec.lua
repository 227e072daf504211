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

  it("prunes each object of an array under a nested selection", function()
    local sel = core.json_fields({ message = { content = { type = true,
      text = true, input = true } } })
    local line = '{"message":{"content":[' ..
      '{"type":"text","text":"hi","citations":[1,2]},' ..
      '{"type":"tool_use","id":"t1","name":"Bash",' ..
      '"input":{"command":"ls","x":[{"deep":1}]}}]}}'
    local v = core.json_decode(line, sel)
    local full = core.json_decode(line)
    local c = v.message.content
    assert.are.equal(2, #c)
    assert.are.same({ type = "text", text = "hi" }, c[1])
    assert.are.same({ type = "tool_use",
      input = full.message.content[2].input }, c[2])
    -- input is selected whole: its arrays of objects are built in full
    assert.are.equal(1, c[2].input.x[1].deep)
  end)

  it("builds an array's other elements whole, and nested arrays alike",
      function()
    local sel = core.json_fields({ a = { k = true } })
    local v = core.json_decode('{"a":[1,"s",null,true,[],{},' ..
      '{"k":1,"j":2},[{"k":[{"j":3}],"j":4},5,[[{"j":6,"k":7}]]]]}', sel)
    local a = v.a
    assert.are.equal(8, #a)
    assert.are.equal(1, a[1])
    assert.are.equal("s", a[2])
    assert.are.equal(cjson.null, a[3])
    assert.is_true(a[4])
    assert.are.same({}, a[5])
    assert.are.same({}, a[6])
    assert.are.same({ k = 1 }, a[7])
    -- objects in arrays in arrays are pruned; k is whole, j dropped
    assert.are.same({ { k = { { j = 3 } } }, 5, { { { k = 7 } } } }, a[8])
  end)

  it("leaves empty arrays empty and values of other types whole", function()
    local sel = core.json_fields({ a = { k = true } })
    assert.are.same({ a = {} }, core.json_decode('{"a":[]}', sel))
    assert.are.same({ a = { {} } }, core.json_decode('{"a":[{}]}', sel))
    for _, lit in ipairs({ '"text"', '12', '2.5', 'true', 'false' }) do
      assert.are.same({ a = cjson.decode(lit) },
        core.json_decode('{"a":' .. lit .. '}', sel), lit)
    end
    assert.are.equal(cjson.null, core.json_decode('{"a":null}', sel).a)
    -- a selection on the top level applies to a top-level array too
    assert.are.same({ { k = 1 }, 2 },
      core.json_decode('[{"k":1,"j":0},2]', core.json_fields({ k = true })))
  end)

  it("is as strict inside a pruned array as in a full decode", function()
    local sel = core.json_fields({ a = { k = true } })
    for _, bad in ipairs({ '{"a":[{"k":1,"j":"\1"}]}', '{"a":[{"k":1},]}',
        '{"a":[{"k":1}', '{"a":[{"k":1} {"k":2}]}', '{"a":[{"j":01}]}',
        '{"a":' .. string.rep("[", 200) .. string.rep("]", 200) .. '}' }) do
      assert.is_nil(core.json_decode(bad, sel), bad)
      assert.is_nil(core.json_decode(bad), bad)
    end
  end)

  it("gives a selected member's repeated string value as a full decode",
      function()
    -- a member keeps its last short value to push it again: it must not
    -- outlive a collection, nor stick when the bytes change
    local sel = core.json_fields({ type = true, id = true,
      m = { type = true } })
    local long = string.rep("x", 41)
    local values = { "a", "a", "b", "\\u0061", "a", "", "", long, long,
      "ab", "a", "a\\nb", "a\\nb", "a" }
    for i, v in ipairs(values) do
      local line = '{"type":"' .. v .. '","id":"' .. i .. '","m":[' ..
        '{"type":"' .. v .. '"},{"type":"' .. values[#values + 1 - i] ..
        '"}]}'
      local got = core.json_decode(line, sel)
      assert.is_true(same(core.json_decode(line), got), line)
      collectgarbage()
    end
  end)

  it("takes a selection compiled or as a table, and ignores other values",
      function()
    local line = '{"a":1,"b":2}'
    assert.are.same({ a = 1 }, core.json_decode(line,
      core.json_fields({ a = true })))
    assert.are.same({ a = 1 }, core.json_decode(line, { a = true }))
    for _, other in ipairs({ io.stdout, "a", 1, false }) do
      assert.are.same({ a = 1, b = 2 }, core.json_decode(line, other))
    end
  end)

  it("selects a member by its name unescaped", function()
    local sel = core.json_fields({ type = true, ["a\"b"] = true })
    local v = core.json_decode('{"t\\u0079pe":"x","a\\"b":1,"typ":2}', sel)
    assert.are.equal("x", v.type)
    assert.are.equal(1, v['a"b'])
    assert.is_nil(v.typ)
    -- the last of two spellings of one name wins, as in a full decode
    v = core.json_decode('{"type":"x","\\u0074ype":"y"}', sel)
    assert.are.equal("y", v.type)
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

  it("takes whitespace between any two tokens, and nowhere else", function()
    local tokens = { '{', '"a"', ':', '[', '1', ',', '{', '"k"', ':', '"v"',
      ',', '"j"', ':', '[', 'true', ',', '-2.5e1', ',', 'null', ']', '}', ',',
      '[', ']', ']', ',', '"b"', ':', '{', '}', ',', '"c"', ':', '"x y"', '}' }
    local sel = core.json_fields({ a = { k = true }, b = true, c = true })
    local want = { a = { 1, { k = "v" }, {} }, b = {}, c = "x y" }
    local function doc(ws_at, ws)
      local out = {}
      for i = 0, #tokens do
        if ws_at == nil or ws_at == i then out[#out + 1] = ws end
        out[#out + 1] = tokens[i + 1]
      end
      return table.concat(out)
    end
    for _, ws in ipairs({ " ", "\t", "\n", "\r", " \t\r\n  " }) do
      for i = 0, #tokens do
        local d = doc(i, ws)
        assert.is_true(same(cjson.decode(d), core.json_decode(d)), d)
        assert.is_true(same(want, core.json_decode(d, sel)), d)
      end
      local d = doc(nil, ws)
      assert.is_true(same(cjson.decode(d), core.json_decode(d)), d)
      assert.is_true(same(want, core.json_decode(d, sel)), d)
    end
    for _, bad in ipairs({ "tr ue", "- 1", "1 .5", "[1\f]", "\v1", "1\0",
        '{"a" :\1 1}', "[\0]" }) do
      assert.is_nil(core.json_decode(bad), bad)
      assert.is_nil(core.json_decode(bad, sel), bad)
    end
  end)

  it("refuses nesting deeper than its limit instead of overflowing", function()
    assert.is_nil(core.json_decode(string.rep("[", 10000) ..
      string.rep("]", 10000)))
    assert.is_truthy(core.json_decode(string.rep("[", 100) ..
      string.rep("]", 100)))
  end)
end)

-- Strings are scanned 16 bytes a step (8 without SSE2), then byte by
-- byte for what is left of the input: every length around those steps,
-- with an escape or a bad byte at each position, at the end of the input
-- and inside it, built and skipped.
describe("core.json_decode strings", function()
  local safe = require("cjson.safe")
  local skip = core.json_fields({ keep = true })
  local ESCAPES = { '\\n', '\\"', '\\\\', '\\/', '\\t', '\\u00e9',
                    '\\u20AC', '\\ud83d\\ude00', '\\u0000' }
  -- Bad whatever follows them (the plain bytes include b, f, n, ...).
  local BAD = { '\1', '\31', '\127\1', '\\q', '\\x', '\\u12x', '\\u12g4',
                '\\U0041' }

  -- Plain bytes, a few of them UTF-8, none special: n of them.
  local function plain(n)
    local s = ("abcdefgh\195\169ijklmn op/rstuvwxyz0123456789ABCDEFGHIJKLM")
    while #s < n do s = s .. s end
    return s:sub(1, n)
  end

  -- One document four ways: alone (the string ends the input), in an
  -- array, as a member built and as one skipped by a selection.
  local function docs(body)
    local s = '"' .. body .. '"'
    return { s, '[' .. s .. ',1]', '{"keep":' .. s .. '}',
             '{"drop":' .. s .. ',"keep":1}', '{' .. s .. ':1}' }
  end

  -- Tens of thousands of documents: busted's asserts only on a failure.
  local function check(doc, want_ok)
    local full = core.json_decode(doc)
    local sel = core.json_decode(doc, skip)
    local ok = (full ~= nil) == want_ok and (sel ~= nil) == want_ok
    if ok and want_ok then ok = same(safe.decode(doc), full) end
    if not ok then
      assert.are.equal(want_ok, full ~= nil, doc)
      assert.are.equal(want_ok, sel ~= nil, doc)
      assert.are.same(safe.decode(doc), full, doc)
    end
  end

  it("decodes every length 0..40, with each escape at each position", function()
    for n = 0, 40 do
      for _, d in ipairs(docs(plain(n))) do check(d, true) end
      for i = 0, n do
        local p = plain(n)
        for _, e in ipairs(ESCAPES) do
          for _, d in ipairs(docs(p:sub(1, i) .. e .. p:sub(i + 1))) do
            check(d, true)
          end
        end
      end
    end
  end)

  it("decodes two escapes with every gap between them", function()
    for n = 0, 40 do
      local body = '\\n' .. plain(n) .. '\\u00e9'
      for _, d in ipairs(docs(body)) do check(d, true) end
      assert.are.equal("\n" .. plain(n) .. "\195\169",
        core.json_decode('"' .. body .. '"'))
    end
  end)

  it("rejects a control character or a bad escape at each position", function()
    for n = 0, 40 do
      local p = plain(n)
      for i = 0, n do
        for _, b in ipairs(BAD) do
          for _, d in ipairs(docs(p:sub(1, i) .. b .. p:sub(i + 1))) do
            check(d, false)
          end
        end
      end
    end
  end)

  it("rejects a string the input ends in, at every length", function()
    for n = 0, 40 do
      local p = plain(n)
      for _, s in ipairs({ '"' .. p, '"' .. p .. '\\', '"' .. p .. '\\"',
          '"\\n' .. p, '"' .. p .. '\\u00e', '["' .. p, '{"' .. p,
          '{"drop":"' .. p }) do
        assert.is_nil(core.json_decode(s), s)
        assert.is_nil(core.json_decode(s, skip), s)
      end
    end
  end)
end)
