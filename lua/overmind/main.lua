-- Entry point: decides what this process is from its arguments.
--
--   overmind daemon            the daemon, in the foreground
--   overmind -l FILE [ARGS]    run a Lua file with the core available (as
--                              `lua FILE`; the test suite runs busted so)
--   overmind __script F ARGS   what a `script` mission runs
--   overmind __pipeline        what a `blueprint` mission runs
--   overmind __turns           what a session of a one-process-per-turn
--                              agent runs (codex, gemini)
--   overmind ...               the CLI
return function(argv)
  local first = argv[1]
  local help = argv[2] == "--help" or argv[2] == "-h"
  if first == "daemon" and not help then
    return require("overmind.daemon").main(argv)
  elseif first == "-l" then
    return require("overmind.runfile").main(argv)
  elseif first == "__script" then
    return require("overmind.script").main(argv)
  elseif first == "__pipeline" then
    return require("overmind.pipeline").main(argv)
  elseif first == "__turns" then
    return require("overmind.turns").main(argv)
  end
  return require("overmind.cli").main(argv)
end
