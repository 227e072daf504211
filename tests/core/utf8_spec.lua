-- core.utf8_fix: what the daemon writes as JSON is valid UTF-8.
local core = require("overmind.core")

local FFFD = "\xEF\xBF\xBD"

describe("core.utf8_fix", function()
  it("returns valid text unchanged, whatever its length", function()
    for _, s in ipairs({ "", "a", "plain ascii, longer than eight bytes",
        "h\xC3\xA9llo", "\xE2\x82\xAC", "x\xF0\x9F\x98\x80y",
        "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF", string.rep("é€😀", 1000) }) do
      assert.are.equal(s, core.utf8_fix(s))
    end
  end)

  it("replaces each maximal invalid subpart with one U+FFFD", function()
    local cases = {
      { "a\xFFb", "a" .. FFFD .. "b" },
      { "\xFE\xFF", FFFD .. FFFD },
      { "\xE2\x82", FFFD },                          -- truncated at the end
      { "\xE2\x82x", FFFD .. "x" },                  -- truncated inside
      { "\xC0\xAF", FFFD .. FFFD },                  -- overlong '/'
      { "\xE0\x80\xAF", FFFD .. FFFD .. FFFD },      -- overlong
      { "\xED\xA0\x80", FFFD .. FFFD .. FFFD },      -- a surrogate
      { "\xF4\x90\x80\x80", FFFD .. FFFD .. FFFD .. FFFD }, -- > U+10FFFF
      { "\xF0\x9F\x98", FFFD },                      -- 3 of 4 bytes
      { "\x80", FFFD },                              -- a lone continuation
      { "ok\xE2\x82\xAC\xE2", "ok\xE2\x82\xAC" .. FFFD },
    }
    for _, c in ipairs(cases) do
      assert.are.equal(c[2], core.utf8_fix(c[1]), ("%q"):format(c[1]))
    end
  end)

  it("agrees with Lua's utf8.len on every two-byte string", function()
    for a = 0, 255 do
      for b = 0, 255 do
        local s = string.char(a, b)
        local fixed = core.utf8_fix(s)
        assert(utf8.len(fixed), ("%q gave invalid %q"):format(s, fixed))
        if utf8.len(s) then assert(fixed == s, ("%q changed"):format(s)) end
      end
    end
  end)

  it("agrees with utf8.len on random strings of high bytes", function()
    math.randomseed(7)
    for _ = 1, 20000 do
      local t = {}
      for i = 1, math.random(1, 6) do t[i] = math.random(0x78, 0xFF) end
      local s = string.char(table.unpack(t))
      local fixed = core.utf8_fix(s)
      assert(utf8.len(fixed), ("%q gave invalid %q"):format(s, fixed))
      if utf8.len(s) then assert(fixed == s, ("%q changed"):format(s)) end
    end
  end)

  it("keeps bytes around the invalid ones, in long ASCII runs too", function()
    local s = string.rep("x", 13) .. "\xFF" .. string.rep("y", 21) .. "\xC3"
    assert.are.equal(string.rep("x", 13) .. FFFD .. string.rep("y", 21) .. FFFD,
      core.utf8_fix(s))
  end)
end)
