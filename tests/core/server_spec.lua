-- core.listen (the daemon's side) and core.connect (the CLI's blocking
-- side) over a Unix socket in a temporary directory.
local core = require("overmind.core")
local H = require("core.helper")

-- A server that records its connections; `opts.echo` replies
-- "echo:<line>" to every line.
local function serve(path, opts)
  opts = opts or {}
  local S = { conns = {} }
  S.srv, S.err, S.code = core.listen(path, function(conn)
    local c = { conn = conn, lines = {}, errs = {}, closes = 0 }
    S.conns[#S.conns + 1] = c
    conn:start(function(line, err)
      if line == nil then
        c.errs[#c.errs + 1] = err
        if opts.close_on_error then conn:close() end
        return
      end
      c.lines[#c.lines + 1] = line
      if opts.echo then conn:write("echo:" .. line .. "\n") end
      if opts.on_line then opts.on_line(c, line) end
    end, function() c.closes = c.closes + 1 end)
  end)
  return S
end

local function accepted(S, n)
  return H.run_until(function() return #S.conns >= (n or 1) end)
end

describe("core.listen / core.connect", function()
  local dir, path, S, clients
  before_each(function()
    dir = H.tmpdir()
    path = dir .. "/overmind.sock"
    clients = {}
  end)
  after_each(function()
    for _, c in ipairs(clients) do c:close() end
    if S and S.srv then S.srv:close() end
    S = nil
    H.rmdir(dir)
    assert.is_true(H.settle(), "a handle was left open")
  end)

  local function connect()
    local c, err = core.connect(path)
    assert.is_truthy(c, err)
    clients[#clients + 1] = c
    return c
  end

  it("listens on a socket file with mode 0600", function()
    S = serve(path)
    assert.is_truthy(S.srv, S.err)
    local st = core.stat(path)
    assert.are.equal("socket", st.type)
    assert.are.equal(384, st.mode) -- 0600
  end)

  it("refuses a path too long for a socket", function()
    local long = dir .. "/" .. string.rep("s", 120) .. ".sock"
    local srv, err, code = core.listen(long, function() end)
    assert.is_nil(srv)
    assert.is_truthy(tostring(err):match("^ENAMETOOLONG"), err)
    assert.are.equal("ENAMETOOLONG", code)
    local c, cerr, ccode = core.connect(long)
    assert.is_nil(c)
    assert.is_truthy(tostring(cerr):match("^ENAMETOOLONG"), cerr)
    assert.are.equal("ENAMETOOLONG", ccode)
  end)

  it("fails to listen where a socket is already bound", function()
    S = serve(path)
    assert.is_truthy(S.srv)
    local srv2, err = core.listen(path, function() end)
    assert.is_nil(srv2)
    assert.is_truthy(tostring(err):match("^EADDRINUSE"), err)
  end)

  it("round-trips a line", function()
    S = serve(path, { echo = true })
    local c = connect()
    assert.is_truthy(accepted(S))
    assert.is_true(c:send("hello\n"))
    assert.is_truthy(H.run_until(function() return #S.conns[1].lines == 1 end))
    assert.are.same({ "hello" }, S.conns[1].lines)
    assert.are.equal("echo:hello", c:recv(1000))
  end)

  it("splits several lines sent in one write", function()
    S = serve(path, { echo = true })
    local c = connect()
    assert.is_truthy(accepted(S))
    c:send('{"cmd":"ping"}\n{"cmd":"ps"}\n\nlast\n')
    assert.is_truthy(H.run_until(function() return #S.conns[1].lines == 4 end))
    assert.are.same({ '{"cmd":"ping"}', '{"cmd":"ps"}', "", "last" },
      S.conns[1].lines)
    assert.are.equal('echo:{"cmd":"ping"}', c:recv(1000))
    assert.are.equal('echo:{"cmd":"ps"}', c:recv(1000))
    assert.are.equal("echo:", c:recv(1000))
    assert.are.equal("echo:last", c:recv(1000))
  end)

  it("joins a line sent in pieces", function()
    S = serve(path)
    local c = connect()
    assert.is_truthy(accepted(S))
    c:send("hel")
    H.run_until(function() return false end, 20)
    assert.are.same({}, S.conns[1].lines)
    c:send("lo\n")
    assert.is_truthy(H.run_until(function() return #S.conns[1].lines == 1 end))
    assert.are.same({ "hello" }, S.conns[1].lines)
  end)

  it("keeps connections apart", function()
    S = serve(path, { echo = true })
    local a, b = connect(), connect()
    assert.is_truthy(accepted(S, 2))
    a:send("from a\n")
    b:send("from b\n")
    assert.is_truthy(H.run_until(function()
      return #S.conns[1].lines == 1 and #S.conns[2].lines == 1
    end))
    assert.are.equal("echo:from a", a:recv(1000))
    assert.are.equal("echo:from b", b:recv(1000))
  end)

  it("reports a line over 1 MiB once as line_too_long", function()
    S = serve(path, { close_on_error = true })
    -- The sender blocks until the daemon side stops reading, so it runs in
    -- its own process while this loop serves.
    local r, err, out = H.run_lua(([[
      local core = require("overmind.core")
      local c = assert(core.connect(%q))
      local ok, err = c:send(string.rep("x", 2 * 1024 * 1024) .. "\n")
      io.write("send ", tostring(ok), " ", tostring(err), "\n")
    ]]):format(path), 10000)
    assert.is_truthy(r, tostring(err) .. " " .. tostring(out))
    assert.are.equal(0, r.status, r.out)
    assert.are.equal(1, #S.conns)
    assert.are.same({ "line_too_long" }, S.conns[1].errs)
    assert.are.same({}, S.conns[1].lines)
  end)

  it("accepts a line of exactly 1 MiB", function()
    S = serve(path, { on_line = function(c, line)
      c.conn:write("len:" .. #line .. "\n")
    end })
    local r, err, out = H.run_lua(([[
      local core = require("overmind.core")
      local c = assert(core.connect(%q))
      assert(c:send(string.rep("y", 1024 * 1024) .. "\n"))
      io.write(tostring(c:recv(5000)), "\n")
    ]]):format(path), 10000)
    assert.is_truthy(r, tostring(err) .. " " .. tostring(out))
    assert.are.equal("len:1048576\n", r.out)
    assert.are.same({}, S.conns[1].errs)
  end)

  it("client recv times out with nil, \"timeout\"", function()
    S = serve(path)
    local c = connect()
    assert.is_truthy(accepted(S))
    local t0 = core.now()
    local line, err = c:recv(50)
    assert.is_nil(line)
    assert.are.equal("timeout", err)
    assert.is_true(core.now() - t0 >= 45, "returned after " .. (core.now() - t0))
  end)

  it("client recv returns a last unterminated line, then eof", function()
    S = serve(path)
    local c = connect()
    assert.is_truthy(accepted(S))
    S.conns[1].conn:write("one\npartial")
    S.conns[1].conn:close()
    core.run("nowait") -- the close itself happens in the loop
    assert.are.equal("one", c:recv(1000))
    assert.are.equal("partial", c:recv(1000))
    local line, err = c:recv(1000)
    assert.is_nil(line)
    assert.are.equal("eof", err)
    -- Lua asked for that close: no on_close for it
    assert.are.equal(0, S.conns[1].closes)
  end)

  it("calls on_close once when the client goes away", function()
    S = serve(path)
    local c = connect()
    assert.is_truthy(accepted(S))
    c:close()
    assert.is_truthy(H.run_until(function() return S.conns[1].closes > 0 end))
    H.run_until(function() return false end, 20)
    assert.are.equal(1, S.conns[1].closes)
    assert.is_true(S.conns[1].conn:is_closed())
    local ok, err = S.conns[1].conn:write("too late\n")
    assert.is_nil(ok)
    assert.is_truthy(tostring(err):match("^EPIPE"), err)
  end)

  it("still delivers replies to a client that half-closed", function()
    S = serve(path, { echo = true })
    local c = connect()
    assert.is_truthy(accepted(S))
    c:send("last words\n")
    c:shutdown()
    assert.is_truthy(H.run_until(function() return S.conns[1].closes > 0 end))
    assert.are.equal("echo:last words", c:recv(1000))
    core.run("nowait")
    local line, err = c:recv(1000)
    assert.is_nil(line)
    assert.are.equal("eof", err)
  end)

  it("pause stops reading until resume", function()
    S = serve(path)
    local c = connect()
    assert.is_truthy(accepted(S))
    local conn = S.conns[1].conn
    conn:pause()
    c:send("waiting\n")
    assert.is_falsy(H.run_until(function() return #S.conns[1].lines > 0 end, 50))
    conn:resume()
    assert.is_truthy(H.run_until(function() return #S.conns[1].lines > 0 end))
    assert.are.same({ "waiting" }, S.conns[1].lines)
  end)

  it("queues a reply larger than the socket buffer and flushes it", function()
    local big = string.rep("z", 4 * 1024 * 1024)
    S = serve(path, { on_line = function(c) c.conn:write(big .. "\n") end })
    local r, err, out = H.run_lua(([[
      local core = require("overmind.core")
      local c = assert(core.connect(%q))
      assert(c:send("gimme\n"))
      local line = c:recv(5000)
      io.write(tostring(line and #line), "\n")
    ]]):format(path), 10000)
    assert.is_truthy(r, tostring(err) .. " " .. tostring(out))
    assert.are.equal(tostring(#big) .. "\n", r.out)
  end)

  it("a server callback that raises does not take the loop down", function()
    H.capture_errors()
    S = { conns = {} }
    S.srv = core.listen(path, function(conn)
      S.conns[#S.conns + 1] = { conn = conn }
      error("accept boom")
    end)
    local c = connect()
    assert.is_truthy(accepted(S))
    core.on_error(function(msg) io.stderr:write(msg, "\n") end)
    assert.are.equal(1, #H.errors)
    assert.is_truthy(H.errors[1]:find("accept boom", 1, true))
    S.conns[1].conn:close(true)
    c:close()
  end)

  it("connect to a missing socket is ENOENT; to a plain file ECONNREFUSED", function()
    local c, err, code = core.connect(dir .. "/nope.sock")
    assert.is_nil(c)
    assert.is_truthy(tostring(err):match("^ENOENT"), err)
    assert.are.equal("ENOENT", code)
    H.write(dir .. "/plain", "")
    c, err = core.connect(dir .. "/plain")
    assert.is_nil(c)
    assert.is_truthy(tostring(err):match("^ECONNREFUSED"), err)
  end)

  it("client close is idempotent and a closed client refuses to send", function()
    S = serve(path)
    local c = connect()
    c:close()
    c:close()
    assert.has_error(function() c:send("x\n") end)
    assert.has_error(function() c:recv(0) end)
  end)

  it("server close is idempotent; the handle goes away", function()
    S = serve(path)
    S.srv:close()
    S.srv:close()
    assert.is_true(H.settle())
  end)
end)
