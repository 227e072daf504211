local core = require("overmind.core")
local H = require("core.helper")

describe("core.logfile", function()
  local dir, path
  before_each(function()
    dir = H.tmpdir()
    path = dir .. "/output.log"
  end)
  after_each(function()
    H.rmdir(dir)
    assert.is_true(H.settle(), "a handle was left open")
  end)

  it("appends, creating the file with mode 0600", function()
    local lf = assert(core.logfile(path))
    assert.is_true(lf:write("a"))
    assert.is_true(lf:write("b\n"))
    assert.are.equal("ab\n", H.read(path))
    assert.are.equal(384, core.stat(path).mode) -- 0600
    lf:close()
  end)

  it("appends to what is already there", function()
    H.write(path, "old\n")
    local lf = assert(core.logfile(path))
    lf:write("new\n")
    local size, total = lf:size()
    assert.are.equal(8, size)
    assert.are.equal(4, total)
    lf:close()
    assert.are.equal("old\nnew\n", H.read(path))
  end)

  it("writeline adds the newline in the same write", function()
    local lf = assert(core.logfile(path))
    lf:writeline("--- restart #1 at 2023-11-14T22:13:21Z ---")
    lf:writeline("")
    lf:close()
    assert.are.equal("--- restart #1 at 2023-11-14T22:13:21Z ---\n\n",
      H.read(path))
  end)

  it("keeps binary data intact", function()
    local lf = assert(core.logfile(path))
    local s = "a\0b\255\r\n"
    lf:write(s)
    lf:close()
    assert.are.equal(s, H.read(path))
  end)

  it("rotates past max, keeping 3 older files .1 (newest) to .3", function()
    local lf = assert(core.logfile(path, { max = 10, keep = 3 }))
    for _, c in ipairs({ "A", "B", "C", "D", "E" }) do
      lf:write(string.rep(c, 9) .. "\n") -- 10 bytes: reaches max
    end
    lf:write("tail")
    assert.are.equal("tail", H.read(path))
    assert.are.equal("EEEEEEEEE\n", H.read(path .. ".1"))
    assert.are.equal("DDDDDDDDD\n", H.read(path .. ".2"))
    assert.are.equal("CCCCCCCCC\n", H.read(path .. ".3"))
    assert.is_nil(H.read(path .. ".4"))
    local size, total = lf:size()
    assert.are.equal(4, size)
    assert.are.equal(54, total)
    lf:close()
    local names = core.listdir(dir)
    table.sort(names)
    assert.are.same({ "output.log", "output.log.1", "output.log.2",
                      "output.log.3" }, names)
  end)

  it("does not rotate below max", function()
    local lf = assert(core.logfile(path, { max = 100 }))
    for _ = 1, 9 do lf:write("0123456789") end
    lf:close()
    assert.are.equal(90, #H.read(path))
    assert.is_nil(H.read(path .. ".1"))
  end)

  it("never loses bytes across rotations", function()
    local lf = assert(core.logfile(path, { max = 64, keep = 3 }))
    local all = {}
    for i = 1, 40 do -- 8 bytes each: a rotation every 8 lines
      local s = ("line %02d\n"):format(i)
      all[#all + 1] = s
      lf:write(s)
    end
    lf:close()
    local got = (H.read(path .. ".3") or "") .. (H.read(path .. ".2") or "")
      .. (H.read(path .. ".1") or "") .. (H.read(path) or "")
    local want = table.concat(all)
    -- each file holds 8 whole lines; four rotations: lines 9-40 are kept
    assert.are.equal(want:sub(8 * 8 + 1), got)
    assert.are.equal(want:sub(32 * 8 + 1), H.read(path))
  end)

  it("never lets a file pass max, and keeps lines whole", function()
    local lf = assert(core.logfile(path, { max = 20, keep = 3 }))
    lf:write("aaaa\nbbbb\ncccc\n") -- 15 bytes
    lf:write("dddd\neeee\n")       -- 10 more: only "dddd\n" fits
    assert.are.equal("aaaa\nbbbb\ncccc\ndddd\n", H.read(path .. ".1"))
    assert.are.equal("eeee\n", H.read(path))
    lf:write(string.rep("z", 45))   -- a line longer than a file: cut
    lf:close()
    assert.are.equal(string.rep("z", 20), H.read(path .. ".1"))
    assert.are.equal(string.rep("z", 5), H.read(path))
    assert.are.equal(string.rep("z", 20), H.read(path .. ".2"))
    assert.are.equal("eeee\n", H.read(path .. ".3"))
  end)

  it("counts a file reopened after rotation from its real size", function()
    H.write(path, string.rep("x", 8))
    local lf = assert(core.logfile(path, { max = 10 }))
    lf:write("yy")
    assert.are.equal(string.rep("x", 8) .. "yy", H.read(path))
    lf:write("z")
    assert.are.equal(string.rep("x", 8) .. "yy", H.read(path .. ".1"))
    assert.are.equal("z", H.read(path))
    lf:close()
  end)

  it("keep = 0 drops the old file", function()
    local lf = assert(core.logfile(path, { max = 4, keep = 0 }))
    lf:write("1234")
    lf:write("ab")
    lf:close()
    assert.are.equal("ab", H.read(path))
    assert.is_nil(H.read(path .. ".1"))
  end)

  it("set_max changes the limit", function()
    local lf = assert(core.logfile(path))
    lf:write("12345")
    lf:set_max(6)
    lf:write("67")
    lf:close()
    assert.are.equal("12345", H.read(path .. ".1"))
    assert.are.equal("67", H.read(path))
  end)

  it("with deliver_chunks, a mission's bytes go to on_chunk instead of the file", function()
    local lf = assert(core.logfile(path))
    local got = {}
    local p, rec = H.sh_spawn("cat", { log = lf, deliver = false,
      stdin = "pipe", on_chunk = function(c) got[#got + 1] = c end })
    p:write("x\n")
    assert.is_truthy(H.run_until(function() return H.read(path) == "x\n" end))
    p:deliver_chunks(true)
    p:write("y\0z")
    assert.is_truthy(H.run_until(function() return table.concat(got) == "y\0z" end))
    p:deliver_chunks(false)
    p:write("w\n")
    assert.is_truthy(H.run_until(function() return H.read(path) == "x\nw\n" end))
    p:close_stdin()
    assert.is_truthy(H.run_until(function() return rec.exited end))
    lf:close()
    assert.are.equal("y\0z", table.concat(got))
  end)

  it("reports a write failure once per episode", function()
    local errors = {}
    local lf = assert(core.logfile("/dev/full", {
      on_error = function(msg) errors[#errors + 1] = msg end,
    }))
    local ok, err = lf:write("x")
    assert.is_nil(ok)
    assert.is_truthy(tostring(err):match("^ENOSPC"), err)
    lf:write("y")
    lf:close()
    assert.are.equal(1, #errors)
    assert.is_truthy(errors[1]:find("/dev/full", 1, true), errors[1])
  end)

  it("open failure returns nil and the error", function()
    local lf, err, code = core.logfile(dir .. "/missing/out.log")
    assert.is_nil(lf)
    assert.is_truthy(tostring(err):match("^ENOENT"), err)
    assert.are.equal("ENOENT", code)
  end)

  it("close is idempotent and a closed file refuses writes", function()
    local lf = assert(core.logfile(path))
    lf:close()
    lf:close()
    assert.has_error(function() lf:write("x") end)
    assert.has_error(function() lf:writeline("x") end)
    assert.is_truthy(tostring(lf):find("closed", 1, true))
  end)

  it("rejects a keep out of range", function()
    assert.has_error(function() core.logfile(path, { keep = -1 }) end)
    assert.has_error(function() core.logfile(path, { keep = 100 }) end)
  end)
end)
