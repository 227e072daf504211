local args = require("overmind.cli.args")

local flags = {
  name = { kind = "string" },
  restart = { kind = "string" },
  ["max-restarts"] = { kind = "integer" },
  backoff = { kind = "number" },
  follow = { kind = "bool", short = "f" },
  tail = { kind = "integer", short = "n" },
  env = { kind = "list" },
  ["log-max"] = { kind = "size" },
  json = { kind = "bool" },
  cwd = { kind = "string", key = "dir" },
}

local function parse(argv, stop)
  return args.parse(argv, 1, flags, stop)
end

describe("cli.args.parse", function()
  it("reads --flag value", function()
    local o, p = parse({ "--name", "x", "--json" })
    assert.are.same({ name = "x", json = true }, o)
    assert.are.same({}, p)
  end)

  it("reads --flag=value, including an empty value and '='s", function()
    local o = parse({ "--name=x" })
    assert.are.equal("x", o.name)
    o = parse({ "--name=" })
    assert.are.equal("", o.name)
    o = parse({ "--env=A=B=C" })
    assert.are.same({ "A=B=C" }, o.env)
  end)

  it("reads short bool flags and short flags with a value", function()
    local o, p = parse({ "-f", "id1" })
    assert.is_true(o.follow)
    assert.are.same({ "id1" }, p)
    o = parse({ "-n", "20" })
    assert.are.equal(20, o.tail)
  end)

  it("turns dashes into underscores for the key, or uses `key`", function()
    local o = parse({ "--max-restarts", "3", "--cwd", "/tmp", "--log-max", "1k" })
    assert.are.equal(3, o.max_restarts)
    assert.are.equal("integer", math.type(o.max_restarts))
    assert.are.equal("/tmp", o.dir)
    assert.is_nil(o.cwd)
    assert.are.equal(1024, o.log_max)
  end)

  it("collects repeated list flags in order", function()
    local o = parse({ "--env", "A=1", "--env=B=2", "--env", "C=3" })
    assert.are.same({ "A=1", "B=2", "C=3" }, o.env)
  end)

  it("lets a later value win for scalar flags", function()
    local o = parse({ "--name", "a", "--name", "b" })
    assert.are.equal("b", o.name)
  end)

  it("-- ends the flags", function()
    local o, p = parse({ "--json", "--", "--name", "x", "-f" })
    assert.are.same({ json = true }, o)
    assert.are.same({ "--name", "x", "-f" }, p)
  end)

  it("mixes positionals and flags without stop_at_positional", function()
    local o, p = parse({ "a", "--json", "b", "--name", "n", "c" })
    assert.are.same({ json = true, name = "n" }, o)
    assert.are.same({ "a", "b", "c" }, p)
  end)

  it("with stop_at_positional the first word ends the flags", function()
    local o, p = parse({ "--name", "x", "echo", "--name", "y", "-f" }, true)
    assert.are.same({ name = "x" }, o)
    assert.are.same({ "echo", "--name", "y", "-f" }, p)
  end)

  it("starts at `first`", function()
    local o, p = args.parse({ "run", "--json", "ls" }, 2, flags, true)
    assert.are.same({ json = true }, o)
    assert.are.same({ "ls" }, p)
  end)

  it("treats - and -5 as positionals", function()
    local _, p = parse({ "-", "-5" })
    assert.are.same({ "-", "-5" }, p)
  end)

  it("rejects unknown flags", function()
    local o, err = parse({ "--nope" })
    assert.is_nil(o)
    assert.are.equal("unknown flag: --nope", err)
    o, err = parse({ "-z" })
    assert.is_nil(o)
    assert.are.equal("unknown flag: -z", err)
  end)

  it("rejects a missing value", function()
    local o, err = parse({ "--name" })
    assert.is_nil(o)
    assert.are.equal("missing value for --name", err)
    -- "--" ends the flags; it is not the value of the flag before it
    o, err = parse({ "--name", "--", "echo" })
    assert.is_nil(o)
    assert.are.equal("missing value for --name", err)
    -- with =, any value is taken as written
    o = parse({ "--name=--" })
    assert.are.equal("--", o.name)
  end)

  it("rejects a value for a bool flag", function()
    local o, err = parse({ "--json=yes" })
    assert.is_nil(o)
    assert.are.equal("--json takes no value", err)
  end)

  it("rejects bad integers", function()
    for _, v in ipairs({ "x", "-1", "1.5", "", "3x" }) do
      local o, err = parse({ "--max-restarts", v })
      assert.is_nil(o, v)
      assert.are.equal("invalid value for --max-restarts: " .. v, err)
    end
  end)

  it("accepts integers written as floats when they are whole", function()
    local o = parse({ "--max-restarts", "2.0" })
    assert.are.equal(2, o.max_restarts)
  end)

  it("reads numbers, including fractions, and rejects bad ones", function()
    assert.are.equal(0.5, parse({ "--backoff", "0.5" }).backoff)
    assert.are.equal(250, parse({ "--backoff", "250" }).backoff)
    for _, v in ipairs({ "abc", "-5", "nan" }) do
      local o, err = parse({ "--backoff", v })
      assert.is_nil(o, v)
      assert.are.equal("invalid value for --backoff: " .. v, err)
    end
  end)

  it("reads sizes and rejects bad or zero ones", function()
    assert.are.equal(64 * 1024 * 1024, parse({ "--log-max", "64M" }).log_max)
    for _, v in ipairs({ "0", "lots", "-1M" }) do
      local o, err = parse({ "--log-max", v })
      assert.is_nil(o, v)
      assert.are.equal("invalid value for --log-max: " .. v, err)
    end
  end)
end)
