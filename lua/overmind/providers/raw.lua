-- The raw provider: the mission's command is a shell command line, its
-- output plain text.  A raw session with no command runs `cat`.
return {
  build_command = function(m)
    if m.type == "session" and (m.command == nil or m.command == "") then
      return "cat"
    end
    return m.command
  end,
}
