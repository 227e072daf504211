-- SPEC §2 output and §3 `logs`: merged stdout/stderr, --tail, --follow,
-- the every-mission form, rotation.
local e2e = require("support.e2e")
local core = require("overmind.core")

local function numbered(from, to, fmt)
  local t = {}
  for i = from, to do t[#t + 1] = (fmt or "%d"):format(i) .. "\n" end
  return table.concat(t)
end

describe("logs", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  local function finished(args, status)
    local id = e2e.run(h, args)
    e2e.wait_status(h, id, status or "stopped")
    return id
  end

  it("merges stdout and stderr in the order they were written", function()
    local id = finished({ "echo out1; echo err1 >&2; echo out2; echo err2 >&2" })
    local r = e2e.om(h, { "logs", id })
    assert.are.equal(0, r.code)
    assert.are.equal("out1\nerr1\nout2\nerr2\n", r.out)
    assert.are.equal("", r.err)
  end)

  it("writes the whole output to missions/<id>/output.log", function()
    local id = finished({ "seq 1 2000" })
    local want = numbered(1, 2000)
    assert.are.equal(want, e2e.read_all(h.home .. "/missions/" .. id .. "/output.log"))
    assert.are.equal(want, e2e.ok(h, { "logs", id }))
  end)

  it("keeps the output byte for byte: binary data and a 3 MB line", function()
    local bin = finished({ "printf 'a\\377\\000b\\r\\n'" })
    assert.are.equal("a\255\0b\r\n", e2e.ok(h, { "logs", bin }))
    local long = finished({ "head -c 3000000 /dev/zero | tr '\\000' x; echo; echo end" })
    local out = e2e.ok(h, { "logs", long })
    assert.are.equal(3000000 + 5, #out)
    assert.are.equal(string.rep("x", 3000000) .. "\nend\n", out)
  end)

  it("keeps a last line without a newline", function()
    local id = finished({ "printf 'a\\nno-newline'" })
    assert.is_truthy(e2e.ok(h, { "logs", id }):match("^a\nno%-newline\n?$"))
  end)

  it("prints nothing for a mission without output", function()
    local id = finished({ "true" })
    local r = e2e.om(h, { "logs", id })
    assert.are.equal(0, r.code)
    assert.are.equal("", r.out)
  end)

  it("accepts a name and fails on an unknown mission", function()
    finished({ "--name", "talker", "echo said" })
    assert.are.equal("said\n", e2e.ok(h, { "logs", "talker" }))
    local r = e2e.om(h, { "logs", "nosuch" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: not_found\n", r.err)
  end)

  describe("--tail", function()
    it("prints the last N lines", function()
      local id = finished({ "seq 1 100" })
      assert.are.equal("98\n99\n100\n", e2e.ok(h, { "logs", id, "--tail", "3" }))
      assert.are.equal("100\n", e2e.ok(h, { "logs", "--tail", "1", id }))
      assert.are.equal(numbered(1, 100), e2e.ok(h, { "logs", id, "--tail", "100" }))
      assert.are.equal(numbered(1, 100), e2e.ok(h, { "logs", id, "--tail", "500" }))
      assert.are.equal("", e2e.ok(h, { "logs", id, "--tail", "0" }))
    end)

    it("counts a last line without a newline as a line", function()
      local id = finished({ "printf '1\\n2\\n3'" })
      assert.is_truthy(e2e.ok(h, { "logs", id, "--tail", "2" }):match("^2\n3\n?$"))
    end)

    it("rejects a bad count", function()
      local id = finished({ "true" })
      local r = e2e.om(h, { "logs", id, "--tail", "many" })
      assert.are.equal(1, r.code)
      assert.is_truthy(r.err:match("^Error: "))
    end)
  end)

  describe("--follow", function()
    it("prints new output until the mission ends", function()
      local gate = h.home .. "/gate"
      local id = e2e.run(h, { "echo first; while [ ! -e " .. gate ..
        " ]; do sleep 0.02; done; echo second; sleep 0.2; echo third" })
      local b = e2e.spawn(h, { "logs", "-f", id })
      e2e.wait_for(function() return e2e.bg_output(b) == "first\n" end, 10,
        "the output so far")
      assert.is_nil(e2e.bg_done(b), "logs -f ended while the mission runs")
      e2e.write_file(gate, "")
      assert.are.equal(0, e2e.bg_wait(b, 10, "logs -f to end with the mission"))
      assert.are.equal("first\nsecond\nthird\n", e2e.bg_output(b))
      assert.are.equal("stopped", e2e.info(h, id).status)
    end)

    it("ends when the mission is stopped", function()
      local id = e2e.run(h, { "--name", "endless", "echo tick; sleep 30" })
      e2e.wait_log(h, id, "tick\n")
      local b = e2e.spawn(h, { "logs", "--follow", "endless" })
      e2e.wait_for(function() return e2e.bg_output(b) == "tick\n" end, 10,
        "the output so far")
      e2e.ok(h, { "stop", id })
      assert.are.equal(0, e2e.bg_wait(b, 10, "logs -f to end after stop"))
      assert.are.equal("tick\n", e2e.bg_output(b))
    end)

    it("combines with --tail", function()
      local gate = h.home .. "/gate"
      local id = e2e.run(h, { "seq 1 50; while [ ! -e " .. gate ..
        " ]; do sleep 0.02; done; echo 51" })
      e2e.wait_log(h, id, "50\n")
      local b = e2e.spawn(h, { "logs", "-f", "--tail", "2", id })
      e2e.wait_for(function() return e2e.bg_output(b) == "49\n50\n" end, 10,
        "the tail")
      e2e.write_file(gate, "")
      assert.are.equal(0, e2e.bg_wait(b, 10, "logs -f to end"))
      assert.are.equal("49\n50\n51\n", e2e.bg_output(b))
    end)

    it("prints the whole log and returns at once for a finished mission", function()
      local id = finished({ "seq 1 5" })
      local r = e2e.om(h, { "logs", "-f", id })
      assert.are.equal(0, r.code)
      assert.are.equal(numbered(1, 5), r.out)
    end)

    it("loses no line of a fast writer", function()
      local gate = h.home .. "/gate"
      local id = e2e.run(h, { "while [ ! -e " .. gate ..
        " ]; do sleep 0.02; done; seq 1 20000" })
      local b = e2e.spawn(h, { "logs", "-f", id })
      e2e.write_file(gate, "")
      assert.are.equal(0, e2e.bg_wait(b, 20, "logs -f to end"))
      assert.are.equal(numbered(1, 20000), e2e.bg_output(b))
      e2e.wait_status(h, id, "stopped")
    end)

    it("fails without an id with missing_id", function()
      e2e.run(h, { "sleep 30" })
      local r = e2e.om(h, { "logs", "-f" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: missing_id\n", r.err)
      assert.are.equal("", r.out)
    end)
  end)

  describe("without an id", function()
    it("prints every mission's output, oldest first, under exact headers", function()
      local a = finished({ "--name", "alpha", "echo a1; echo a2" })
      local b = finished({ "--name", "beta", "true" })
      local c = finished({ "--name", "gamma", "echo c1 >&2" }, "stopped")
      local r = e2e.om(h, { "logs" })
      assert.are.equal(0, r.code)
      assert.are.equal(
        "=== alpha (" .. a .. ") ===\na1\na2\n" ..
        "=== beta (" .. b .. ") ===\n" ..
        "=== gamma (" .. c .. ") ===\nc1\n", r.out)
    end)

    it("prints nothing when there are no missions", function()
      local r = e2e.om(h, { "logs" })
      assert.are.equal(0, r.code)
      assert.are.equal("", r.out)
    end)

    it("applies --tail to each mission", function()
      local a = finished({ "--name", "one", "seq 1 10" })
      local b = finished({ "--name", "two", "seq 11 20" })
      assert.are.equal("=== one (" .. a .. ") ===\n9\n10\n" ..
        "=== two (" .. b .. ") ===\n19\n20\n", e2e.ok(h, { "logs", "--tail", "2" }))
    end)
  end)

  describe("rotation", function()
    local function log_files(id)
      local dir = h.home .. "/missions/" .. id
      local names = {}
      for _, n in ipairs(core.listdir(dir) or {}) do
        if n:match("^output%.log") then names[#names + 1] = n end
      end
      table.sort(names)
      return names, dir
    end

    -- Writes lines from..to as "line NNNN", `per` lines (10 bytes each)
    -- per burst with a pause in between, so the daemon sees many writes.
    local function bursts(from, to, per)
      per = per or 10
      return ("i=%d; while [ $i -le %d ]; do seq -f 'line %%04g' $i $((i+%d)); " ..
        "i=$((i+%d)); sleep 0.005; done"):format(from, to - per + 1, per - 1, per)
    end

    it("rotates past --log-max and logs reads across the files", function()
      -- 300 lines of 10 bytes: about 3 KiB, at most two rotations of files
      -- holding the whole lines that fit in 1 KiB, so nothing is dropped
      local want = numbered(1, 300, "line %04d")
      local id = finished({ "--log-max", "1k", bursts(1, 300) })
      local names, dir = log_files(id)
      assert.are.equal("output.log", names[1])
      assert.are.equal("output.log.1", names[2], "no rotation: " ..
        table.concat(names, " "))
      assert.is_nil(names[4])
      for i = 2, #names do
        local size = core.stat(dir .. "/" .. names[i]).size
        assert.is_truthy(size > 1024 - 10 and size <= 1024,
          names[i] .. " rotated at " .. size .. " bytes")
      end
      assert.are.equal(want, e2e.ok(h, { "logs", id }))
      assert.are.equal(numbered(295, 300, "line %04d"),
        e2e.ok(h, { "logs", id, "--tail", "6" }))
      -- a tail that starts in an older file
      assert.are.equal(numbered(11, 300, "line %04d"),
        e2e.ok(h, { "logs", id, "--tail", "290" }))
    end)

    it("keeps 3 older files and drops the oldest output", function()
      local id = finished({ "--log-max", "1k", bursts(1, 1000, 25) })
      local names = log_files(id)
      assert.are.same({ "output.log", "output.log.1", "output.log.2",
                        "output.log.3" }, names)
      local out = e2e.ok(h, { "logs", id })
      local full = numbered(1, 1000, "line %04d")
      assert.is_truthy(#out >= 3 * 1024 and #out < #full,
        "kept " .. #out .. " bytes")
      assert.are.equal(full:sub(-#out), out)
      assert.is_truthy(out:match("^line %d%d%d%d\n"))
      assert.are.equal(numbered(991, 1000, "line %04d"),
        e2e.ok(h, { "logs", id, "--tail", "10" }))
    end)

    it("follows a mission across rotations", function()
      local gate = h.home .. "/gate"
      local id = e2e.run(h, { "--log-max", "2k", "while [ ! -e " .. gate ..
        " ]; do sleep 0.02; done; seq -f 'line %04g' 1 500" })
      local b = e2e.spawn(h, { "logs", "-f", id })
      e2e.write_file(gate, "")
      assert.are.equal(0, e2e.bg_wait(b, 10, "logs -f to end"))
      assert.are.equal(numbered(1, 500, "line %04d"), e2e.bg_output(b))
    end)
  end)
end)
