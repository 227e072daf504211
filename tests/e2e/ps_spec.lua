-- SPEC §3 `ps`: the exact table, ordering, --json, --tree, --children.
local e2e = require("support.e2e")

local HEADER = "ID          NAME              TYPE      STATUS        " ..
  "RESTARTS  PARENT      CHILDREN  UPTIME    COMMAND"

-- Column starts (1-based) of the fixed-width columns.
local COL = { id = 1, name = 13, type = 31, status = 41, restarts = 55,
              parent = 65, children = 77, uptime = 87, command = 97 }

local function pad(v, w)
  v = tostring(v)
  local len = utf8.len(v)
  if len < w then return v .. string.rep(" ", w - len) end
  return v .. " "
end

local function lines_of(s)
  local out = {}
  for line in s:gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

-- The row SPEC §3 asks for; a live uptime is "~~" here, checked by
-- assert_row.
local function expected(m)
  return pad(m.id, 12) .. pad(m.name, 18) .. pad(m.type, 10) ..
    pad(m.status, 14) .. pad(m.restarts or 0, 10) .. pad(m.parent or "-", 12) ..
    pad(m.children or 0, 10) .. pad(m.uptime or "~~", 10) .. m.command
end

-- Compares a row to the expectation, with a live uptime (`42s`) allowed
-- in place of "~~".
local function assert_row(want, got)
  local up = want:find("~~", 1, true)
  if up then
    assert.are.equal(want:sub(1, up - 1), got:sub(1, up - 1))
    assert.are.equal(want:sub(up + 10), got:sub(up + 10))
    local cell = got:sub(up, up + 9)
    assert.is_truthy(cell:match("^%d+[smhd] *$"), "uptime cell: '" .. cell .. "'")
  else
    assert.are.equal(want, got)
  end
end

describe("ps", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  it("prints only the exact header when there are no missions", function()
    local r = e2e.om(h, { "ps" })
    assert.are.equal(0, r.code)
    assert.are.equal(HEADER .. "\n", r.out)
    assert.are.equal("", r.err)
  end)

  it("prints a running mission's row column by column", function()
    local id = e2e.run(h, { "--name", "runner", "sleep 30" })
    local got = lines_of(e2e.ok(h, { "ps" }))
    assert.are.equal(2, #got)
    assert.are.equal(HEADER, got[1])
    assert_row(expected({ id = id, name = "runner", type = "task",
      status = "running", command = "sleep 30" }), got[2])
    -- the columns start where the header's do
    for name, col in pairs(COL) do
      if col > 1 then
        assert.are.equal(" ", got[2]:sub(col - 1, col - 1), "before column " .. name)
      end
      assert.are_not.equal(" ", got[2]:sub(col, col), "column " .. name)
    end
  end)

  it("shows '-' as the uptime of finished missions, and their status", function()
    local ok = e2e.run(h, { "--name", "fine", "true" })
    local bad = e2e.run(h, { "--name", "broken", "exit 2" })
    e2e.wait_status(h, ok, "stopped")
    e2e.wait_status(h, bad, "crashed")
    local got = lines_of(e2e.ok(h, { "ps" }))
    assert.are.equal(expected({ id = ok, name = "fine", type = "task",
      status = "stopped", uptime = "-", command = "true" }), got[2])
    assert.are.equal(expected({ id = bad, name = "broken", type = "task",
      status = "crashed", uptime = "-", command = "exit 2" }), got[3])
  end)

  it("shows a mission waiting to restart as restarting, with uptime '-'", function()
    local id = e2e.run(h, { "--name", "phoenix", "--restart", "always",
      "--backoff", "20000", "exit 1" })
    e2e.wait_status(h, id, "restarting")
    local got = lines_of(e2e.ok(h, { "ps" }))
    assert.are.equal(expected({ id = id, name = "phoenix", type = "task",
      status = "restarting", uptime = "-", command = "exit 1" }), got[2])
  end)

  it("follows a value as long as its column or longer with one space", function()
    local n18 = "eighteen-chars-nam"
    local n25 = "a-name-of-twenty-five-chr"
    assert.are.equal(18, #n18)
    assert.are.equal(25, #n25)
    local a = e2e.run(h, { "--name", n18, "--type", "session", "sleep 30" })
    local b = e2e.run(h, { "--name", n25, "sleep 30" })
    local got = lines_of(e2e.ok(h, { "ps" }))
    assert_row(expected({ id = a, name = n18, type = "session",
      status = "running", command = "sleep 30" }), got[2])
    assert.are.equal(a .. "    " .. n18 .. " session   running       ",
      got[2]:sub(1, 55))
    assert.are.equal(b .. "    " .. n25 .. " task      running       ",
      got[3]:sub(1, 62))
    -- columns still split on whitespace
    local fields = {}
    for w in got[3]:gmatch("%S+") do fields[#fields + 1] = w end
    assert.are.same({ b, n25, "task", "running", "0", "-", "0" },
      { table.unpack(fields, 1, 7) })
  end)

  it("truncates COMMAND to 40 characters with ...", function()
    local c40 = "echo " .. string.rep("a", 35)
    local c41 = "echo " .. string.rep("b", 36)
    local c70 = "echo " .. string.rep("c", 65)
    assert.are.equal(40, #c40)
    assert.are.equal(41, #c41)
    local ids = {}
    for i, c in ipairs({ c40, c41, c70 }) do
      ids[i] = e2e.run(h, { c })
      e2e.wait_status(h, ids[i], "stopped")
    end
    local got = lines_of(e2e.ok(h, { "ps" }))
    assert.are.equal(c40, got[2]:sub(COL.command))
    assert.are.equal(c41:sub(1, 37) .. "...", got[3]:sub(COL.command))
    assert.are.equal(c70:sub(1, 37) .. "...", got[4]:sub(COL.command))
    assert.are.equal(40, #got[4]:sub(COL.command))
    -- info keeps the whole command
    assert.are.equal(c70, e2e.info(h, ids[3]).command)
  end)

  it("shows restarts, parent and the number of children", function()
    local p = e2e.run(h, { "--name", "parent", "sleep 30" })
    local c1 = e2e.run(h, { "--name", "kid1", "--parent", p, "sleep 30" })
    local c2 = e2e.run(h, { "--name", "kid2", "--parent", "parent",
      "--restart", "on-failure", "--backoff", "10", "--max-restarts", "2",
      "exit 1" })
    e2e.wait_for(function()
      local m = e2e.request(h, "info", { id = c2 })
      return m.status == "crashed" and m.restart_count == 2
    end, 10, "kid2 to use up its restarts")
    local got = lines_of(e2e.ok(h, { "ps" }))
    assert.are.equal(4, #got)
    assert_row(expected({ id = p, name = "parent", type = "task",
      status = "running", children = 2, command = "sleep 30" }), got[2])
    assert_row(expected({ id = c1, name = "kid1", type = "task",
      status = "running", parent = p, command = "sleep 30" }), got[3])
    assert.are.equal(expected({ id = c2, name = "kid2", type = "task",
      status = "crashed", restarts = 2, parent = p, uptime = "-",
      command = "exit 1" }), got[4])
  end)

  it("orders rows by start time, oldest first, across daemon restarts", function()
    local ids = {}
    for i = 1, 6 do ids[i] = e2e.run(h, { "--name", "m" .. i, "true" }) end
    local function order()
      local out = {}
      for i, line in ipairs(lines_of(e2e.ok(h, { "ps" }))) do
        if i > 1 then out[#out + 1] = line:match("^(%x+)") end
      end
      return out
    end
    assert.are.same(ids, order())
    e2e.ok(h, { "shutdown" })
    assert.are.same(ids, order())
    local json_ids = {}
    for _, m in ipairs(e2e.ps_json(h)) do json_ids[#json_ids + 1] = m.id end
    assert.are.same(ids, json_ids)
  end)

  describe("--json", function()
    it("prints [] when there are no missions", function()
      local r = e2e.om(h, { "ps", "--json" })
      assert.are.equal(0, r.code)
      assert.are.equal("[]\n", r.out)
    end)

    it("prints an array of info objects", function()
      local a = e2e.run(h, { "--name", "ja", "true" })
      e2e.wait_status(h, a, "stopped")
      local b = e2e.run(h, { "--name", "jb", "--parent", a, "sleep 30" })
      local out = e2e.ok(h, { "ps", "--json" })
      assert.is_truthy(out:match("^%[.*%]\n$"))
      local list = e2e.json_decode(out)
      assert.are.equal(2, #list)
      for i, id in ipairs({ a, b }) do
        local info = e2e.info(h, id)
        info.uptime, list[i].uptime = nil, nil
        assert.are.same(info, list[i])
      end
      assert.are.same({ b }, list[1].children)
      assert.is_truthy(out:find('"children":[]', 1, true))
    end)
  end)

  describe("--tree", function()
    it("indents children under their parents with connectors", function()
      local p = e2e.run(h, { "--name", "root", "sleep 30" })
      local a = e2e.run(h, { "--name", "a", "--parent", p, "sleep 30" })
      local other = e2e.run(h, { "--name", "other", "sleep 30" })
      local b = e2e.run(h, { "--name", "b", "--parent", p, "sleep 30" })
      local a1 = e2e.run(h, { "--name", "a1", "--parent", a, "sleep 30" })
      local a2 = e2e.run(h, { "--name", "a2", "--parent", a, "sleep 30" })
      local b1 = e2e.run(h, { "--name", "b1", "--parent", b, "sleep 30" })
      local got = lines_of(e2e.ok(h, { "ps", "--tree" }))
      assert.are.equal(HEADER, got[1])
      local want = {
        p, "├─ " .. a, "│  ├─ " .. a1, "│  └─ " .. a2, "└─ " .. b,
        "   └─ " .. b1, other,
      }
      assert.are.equal(#want + 1, #got)
      for i, prefix in ipairs(want) do
        local line = got[i + 1]
        assert.are.equal(prefix .. " ", line:sub(1, #prefix + 1),
          "tree line " .. i .. ": " .. line)
      end
      -- a root row is the plain row
      assert_row(expected({ id = p, name = "root", type = "task",
        status = "running", children = 2, command = "sleep 30" }), got[2])
      -- and every row still splits on whitespace after its connectors
      local names = { "root", "a", "a1", "a2", "b", "b1", "other" }
      for i = 2, #got do
        local rest = got[i]:gsub("^[├└│─ ]+", "")
        local fields = {}
        for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
        assert.are.equal(names[i - 1], fields[2], got[i])
        assert.are.equal("task", fields[3], got[i])
        assert.are.equal("running", fields[4], got[i])
      end
    end)

    it("prints the plain table when nothing has a parent", function()
      for i = 1, 3 do e2e.run(h, { "--name", "flat" .. i, "sleep 30" }) end
      local tree = lines_of(e2e.ok(h, { "ps", "--tree" }))
      local plain = lines_of(e2e.ok(h, { "ps" }))
      assert.are.equal(#plain, #tree)
      for i = 1, #plain do
        assert.are.equal(plain[i]:sub(1, COL.uptime - 1), tree[i]:sub(1, COL.uptime - 1))
      end
    end)
  end)

  describe("--children", function()
    it("lists the direct children of a mission", function()
      local p = e2e.run(h, { "--name", "dad", "sleep 30" })
      local c1 = e2e.run(h, { "--name", "son", "--parent", p, "sleep 30" })
      e2e.run(h, { "--name", "stranger", "sleep 30" })
      local c2 = e2e.run(h, { "--name", "daughter", "--parent", p, "true" })
      e2e.run(h, { "--name", "grandson", "--parent", c1, "sleep 30" })
      e2e.wait_status(h, c2, "stopped")
      for _, ref in ipairs({ p, "dad" }) do
        local got = lines_of(e2e.ok(h, { "ps", "--children", ref }))
        assert.are.equal(3, #got, "children of " .. ref)
        assert.are.equal(HEADER, got[1])
        assert_row(expected({ id = c1, name = "son", type = "task",
          status = "running", parent = p, children = 1, command = "sleep 30" }), got[2])
        assert.are.equal(expected({ id = c2, name = "daughter", type = "task",
          status = "stopped", parent = p, uptime = "-", command = "true" }), got[3])
      end
      local list = e2e.json_decode(e2e.ok(h, { "ps", "--children", p, "--json" }))
      assert.are.same({ c1, c2 }, { list[1].id, list[2].id })
      assert.are.equal(2, #list)
    end)

    it("prints the header alone for a mission without children", function()
      local leaf = e2e.run(h, { "true" })
      assert.are.equal(HEADER .. "\n", e2e.ok(h, { "ps", "--children", leaf }))
      assert.are.equal("[]\n", e2e.ok(h, { "ps", "--children", leaf, "--json" }))
    end)

    it("fails with not_found for an unknown mission", function()
      local r = e2e.om(h, { "ps", "--children", "nosuch" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: not_found\n", r.err)
    end)
  end)
end)
