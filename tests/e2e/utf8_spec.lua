-- Bytes that are not UTF-8 (a Latin-1 file name, a binary dump, an agent
-- that cuts a character in half): the commands run byte for byte and the
-- logs keep every byte, while all JSON the daemon and the CLI write stays
-- valid UTF-8 (U+FFFD in place of the bad bytes, as docker does), so one
-- such mission never makes `ps --json` or an event stream unreadable.
local e2e = require("support.e2e")
local A = require("support.agents")

local FFFD = "\xEF\xBF\xBD"

local function valid(s, what)
  assert(utf8.len(s), what .. " is not valid UTF-8: " .. ("%q"):format(s))
end

describe("bytes that are not UTF-8", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  it("run exactly, logged exactly, shown as valid JSON", function()
    -- \377 is in the command itself: a mangled command prints otherwise
    local id = e2e.run(h, { "--name", "latin", "--max-restarts",
      "1234567890123456", "printf 'caf\xE9 \xFF\\n'" })
    e2e.wait_status(h, id, "stopped")
    assert.are.equal("caf\xE9 \xFF\n", e2e.ok(h, { "logs", id }))
    local ps = e2e.ok(h, { "ps", "--json" })
    valid(ps, "ps --json")
    assert.are.equal("printf 'caf" .. FFFD .. " " .. FFFD .. "\\n'",
      e2e.json_decode(ps)[1].command)
    local info = e2e.ok(h, { "info", id })
    valid(info, "info")
    -- and numbers keep every digit (lua-cjson's encoder kept 14)
    assert.is_truthy(info:find('"max_restarts":1234567890123456[,}]'), info)
    -- the socket reply itself, not only what the CLI prints
    local reply = e2e.raw_request(h, '{"cmd":"info","args":{"id":"' .. id .. '"}}\n')[1]
    valid(reply, "the info reply")
    -- a client that asks for bytes (the CLI, the om API) gets them as they are
    reply = e2e.raw_request(h, '{"cmd":"info","bytes":true,"args":{"id":"' .. id .. '"}}\n')[1]
    assert.is_truthy(reply:find("caf\xE9 \xFF", 1, true), reply)
    assert.are.equal('{"error":"invalid_request: bytes must be a boolean"}',
      e2e.raw_request(h, '{"cmd":"ping","bytes":1}\n')[1])
    -- the record on disk keeps the bytes: a restart runs the same command
    local rec = e2e.read_all(h.home .. "/missions/" .. id .. "/mission.json")
    assert.is_truthy(rec:find("caf\xE9 \xFF", 1, true), "record lost the bytes")
  end)

  it("a restart runs the same bytes", function()
    local id = e2e.run(h, { "--restart", "always", "--backoff", "10",
      "--max-restarts", "0", "printf '\xFE\\n'; exit 1" })
    e2e.wait_for(function()
      local log = e2e.ok(h, { "logs", id })
      return select(2, log:gsub("\xFE\n", "")) >= 3
    end, 10, "three runs to print the byte")
    e2e.ok(h, { "stop", id })
  end)

  it("a home whose path is not UTF-8 works: logs, info, wait", function()
    local latin = { home = h.home .. "/h\xE9" }
    e2e.sh("mkdir " .. e2e.quote(latin.home))
    local ok, err = pcall(function()
      local id = e2e.run(latin, { "echo hello" })
      assert.are.equal(0, e2e.om(latin, { "wait", id }, { timeout = 10 }).code)
      assert.are.equal("hello\n", e2e.ok(latin, { "logs", id }))
      assert.are.equal("hello\n", e2e.ok(latin, { "logs", "--tail", "1", id }))
    end)
    e2e.om(latin, { "shutdown" })
    assert(ok, err)
  end)

  it("subscribe gets valid events from an agent that writes bad bytes", function()
    -- a stand-in claude whose JSON lines carry raw bytes in their strings,
    -- which the daemon passes on verbatim when every line is JSON
    local go = h.home .. "/go"
    local bin = h.home .. "/bad-claude"
    e2e.write_file(bin, table.concat({
      "#!/bin/sh",
      "while [ ! -e " .. go .. " ]; do sleep 0.02; done",
      [[printf '{"type":"system","subtype":"init","session_id":"s-1"}\n']],
      [[printf '{"type":"assistant","message":{"content":[{"type":"text","text":"half \342\202"}]}}\n']],
      [[printf '{"type":"result","subtype":"success","is_error":false,"result":"bad \377 end","session_id":"s-1","cost_usd":0.1}\n']],
      "", }, "\n"))
    e2e.sh("chmod +x " .. e2e.quote(bin))
    local id = e2e.run(h, { "--provider", "claude", "--env",
      "OVERMIND_CLAUDE_BIN=" .. bin, "task" })
    local sub = A.subscribe(h, id)
    e2e.write_file(go, "")
    local lines = sub:read_all(20)
    sub:close()
    assert.is_true(sub.eof, "the stream did not end")
    local out = table.concat(lines, "\n")
    valid(out, "the event stream")
    assert.is_truthy(out:find("half " .. FFFD, 1, true), out)
    assert.is_truthy(out:find("bad " .. FFFD .. " end", 1, true), out)
    assert.are.equal("exit", e2e.json_decode(lines[#lines]).type)
    -- the log keeps what the agent said, byte for byte
    e2e.wait_status(h, id, "stopped")
    assert.is_truthy(e2e.ok(h, { "logs", id }):find("half \xE2\x82", 1, true))
    -- result keeps what the agent said, repaired for JSON
    local out = e2e.ok(h, { "result", id })
    local r = e2e.json_decode(out)
    assert.are.equal("bad " .. FFFD .. " end", r.result or r.text)
    assert.is_truthy(out:find('"cost_usd":0%.1[,}]'), out)
  end)
end)
