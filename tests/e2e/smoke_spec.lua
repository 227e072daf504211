local e2e = require("support.e2e")

describe("smoke", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  it("runs a mission and shows its output", function()
    local id = e2e.run(h, { "echo", "hello" })
    e2e.wait_for(function() return e2e.status_of(h, id) == "stopped" end)
    assert.are.equal("hello\n", e2e.ok(h, { "logs", id }))
  end)
end)
