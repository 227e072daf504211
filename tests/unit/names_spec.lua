local names = require("overmind.names")

local function member(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

describe("names.new_id", function()
  it("is 8 lowercase hex characters", function()
    for _ = 1, 200 do
      local id = names.new_id()
      assert.are.equal(8, #id)
      assert.is_truthy(id:match("^[0-9a-f]+$"), id)
    end
  end)

  it("is random: 1000 ids do not collide", function()
    local seen, dup = {}, 0
    for _ = 1, 1000 do
      local id = names.new_id()
      if seen[id] then dup = dup + 1 end
      seen[id] = true
    end
    assert.are.equal(0, dup)
  end)
end)

describe("names.new_name", function()
  it("is <adjective>-<noun> from the word lists", function()
    for _ = 1, 200 do
      local name = names.new_name()
      local adj, noun = name:match("^(%l+)%-(%l+)$")
      assert.is_truthy(adj, name)
      assert.is_true(member(names.adjectives, adj), name)
      assert.is_true(member(names.nouns, noun), name)
    end
  end)

  it("varies", function()
    local seen, n = {}, 0
    for _ = 1, 100 do
      local name = names.new_name()
      if not seen[name] then n = n + 1 end
      seen[name] = true
    end
    assert.is_true(n > 50)
  end)

  it("avoids names that are taken", function()
    local taken = {}
    for _ = 1, 50 do taken[names.new_name()] = true end
    for _ = 1, 100 do
      local name = names.new_name(function(x) return taken[x] == true end)
      assert.is_nil(taken[name], name)
    end
  end)

  it("falls back to a numbered name when every pair is taken", function()
    local asked = 0
    local name = names.new_name(function(x)
      asked = asked + 1
      return not x:match("%-3$") -- everything but <adj>-<noun>-3
    end)
    local adj, noun = name:match("^(%l+)%-(%l+)%-3$")
    assert.is_truthy(adj, name)
    assert.is_true(member(names.adjectives, adj))
    assert.is_true(member(names.nouns, noun))
    assert.is_true(asked < 100) -- generation ends
  end)

  it("numbers from 2", function()
    local name = names.new_name(function(x) return not x:match("%-%d+$") end)
    assert.is_truthy(name:match("^%l+%-%l+%-2$"), name)
  end)
end)
