local json = require("overmind.json")

describe("json.encode", function()
  it("writes an empty json.array as []", function()
    assert.are.equal("[]", json.encode(json.array({})))
    assert.are.equal("[]", json.encode(json.array(nil)))
    assert.are.equal('{"children":[]}',
      json.encode({ children = json.array({}) }))
    assert.are.equal('[[],[]]',
      json.encode({ json.array({}), json.array({}) }))
  end)

  it("leaves a non-empty json.array as it is", function()
    local t = { 1, 2 }
    assert.are.equal(t, json.array(t))
    assert.are.equal("[1,2]", json.encode(json.array(t)))
    assert.are.equal('{"a":["x"]}', json.encode({ a = json.array({ "x" }) }))
  end)

  it("refuses to mark a table that has a metatable of its own", function()
    local t = setmetatable({}, { __index = {} })
    assert.has_error(function() json.array(t) end,
      "json.array: the table already has a metatable")
    local a = json.array({})
    assert.are.equal(a, json.array(a)) -- marking twice is fine
  end)

  it("keeps bytes with encode_bytes and repairs them with encode", function()
    assert.are.equal('"\xFF"', json.encode_bytes("\xFF"))
    assert.are.equal('"\xEF\xBF\xBD"', json.encode("\xFF"))
    assert.are.equal('{"type":"plain","text":"\xEF\xBF\xBD"}',
      json.encode_event({ type = "plain", text = "\xFF" }))
  end)

  it("writes a plain empty table as {}", function()
    assert.are.equal("{}", json.encode({}))
  end)

  it("writes json.null as null", function()
    assert.are.equal("null", json.encode(json.null))
    assert.are.equal('{"a":null}', json.encode({ a = json.null }))
  end)

  it("does not escape /", function()
    assert.are.equal('"/tmp/a/b"', json.encode("/tmp/a/b"))
    assert.are.equal('{"cwd":"/home/u"}', json.encode({ cwd = "/home/u" }))
  end)

  it("keeps other escapes intact", function()
    local s = 'back\\slash \\/ "quote" \n tab\t \\\\/'
    assert.are.equal(s, json.decode(json.encode(s)))
    assert.are.equal('"a\\\\/b"', json.encode("a\\/b"))
  end)

  it("writes integers without a decimal point", function()
    assert.are.equal('{"n":3}', json.encode({ n = 3 }))
  end)

  it("leaves strings that look like the empty-array marker alone", function()
    assert.are.equal('"[]"', json.encode("[]"))
  end)
end)

describe("json.decode", function()
  it("decodes integers as integers and other numbers as floats", function()
    local v = json.decode('{"a":1,"b":2.5,"c":[3,4.0],"d":{"e":-7}}')
    assert.are.equal("integer", math.type(v.a))
    assert.are.equal(1, v.a)
    assert.are.equal("float", math.type(v.b))
    assert.are.equal(2.5, v.b)
    assert.are.equal("integer", math.type(v.c[1]))
    assert.are.equal("integer", math.type(v.c[2]))
    assert.are.equal("integer", math.type(v.d.e))
    assert.are.equal(-7, v.d.e)
  end)

  it("decodes a bare number", function()
    assert.are.equal("integer", math.type(json.decode("42")))
    assert.are.equal(0.5, json.decode("0.5"))
  end)

  it("decodes null as json.null", function()
    local v = json.decode('{"a":null,"b":[null]}')
    assert.are.equal(json.null, v.a)
    assert.are.equal(json.null, v.b[1])
    assert.are.equal(json.null, json.decode("null"))
  end)

  it("returns nil and a message on bad input, without raising", function()
    for _, s in ipairs({ "not json", "{", '{"a":}', "" }) do
      local v, err = json.decode(s)
      assert.is_nil(v, s)
      assert.are.equal("string", type(err), s)
    end
  end)

  it("decodes strings and escapes", function()
    assert.are.equal("a/b", json.decode('"a\\/b"'))
    assert.are.equal("é", json.decode('"\\u00e9"'))
  end)

  it("round-trips a mission-like record", function()
    local rec = { id = "abcd1234", cwd = "/tmp/x", restart_count = 2,
                  children = json.array({}), env = { K = "V" } }
    local back = json.decode(json.encode(rec))
    assert.are.same({ id = "abcd1234", cwd = "/tmp/x", restart_count = 2,
                      children = {}, env = { K = "V" } }, back)
  end)
end)
