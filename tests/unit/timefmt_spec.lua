local timefmt = require("overmind.timefmt")

describe("timefmt.iso", function()
  it("writes UTC to the second", function()
    assert.are.equal("1970-01-01T00:00:00Z", timefmt.iso(0))
    assert.are.equal("2023-11-14T22:13:20Z", timefmt.iso(1700000000))
    assert.are.equal("2000-02-29T23:59:59Z", timefmt.iso(951868799))
  end)

  it("drops fractions of a second", function()
    assert.are.equal("2023-11-14T22:13:20Z", timefmt.iso(1700000000.999))
  end)

  it("matches the restart marker's format", function()
    assert.is_truthy(timefmt.iso(os.time()):match(
      "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"))
  end)

  it("parse_iso reads back what iso writes", function()
    for _, t in ipairs({ 0, 86399, 951868799, 1700000000, 2000000000 }) do
      assert.are.equal(t, timefmt.parse_iso(timefmt.iso(t)))
    end
    assert.is_nil(timefmt.parse_iso("yesterday"))
    assert.is_nil(timefmt.parse_iso("2023-11-14 22:13:20"))
  end)
end)

describe("timefmt.short (ps UPTIME)", function()
  local cases = {
    { 0, "0s" }, { 42, "42s" }, { 59, "59s" }, { 60, "1m" }, { 7 * 60, "7m" },
    { 7 * 60 + 59, "7m" }, { 3599, "59m" }, { 3600, "1h" },
    { 3 * 3600 + 1800, "3h" }, { 86399, "23h" }, { 86400, "1d" },
    { 2 * 86400 + 7200, "2d" }, { 400 * 86400, "400d" },
  }
  for _, c in ipairs(cases) do
    it(c[1] .. " s -> " .. c[2], function()
      assert.are.equal(c[2], timefmt.short(c[1]))
    end)
  end

  it("floors fractions and clamps negatives", function()
    assert.are.equal("42s", timefmt.short(42.9))
    assert.are.equal("0s", timefmt.short(-5))
  end)
end)

describe("timefmt.long (status Uptime)", function()
  local cases = {
    { 2 * 86400 + 3 * 3600 + 14 * 60 + 9, "2d 3h 14m" },
    { 5 * 3600 + 2 * 60 + 30, "5h 2m" },
    { 12 * 60 + 5, "12m" },
    { 40, "40s" },
    { 0, "0s" },
    { 60, "1m" },
    { 3600, "1h 0m" },
    { 86400, "1d 0h 0m" },
  }
  for _, c in ipairs(cases) do
    it(c[1] .. " s -> " .. c[2], function()
      assert.are.equal(c[2], timefmt.long(c[1]))
    end)
  end

  it("floors fractions", function()
    assert.are.equal("40s", timefmt.long(40.7))
  end)
end)

describe("timefmt.parse_size", function()
  local cases = {
    { "64M", 64 * 1024 * 1024 }, { "64m", 64 * 1024 * 1024 },
    { "512k", 512 * 1024 }, { "512K", 512 * 1024 },
    { "1G", 1024 * 1024 * 1024 }, { "100", 100 }, { "0", 0 },
    { "64MB", 64 * 1024 * 1024 }, { "64MiB", 64 * 1024 * 1024 },
  }
  for _, c in ipairs(cases) do
    it(c[1] .. " -> " .. c[2], function()
      local n = timefmt.parse_size(c[1])
      assert.are.equal(c[2], n)
      assert.are.equal("integer", math.type(n))
    end)
  end

  it("rejects what is not a size", function()
    for _, s in ipairs({ "", "M", "abc", "-1", "1.5M", "64X", "64 MM" }) do
      assert.is_nil(timefmt.parse_size(s), s)
    end
  end)
end)
