-- Connections and request dispatch (SPEC §1 wire protocol).
--
-- A request is one JSON line {"cmd": ..., "args": {...}}; the reply one
-- line {"ok": ...} or {"error": ...}.  Requests on one connection are
-- served in order: while one is deferred (stop, wait) the next waits its
-- turn.  A streaming reply (logs --follow, subscribe) keeps the connection
-- until it ends.  No request can take the daemon down: bad JSON, bad
-- fields, unknown commands and handler errors all become {"error": ...}.
local core = require("overmind.core")
local json = require("overmind.json")

local M = {}

M.DEFER = setmetatable({}, { __tostring = function() return "DEFER" end })

-- A stream whose reader lets this much pile up is dropped (SPEC §6: a slow
-- subscriber never stalls the mission or the daemon).
M.MAX_QUEUED = 8 << 20

local Ctx = {}
Ctx.__index = Ctx

-- Replies are valid UTF-8 for any client (json.encode repairs bad bytes);
-- a request with "bytes": true gets strings byte for byte instead, as
-- Overmind's own CLI and `om` API ask: they use the paths and directories
-- in replies, which need not be UTF-8.
local function line_of(v, bytes)
  return (bytes and json.encode_bytes or json.encode)(v) .. "\n"
end

function Ctx:alive()
  return not self.closed and not self.conn:is_closed()
end

-- Sends the one reply to the request (and, unless streaming, moves on to
-- the connection's next request).
function Ctx:reply(value)
  if self.replied then return end
  self.replied = true
  if self:alive() then
    self.conn:write(line_of({ ok = value == nil and json.null or value }, self.bytes))
  end
  if not self.streaming then self:done() end
end

function Ctx:fail(reason)
  if self.replied then return end
  self.replied = true
  if self:alive() then self.conn:write(line_of({ error = reason }, self.bytes)) end
  if self.streaming then
    self:finish()
  else
    self:done()
  end
end

-- Keeps the connection for streaming after the reply.
function Ctx:stream()
  self.streaming = true
end

-- Sends one streamed object (or a ready JSON line without its newline).
-- Drops the reader when too much is queued; returns false then.
function Ctx:send(v)
  return self:send_raw(type(v) == "string" and (v .. "\n") or line_of(v, self.bytes))
end

-- Sends bytes as they are (complete lines with their newlines).
function Ctx:send_raw(s)
  if not self:alive() then return false end
  local queued = self.conn:write(s)
  if queued and queued > M.MAX_QUEUED then
    self:abort()
    return false
  end
  return queued ~= nil
end

-- Ends a stream: the connection closes once flushed.
function Ctx:finish()
  if self.closed then return end
  self.closed = true
  self.conn:close()
  self.connection:drop()
  self:run_cleanup()
end

-- Drops the reader at once (slow or gone).
function Ctx:abort()
  if self.closed then return end
  self.closed = true
  self.conn:close(true)
  self.connection:drop()
  self:run_cleanup()
end

-- Lines the client sends while this request streams (attach input) go to
-- `fn` instead of waiting as further requests.
function Ctx:on_input(fn)
  self.input = fn
end

function Ctx:on_close(fn)
  self.cleanups = self.cleanups or {}
  table.insert(self.cleanups, fn)
end

function Ctx:run_cleanup()
  local list = self.cleanups
  self.cleanups = nil
  for _, fn in ipairs(list or {}) do fn() end
end

function Ctx:done()
  if self.finished then return end
  self.finished = true
  self.cleanups = nil
  self.connection:next()
end

-- ---- one connection -------------------------------------------------------

local Connection = {}
Connection.__index = Connection

function Connection:next()
  self.current = nil
  if self.gone then return end
  local line = table.remove(self.queue, 1)
  if #self.queue < 8 then self.conn:resume() end
  if line then return self:handle(line) end
end

-- Decodes one request line: returns cmd, args (nulls removed), or nil and
-- the reason.  Never raises, whatever the bytes (tests/fuzz feeds it).
function M.parse_request(line)
  local req = json.decode(line)
  if req == nil then return nil, "invalid_json" end
  if type(req) ~= "table" or req[1] ~= nil then
    return nil, "invalid_request"
  end
  local cmd, args = req.cmd, req.args
  if type(cmd) ~= "string" then return nil, "invalid_request: missing cmd" end
  if req.bytes ~= nil and type(req.bytes) ~= "boolean" then
    return nil, "invalid_request: bytes must be a boolean"
  end
  if args == nil or args == json.null then args = {} end
  if type(args) ~= "table" or args[1] ~= nil then
    return nil, "invalid_request: args must be an object"
  end
  for k, v in pairs(args) do
    if v == json.null then args[k] = nil end
  end
  return cmd, args, req.bytes == true
end

function Connection:handle(line)
  local ctx = setmetatable({ conn = self.conn, connection = self }, Ctx)
  self.current = ctx
  local cmd, args, bytes = M.parse_request(line)
  if not cmd then return ctx:fail(args) end
  ctx.bytes = bytes
  local handler = self.server.handlers[cmd]
  if not handler then return ctx:fail("unknown_command: " .. cmd) end
  local ok, res, err = xpcall(handler, debug.traceback, args, ctx)
  if not ok then
    self.server.log("error in '" .. cmd .. "': " .. tostring(res))
    return ctx:fail("internal_error")
  end
  if res == M.DEFER then return end
  if res == nil and err ~= nil then return ctx:fail(err) end
  return ctx:reply(res)
end

function Connection:on_line(line, err)
  if line == nil then
    -- Over the 1 MiB cap: say so and hang up (SPEC §1).
    self.conn:write(line_of({ error = err or "line_too_long" }))
    self.conn:close()
    self:drop()
    if self.current then self.current:run_cleanup() end
    return
  end
  if self.current and self.current.input then
    return self.current.input(line)
  end
  if self.current then
    self.queue[#self.queue + 1] = line
    if #self.queue >= 8 then self.conn:pause() end
    return
  end
  return self:handle(line)
end

function Connection:drop()
  self.gone = true
  self.queue = {}
  self.server.connections[self] = nil
end

function Connection:on_close()
  self:drop()
  if self.current then self.current:run_cleanup() end
end

-- ---- the server -------------------------------------------------------------

local Server = {}
Server.__index = Server

-- handlers: cmd -> function(args, ctx) returning a value, nil+reason, or
-- M.DEFER (the handler replies through ctx later).
function M.listen(path, handlers, log)
  local self = setmetatable({ handlers = handlers, log = log, connections = {} },
    Server)
  local srv, err = core.listen(path, function(conn)
    local s = setmetatable({ conn = conn, server = self, queue = {} }, Connection)
    self.connections[s] = true
    conn:start(function(line, e) s:on_line(line, e) end,
      function() s:on_close() end)
  end)
  if not srv then return nil, err end
  self.srv = srv
  return self
end

function Server:close()
  if self.srv then self.srv:close() end
  self.srv = nil
end

-- Closes every client connection (shutdown), after pending writes.
function Server:close_clients(except)
  for s in pairs(self.connections) do
    if s.conn ~= except then
      s.gone = true
      s.conn:close()
    end
  end
end

return M
