-- SPEC §1 wire protocol: newline-delimited JSON over the socket, several
-- requests per connection, and bad input that never takes the daemon down.
local e2e = require("support.e2e")
local core = require("overmind.core")

local MiB = 1 << 20

describe("protocol", function()
  local h, sentinel, sentinel_pid, dpid

  local function connect()
    return assert(core.connect(h.home .. "/overmind.sock"))
  end

  local function ask(c, line)
    assert(c:send(line .. "\n"))
    return c:recv(5000)
  end

  -- The daemon, another client and a mission all still fine.
  local function healthy(what)
    assert.is_true(e2e.alive(dpid), "daemon died after " .. what)
    local c = connect()
    assert.are.equal('{"ok":"pong"}', ask(c, '{"cmd":"ping"}'),
      "a new client got no pong after " .. what)
    c:close()
    local m = e2e.info(h, sentinel)
    assert.are.equal("running", m.status, "mission disturbed by " .. what)
    assert.are.equal(sentinel_pid, m.os_pid, "mission disturbed by " .. what)
  end

  before_each(function()
    h = e2e.new_home()
    sentinel = e2e.run(h, { "--name", "sentinel", "sleep 60" })
    sentinel_pid = e2e.info(h, sentinel).os_pid
    dpid = e2e.daemon_pid(h)
  end)
  after_each(function() e2e.cleanup(h) end)

  it("answers ping with exactly {\"ok\":\"pong\"}", function()
    assert.are.same({ '{"ok":"pong"}' }, e2e.raw_request(h, '{"cmd":"ping"}\n'))
    assert.are.same({ '{"ok":"pong"}' },
      e2e.raw_request(h, '{"cmd":"ping","args":{}}\n'))
  end)

  it("serves several requests on one connection, in order", function()
    local replies = e2e.raw_request(h,
      '{"cmd":"ping"}\n{"cmd":"info","args":{"id":"sentinel"}}\n' ..
      '{"cmd":"info","args":{"id":"nosuchmission"}}\n{"cmd":"ping"}\n', 4)
    assert.are.equal(4, #replies)
    assert.are.equal('{"ok":"pong"}', replies[1])
    local info = e2e.json_decode(replies[2])
    assert.are.equal(sentinel, info.ok.id)
    assert.are.equal('{"error":"not_found"}', replies[3])
    assert.are.equal('{"ok":"pong"}', replies[4])
  end)

  it("serves requests sent one after another on one connection", function()
    local c = connect()
    for _ = 1, 20 do
      assert.are.equal('{"ok":"pong"}', ask(c, '{"cmd":"ping"}'))
    end
    local ps = e2e.json_decode(ask(c, '{"cmd":"ps","args":{}}'))
    assert.are.equal(1, #ps.ok)
    assert.are.equal(sentinel, ps.ok[1].id)
    c:close()
  end)

  it("answers in request order when a request has to wait (stop)", function()
    local id = e2e.run(h, { "--stop-timeout", "0.3",
      "trap '' TERM; echo ready; while :; do sleep 0.05; done" })
    e2e.wait_log(h, id, "ready\n")
    local replies = e2e.raw_request(h, '{"cmd":"stop","args":{"id":"' .. id ..
      '"}}\n{"cmd":"ping"}\n', 2)
    assert.are.equal(2, #replies)
    local stop = e2e.json_decode(replies[1])
    assert.are.equal("table", type(stop.ok), replies[1])
    assert.are.equal('{"ok":"pong"}', replies[2])
    assert.are.equal("stopped", e2e.info(h, id).status)
  end)

  it("streams logs --follow as one JSON object per line, then hangs up", function()
    local gate = h.home .. "/gate"
    local id = e2e.run(h, { "echo one; while [ ! -e " .. gate ..
      " ]; do sleep 0.02; done; echo two; echo three" })
    e2e.wait_log(h, id, "one\n")
    local c = connect()
    assert(c:send('{"cmd":"logs","args":{"id":"' .. id .. '","follow":true}}\n'))
    local first = c:recv(5000)
    assert.is_not_nil(first)
    assert.are.equal("table", type(e2e.json_decode(first).ok), first)
    e2e.write_file(gate, "")
    local n = 0
    while true do
      local line, err = c:recv(10000)
      if not line then
        assert.are.equal("eof", err)
        break
      end
      n = n + 1
      local ok, obj = pcall(e2e.json_decode, line)
      assert.is_true(ok, "not JSON: " .. line)
      assert.are.equal("table", type(obj), line)
      assert.is_nil(obj[1], "an array, not an object: " .. line)
    end
    assert.is_true(n >= 1)
    c:close()
    healthy("a finished follow")
  end)

  it("replies with structured data, not text", function()
    local c = connect()
    local r = e2e.json_decode(ask(c, '{"cmd":"run","args":{"command":"echo hi","name":"viasock"}}'))
    assert.are.equal("table", type(r.ok))
    assert.is_truthy(r.ok.id:match("^%x%x%x%x%x%x%x%x$"))
    assert.are.equal("viasock", r.ok.name)
    local st = e2e.json_decode(ask(c, '{"cmd":"status"}'))
    assert.are.equal(dpid, st.ok.pid)
    c:close()
  end)

  it("puts two requests split across writes back together", function()
    local c = connect()
    assert(c:send('{"cmd":'))
    assert(c:send('"ping"}\n{"cmd"'))
    assert.are.equal('{"ok":"pong"}', c:recv(5000))
    assert(c:send(':"ping"}\n'))
    assert.are.equal('{"ok":"pong"}', c:recv(5000))
    c:close()
  end)

  it("is not blocked by a client that sent half a line", function()
    local slow = connect()
    assert(slow:send('{"cmd":"pi'))
    healthy("a half-sent line")
    assert(slow:send('ng"}\n'))
    assert.are.equal('{"ok":"pong"}', slow:recv(5000))
    slow:close()
  end)

  -- Each case: a line, and the expected error (exact, or a prefix).
  local function check_errors(cases)
    local c = connect()
    for _, case in ipairs(cases) do
      local line, want, prefix = case[1], case[2], case[3]
      local reply = ask(c, line)
      assert.is_not_nil(reply, "no reply to " .. line)
      local ok, obj = pcall(e2e.json_decode, reply)
      assert.is_true(ok, "reply is not JSON: " .. reply)
      assert.are.equal("string", type(obj.error),
        "no error for " .. line .. ": " .. reply)
      assert.is_nil(obj.ok, "ok and error together for " .. line)
      if prefix then
        assert.are.equal(want, obj.error:sub(1, #want),
          "for " .. line .. " got " .. reply)
      elseif want then
        assert.are.equal(want, obj.error, "for " .. line .. " got " .. reply)
      end
      -- the same connection keeps working
      assert.are.equal('{"ok":"pong"}', ask(c, '{"cmd":"ping"}'),
        "connection unusable after " .. line)
      healthy(line)
    end
    c:close()
  end

  it("answers a line that is not JSON with invalid_json", function()
    check_errors({
      { "hello", "invalid_json" },
      { '{"cmd":"ping"', "invalid_json" },
      { '{"cmd":"ping",}', "invalid_json" },
      { "\1\2\3\255\254 binary", "invalid_json" },
      { "{'cmd':'ping'}", "invalid_json" },
    })
    local raw = e2e.raw_request(h, "not json\n")
    assert.are.same({ '{"error":"invalid_json"}' }, raw)
  end)

  it("answers JSON that is not a request object with invalid_request", function()
    check_errors({
      { "[1,2,3]", "invalid_request", true },
      { "[]", "invalid_request", true },
      { '"ping"', "invalid_request", true },
      { "42", "invalid_request", true },
      { "true", "invalid_request", true },
      { "null", "invalid_request", true },
      { "{}", "invalid_request", true },
      { '{"args":{}}', "invalid_request", true },
      { '{"cmd":5}', "invalid_request", true },
      { '{"cmd":null}', "invalid_request", true },
      { '{"cmd":["ping"]}', "invalid_request", true },
      { '{"cmd":{"name":"ping"}}', "invalid_request", true },
    })
  end)

  it("answers args that are not an object with invalid_request", function()
    check_errors({
      { '{"cmd":"ping","args":"x"}', "invalid_request", true },
      { '{"cmd":"ping","args":5}', "invalid_request", true },
      { '{"cmd":"ping","args":true}', "invalid_request", true },
      { '{"cmd":"ping","args":[1,2]}', "invalid_request", true },
      { '{"cmd":"ps","args":["children"]}', "invalid_request", true },
    })
  end)

  it("answers an unknown command with unknown_command: <cmd>", function()
    check_errors({
      { '{"cmd":"frobnicate"}', "unknown_command: frobnicate" },
      { '{"cmd":"frobnicate","args":{"x":1}}', "unknown_command: frobnicate" },
      { '{"cmd":"PING"}', "unknown_command: PING" },
    })
  end)

  it("answers a wrong field type with invalid_argument: <field> must be ...", function()
    check_errors({
      { '{"cmd":"info","args":{"id":5}}', "invalid_argument: id must be ", true },
      { '{"cmd":"info","args":{"id":["a"]}}', "invalid_argument: id must be ", true },
      { '{"cmd":"run","args":{"command":["echo","hi"]}}',
        "invalid_argument: command must be ", true },
      { '{"cmd":"run","args":{"command":"true","max_restarts":"five"}}',
        "invalid_argument: max_restarts must be ", true },
      { '{"cmd":"run","args":{"command":"true","backoff_ms":1.5}}',
        "invalid_argument: backoff_ms must be ", true },
      { '{"cmd":"run","args":{"command":"true","env":{"A":1}}}',
        "invalid_argument: env must be ", true },
      { '{"cmd":"run","args":{"command":"true","env":["A=1"]}}',
        "invalid_argument: env must be ", true },
      { '{"cmd":"run","args":{"command":"true","pty":"yes"}}',
        "invalid_argument: pty must be ", true },
      { '{"cmd":"run","args":{"command":"true","name":7}}',
        "invalid_argument: name must be ", true },
      { '{"cmd":"ps","args":{"children":7}}',
        "invalid_argument: children must be ", true },
      { '{"cmd":"logs","args":{"id":"sentinel","follow":"yes"}}',
        "invalid_argument: follow must be ", true },
      { '{"cmd":"wait","args":{"ids":"sentinel"}}',
        "invalid_argument: ids must be ", true },
      { '{"cmd":"wait","args":{"ids":["sentinel"],"timeout_ms":"soon"}}',
        "invalid_argument: timeout_ms must be ", true },
      { '{"cmd":"kill","args":{"id":"sentinel","cascade":1}}',
        "invalid_argument: cascade must be ", true },
      { '{"cmd":"stop","args":{"id":false}}', "invalid_argument: id must be ", true },
    })
    -- none of the bad runs created a mission
    assert.are.equal(1, #e2e.ps_json(h))
  end)

  it("answers a missing field with an error", function()
    check_errors({
      { '{"cmd":"info"}' },
      { '{"cmd":"info","args":{}}' },
      { '{"cmd":"stop","args":{}}' },
      { '{"cmd":"rm"}' },
      { '{"cmd":"wait","args":{}}' },
      { '{"cmd":"run","args":{}}' },
    })
  end)

  local function oversized(size)
    local c = connect()
    local chunk = '{"cmd":"ping","args":{"pad":"' .. string.rep("x", 64 * 1024)
    local sent = 0
    -- The daemon may hang up before it has read everything; a failed send
    -- is expected then.
    while sent < size do
      local ok = c:send(chunk)
      if not ok then break end
      sent = sent + #chunk
      chunk = string.rep("y", 64 * 1024)
    end
    if sent >= size then c:send('"}}\n') end
    local reply = c:recv(10000)
    assert.are.equal('{"error":"line_too_long"}', reply)
    local more, err = c:recv(5000)
    assert.is_nil(more, "connection still open after line_too_long")
    assert.are.equal("eof", err)
    c:close()
  end

  it("answers a line over 1 MiB with line_too_long and hangs up", function()
    oversized(MiB + 1024)
    healthy("a 1 MiB line")
  end)

  it("survives an 8 MiB line", function()
    oversized(8 * MiB)
    healthy("an 8 MiB line")
    oversized(8 * MiB)
    healthy("a second 8 MiB line")
  end)

  it("accepts a line just under 1 MiB", function()
    local pad = string.rep("z", MiB - 1024)
    local replies = e2e.raw_request(h,
      '{"cmd":"ping","args":{"pad":"' .. pad .. '"}}\n', 1, 10000)
    assert.are.same({ '{"ok":"pong"}' }, replies)
  end)

  it("survives clients that hang up with requests pending", function()
    -- a deferred request (wait) whose client goes away
    local c = connect()
    assert(c:send('{"cmd":"wait","args":{"ids":["sentinel"]}}\n'))
    c:close()
    -- a client that sends and leaves without reading
    for _ = 1, 20 do
      local d = connect()
      d:send('{"cmd":"ps"}\n{"cmd":"status"}\n')
      d:close()
    end
    healthy("clients that hung up")
    -- the wait's mission ends later: nobody to tell, no harm
    local short = e2e.run(h, { "sleep 0.2" })
    local w = connect()
    assert(w:send('{"cmd":"wait","args":{"ids":["' .. short .. '"]}}\n'))
    w:close()
    e2e.wait_status(h, short, "stopped")
    healthy("a finished wait without its client")
  end)

  it("serves many clients at once", function()
    local cs = {}
    for i = 1, 50 do cs[i] = connect() end
    for i = 1, 50 do assert(cs[i]:send('{"cmd":"ping"}\n')) end
    for i = 50, 1, -1 do
      assert.are.equal('{"ok":"pong"}', cs[i]:recv(5000))
      cs[i]:close()
    end
    healthy("50 clients")
  end)
end)
