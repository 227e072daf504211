local format = require("overmind.cli.format")
local json = require("overmind.json")

local HEADER = "ID          NAME              TYPE      STATUS        RESTARTS  " ..
  "PARENT      CHILDREN  UPTIME    COMMAND"

local function m(t)
  local x = {
    id = "abcd1234", name = "swift-reef", type = "task", status = "running",
    restart_count = 0, children = {}, uptime = 42, command = "echo hi",
  }
  for k, v in pairs(t or {}) do x[k] = v end
  return x
end

-- Splits a row on runs of spaces (what users' scripts do).
local function fields(line)
  local out = {}
  for f in line:gmatch("%S+") do out[#out + 1] = f end
  return out
end

describe("format.header", function()
  it("is exact", function()
    assert.are.equal(HEADER, format.header())
  end)

  it("has the column widths of SPEC §3", function()
    local widths = { 12, 18, 10, 14, 10, 12, 10, 10 }
    local pos = 1
    for i, name in ipairs({ "ID", "NAME", "TYPE", "STATUS", "RESTARTS",
                            "PARENT", "CHILDREN", "UPTIME", "COMMAND" }) do
      assert.are.equal(pos, HEADER:find(name, 1, true), name)
      pos = pos + (widths[i] or 0)
    end
  end)
end)

describe("format.row", function()
  it("pads every column to its width", function()
    assert.are.equal(
      "abcd1234    swift-reef        task      running       0         " ..
      "-           0         42s       echo hi",
      format.row(m()))
  end)

  it("lines up under the header", function()
    local row = format.row(m({ parent = "ffff0000", children = { "a", "b" },
                               restart_count = 3, uptime = 7 * 60 }))
    assert.are.equal(HEADER:find("COMMAND"), row:find("echo hi", 1, true))
    assert.are.equal(HEADER:find("PARENT"), row:find("ffff0000", 1, true))
    assert.are.same({ "abcd1234", "swift-reef", "task", "running", "3",
                      "ffff0000", "2", "7m", "echo", "hi" }, fields(row))
  end)

  it("shows - for no parent (nil or JSON null) and no uptime", function()
    local row = format.row(m({ parent = json.null, uptime = json.null,
                               status = "stopped" }))
    assert.are.same({ "abcd1234", "swift-reef", "task", "stopped", "0", "-",
                      "0", "-", "echo", "hi" }, fields(row))
  end)

  it("follows a value as long as its column with one space", function()
    local name = string.rep("n", 18)
    local row = format.row(m({ name = name }))
    assert.is_truthy(row:find("abcd1234    " .. name .. " task      ", 1, true))
  end)

  it("follows a value longer than its column with one space", function()
    local name = "a-very-long-mission-name"
    local row = format.row(m({ name = name, status = "restarting" }))
    assert.is_truthy(row:find("    " .. name .. " task      restarting    ", 1,
      true), row)
    assert.are.equal(name, fields(row)[2])
    assert.are.equal("task", fields(row)[3])
  end)

  it("keeps a 40-character command whole", function()
    local cmd = string.rep("c", 40)
    assert.are.equal(cmd, format.row(m({ command = cmd })):sub(-40))
  end)

  it("cuts a longer command to 40 characters ending in ...", function()
    local cmd = "python3 -c 'import time; time.sleep(1000); print(1)'"
    local row = format.row(m({ command = cmd }))
    local shown = row:sub((HEADER:find("COMMAND")))
    assert.are.equal(40, #shown)
    assert.are.equal(cmd:sub(1, 37) .. "...", shown)
  end)

  it("puts a multi-line command on one row", function()
    local row = format.row(m({ command = "echo a\necho b" }))
    assert.is_nil(row:find("\n"))
    assert.are.equal("echo a echo b", row:sub((HEADER:find("COMMAND"))))
  end)

  it("counts COMMAND in characters, not bytes", function()
    -- SPEC §3: truncated to 40 characters; never a broken UTF-8 sequence.
    local cmd40 = "echo " .. string.rep("é", 35) -- 40 characters, 75 bytes
    local row = format.row(m({ command = cmd40 }))
    assert.are.equal(cmd40, row:sub((HEADER:find("COMMAND"))))
    local cmd41 = cmd40 .. "!"
    local shown = format.row(m({ command = cmd41 })):sub((HEADER:find("COMMAND")))
    assert.is_truthy(utf8.len(shown), "valid UTF-8")
    assert.are.equal(40, utf8.len(shown))
    assert.are.equal("echo " .. string.rep("é", 32) .. "...", shown)
  end)

  it("shows the uptime in its largest unit", function()
    assert.are.equal("3h", fields(format.row(m({ uptime = 3 * 3600 + 59 })))[8])
    assert.are.equal("2d", fields(format.row(m({ uptime = 2 * 86400 + 1 })))[8])
  end)
end)

describe("format.table", function()
  it("is the header and one row per mission, in the given order", function()
    local out = format.table({ m({ id = "00000001" }), m({ id = "00000002" }) })
    local lines = {}
    for l in out:gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
    assert.are.equal(3, #lines)
    assert.are.equal(HEADER, lines[1])
    assert.are.equal("00000001", fields(lines[2])[1])
    assert.are.equal("00000002", fields(lines[3])[1])
  end)

  it("is only the header when there are no missions", function()
    assert.are.equal(HEADER .. "\n", format.table({}))
  end)
end)

describe("format.tree", function()
  local function lines_of(s)
    local out = {}
    for l in s:gmatch("([^\n]*)\n") do out[#out + 1] = l end
    return out
  end

  it("indents children under parents with the connectors", function()
    local list = {
      m({ id = "aaaa0000", name = "root" }),
      m({ id = "bbbb0000", name = "b", parent = "aaaa0000" }),
      m({ id = "cccc0000", name = "c", parent = "aaaa0000" }),
      m({ id = "dddd0000", name = "d", parent = "bbbb0000" }),
      m({ id = "eeee0000", name = "e", parent = "bbbb0000" }),
      m({ id = "ffff0000", name = "f", parent = "cccc0000" }),
      m({ id = "99990000", name = "other" }),
    }
    local l = lines_of(format.tree(list))
    assert.are.equal(HEADER, l[1])
    local ids = {}
    for i = 2, #l do ids[#ids + 1] = l[i]:match("^(.-%x%x%x%x0000)") end
    assert.are.same({
      "aaaa0000",
      "├─ bbbb0000",
      "│  ├─ dddd0000",
      "│  └─ eeee0000",
      "└─ cccc0000",
      "   └─ ffff0000",
      "99990000",
    }, ids)
  end)

  it("pads the ID column by characters, connectors included", function()
    local list = {
      m({ id = "aaaa0000" }),
      m({ id = "bbbb0000", parent = "aaaa0000" }),
      m({ id = "dddd0000", parent = "bbbb0000" }),
      m({ id = "cccc0000", parent = "aaaa0000" }),
    }
    local l = lines_of(format.tree(list))
    -- "├─ bbbb0000" is 11 characters: one space to 12.
    assert.are.equal("├─ bbbb0000 swift-reef ",
      l[3]:sub(1, #"├─ bbbb0000 swift-reef "))
    -- "│  └─ dddd0000" is 14 characters: longer than 12, one space.
    assert.are.equal("│  └─ dddd0000 swift-reef ",
      l[4]:sub(1, #"│  └─ dddd0000 swift-reef "))
    -- rows whose ID fits still line up under the header, in characters
    for _, i in ipairs({ 2, 3, 5 }) do
      local before = l[i]:sub(1, l[i]:find("echo hi", 1, true) - 1)
      assert.are.equal(HEADER:find("COMMAND") - 1, utf8.len(before), l[i])
    end
  end)

  it("treats a mission whose parent is gone as a root", function()
    local l = lines_of(format.tree({
      m({ id = "aaaa0000", parent = "gone0000" }),
      m({ id = "bbbb0000", parent = json.null }),
    }))
    assert.are.equal("aaaa0000", l[2]:sub(1, 8))
    assert.are.equal("bbbb0000", l[3]:sub(1, 8))
    -- its PARENT column still names the parent
    assert.are.equal("gone0000", fields(l[2])[6])
  end)
end)

describe("format.status", function()
  it("has the exact labels of SPEC §3", function()
    local out = format.status({
      pid = 4242, version = "0.1.0",
      uptime = 2 * 86400 + 3 * 3600 + 14 * 60 + 5,
      rss = 12 * 1024 * 1024, home = "/tmp/om-home",
      running = 2, stopped = 3, crashed = 1, total = 6,
    })
    local l = {}
    for line in out:gmatch("([^\n]*)\n") do l[#l + 1] = line end
    assert.are.equal(12, #l)
    assert.are.equal("Overmind Daemon", l[1])
    assert.are.equal("  PID:        4242", l[2])
    assert.are.equal("  Version:    0.1.0", l[3])
    assert.are.equal("  Uptime:     2d 3h 14m", l[4])
    assert.is_truthy(l[5]:match("^  Memory:     %d+%.?%d* MB$"), l[5])
    assert.are.equal("  Memory:     12", l[5]:sub(1, 16))
    assert.are.equal("  Home:       /tmp/om-home", l[6])
    assert.are.equal("", l[7])
    assert.are.equal("Missions", l[8])
    assert.are.equal("  Running:  2", l[9])
    assert.are.equal("  Stopped:  3", l[10])
    assert.are.equal("  Crashed:  1", l[11])
    assert.are.equal("  Total:    6", l[12])
  end)

  it("writes short uptimes in the long format", function()
    local base = { pid = 1, version = "v", rss = 0, home = "/h", running = 0,
                   stopped = 0, crashed = 0, total = 0 }
    for secs, want in pairs({ [40] = "40s", [12 * 60] = "12m",
                              [5 * 3600 + 120] = "5h 2m" }) do
      base.uptime = secs
      assert.is_truthy(format.status(base):find("\n  Uptime:     " .. want ..
        "\n", 1, true), want)
    end
  end)
end)
