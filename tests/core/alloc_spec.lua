-- The Lua state's pooled allocator (src/alloc.c) under churn: objects of
-- every small size class and across the small/large boundary, grown,
-- shrunk and collected, keep their contents.
describe("the pooled allocator", function()
  it("keeps every object intact through growth, shrinking and collection", function()
    math.randomseed(11)
    local keep = {}
    for round = 1, 10 do
      for i = 1, 2000 do
        local n = math.random(0, 700) -- strings from tiny to past 512 bytes
        local s = string.rep(string.char(65 + i % 26), n)
        local t = {}
        for j = 1, math.random(0, 40) do t[j] = j * i end -- arrays grow
        for j = 1, math.random(0, 12) do t["k" .. j] = s end -- hash parts grow
        keep[(round * 2000 + i) % 3000 + 1] = { s = s, t = t, n = n, i = i }
      end
      collectgarbage()
      for _, v in pairs(keep) do
        -- plain asserts: busted's are slow at this count
        assert(#v.s == v.n and v.s == string.rep(string.char(65 + v.i % 26), v.n),
          "a string changed")
        for j, x in ipairs(v.t) do assert(x == j * v.i, "an array slot changed") end
        for j = 1, 12 do
          local x = v.t["k" .. j]
          assert(x == nil or x == v.s, "a hash slot changed")
        end
      end
      -- shrink: drop the hash parts, then let the tables rehash smaller
      for _, v in pairs(keep) do
        for j = 1, 12 do v.t["k" .. j] = nil end
        v.t.extra = round
      end
    end
  end)

  it("grows a buffer byte by byte past the small sizes", function()
    local parts = {}
    for i = 1, 3000 do parts[i] = string.char(32 + i % 90) end
    local s = ""
    for i = 1, #parts do s = s .. parts[i] end -- every length once
    assert.are.equal(table.concat(parts), s)
  end)
end)
