-- SPEC §3: `overmind help`, `overmind <command> --help`, `overmind --version`.
-- None of them needs (or starts) a daemon.
local e2e = require("support.e2e")
local core = require("overmind.core")

local COMMANDS = { "start", "shutdown", "run", "ps", "info", "logs",
  "stop", "kill", "rm", "prune", "status", "monitor", "wait" }

describe("help", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function()
    -- no daemon was started by any of these
    assert.is_nil(core.stat(h.home .. "/overmind.sock"))
    assert.is_nil(e2e.daemon_pid(h))
    e2e.cleanup(h)
  end)

  it("lists every command with `help`", function()
    local r = e2e.om(h, { "help" })
    assert.are.equal(0, r.code)
    assert.are.equal("", r.err)
    assert.is_truthy(r.out:find("Usage: overmind", 1, true))
    for _, cmd in ipairs({ "daemon", table.unpack(COMMANDS) }) do
      assert.is_truthy(r.out:find("\n  " .. cmd .. " ", 1, true),
        "help does not list " .. cmd)
    end
    assert.is_truthy(r.out:find("claude run", 1, true))
  end)

  it("prints the same text for no command, --help and -h", function()
    local help = e2e.ok(h, { "help" })
    assert.are.equal(help, e2e.ok(h, {}))
    assert.are.equal(help, e2e.ok(h, { "--help" }))
    assert.are.equal(help, e2e.ok(h, { "-h" }))
  end)

  it("explains each command with `<command> --help` and `help <command>`", function()
    for _, cmd in ipairs(COMMANDS) do
      local r = e2e.om(h, { cmd, "--help" })
      assert.are.equal(0, r.code, cmd)
      assert.are.equal("", r.err, cmd)
      assert.are.equal("Usage: overmind " .. cmd, r.out:sub(1, #cmd + 16), cmd)
      assert.are.equal(r.out, e2e.ok(h, { "help", cmd }), cmd)
    end
    assert.are.equal(e2e.ok(h, { "logs", "--help" }), e2e.ok(h, { "logs", "-h" }))
  end)

  it("explains `daemon --help` instead of running a daemon", function()
    -- a daemon started by mistake gets SIGTERM after 2 s (exit 124)
    local r = e2e.om(h, { "daemon", "--help" }, { timeout = 2 })
    assert.are.equal(0, r.code)
    assert.are.equal("Usage: overmind daemon", r.out:sub(1, 22))
    assert.are.equal(r.out, e2e.ok(h, { "help", "daemon" }))
  end)

  it("documents every run flag in `run --help`", function()
    local out = e2e.ok(h, { "run", "--help" })
    for _, flag in ipairs({ "--name", "--cwd", "--type", "--provider", "--model",
        "--parent", "--restart", "--max-restarts", "--max-seconds", "--backoff",
        "--activity-timeout", "--timeout", "--stop-timeout", "--env", "--pty",
        "--log-max", "--json" }) do
      assert.is_truthy(out:find(flag .. " ", 1, true), "run --help lacks " .. flag)
    end
  end)

  it("documents the flags of ps, logs, kill and wait", function()
    local want = {
      ps = { "--tree", "--children", "--json" },
      logs = { "--follow", "--tail" },
      kill = { "--cascade", "--all" },
      wait = { "--timeout", "--any" },
    }
    for cmd, flags in pairs(want) do
      local out = e2e.ok(h, { cmd, "--help" })
      for _, f in ipairs(flags) do
        assert.is_truthy(out:find(f, 1, true), cmd .. " --help lacks " .. f)
      end
    end
  end)

  it("prints the version with --version", function()
    local r = e2e.om(h, { "--version" })
    assert.are.equal(0, r.code)
    assert.are.equal("", r.err)
    assert.is_truthy(r.out:match("^overmind %d+%.%d+%.%d+[%w%.%-+]*\n$"),
      "version: " .. r.out)
  end)

  it("fails on an unknown command or help topic", function()
    local r = e2e.om(h, { "frobnicate" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.out)
    assert.is_truthy(r.err:match("^Error: unknown command: frobnicate"), r.err)
    r = e2e.om(h, { "help", "frobnicate" })
    assert.are.equal(1, r.code)
    assert.is_truthy(r.err:match("^Error: "), r.err)
  end)
end)
