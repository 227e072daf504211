-- What a session of a one-process-per-turn agent runs (`overmind
-- __turns`; SPEC §9: codex and gemini sessions).  The daemon writes one
-- JSON line per turn on our stdin, {"run": "<shell command line>"}, built
-- by the provider's turn_command (which resumes the provider's own
-- session); we run it with stdin from /dev/null -- those CLIs would wait
-- for the end of a pipe -- and its output straight into the mission's
-- pipes, then say the turn is over:
--   {"type":"overmind.turn_end","exit_code":<n>}
-- so a turn whose CLI died without an answer still ends (daemon/run.lua).
-- The daemon sends the next line only once this turn was answered.
local json = require("overmind.json")

local M = {}

function M.main()
  for line in io.stdin:lines() do
    local req = json.decode(line)
    if type(req) == "table" and type(req.run) == "string" then
      io.stdout:flush()
      local _, how, code = os.execute(req.run .. " </dev/null")
      local status = how == "signal" and 128 + (code or 0) or (code or 1)
      io.stdout:write(('{"type":"overmind.turn_end","exit_code":%d}\n')
        :format(status))
      io.stdout:flush()
    end
  end
  return 0
end

return M
