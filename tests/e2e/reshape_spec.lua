-- SPEC §8, the fixes that came with the reshaped run path: a user
-- provider's `format` applies to plain events too; a session's stdin
-- queue is bounded (`stdin_full`) and so is the daemon's memory; every
-- mission option is declared once, so an unknown one is an error that
-- names it in `run`, blueprints and `om.run{}` alike, and the forms the
-- declaration allows (`backoff`, lists, `env` tables) are taken.
local e2e = require("support.e2e")
local load = require("support.load")
local core = require("overmind.core")

local function fails_with(r, err, what)
  assert.are.equal(err, r.err, what)
  assert.are.equal(1, r.code, what)
  assert.are.equal("", r.out, what)
end

describe("reshape", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  local function provider(name, source)
    core.mkdir(h.home .. "/providers")
    e2e.write_file(h.home .. "/providers/" .. name .. ".lua", source)
  end

  describe("a user provider's format", function()
    it("applies to the plain events of a provider that has no parse", function()
      provider("upper", [[
return {
  build_command = function(m) return m.command end,
  format = function(ev) return ev.text:upper() end,
}
]])
      local id = e2e.run(h, { "--provider", "upper", "--name", "loud",
        "echo quiet words" })
      local m = e2e.wait_status(h, id, "stopped")
      assert.are.equal("upper", m.provider)
      assert.are.equal(0, m.exit_code)
      assert.are.equal("QUIET WORDS\n", e2e.log_text(h, id))
      assert.are.equal("QUIET WORDS\n", e2e.ok(h, { "logs", id }))
      -- every line, and a session's output too
      local id2 = e2e.run(h, { "--provider", "upper",
        "echo one; echo two words; echo three" })
      e2e.wait_status(h, id2, "stopped")
      assert.are.equal("ONE\nTWO WORDS\nTHREE\n", e2e.log_text(h, id2))
      local s = e2e.run(h, { "--provider", "upper", "--type", "session", "cat" })
      e2e.ok(h, { "send", s, "hello there" })
      assert.are.equal("[human] hello there\nHELLO THERE\n",
        e2e.wait_log(h, s, "HELLO THERE\n"))
    end)

    it("logs nothing for an event it formats as nil", function()
      provider("hush", [[
return {
  build_command = function(m) return m.command end,
  format = function(ev)
    if ev.text:sub(1, 1) == "#" then return nil end
    return "> " .. ev.text
  end,
}
]])
      local id = e2e.run(h, { "--provider", "hush",
        "echo '# hidden'; echo shown; echo '# also hidden'; echo last" })
      e2e.wait_status(h, id, "stopped")
      assert.are.equal("> shown\n> last\n", e2e.log_text(h, id))
    end)
  end)

  describe("a session's stdin", function()
    local SIZE = 900000

    -- A message of about 900 KB as nine words of 100,000 bytes (the kernel
    -- takes at most 128 KiB in one argument), in a file the shell splits
    -- back into words: `send` joins them with spaces.
    local function words_file(tag)
      local words = {}
      for k = 1, 9 do words[k] = string.rep(string.char(96 + k), SIZE // 9) end
      words[1] = tag .. words[1]:sub(#tag + 1)
      local path = h.home .. "/words-" .. tag
      e2e.write_file(path, table.concat(words, " "))
      return path, table.concat(words, " ")
    end

    local function cli_send(id, path)
      local errf = os.tmpname()
      local out, code = e2e.sh(("OVERMIND_HOME=%s %s send %s $(cat %s) 2>%s </dev/null")
        :format(e2e.quote(h.home), e2e.quote(e2e.bin), id, e2e.quote(path), errf))
      local err = e2e.read_all(errf)
      os.remove(errf)
      return { out = out, err = err, code = code }
    end

    local function status_memory_mb()
      local out = e2e.ok(h, { "status" })
      local mb = out:match("\n  Memory:%s+([%d%.]+) MB\n")
      assert(mb, "no Memory line in: " .. out)
      return tonumber(mb)
    end

    it("fails with stdin_full once 8 MiB waits, queues no more, and the daemon stays small", function()
      e2e.ok(h, { "start" }, { env = load.daemon_env() })
      local dpid = assert(e2e.daemon_pid(h))
      local id = e2e.run(h, { "--type", "session", "--name", "deaf", "sleep 600" })
      e2e.wait_status(h, id, "running")
      local path, text = words_file("m")
      local bytes = #text + 1 -- the raw provider writes the message and a newline
      local accepted, first_refusal
      for i = 1, 50 do
        local r = cli_send(id, path)
        if r.code == 0 then
          assert.is_nil(first_refusal, "send #" .. i .. " was taken after a refusal")
          assert.are.equal("Sent to mission " .. id .. "\n", r.out)
          assert.are.equal("", r.err)
          accepted = i
        else
          first_refusal = first_refusal or i
          fails_with(r, "Error: stdin_full\n", "send #" .. i)
        end
      end
      assert.is_not_nil(first_refusal, "50 messages of 900 KB were all queued")
      -- it refuses once more than 8 MiB would wait, not much later or sooner
      -- (the pipe itself holds up to 1 MiB)
      assert.is_true((accepted + 1) * bytes > 8 * 1048576,
        ("refused after only %d messages (%d bytes)"):format(accepted, accepted * bytes))
      assert.is_true(accepted * bytes <= 9 * 1048576,
        ("took %d messages (%d bytes) before refusing"):format(accepted, accepted * bytes))
      -- the log has the messages that were taken, and no other
      local log = e2e.log_text(h, id)
      local humans = 0
      for line in log:gmatch("[^\n]+") do
        if line:sub(1, 8) == "[human] " then
          humans = humans + 1
          assert.is_true(line == "[human] " .. text, "a [human] line differs")
        end
      end
      assert.are.equal(accepted, humans)
      -- the daemon's memory stays bounded after 50 sends of 900 KB
      local bound = load.sanitized and load.rss_bound_kb() or 64 * 1024
      local rss = assert(load.rss_kb(dpid))
      assert.is_true(rss < bound, ("the daemon holds %d KiB after 50 sends"):format(rss))
      local mb = status_memory_mb()
      assert.is_true(mb < bound / 1024, ("status says Memory: %s MB"):format(mb))
      -- the session is still there, and other missions work
      local m = e2e.info(h, id)
      assert.are.equal("running", m.status)
      local other = e2e.run(h, { "echo still here" })
      assert.are.equal(0, e2e.wait_status(h, other, "stopped").exit_code)
      assert.are.equal("still here\n", e2e.log_text(h, other))
      local s = e2e.run(h, { "--type", "session", "cat" })
      assert.are.equal("Sent to mission " .. s .. "\n", e2e.ok(h, { "send", s, "ping" }))
      e2e.wait_log(h, s, "[human] ping\nping\n")
      assert.is_table(e2e.ps_json(h))
    end)

    it("queues nothing it refused: the session later reads exactly what was taken", function()
      local gate, drained = h.home .. "/gate", h.home .. "/drained"
      local id = e2e.run(h, { "--type", "session", "--name", "late",
        ("while [ ! -e %s ]; do sleep 0.05; done; exec cat >%s"):format(gate, drained) })
      e2e.wait_status(h, id, "running")
      local taken, refused = {}, 0
      for i = 1, 20 do
        local text = ("message %02d "):format(i) .. string.rep("x", SIZE)
        local ok, err = e2e.request(h, "send", { id = id, text = text })
        if ok then
          assert.are.equal(0, refused, "message " .. i .. " was taken after a refusal")
          taken[#taken + 1] = text .. "\n"
        else
          assert.are.equal("stdin_full", err)
          refused = refused + 1
        end
      end
      assert.is_true(refused > 0, "20 messages of 900 KB were all queued")
      -- the CLI's words for it
      fails_with(cli_send(id, (words_file("refused"))), "Error: stdin_full\n",
        "a CLI send to a full session")
      -- the session starts reading: it gets what was taken, then what is
      -- sent after, and nothing that was refused
      local want = table.concat(taken)
      e2e.write_file(gate, "")
      local function size()
        local st = core.stat(drained)
        return st and st.size or 0
      end
      e2e.wait_for(function() return size() >= #want end, 20, "the queue to drain")
      assert.are.equal("Sent to mission " .. id .. "\n", e2e.ok(h, { "send", id, "after" }))
      e2e.wait_for(function() return size() >= #want + 6 end, 10, "the last message")
      local got = e2e.read_all(drained)
      assert.are.equal(#want + 6, #got)
      assert.is_true(got == want .. "after\n",
        "the session read something else than the messages taken")
    end)
  end)

  describe("unknown options", function()
    it("run: Error: unknown flag: --x, and nothing starts", function()
      fails_with(e2e.om(h, { "run", "--x", "1", "echo" }),
        "Error: unknown flag: --x\n")
      fails_with(e2e.om(h, { "run", "--name", "n", "--colour", "red", "echo", "hi" }),
        "Error: unknown flag: --colour\n")
      fails_with(e2e.om(h, { "claude", "run", "--x", "1", "hello" }),
        "Error: unknown flag: --x\n")
      assert.are.same({}, e2e.ps_json(h))
    end)

    it("a blueprint agent: unknown field for agent <a>: x", function()
      local toml = h.home .. "/bad.toml"
      e2e.write_file(toml, table.concat({
        "[agents.alpha]", 'command = "echo a"', "",
        "[agents.beta]", 'command = "echo b"', "x = 1", "" }, "\n"))
      local lua = h.home .. "/bad.lua"
      e2e.write_file(lua, 'return { agents = { alpha = { command = "echo a" },\n' ..
        '  beta = { command = "echo b", x = 1 } } }\n')
      for _, file in ipairs({ toml, lua }) do
        for _, cmd in ipairs({ "agents", "apply" }) do
          local r = e2e.om(h, { cmd, file })
          local what = cmd .. " " .. file
          assert.are.equal(1, r.code, what)
          assert.are.equal("", r.out, what)
          assert.is_truthy(r.err:match("^Error: [^\n]*unknown field for agent beta: x\n$"),
            what .. ": " .. r.err)
        end
      end
      assert.are.same({}, e2e.ps_json(h))
    end)

    it("om.run{}: unknown field: x, in eval and in scripts", function()
      local r = e2e.om(h, { "eval", 'om.run{command="true", x=1}' })
      assert.are.equal(1, r.code)
      assert.are.equal("", r.out)
      assert.is_truthy(r.err:find("unknown field: x", 1, true), r.err)
      assert.are.same({}, e2e.ps_json(h))
      local script = h.home .. "/bad.lua"
      e2e.write_file(script, 'local om = require("overmind")\n' ..
        'om.run{ command = "true", colour = "red" }\n')
      local out = e2e.ok(h, { "script", script })
      local id = assert(out:match("^Started mission (%x+) %("), out)
      e2e.wait_status(h, id, "crashed")
      local log = e2e.log_text(h, id)
      assert.is_truthy(log:find("unknown field: colour", 1, true), log)
      -- the script started nothing
      local list = e2e.ps_json(h)
      assert.are.equal(1, #list)
    end)

    it("om.run{} takes backoff = 500 and env as a table", function()
      local out = e2e.ok(h, { "eval",
        'return om.run{ command = "echo $GREETING", backoff = 500, ' ..
        'max_restarts = 2, env = { GREETING = "hi there" } }.id' })
      local id = assert(out:match("^(%x+)\n$"), out)
      local m = e2e.wait_status(h, id, "stopped")
      assert.are.equal(500, m.backoff_ms)
      assert.are.equal(2, m.max_restarts)
      assert.are.equal("hi there\n", e2e.log_text(h, id))
      -- the same names in a blueprint
      local bp = h.home .. "/ok.toml"
      e2e.write_file(bp, table.concat({
        "[agents.solo]", 'command = "echo $GREETING"', "backoff = 500",
        "max_restarts = 2", 'env = { GREETING = "from toml" }', "" }, "\n"))
      assert.are.equal("solo: echo $GREETING\n", e2e.ok(h, { "agents", bp }))
      local pipe = assert(e2e.ok(h, { "apply", bp }):match("^Started pipeline (%x+) "))
      e2e.wait_status(h, pipe, "stopped", 20)
      local agent
      for _, x in ipairs(e2e.ps_json(h)) do
        if x.name == "solo" then agent = x end
      end
      assert.is_table(agent, "no mission named solo")
      assert.are.equal(500, agent.backoff_ms)
      assert.are.equal("from toml\n", e2e.log_text(h, agent.id))
    end)
  end)
end)
