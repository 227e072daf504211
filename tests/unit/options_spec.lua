-- The one option table (SPEC §8): `run` flags, `run --help`, blueprint and
-- om.run{} fields and the daemon's validation all come from
-- overmind.options.
local options = require("overmind.options")

-- Lines of a string, without their newlines.
local function lines_of(s)
  local out = {}
  for line in (s .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

-- normalize's results as one table, so a spec can compare them at once.
local function norm(t, opts)
  local out, why, name, o = options.normalize(t, opts)
  return { out = out, why = why, name = name, key = o and o.key }
end

describe("options", function()
  describe("the declaration", function()
    it("every option has a key, a kind with a converter and a kind name",
      function()
        assert.is_true(#options.LIST > 0)
        local seen = {}
        for _, o in ipairs(options.LIST) do
          assert.is_string(o.key)
          assert.is_nil(seen[o.key], "declared twice: " .. o.key)
          seen[o.key] = true
          assert.is_function(options.CONVERT[o.kind], o.key)
          assert.is_string(options.KIND_NAMES[o.kind], o.key)
          assert.are.equal(o, options.by_key[o.key])
        end
      end)

    it("lookup finds an option under its key, its flag and its other names",
      function()
        assert.are.equal(options.by_key.max_restarts,
          options.lookup("max_restarts"))
        assert.are.equal(options.by_key.max_restarts,
          options.lookup("max-restarts"))
        assert.are.equal(options.by_key.backoff_ms, options.lookup("backoff"))
        assert.are.equal(options.by_key.backoff_ms,
          options.lookup("backoff_ms"))
        assert.are.equal(options.by_key.log_max, options.lookup("log-max"))
        assert.is_nil(options.lookup("no-such-option"))
        assert.is_nil(options.lookup(5))
        assert.is_nil(options.lookup(nil))
      end)
  end)

  describe("default", function()
    it("gives each option's declared default", function()
      assert.are.equal("task", options.default("type"))
      assert.are.equal("raw", options.default("provider"))
      assert.are.equal("never", options.default("restart"))
      assert.are.equal(5, options.default("max_restarts"))
      assert.are.equal(60, options.default("max_seconds"))
      assert.are.equal(1000, options.default("backoff_ms"))
      assert.are.equal(10, options.default("stop_timeout"))
      assert.are.equal(64 << 20, options.default("log_max"))
    end)

    it("is nil for an option without a default", function()
      assert.is_nil(options.default("name"))
      assert.is_nil(options.default("timeout"))
      assert.is_nil(options.default("pty"))
    end)
  end)

  describe("flags", function()
    local flags
    before_each(function() flags = options.flags() end)

    it("has one flag per user option, named by its long name", function()
      assert.are.same({ kind = "string", key = "name" }, flags["name"])
      assert.are.same({ kind = "string", key = "type" }, flags["type"])
      assert.are.same({ kind = "integer", key = "max_restarts" },
        flags["max-restarts"])
      assert.are.same({ kind = "number", key = "max_seconds" },
        flags["max-seconds"])
      assert.are.same({ kind = "number", key = "activity_timeout" },
        flags["activity-timeout"])
      assert.are.same({ kind = "number", key = "stop_timeout" },
        flags["stop-timeout"])
    end)

    it("maps each option kind to the kind cli/args.lua parses", function()
      assert.are.same({ kind = "bool", key = "pty" }, flags["pty"])
      assert.are.same({ kind = "size", key = "log_max" }, flags["log-max"])
      -- --env K=V repeats: a list of words, made a map by `run`
      assert.are.same({ kind = "list", key = "env" }, flags["env"])
    end)

    it("an option whose flag is renamed is offered under that name only",
      function()
        assert.are.same({ kind = "integer", key = "backoff_ms" },
          flags["backoff"])
        assert.is_nil(flags["backoff-ms"])
        assert.is_nil(flags["backoff_ms"])
      end)

    it("leaves out the command and the internal fields", function()
      for _, f in ipairs({ "command", "default-parent", "rows", "cols",
                           "display", "shared-name", "default_parent",
                           "shared_name" }) do
        assert.is_nil(flags[f], f)
      end
    end)

    it("every declared user option is a flag, and nothing else is", function()
      local want = 0
      for _, o in ipairs(options.LIST) do
        if o.flag and not o.internal then
          want = want + 1
          assert.is_table(flags[o.flag], o.key)
          assert.are.equal(o.key, flags[o.flag].key)
        end
      end
      local got = 0
      for _ in pairs(flags) do got = got + 1 end
      assert.are.equal(want, got)
    end)

    it("returns a new table each time: a caller's additions do not leak",
      function()
        flags.json = { kind = "bool" }
        assert.is_nil(options.flags().json)
      end)
  end)

  describe("help", function()
    local help, lines
    before_each(function()
      help = options.help()
      lines = lines_of(help)
    end)

    it("aligns help at column 28 and fills in defaults", function()
      assert.is_truthy(help:find(
        "  --max-restarts N         restarts allowed per window " ..
        "(0: unlimited; 5)", 1, true), help)
      assert.is_truthy(help:find(
        "  --backoff MS             first restart delay, doubled each time " ..
        "(1000)", 1, true), help)
      assert.is_truthy(help:find(
        "  --stop-timeout S         grace between SIGTERM and SIGKILL (10)",
        1, true), help)
    end)

    it("shows a size default as a size (64M), not as bytes", function()
      assert.is_truthy(help:find(
        "  --log-max SIZE           rotate the log past SIZE, e.g. 64M (64M)",
        1, true), help)
      assert.is_nil(help:find("67108864", 1, true))
    end)

    it("continues a help text of several lines under its first", function()
      local at
      for i, l in ipairs(lines) do
        if l:match("^  %-%-type ") then at = i end
      end
      assert.is_number(at, help)
      assert.are.equal("  --type task|session      " ..
        "task: stdin is /dev/null; session: stdin is a", lines[at])
      assert.are.equal(string.rep(" ", 27) .. "pipe fed by `send`",
        lines[at + 1])
    end)

    it("a flag without help is its own line, with no trailing blanks",
      function()
        local found = false
        for _, l in ipairs(lines) do
          if l == "  --provider raw|claude|codex|gemini|<name>" then
            found = true
          end
          assert.is_nil(l:find("%s$"), "trailing blanks: [" .. l .. "]")
        end
        assert.is_true(found, help)
      end)

    it("lists the flags in declaration order, internal ones left out",
      function()
        local order = {}
        for _, l in ipairs(lines) do
          local f = l:match("^  %-%-([%w%-]+)")
          if f then order[#order + 1] = f end
        end
        local want = {}
        for _, o in ipairs(options.LIST) do
          if o.flag and not o.internal then want[#want + 1] = o.flag end
        end
        assert.are.same(want, order)
      end)

    it("adds the command's own flags after the options", function()
      local h = options.help({ { "json", nil, "print JSON" },
                               { "a-very-long-flag-name", "VALUE",
                                 "does something" } })
      local l = lines_of(h)
      assert.are.equal(string.rep(" ", 27) .. "does something", l[#l])
      assert.are.equal("  --a-very-long-flag-name VALUE", l[#l - 1])
      assert.are.equal("  --json" .. string.rep(" ", 19) .. "print JSON",
        l[#l - 2])
      -- the options' lines come first, unchanged
      assert.are.equal(help, table.concat(l, "\n", 1, #l - 3))
    end)

    it("a flag that reaches column 28 puts its help on the next line",
      function()
        -- "  --" .. 16 letters .. " " .. 6 letters: 27 columns
        local h = options.help({ { "abcdefghijklmnop", "VALUES", "help" },
                                 { "quiet" } })
        local l = lines_of(h)
        assert.are.equal("  --abcdefghijklmnop VALUES", l[#l - 2])
        assert.are.equal(string.rep(" ", 27) .. "help", l[#l - 1])
        -- a flag with neither argument nor help: no trailing blanks
        assert.are.equal("  --quiet", l[#l])
      end)
  end)

  describe("normalize", function()
    it("takes every accepted name and returns the table by key", function()
      local r = norm({ ["max-restarts"] = 3, backoff = 500,
                       ["log-max"] = "1M", name = "n", pty = true,
                       stop_timeout = 2.5 })
      assert.are.same({ max_restarts = 3, backoff_ms = 500,
                        log_max = 1 << 20, name = "n", pty = true,
                        stop_timeout = 2.5 }, r.out)
    end)

    it("an integer written as a float comes back an integer", function()
      local r = norm({ max_restarts = 3.0 })
      assert.are.equal(3, r.out.max_restarts)
      assert.are.equal("integer", math.type(r.out.max_restarts))
    end)

    it("an empty table is an empty table", function()
      assert.are.same({}, norm({}).out)
    end)

    it("an unknown name: nil, 'unknown' and the name as written", function()
      assert.are.same({ why = "unknown", name = "bogus-flag" },
        norm({ ["bogus-flag"] = 1 }))
    end)

    it("internal fields are unknown unless internal is allowed", function()
      assert.are.same({ why = "unknown", name = "rows" }, norm({ rows = 24 }))
      assert.are.same({ why = "unknown", name = "default_parent" },
        norm({ default_parent = "abcd1234" }))
      assert.are.same({ rows = 24, cols = 80 },
        norm({ rows = 24, cols = 80 }, { internal = true }).out)
    end)

    it("an excluded option is unknown, under any of its names", function()
      assert.are.same({ why = "unknown", name = "name" },
        norm({ name = "x" }, { exclude = { name = true } }))
      assert.are.same({ why = "unknown", name = "backoff" },
        norm({ backoff = 1 }, { exclude = { backoff_ms = true } }))
      -- what is not excluded still passes
      assert.are.same({ cwd = "/tmp" },
        norm({ cwd = "/tmp" }, { exclude = { name = true } }).out)
    end)

    it("extra fields pass through as they are", function()
      local deps = { "a", "b" }
      local r = norm({ depends_on = deps, command = "x" },
        { extra = { depends_on = true } })
      assert.are.equal(deps, r.out.depends_on)
      assert.are.equal("x", r.out.command)
      assert.are.same({ why = "unknown", name = "depends_on" },
        norm({ depends_on = deps }))
    end)

    it("a wrong value: nil, 'invalid', the name as written and the option",
      function()
        assert.are.same({ why = "invalid", name = "max-restarts",
                          key = "max_restarts" },
          norm({ ["max-restarts"] = "three" }))
      end)

    it("checks each kind", function()
      local bad = {
        { type = 5 }, { max_restarts = 2.5 }, { max_restarts = -1 },
        { max_restarts = "3" }, { max_restarts = 2 ^ 53 },
        { max_seconds = -0.5 }, { max_seconds = 0 / 0 },
        { max_seconds = math.huge }, { pty = "yes" }, { pty = 1 },
        { log_max = 0 }, { log_max = -5 }, { log_max = "lots" },
        { log_max = 1.5 }, { env = { "K=V" } }, { env = "K=V" },
        { env = { K = { "nested" } } }, { env = { [1] = "x", K = "V" } },
      }
      for _, t in ipairs(bad) do
        local name = next(t)
        local r = norm(t)
        assert.are.equal("invalid", r.why, name .. " " .. tostring(t[name]))
        assert.is_nil(r.out)
      end
      local good = {
        { { max_seconds = 0 }, { max_seconds = 0 } },
        { { max_seconds = 0.25 }, { max_seconds = 0.25 } },
        { { max_restarts = 0 }, { max_restarts = 0 } },
        { { pty = false }, { pty = false } },
        { { log_max = 4096 }, { log_max = 4096 } },
        { { log_max = "64M" }, { log_max = 64 << 20 } },
        { { log_max = "512k" }, { log_max = 512 << 10 } },
        { { env = {} }, { env = {} } },
        { { env = { K = "V" } }, { env = { K = "V" } } },
      }
      for _, g in ipairs(good) do
        assert.are.same(g[2], norm(g[1]).out)
      end
    end)

    it("a size written as a string of bytes is that many bytes", function()
      -- TOML and JSON clients may write `log_max = "4096"`; parse_size
      -- reads it as bytes, as it reads "64M".
      local ok, out, why = pcall(options.normalize, { log_max = "4096" })
      assert.is_true(ok, "normalize raised: " .. tostring(out))
      assert.are.same({ log_max = 4096 }, out, why)
    end)

    it("a negative size written as a string is invalid, not an error",
      function()
        local ok, out, why = pcall(options.normalize, { log_max = "-1" })
        assert.is_true(ok, "normalize raised: " .. tostring(out))
        assert.is_nil(out)
        assert.are.equal("invalid", why)
      end)

    it("lenient takes env values that are numbers or booleans", function()
      local t = { env = { PORT = 8080, DEBUG = true, NAME = "x" } }
      assert.are.same({ env = { PORT = "8080", DEBUG = "true", NAME = "x" } },
        norm(t, { lenient = true }).out)
      assert.are.same({ why = "invalid", name = "env", key = "env" }, norm(t))
    end)

    it("does not change the table it is given", function()
      local t = { ["max-restarts"] = 3, env = { K = 1 } }
      norm(t, { lenient = true })
      assert.are.same({ ["max-restarts"] = 3, env = { K = 1 } }, t)
    end)
  end)

  describe("check", function()
    it("returns the arguments by key, internal fields allowed", function()
      local out, err = options.check({ command = "echo hi", name = "n",
                                       rows = 30, cols = 100,
                                       default_parent = "abcd1234",
                                       ["max-restarts"] = 2 })
      assert.is_nil(err)
      assert.are.same({ command = "echo hi", name = "n", rows = 30,
                        cols = 100, default_parent = "abcd1234",
                        max_restarts = 2 }, out)
    end)

    it("an unknown field: `unknown field: <name>`", function()
      assert.are.same({ nil, "unknown field: colour" },
        { options.check({ command = "x", colour = "red" }) })
    end)

    it("a wrong value: `invalid_argument: <key> must be <kind>`", function()
      local cases = {
        { { ["max-restarts"] = "x" },
          "invalid_argument: max_restarts must be a non-negative integer" },
        { { backoff = -1 },
          "invalid_argument: backoff_ms must be a non-negative integer" },
        { { timeout = "soon" },
          "invalid_argument: timeout must be a non-negative number" },
        { { pty = "yes" }, "invalid_argument: pty must be a boolean" },
        { { name = 7 }, "invalid_argument: name must be a string" },
        { { env = { "K=V" } },
          "invalid_argument: env must be an object of strings" },
        { { log_max = 0 }, "invalid_argument: log_max must be a positive " ..
          "size (bytes, or e.g. 64M)" },
      }
      for _, c in ipairs(cases) do
        assert.are.same({ nil, c[2] }, { options.check(c[1]) })
      end
    end)

    it("is strict: env values must be strings in a request", function()
      assert.are.same({ nil, "invalid_argument: env must be an object of " ..
        "strings" }, { options.check({ env = { PORT = 8080 } }) })
    end)

    it("a request's log_max as a string of bytes is accepted", function()
      local ok, out, err = pcall(options.check, { log_max = "1024" })
      assert.is_true(ok, "check raised: " .. tostring(out))
      assert.is_nil(err)
      assert.are.same({ log_max = 1024 }, out)
    end)
  end)

  describe("is_strings", function()
    it("is true for an array of strings only", function()
      assert.is_true(options.is_strings({ "a", "b" }))
      assert.is_true(options.is_strings({}))
      assert.is_false(options.is_strings({ "a", 1 }))
      assert.is_false(options.is_strings({ x = "a" }))
      assert.is_false(options.is_strings({ "a", nil, "c" }))
      assert.is_false(options.is_strings("a"))
      assert.is_false(options.is_strings(nil))
    end)
  end)
end)
