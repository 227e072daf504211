local check = require("overmind.daemon.check")

describe("check.args", function()
  local spec = {
    id = "string", n = "integer?", x = "number?", b = "boolean?",
    list = "strings?", env = "map?", t = "table?",
  }

  it("accepts arguments that fit", function()
    assert.is_nil(check.args({ id = "a" }, spec))
    assert.is_nil(check.args({ id = "a", n = 3, x = 1.5, b = false,
      list = { "a", "b" }, env = { K = "V" }, t = {} }, spec))
    assert.is_nil(check.args({ id = "a", list = {} }, spec))
  end)

  it("reports a missing required field", function()
    assert.are.equal("invalid_argument: missing id", check.args({}, spec))
  end)

  it("reports a wrong type by field", function()
    assert.are.equal("invalid_argument: id must be a string",
      check.args({ id = 3 }, spec))
    assert.are.equal("invalid_argument: b must be a boolean",
      check.args({ id = "a", b = "yes" }, spec))
    assert.are.equal("invalid_argument: t must be an object",
      check.args({ id = "a", t = "x" }, spec))
  end)

  it("integers: whole, non-negative; 1.0 becomes 1", function()
    assert.are.equal("invalid_argument: n must be a non-negative integer",
      check.args({ id = "a", n = 1.5 }, spec))
    assert.are.equal("invalid_argument: n must be a non-negative integer",
      check.args({ id = "a", n = -1 }, spec))
    assert.are.equal("invalid_argument: n must be a non-negative integer",
      check.args({ id = "a", n = "3" }, spec))
    local args = { id = "a", n = 2.0 }
    assert.is_nil(check.args(args, spec))
    assert.are.equal("integer", math.type(args.n))
    assert.are.equal(2, args.n)
  end)

  it("numbers: non-negative and not NaN", function()
    assert.is_nil(check.args({ id = "a", x = 0 }, spec))
    assert.is_truthy(check.args({ id = "a", x = -0.5 }, spec))
    assert.is_truthy(check.args({ id = "a", x = 0 / 0 }, spec))
    assert.is_truthy(check.args({ id = "a", x = "1" }, spec))
  end)

  it("strings: an array of strings only", function()
    assert.are.equal("invalid_argument: list must be an array of strings",
      check.args({ id = "a", list = { "a", 1 } }, spec))
    assert.is_truthy(check.args({ id = "a", list = { k = "v" } }, spec))
    assert.is_truthy(check.args({ id = "a", list = { [2] = "x" } }, spec))
    assert.is_truthy(check.args({ id = "a", list = "a" }, spec))
  end)

  it("map: string keys to string values", function()
    assert.are.equal("invalid_argument: env must be an object of strings",
      check.args({ id = "a", env = { K = 1 } }, spec))
    assert.is_truthy(check.args({ id = "a", env = { "V" } }, spec))
  end)
end)
