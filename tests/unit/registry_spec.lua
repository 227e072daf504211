local registry = require("overmind.daemon.registry")

describe("registry", function()
  local r, a, b, c
  before_each(function()
    r = registry.new()
    a = { id = "abcd1234", name = "alpha", state = "stopped" }
    b = { id = "abcd5678", name = "beta", state = "running" }
    c = { id = "ef001122", name = "alpha", state = "running" }
    r:add(a); r:add(b); r:add(c)
  end)

  it("resolves an exact id", function()
    assert.are.equal(a, r:resolve("abcd1234"))
    assert.are.equal(c, r:resolve("ef001122"))
    assert.are.equal(b, r:get("abcd5678"))
  end)

  it("resolves a name; the newest holder wins", function()
    assert.are.equal(b, r:resolve("beta"))
    assert.are.equal(c, r:resolve("alpha"))
  end)

  it("the newest is the one added last, not the one sorting last", function()
    local r2 = registry.new()
    local old = { id = "ffff0000", name = "dup" }
    local new = { id = "00000000", name = "dup" }
    r2:add(old); r2:add(new)
    assert.are.equal(new, r2:resolve("dup"))
  end)

  it("resolves a unique id prefix", function()
    assert.are.equal(c, r:resolve("ef"))
    assert.are.equal(c, r:resolve("e"))
    assert.are.equal(a, r:resolve("abcd1"))
    assert.are.equal(b, r:resolve("abcd56"))
  end)

  it("reports an ambiguous prefix", function()
    local m, err = r:resolve("abcd")
    assert.is_nil(m)
    assert.are.equal("ambiguous_id", err)
    m, err = r:resolve("a")
    assert.is_nil(m)
    assert.are.equal("ambiguous_id", err)
  end)

  it("reports what matches nothing as not_found", function()
    for _, ref in ipairs({ "zz", "abcd12345", "gamma", "", "ABCD1234" }) do
      local m, err = r:resolve(ref)
      assert.is_nil(m, ref)
      assert.are.equal("not_found", err, ref)
    end
    local m, err = r:resolve(nil)
    assert.is_nil(m)
    assert.are.equal("not_found", err)
    m, err = r:resolve(42)
    assert.is_nil(m)
    assert.are.equal("not_found", err)
  end)

  it("prefers an id over a name, and a name over a prefix", function()
    local named_like_id = { id = "99999999", name = "abcd1234" }
    local named_like_prefix = { id = "88888888", name = "abcd" }
    r:add(named_like_id); r:add(named_like_prefix)
    assert.are.equal(a, r:resolve("abcd1234"))
    assert.are.equal(named_like_prefix, r:resolve("abcd"))
  end)

  it("lists oldest first and forgets removed missions", function()
    assert.are.same({ a, b, c }, r:list())
    r:remove(b)
    assert.are.same({ a, c }, r:list())
    assert.are.equal(2, r:count())
    assert.is_nil(r:get("abcd5678"))
    local m, err = r:resolve("beta")
    assert.is_nil(m)
    assert.are.equal("not_found", err)
    -- with b gone, "abcd" is no longer ambiguous
    assert.are.equal(a, r:resolve("abcd"))
  end)

  it("keeps the order of records loaded with their seq", function()
    local r2 = registry.new()
    local x = { id = "00000002", name = "x", seq = 7 }
    local y = { id = "00000001", name = "x", seq = 3 }
    r2:add(x); r2:add(y)
    assert.are.same({ y, x }, r2:list())
    assert.are.equal(x, r2:resolve("x"))
    local z = { id = "00000003", name = "x" }
    r2:add(z)
    assert.is_true(z.seq > 7)
    assert.are.equal(z, r2:resolve("x"))
  end)

  it("lists direct children, oldest first", function()
    local k1 = { id = "11110000", name = "k1", parent = "abcd1234" }
    local k2 = { id = "22220000", name = "k2", parent = "abcd1234" }
    local g = { id = "33330000", name = "g", parent = "11110000" }
    r:add(k1); r:add(k2); r:add(g)
    assert.are.same({ k1, k2 }, r:children("abcd1234"))
    assert.are.same({ g }, r:children("11110000"))
    assert.are.same({}, r:children("ef001122"))
  end)

  it("says whether a name is in use, optionally by a live mission", function()
    local live = function(m) return m.state == "running" end
    assert.is_true(r:name_in_use("alpha"))
    assert.is_true(r:name_in_use("alpha", true, live))
    assert.is_false(r:name_in_use("gamma"))
    c.state = "crashed"
    assert.is_false(r:name_in_use("alpha", true, live))
    assert.is_true(r:name_in_use("alpha"))
  end)
end)
