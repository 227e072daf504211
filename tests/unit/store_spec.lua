-- Mission records on disk (SPEC §1): missions/<id>/mission.json.
local store = require("overmind.daemon.store")
local paths = require("overmind.paths")
local json = require("overmind.json")
local core = require("overmind.core")

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  return out
end

describe("store", function()
  local home
  before_each(function()
    home = sh("mktemp -d /tmp/om-unit-store.XXXXXX"):gsub("%s+$", "")
    assert(paths.mkdirs(paths.missions(home)))
  end)
  after_each(function()
    if home and home:match("^/tmp/om%-unit%-store%.") then
      os.execute("rm -rf " .. home)
    end
  end)

  it("saves and loads a record, leaving runtime state out", function()
    local m = { id = "abcd1234", name = "n", seq = 1, state = "running",
                command = "echo /tmp/x", restart_times = {}, exit_code = nil,
                env = { K = "V" }, rt = { handle = {} } }
    assert(store.create_dir(home, m.id))
    assert(store.save(home, m))
    local text = core.read_file(paths.mission_dir(m.id, home) ..
      "/mission.json")
    assert.is_truthy(text:find('"restart_times":[]', 1, true), text)
    assert.is_truthy(text:find('"command":"echo /tmp/x"', 1, true), text)
    assert.is_nil(text:find('"rt"', 1, true))
    local all = store.load_all(home, error)
    assert.are.equal(1, #all)
    assert.are.same({ id = "abcd1234", name = "n", seq = 1, state = "running",
                      command = "echo /tmp/x", restart_times = {},
                      env = { K = "V" } }, all[1])
  end)

  it("loads records oldest first by seq", function()
    for i, id in ipairs({ "cccc0000", "aaaa0000", "bbbb0000" }) do
      assert(store.create_dir(home, id))
      assert(store.save(home, { id = id, seq = 10 - i }))
    end
    local ids = {}
    for _, r in ipairs(store.load_all(home, error)) do ids[#ids + 1] = r.id end
    assert.are.same({ "bbbb0000", "aaaa0000", "cccc0000" }, ids)
  end)

  it("turns JSON nulls into nil", function()
    local dir = paths.mission_dir("abcd1234", home)
    assert(store.create_dir(home, "abcd1234"))
    assert(core.write_file(dir .. "/mission.json",
      '{"id":"abcd1234","exit_code":null,"os_pid":null,"seq":1}'))
    local r = store.load_all(home, error)[1]
    assert.is_nil(r.exit_code)
    assert.is_nil(r.os_pid)
    assert.are_not.equal(json.null, r.exit_code)
  end)

  it("skips and reports broken records, keeping their files", function()
    assert(store.create_dir(home, "good0000"))
    assert(store.save(home, { id = "good0000", seq = 1 }))
    for id, text in pairs({ bad00000 = "{not json", wrong000 = '{"id":"other"}' }) do
      assert(store.create_dir(home, id))
      assert(core.write_file(paths.mission_dir(id, home) .. "/mission.json", text))
    end
    local warnings = {}
    local all = store.load_all(home, function(msg) warnings[#warnings + 1] = msg end)
    assert.are.equal(1, #all)
    assert.are.equal("good0000", all[1].id)
    assert.are.equal(2, #warnings)
    assert.is_truthy(core.stat(paths.mission_dir("bad00000", home) ..
      "/mission.json"))
  end)

  it("removes a mission's directory", function()
    assert(store.create_dir(home, "abcd1234"))
    assert(store.save(home, { id = "abcd1234" }))
    assert(store.remove(home, { id = "abcd1234" }))
    assert.is_nil(core.stat(paths.mission_dir("abcd1234", home)))
  end)
end)

describe("paths", function()
  it("places state under OVERMIND_HOME", function()
    assert.are.equal("/h/overmind.sock", paths.socket("/h"))
    assert.are.equal("/h/daemon.pid", paths.pidfile("/h"))
    assert.are.equal("/h/daemon.log", paths.daemon_log("/h"))
    assert.are.equal("/h/missions/abcd1234/output.log",
      paths.output_log("abcd1234", "/h"))
  end)

  it("lists log files oldest first", function()
    assert.are.same({
      "/h/missions/x/output.log.3", "/h/missions/x/output.log.2",
      "/h/missions/x/output.log.1", "/h/missions/x/output.log",
    }, paths.log_files("x", "/h"))
  end)
end)
