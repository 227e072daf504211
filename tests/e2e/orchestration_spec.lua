-- SPEC §5 orchestration: --parent (id, name, prefix, the default from
-- OVERMIND_MISSION_ID), the hierarchy in ps --tree / --children / info,
-- kill --cascade / --all on trees, and `wait` through restarts, with
-- several waiters and with waiters that go away.  Single-mission `wait`
-- basics are in wait_spec.lua, plain stop/kill in stop_kill_spec.lua.
local e2e = require("support.e2e")
local core = require("overmind.core")

-- CLI calls that block on the daemon get a deadline, so a hang fails.
local T = { timeout = 20 }

local HEADER = "ID          NAME              TYPE      STATUS        " ..
  "RESTARTS  PARENT      CHILDREN  UPTIME    COMMAND"

local function lines_of(s)
  local out = {}
  for line in s:gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

local function fields_of(line)
  local out = {}
  for w in line:gmatch("%S+") do out[#out + 1] = w end
  return out
end

describe("orchestration", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  local function fails(args, reason, opts)
    local r = e2e.om(h, args, opts)
    assert.are.equal("Error: " .. reason .. "\n", r.err,
      "overmind " .. table.concat(args, " "))
    assert.are.equal(1, r.code)
    assert.are.equal("", r.out)
  end

  -- info and ps through the socket: quicker than the CLI, under ASan too.
  local function info(id)
    return assert(e2e.request(h, "info", { id = id }))
  end

  local function ps()
    return assert(e2e.request(h, "ps", {}))
  end

  local function ids_in_ps()
    local out = {}
    for _, m in ipairs(ps()) do out[#out + 1] = m.id end
    return out
  end

  local function all_dead(pids, what)
    e2e.wait_for(function()
      for _, p in ipairs(pids) do
        if e2e.alive(p) then return false end
      end
      return true
    end, 10, what)
  end

  local function let_pass(secs)
    local deadline = e2e.now() + secs
    e2e.wait_for(function() return e2e.now() >= deadline end, secs + 5)
  end

  -- Waits until a background `overmind wait` has connected and the daemon
  -- has had a turn to read its request.
  local function registered(b)
    e2e.wait_for(function()
      for _, fd in ipairs(core.listdir("/proc/" .. b.pid .. "/fd") or {}) do
        local target = e2e.sh("readlink /proc/" .. b.pid .. "/fd/" .. fd .. " 2>/dev/null")
        if target:match("^socket:") then return true end
      end
      return false
    end, 10, "wait to connect")
    assert.are.same({ '{"ok":"pong"}' }, e2e.raw_request(h, '{"cmd":"ping"}\n'))
  end

  -- A command that blocks until the file `gate` exists, then runs `after`.
  local function gated(gate, after)
    return "while [ ! -e " .. gate .. " ]; do sleep 0.02; done; " .. after
  end

  -- A three-level tree built the way agents build one: each mission runs
  -- `overmind run` itself, so its children get it as their default parent
  -- from OVERMIND_MISSION_ID.
  --   root ── mid ── leaf
  --        └─ sib
  -- Returns { root=id, mid=id, leaf=id, sib=id }, started in that order.
  local function agent_tree()
    local d = h.home
    local bin = e2e.quote(e2e.bin)
    e2e.write_file(d .. "/mid.sh", table.concat({
      bin .. " run --name leaf 'exec sleep 300' >" .. d .. "/mid.out 2>&1",
      "touch " .. d .. "/leaf.done",
      "exec sleep 300", "" }, "\n"))
    e2e.write_file(d .. "/root.sh", table.concat({
      bin .. " run --name mid 'exec sh " .. d .. "/mid.sh' >" .. d .. "/root.out 2>&1",
      "while [ ! -e " .. d .. "/leaf.done ]; do sleep 0.02; done",
      bin .. " run --name sib 'exec sleep 300' >>" .. d .. "/root.out 2>&1",
      "touch " .. d .. "/sib.done",
      "exec sleep 300", "" }, "\n"))
    local t = {}
    t.root = e2e.run(h, { "--name", "root", "exec sh " .. d .. "/root.sh" })
    local ok, err = pcall(e2e.wait_for, function()
      return core.stat(d .. "/sib.done") ~= nil
    end, 15, "the tree to be built")
    assert(ok, tostring(err) .. "; root says: " .. e2e.read_all(d .. "/root.out") ..
      "; mid says: " .. e2e.read_all(d .. "/mid.out"))
    for _, m in ipairs(ps()) do
      if m.name ~= "root" then t[m.name] = m.id end
    end
    assert.is_not_nil(t.mid, e2e.read_all(d .. "/root.out"))
    assert.is_not_nil(t.leaf, e2e.read_all(d .. "/mid.out"))
    assert.is_not_nil(t.sib, e2e.read_all(d .. "/root.out"))
    return t
  end

  describe("--parent", function()
    it("takes an id, a name or a unique id prefix", function()
      local p = e2e.run(h, { "--name", "boss", "sleep 30" })
      local other = e2e.run(h, { "sleep 30" })
      local by_id = e2e.run(h, { "--parent", p, "sleep 30" })
      local by_name = e2e.run(h, { "--parent", "boss", "sleep 30" })
      -- the shortest prefix of p's id that no other id starts with
      local prefix
      for n = 1, 7 do
        prefix = p:sub(1, n)
        local unique = true
        for _, x in ipairs({ other, by_id, by_name }) do
          if x:sub(1, n) == prefix then unique = false end
        end
        if unique then break end
      end
      local by_prefix = e2e.run(h, { "--parent", prefix, "true" })
      for _, c in ipairs({ by_id, by_name, by_prefix }) do
        assert.are.equal(p, info(c).parent)
      end
      assert.are.same({ by_id, by_name, by_prefix }, info(p).children)
      assert.are.same({}, info(other).children)
      assert.are.equal(e2e.null, info(p).parent)
      local got = lines_of(e2e.ok(h, { "ps", "--children", "boss" }))
      assert.are.equal(4, #got)
      assert.are.equal(HEADER, got[1])
      for i, c in ipairs({ by_id, by_name, by_prefix }) do
        local f = fields_of(got[i + 1])
        assert.are.equal(c, f[1])
        assert.are.equal(p, f[6], got[i + 1])
      end
      -- the CHILDREN column counts them, finished ones included
      e2e.wait_status(h, by_prefix, "stopped")
      for _, line in ipairs(lines_of(e2e.ok(h, { "ps" }))) do
        local f = fields_of(line)
        if f[1] == p then assert.are.equal("3", f[7], line) end
        if f[1] == other then assert.are.equal("0", f[7], line) end
      end
    end)

    it("resolves a shared name to the newest mission holding it", function()
      local old = e2e.run(h, { "--name", "lead", "true" })
      e2e.wait_status(h, old, "stopped")
      local new = e2e.run(h, { "--name", "lead", "sleep 30" })
      local c = e2e.run(h, { "--parent", "lead", "sleep 30" })
      assert.are.equal(new, info(c).parent)
      assert.are.same({}, info(old).children)
    end)

    it("fails with parent_not_found and creates nothing", function()
      e2e.run(h, { "--name", "real", "sleep 30" })
      fails({ "run", "--parent", "ghost", "sleep 30" }, "parent_not_found")
      fails({ "run", "--parent", "ffffffff", "--name", "orphan", "sleep 30" },
        "parent_not_found")
      assert.are.equal(1, #ps())
    end)

    it("defaults to OVERMIND_MISSION_ID, and --parent wins over it", function()
      local a = e2e.run(h, { "--name", "a", "sleep 30" })
      local b = e2e.run(h, { "--name", "b", "sleep 30" })
      local env = { env = { "OVERMIND_MISSION_ID=" .. a } }
      local out = e2e.ok(h, { "run", "--json", "sleep 30" }, env)
      local c1 = out:match('"id":"(%x+)"')
      out = e2e.ok(h, { "run", "--json", "--parent", "b", "sleep 30" }, env)
      local c2 = out:match('"id":"(%x+)"')
      assert.are.equal(a, info(c1).parent)
      assert.are.equal(b, info(c2).parent)
      assert.are.same({ c1 }, info(a).children)
      assert.are.same({ c2 }, info(b).children)
    end)
  end)

  describe("trees built by missions themselves", function()
    it("nest through OVERMIND_MISSION_ID and print as a tree", function()
      local t = agent_tree()
      local loner = e2e.run(h, { "--name", "loner", "sleep 30" })
      assert.are.equal(e2e.null, info(t.root).parent)
      assert.are.equal(t.root, info(t.mid).parent)
      assert.are.equal(t.mid, info(t.leaf).parent)
      assert.are.equal(t.root, info(t.sib).parent)
      assert.are.same({ t.mid, t.sib }, info(t.root).children)
      assert.are.same({ t.leaf }, info(t.mid).children)
      assert.are.same({}, info(t.leaf).children)

      local got = lines_of(e2e.ok(h, { "ps", "--tree" }))
      assert.are.equal(6, #got, table.concat(got, "\n"))
      assert.are.equal(HEADER, got[1])
      local want = {
        { "", t.root, "root", "-", "2" },
        { "├─ ", t.mid, "mid", t.root, "1" },
        { "│  └─ ", t.leaf, "leaf", t.mid, "0" },
        { "└─ ", t.sib, "sib", t.root, "0" },
        { "", loner, "loner", "-", "0" },
      }
      for i, w in ipairs(want) do
        local line = got[i + 1]
        local prefix = w[1] .. w[2] .. " "
        assert.are.equal(prefix, line:sub(1, #prefix), "tree row " .. i .. ": " .. line)
        local f = fields_of(line:sub(#w[1] + 1))
        assert.are.equal(w[2], f[1], line)
        assert.are.equal(w[3], f[2], line)
        assert.are.equal("task", f[3], line)
        assert.are.equal("running", f[4], line)
        assert.are.equal("0", f[5], line)
        assert.are.equal(w[4], f[6], line)
        assert.are.equal(w[5], f[7], line)
      end
      -- a root row is exactly the plain table's row, up to the uptime
      local plain = lines_of(e2e.ok(h, { "ps" }))
      assert.are.equal(plain[2]:sub(1, 86), got[2]:sub(1, 86))

      local kids = lines_of(e2e.ok(h, { "ps", "--children", "mid" }))
      assert.are.equal(2, #kids)
      assert.are.equal(HEADER, kids[1])
      assert.are.equal(t.leaf, fields_of(kids[2])[1])
      kids = lines_of(e2e.ok(h, { "ps", "--children", t.root }))
      assert.are.equal(3, #kids)
      assert.are.equal(t.mid, fields_of(kids[2])[1])
      assert.are.equal(t.sib, fields_of(kids[3])[1])
    end)

    it("die depth-first with kill --cascade, waiters told each one was killed", function()
      local t = agent_tree()
      local bystander = e2e.run(h, { "sleep 30" })
      local pids = {}
      for _, k in ipairs({ "root", "mid", "leaf", "sib" }) do
        pids[#pids + 1] = info(t[k]).os_pid
      end
      local all = e2e.spawn(h, { "wait", t.root, t.mid, t.leaf, t.sib })
      local any1 = e2e.spawn(h, { "wait", "--any", t.root, t.leaf })
      local any2 = e2e.spawn(h, { "wait", "--any", t.mid, t.leaf })
      local any3 = e2e.spawn(h, { "wait", "--any", t.root, t.sib })
      for _, b in ipairs({ all, any1, any2, any3 }) do registered(b) end

      local r = e2e.om(h, { "kill", "root", "--cascade" }, T)
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Killed mission " .. t.root .. " and all children\n", r.out)
      assert.are.same({ bystander }, ids_in_ps())
      all_dead(pids, "the whole tree's processes")
      for _, k in ipairs({ "root", "mid", "leaf", "sib" }) do
        fails({ "info", t[k] }, "not_found")
      end

      local function killed(id)
        return "Mission " .. id .. " finished: killed (no exit code)\n"
      end
      assert.are.equal(137, e2e.bg_wait(all))
      assert.are.equal(killed(t.root) .. killed(t.mid) .. killed(t.leaf) ..
        killed(t.sib), e2e.bg_output(all))
      -- descendants go before their ancestors
      assert.are.equal(137, e2e.bg_wait(any1))
      assert.are.equal(killed(t.leaf), e2e.bg_output(any1))
      assert.are.equal(137, e2e.bg_wait(any2))
      assert.are.equal(killed(t.leaf), e2e.bg_output(any2))
      assert.are.equal(137, e2e.bg_wait(any3))
      assert.are.equal(killed(t.sib), e2e.bg_output(any3))
      assert.are.equal("running", info(bystander).status)
    end)

    it("keep their children when a parent is killed without --cascade; kill --all takes all", function()
      local t = agent_tree()
      local count = h.home .. "/phoenix.count"
      local phoenix = e2e.run(h, { "--restart", "always", "--backoff", "150",
        "echo x >>" .. count .. "; exit 1" })
      local pids = {}
      for _, k in ipairs({ "root", "mid", "leaf", "sib" }) do
        pids[k] = info(t[k]).os_pid
      end
      assert.are.equal("Killed mission " .. t.mid .. "\n", e2e.ok(h, { "kill", "mid" }, T))
      e2e.wait_for(function() return not e2e.alive(pids.mid) end, 10, "mid's process")
      assert.is_true(e2e.alive(pids.leaf))
      assert.are.equal("running", info(t.leaf).status)
      assert.are.same({ t.sib }, info(t.root).children)
      -- the orphan still shows in the tree
      local seen = false
      for _, line in ipairs(lines_of(e2e.ok(h, { "ps", "--tree" }))) do
        if line:find(t.leaf, 1, true) then seen = true end
      end
      assert.is_true(seen)
      assert.are.same({ t.root, t.leaf, t.sib, phoenix }, ids_in_ps())

      -- kill --all: the rest of the tree and a mission waiting to restart
      e2e.wait_status(h, phoenix, "restarting")
      assert.are.equal("Killed all missions\n", e2e.ok(h, { "kill", "--all" }, T))
      assert.are.same({}, ps())
      all_dead({ pids.root, pids.leaf, pids.sib }, "every mission's processes")
      local runs = #e2e.read_all(count)
      let_pass(0.4)
      assert.are.equal(runs, #e2e.read_all(count))
      assert.are.same({}, ps())
    end)
  end)

  describe("stop", function()
    it("takes down grandchildren that were orphaned inside the mission", function()
      local f = h.home .. "/orphan.pid"
      local id = e2e.run(h, { "(sleep 300 & echo $! >" .. f .. ".t; mv " .. f ..
        ".t " .. f .. "); echo spawned; exec sleep 300" })
      e2e.wait_log(h, id, "spawned\n")
      local orphan = tonumber(e2e.read_all(f):match("%d+"))
      local pid = info(id).os_pid
      assert.is_true(e2e.alive(orphan))
      assert.are_not.equal(pid, e2e.proc_stat(orphan).ppid)
      assert.are.equal(pid, e2e.proc_stat(orphan).pgrp)
      assert.are.equal("Stopped mission " .. id .. "\n", e2e.ok(h, { "stop", id }, T))
      all_dead({ pid, orphan }, "the mission and its orphan")
      assert.are.equal("stopped", info(id).status)
    end)
  end)

  describe("wait", function()
    it("started before the first crash returns only at the final one", function()
      local gate = h.home .. "/gate"
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "300",
        "--max-restarts", "2", gated(gate, "echo crash; exit 4") })
      local b = e2e.spawn(h, { "wait", id })
      registered(b)
      e2e.write_file(gate, "")
      -- well into the second backoff: two crashes behind, one to come
      e2e.wait_for(function()
        local m = e2e.request(h, "info", { id = id })
        return m and m.restart_count == 1 and m.status == "restarting"
      end, 10, "the second backoff")
      assert.is_nil(e2e.bg_done(b), "wait returned during the restarts: " ..
        e2e.bg_output(b))
      assert.are.equal(4, e2e.bg_wait(b, 10, "wait to return"))
      assert.are.equal("Mission " .. id .. " finished: crashed (exit code 4)\n",
        e2e.bg_output(b))
      local m = info(id)
      assert.are.equal("crashed", m.status)
      assert.are.equal(2, m.restart_count)
    end)

    it("answers several waiters on one mission at once", function()
      local gate = h.home .. "/gate"
      local id = e2e.run(h, { "--name", "shared", gated(gate, "exit 6") })
      local other = e2e.run(h, { "sleep 0.2" })
      local ws = {
        e2e.spawn(h, { "wait", id }),
        e2e.spawn(h, { "wait", "shared" }),
        e2e.spawn(h, { "wait", id:sub(1, 4) }),
        e2e.spawn(h, { "wait", other, id }),
      }
      for _, b in ipairs(ws) do registered(b) end
      e2e.write_file(gate, "")
      local line = "Mission " .. id .. " finished: crashed (exit code 6)\n"
      for i = 1, 3 do
        assert.are.equal(6, e2e.bg_wait(ws[i], 10, "waiter " .. i))
        assert.are.equal(line, e2e.bg_output(ws[i]))
      end
      assert.are.equal(6, e2e.bg_wait(ws[4], 10, "waiter 4"))
      assert.are.equal("Mission " .. other .. " finished: stopped (exit code 0)\n" ..
        line, e2e.bg_output(ws[4]))
    end)

    it("drops a waiter whose client goes away", function()
      local gate = h.home .. "/gate"
      local id = e2e.run(h, { gated(gate, "echo done") })
      local dpid = e2e.daemon_pid(h)
      local fds = e2e.fd_count(dpid)
      for _ = 1, 5 do
        local c = assert(core.connect(h.home .. "/overmind.sock"))
        assert.is_truthy(c:send(require("cjson").encode(
          { cmd = "wait", args = { ids = { id } } }) .. "\n"))
        -- the daemon has read the request once it answers the next one
        assert.is_truthy(c:send('{"cmd":"ping"}\n'))
        c:close()
      end
      assert.are.same({ '{"ok":"pong"}' }, e2e.raw_request(h, '{"cmd":"ping"}\n'))
      e2e.write_file(gate, "")
      local m = e2e.wait_status(h, id, "stopped")
      assert.are.equal(0, m.exit_code)
      assert.are.equal("done\n", e2e.log_text(h, id))
      assert.are.equal(dpid, e2e.daemon_pid(h))
      assert.is_true(e2e.alive(dpid))
      local r = e2e.om(h, { "wait", id }, T)
      assert.are.equal(0, r.code)
      assert.are.equal("Mission " .. id .. " finished: stopped (exit code 0)\n", r.out)
      e2e.wait_for(function() return e2e.fd_count(dpid) <= fds end, 10,
        "the daemon's descriptors to be back to " .. fds)
      local dlog = e2e.read_all(h.home .. "/daemon.log")
      assert.is_nil(dlog:lower():find("traceback", 1, true), dlog)
    end)

    it("times out on several missions, and --any returns a finished one at once", function()
      local live = e2e.run(h, { "sleep 30" })
      local done = e2e.run(h, { "exit 5" })
      e2e.wait_status(h, done, "crashed")
      local r = e2e.om(h, { "wait", done, live, "--timeout", "200" }, T)
      assert.are.equal(124, r.code)
      assert.are.equal("Error: timeout\n", r.err)
      assert.are.equal("", r.out)
      r = e2e.om(h, { "wait", "--any", live, done, "--timeout", "5000" }, T)
      assert.are.equal(5, r.code)
      assert.are.equal("Mission " .. done .. " finished: crashed (exit code 5)\n", r.out)
      -- a mission that ends within the timeout is an ordinary answer
      local quick = e2e.run(h, { "sleep 0.2; exit 0" })
      r = e2e.om(h, { "wait", quick, "--timeout", "10000" }, T)
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Mission " .. quick .. " finished: stopped (exit code 0)\n", r.out)
      assert.are.equal("running", info(live).status)
    end)
  end)
end)
