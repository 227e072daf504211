-- core.json_encode: what the daemon writes as JSON.
local core = require("overmind.core")
local cjson = require("cjson")

local enc = core.json_encode

describe("core.json_encode", function()
  it("writes integers exactly, at any size", function()
    assert.are.equal("123456789012345", enc(123456789012345))
    assert.are.equal("9223372036854775807", enc(math.maxinteger))
    assert.are.equal("-9223372036854775808", enc(math.mininteger))
    assert.are.equal("0", enc(0))
  end)

  it("writes floats in the shortest form that reads back the same", function()
    for _, x in ipairs({ 0.1, 1 / 3, 2.5, -3e-7, 1e300, 2 ^ 53, 1732435200.123,
        math.pi, 5e-324, 1.7976931348623157e308 }) do
      local s = enc(x)
      assert.are.equal(x, tonumber(s), s)
      assert.is_true(#s <= 24, s)
    end
    assert.are.equal("0.1", enc(0.1))
    assert.are.equal("3", enc(3.0))
  end)

  it("writes NaN and the infinities as null", function()
    assert.are.equal("[null,null,null]", enc({ 0 / 0, math.huge, -math.huge }))
  end)

  it("escapes what JSON needs and nothing else", function()
    assert.are.equal([["a/b \"q\" \\ \n\r\t\b\f \u0001\u001f ]] .. "\127" .. [["]],
      enc("a/b \"q\" \\ \n\r\t\b\f \1\31 \127"))
    assert.are.equal('"\\u0000"', enc("\0"))
  end)

  it("keeps bytes as they are, or repairs them to UTF-8 when asked", function()
    assert.are.equal('"caf\xE9 \xE2\x82\xAC"', enc("caf\xE9 \xE2\x82\xAC"))
    assert.are.equal('"caf\xEF\xBF\xBD \xE2\x82\xAC"', enc("caf\xE9 \xE2\x82\xAC", true))
    assert.are.equal('{"k\xEF\xBF\xBD":"\xEF\xBF\xBD"}', enc({ ["k\xFF"] = "\xC3" }, true))
  end)

  it("makes arrays of tables with keys 1..n, holes as null", function()
    assert.are.equal("[1,2,3]", enc({ 1, 2, 3 }))
    assert.are.equal("[1,null,3]", enc({ 1, nil, 3 }))
    assert.are.equal('[[],{"a":[true,false]}]',
      enc({ setmetatable({}, { __json = "array" }), { a = { true, false } } }))
  end)

  it("makes objects of the rest; an empty table is {}", function()
    assert.are.equal("{}", enc({}))
    assert.are.equal('{"1.5":1}', enc({ [1.5] = 1 }))
    assert.are.equal('{"20":1}', enc({ [20] = 1 }))  -- too sparse for an array
    assert.are.equal('{"0":1}', enc({ [0] = 1 }))
    local t = cjson.decode(enc({ a = 1, [2] = "x" }))
    assert.are.same({ a = 1, ["2"] = "x" }, t)
  end)

  it("writes nil and cjson.null as null", function()
    assert.are.equal("null", enc(nil))
    assert.are.equal('{"a":null}', enc({ a = cjson.null }))
  end)

  it("raises a clear error for what JSON cannot hold", function()
    local function err(v)
      local ok, e = pcall(enc, v)
      assert.is_false(ok)
      return e
    end
    assert.is_truthy(err({ f = print }):find("cannot encode a function"))
    assert.is_truthy(err({ [true] = 1 }):find("not a string or number"))
    local cyc = {}
    cyc.self = cyc
    assert.is_truthy(err(cyc):find("nested too deep"))
    assert.is_truthy(err(io.stdout):find("cannot encode a userdata"))
  end)

  it("round-trips through the decoder", function()
    local v = { s = "x\n\"\\/é", i = 42, n = -7, f = 2.5, t = true, F = false,
      a = { 1, { 2, { 3 } } }, o = { k = "v" }, big = 123456789012345678 }
    local back = core.json_decode(enc(v))
    assert.are.same(v, back)
    assert.are.equal("integer", math.type(back.big))
  end)
end)
