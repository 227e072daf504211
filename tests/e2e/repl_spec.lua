-- `overmind repl` (SPEC §7) on a pseudo-terminal: prompt `om> `,
-- continuation `>> `, results of expressions printed, errors printed
-- without leaving, the om API preloaded, line editing, and history in
-- $OVERMIND_HOME/repl_history.  Keys are typed once the prompt is up and
-- the terminal is in raw mode (see Repl:prompt in support/blueprint.lua).
local e2e = require("support.e2e")
local B = require("support.blueprint")

describe("repl", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function()
    B.close_repls(h)
    e2e.cleanup(h)
  end)

  -- A REPL at its first prompt.
  local function start()
    local r = B.repl(h)
    r:prompt()
    return r
  end

  -- Types a line and waits for the result line `want` and the next prompt.
  local function eval(r, line, want)
    r:line(line)
    r:expect("\n" .. want .. "\r\n")
    r:prompt()
  end

  it("prints the values of expressions", function()
    local r = start()
    eval(r, "1+2", "3")
    eval(r, '"a" .. "b"', "ab")
    eval(r, "{ 1, k = 2 }", "{ 1, k = 2 }")
    eval(r, "2^10 == 1024", "true")
  end)

  it("keeps globals between lines", function()
    local r = start()
    r:line("x = 21")
    r:prompt()
    eval(r, "x * 2", "42")
  end)

  it("reads multi-line input with a continuation prompt", function()
    local r = start()
    r:line("for i = 1, 2 do")
    r:prompt(">> ")
    r:line("print(i * 10)")
    r:prompt(">> ")
    r:line("end")
    r:expect("\n10\r\n20\r\n")
    r:prompt()
    r:line("function twice(n)")
    r:prompt(">> ")
    r:line("  return n * 2 end")
    r:prompt()
    eval(r, "twice(8)", "16")
  end)

  it("prints errors and stays at the prompt", function()
    local r = start()
    r:line('error("something bad")')
    r:expect("something bad")
    r:prompt()
    r:line("1 +* 2")
    r:prompt()
    r:line("nosuchfunction()")
    r:expect("nosuchfunction")
    r:prompt()
    eval(r, "1+1", "2")
    assert.is_nil(r.exited)
  end)

  it("has the om API preloaded: run and wait", function()
    local r = start()
    r:line('m = om.run{ command = "exit 3", name = "from-repl" }')
    r:prompt()
    r:line("w = om.wait(m)")
    r:prompt()
    eval(r, "w.status", "crashed")
    eval(r, "w.exit_code", "3")
    local m = B.find(h, "from-repl")
    assert.is_truthy(m)
    assert.are.equal("crashed", m.status)
    assert.are.equal(3, m.exit_code)
    r:line("#om.ps()")
    r:expect("\n1\r\n")
  end)

  it("edits the line: left arrow, backspace, Ctrl-A", function()
    local r = start()
    -- "1+32", cursor left over the 2, backspace deletes the 3: "1+2".
    r:send("1+32\27[D\127\r")
    r:expect("\n3\r\n")
    r:prompt()
    -- "0+5", Ctrl-A to the start, "1": "10+5".
    r:send("0+5\1" .. "1\r")
    r:expect("\n15\r\n")
    r:prompt()
  end)

  it("saves its history on Ctrl-D and offers it next time", function()
    local r = start()
    eval(r, "40+2", "42")
    eval(r, "'hist' .. 'ory'", "history")
    r:send("\4")
    assert.are.equal(0, r:wait_exit())
    local hist = e2e.read_all(h.home .. "/repl_history")
    assert.is_truthy(hist:find("40+2", 1, true), hist)
    assert.is_truthy(hist:find("'hist' .. 'ory'", 1, true) or
      hist:find("'hist'\\040..\\040'ory'", 1, true), hist)

    -- A new REPL: up arrow twice recalls 40+2.
    local r2 = start()
    r2:send("\27[A\27[A\r")
    r2:expect("\n42\r\n")
    r2:prompt()
    r2:send("\4")
    assert.are.equal(0, r2:wait_exit())
  end)
end)
