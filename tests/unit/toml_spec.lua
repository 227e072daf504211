-- The TOML 1.0 reader against cases in the style of toml-lang/toml-test:
-- each valid document must parse to the expected table (integer and float
-- told apart, arrays marked), each invalid one must give nil and a message
-- starting "invalid TOML at line <n>: " with the line of the error.
local toml = require("overmind.toml")

-- Expected arrays carry the same mark the reader puts on its arrays.
local function A(t)
  return setmetatable(t, toml.array_mt)
end

-- assert.same treats 1 and 1.0 alike and ignores metatables; TOML cares
-- about both, so compare by hand.  Returns nil or where the two differ.
local function diff(want, got, path)
  if type(want) ~= type(got) then
    return ("%s: want %s, got %s"):format(path, type(want), type(got))
  end
  if type(want) == "number" then
    if math.type(want) ~= math.type(got) then
      return ("%s: want %s, got %s")
        :format(path, math.type(want), math.type(got))
    end
    if want ~= want then
      return got == got and path .. ": want nan" or nil
    end
    if want ~= got or (want == 0 and 1 / want ~= 1 / got) then
      return ("%s: want %s, got %s"):format(path, want, got)
    end
    return nil
  end
  if type(want) ~= "table" then
    if want ~= got then
      return ("%s: want %q, got %q")
        :format(path, tostring(want), tostring(got))
    end
    return nil
  end
  if getmetatable(want) ~= getmetatable(got) then
    return path .. ": array and table mixed up"
  end
  for k, v in pairs(want) do
    local d = diff(v, got[k], path .. "." .. tostring(k))
    if d then return d end
  end
  for k in pairs(got) do
    if want[k] == nil then
      return path .. "." .. tostring(k) .. ": not expected"
    end
  end
  return nil
end

local valid = {
  -- comments and layout
  { "empty document", "", {} },
  { "only comments and blank lines", "# one\n\n   # two\n\t\n", {} },
  { "comment right after a value", "a = 1#c\nb = 'x'#c", { a = 1, b = "x" } },
  { "comments everywhere", [=[
# Top comment.
  # Top comment.
[group] # Comment
answer = 42 # Comment
# no-extraneous-keys-please = 999
more = [ # Comment
  # What about multiple # comments?
  # Can you handle it?
  #
          # Evil.
# Evil.
  42, 42, # Comments within arrays are fun.
  # What about multiple # comments?
  # Can you handle it?
  #
          # Evil.
# Evil.
# ] Did I fool you?
] # Hopefully not.
]=], { group = { answer = 42, more = A{ 42, 42 } } } },
  { "non-ASCII in comments", "# ünïcödé ✓\na = 1 # ✓", { a = 1 } },
  { "tabs and indentation", "\t[t]\n\t  a\t=\t1\n", { t = { a = 1 } } },
  { "CRLF line endings", 'a = 1\r\nb = """x\r\ny"""\r\n# c\r\n',
    { a = 1, b = "x\ny" } },
  { "byte order mark", "\239\187\191a = 1", { a = 1 } },

  -- keys
  { "bare keys", [=[
key = 1
bare_key = 2
bare-key = 3
1234 = 4
-_- = 5
]=], { key = 1, bare_key = 2, ["bare-key"] = 3, ["1234"] = 4, ["-_-"] = 5 } },
  { "quoted keys", [=[
"127.0.0.1" = "value"
"character encoding" = "value"
"ʎǝʞ" = "value"
'key2' = "value"
'quoted "value"' = "value"
]=], {
    ["127.0.0.1"] = "value", ["character encoding"] = "value",
    ["ʎǝʞ"] = "value", key2 = "value", ['quoted "value"'] = "value",
  } },
  { "empty quoted key", '"" = "blank"', { [""] = "blank" } },
  { "escapes in quoted keys", [=["a\tb" = 1
"\u00e9" = 2]=], { ["a\tb"] = 1, ["é"] = 2 } },
  { "keys that look like values", "true = 1\nfalse = false\ninf = 2\n",
    { ["true"] = 1, ["false"] = false, inf = 2 } },
  { "dotted keys", [=[
name = "Orange"
physical.color = "orange"
physical.shape = "round"
site."google.com" = true
]=], {
    name = "Orange",
    physical = { color = "orange", shape = "round" },
    site = { ["google.com"] = true },
  } },
  { "whitespace around dots", 'fruit.name = "banana"\n'
      .. 'fruit. color = "yellow"\nfruit . flavor = "banana"\n',
    { fruit = { name = "banana", color = "yellow", flavor = "banana" } } },
  { "dotted key of quoted parts", [=["a".b.'c' = 1]=],
    { a = { b = { c = 1 } } } },
  { "a float-like key is two keys", '3.14159 = "pi"',
    { ["3"] = { ["14159"] = "pi" } } },
  { "dotted keys out of order", [=[
apple.type = "fruit"
orange.type = "fruit"
apple.skin = "thin"
orange.skin = "thick"
]=], {
    apple = { type = "fruit", skin = "thin" },
    orange = { type = "fruit", skin = "thick" },
  } },

  -- tables
  { "tables", [=[
[table-1]
key1 = "some string"
key2 = 123

[table-2]
key1 = "another string"
key2 = 456
]=], {
    ["table-1"] = { key1 = "some string", key2 = 123 },
    ["table-2"] = { key1 = "another string", key2 = 456 },
  } },
  { "table header with quotes and spaces", [=[
[dog."tater.man"]
type.name = "pug"
[ j . "ʞ" . 'l' ]
]=], {
    dog = { ["tater.man"] = { type = { name = "pug" } } },
    j = { ["ʞ"] = { l = {} } },
  } },
  { "empty table", "[a]", { a = {} } },
  { "implicit super-tables", "[x.y.z.w]", { x = { y = { z = { w = {} } } } } },
  { "super-table defined after", "[a.b.c]\nanswer = 42\n\n[a]\nbetter = 43",
    { a = { better = 43, b = { c = { answer = 42 } } } } },
  { "super-table defined before", "[a]\nbetter = 43\n\n[a.b.c]\nanswer = 42",
    { a = { better = 43, b = { c = { answer = 42 } } } } },
  { "root keys before the first table", 'name = "x"\n[t]\nname = "y"',
    { name = "x", t = { name = "y" } } },
  { "sub-table of a table made by dotted keys", [=[
[fruit]
apple.color = "red"
apple.taste.sweet = true

[fruit.apple.texture]
smooth = true
]=], { fruit = { apple = {
    color = "red", taste = { sweet = true }, texture = { smooth = true },
  } } } },
  { "dotted keys in a table only named by a header", [=[
[a.b.c]
x = 1
[a]
b.d = 2
]=], { a = { b = { c = { x = 1 }, d = 2 } } } },
  { "tables in any order", "[fruit.apple]\n[animal]\n[fruit.orange]",
    { fruit = { apple = {}, orange = {} }, animal = {} } },

  -- arrays of tables
  { "array of tables", [=[
[[products]]
name = "Hammer"
sku = 738594937

[[products]]  # empty table within the array

[[products]]
name = "Nail"
sku = 284758393

color = "gray"
]=], { products = A{
    { name = "Hammer", sku = 738594937 },
    {},
    { name = "Nail", sku = 284758393, color = "gray" },
  } } },
  { "nested arrays of tables", [=[
[[fruits]]
name = "apple"

[fruits.physical]  # subtable
color = "red"
shape = "round"

[[fruits.varieties]]  # nested array of tables
name = "red delicious"

[[fruits.varieties]]
name = "granny smith"


[[fruits]]
name = "banana"

[[fruits.varieties]]
name = "plantain"
]=], { fruits = A{
    {
      name = "apple",
      physical = { color = "red", shape = "round" },
      varieties = A{ { name = "red delicious" }, { name = "granny smith" } },
    },
    { name = "banana", varieties = A{ { name = "plantain" } } },
  } } },
  { "array of tables then its parent table", "[[a.b]]\nx = 1\n[a]\ny = 2",
    { a = { b = A{ { x = 1 } }, y = 2 } } },
  { "sub-tables of each element", "[[a]]\n[a.b]\nc = 1\n[[a]]\n[a.b]\nc = 2",
    { a = A{ { b = { c = 1 } }, { b = { c = 2 } } } } },

  -- inline tables
  { "inline tables", [=[
name = { first = "Tom", last = "Preston-Werner" }
point = { x = 1, y = 2 }
animal = { type.name = "pug" }
]=], {
    name = { first = "Tom", last = "Preston-Werner" },
    point = { x = 1, y = 2 },
    animal = { type = { name = "pug" } },
  } },
  { "empty and nested inline tables", "e = {}\nn = { a = { b = { c = 1 } } }",
    { e = {}, n = { a = { b = { c = 1 } } } } },
  { "dotted keys inside an inline table", "t = { a.b = 1, a.c = 2, d = 3 }",
    { t = { a = { b = 1, c = 2 }, d = 3 } } },
  { "inline tables in an array", [=[
points = [ { x = 1, y = 2, z = 3 },
           { x = 7, y = 8, z = 9 },
           { x = 2, y = 4, z = 8 } ]
]=], { points = A{
    { x = 1, y = 2, z = 3 }, { x = 7, y = 8, z = 9 }, { x = 2, y = 4, z = 8 },
  } } },
  { "inline table holding delimiters in strings",
    [=[t = { a = "}", b = ",", c = '{' }]=],
    { t = { a = "}", b = ",", c = "{" } } },
  { "inline table without spaces", "t={a=1,b=[1,2],c={}}",
    { t = { a = 1, b = A{ 1, 2 }, c = {} } } },

  -- arrays
  { "arrays", [=[
integers = [ 1, 2, 3 ]
colors = [ "red", "yellow", "green" ]
nested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]
nested_mixed_array = [ [ 1, 2 ], ["a", "b", "c"] ]
string_array = [ "all", 'strings', """are the same""", '''type''' ]
]=], {
    integers = A{ 1, 2, 3 },
    colors = A{ "red", "yellow", "green" },
    nested_arrays_of_ints = A{ A{ 1, 2 }, A{ 3, 4, 5 } },
    nested_mixed_array = A{ A{ 1, 2 }, A{ "a", "b", "c" } },
    string_array = A{ "all", "strings", "are the same", "type" },
  } },
  { "mixed types in an array", [=[
numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]
contributors = [
  "Foo Bar <foo@example.com>",
  { name = "Baz Qux", email = "bazqux@example.com" }
]
]=], {
    numbers = A{ 0.1, 0.2, 0.5, 1, 2, 5 },
    contributors = A{
      "Foo Bar <foo@example.com>",
      { name = "Baz Qux", email = "bazqux@example.com" },
    },
  } },
  { "multi-line arrays with trailing commas", [=[
integers2 = [
  1, 2, 3
]

integers3 = [
  1,
  2, # this is ok
]
]=], { integers2 = A{ 1, 2, 3 }, integers3 = A{ 1, 2 } } },
  { "empty arrays", "a = []\nb = [ ]\nc = [\n]\nd = [[]]",
    { a = A{}, b = A{}, c = A{}, d = A{ A{} } } },
  { "nested arrays without spaces", "a = [[1,2],[\"a\",'b'],[[]]]",
    { a = A{ A{ 1, 2 }, A{ "a", "b" }, A{ A{} } } } },
  { "strings with commas and brackets in arrays",
    [=[a = [ "a,b", "]", ' " ', "\"," ]]=],
    { a = A{ "a,b", "]", ' " ', '",' } } },

  -- strings
  { "basic string escapes",
    [=[s = "\b\t\n\f\r\"\\ tab:	."]=],
    { s = "\b\t\n\f\r\"\\ tab:\t." } },
  { "unicode escapes",
    [=[a = "\u00E9\u4e2d"
b = "\U0001F600\U00000041"
c = "\u0000"]=],
    { a = "é中", b = "😀A", c = "\0" } },
  { "literal strings", [=[
winpath  = 'C:\Users\nodejs\templates'
winpath2 = '\\ServerX\admin$\system32\'
quoted   = 'Tom "Dubs" Preston-Werner'
regex    = '<\i\c*\s*>'
]=], {
    winpath = [[C:\Users\nodejs\templates]],
    winpath2 = [[\\ServerX\admin$\system32\]],
    quoted = 'Tom "Dubs" Preston-Werner',
    regex = [[<\i\c*\s*>]],
  } },
  { "empty strings", "a = \"\"\nb = ''\nc = \"\"\"\"\"\"\nd = ''''''",
    { a = "", b = "", c = "", d = "" } },
  { "comment marker inside a string", 'a = "# not a comment" # comment',
    { a = "# not a comment" } },
  { "multi-line basic string", 's = """\nRoses are red\nViolets are blue"""',
    { s = "Roses are red\nViolets are blue" } },
  { "line-ending backslash", [=[
str1 = "The quick brown fox jumps over the lazy dog."

str2 = """
The quick brown \


  fox jumps over \
    the lazy dog."""

str3 = """\
       The quick brown \
       fox jumps over \
       the lazy dog.\
       """
]=], {
    str1 = "The quick brown fox jumps over the lazy dog.",
    str2 = "The quick brown fox jumps over the lazy dog.",
    str3 = "The quick brown fox jumps over the lazy dog.",
  } },
  { "line-ending backslash with spaces after it",
    's = """a \\  \t\n  b"""', { s = "a b" } },
  { "quotes inside multi-line basic strings", [=[
str4 = """Here are two quotation marks: "". Simple enough."""
str5 = """Here are three quotation marks: ""\"."""
str6 = """Here are fifteen quotation marks: ""\"""\"""\"""\"""\"."""
str7 = """"This," she said, "is just a pointless statement.""""
]=], {
    str4 = 'Here are two quotation marks: "". Simple enough.',
    str5 = 'Here are three quotation marks: """.',
    str6 = "Here are fifteen quotation marks: " .. ('"'):rep(15) .. ".",
    str7 = '"This," she said, "is just a pointless statement."',
  } },
  { "multi-line literal strings", [=[
regex2 = '''I [dw]on't need \d{2} apples'''
lines  = '''
The first newline is
trimmed in raw strings.
   All other whitespace
   is preserved.
'''
quot15 = '''Here are fifteen quotation marks: """""""""""""""'''
apos15 = "Here are fifteen apostrophes: '''''''''''''''"
str = ''''That,' she said, 'is still pointless.''''
two = '''a'''''
]=], {
    regex2 = [[I [dw]on't need \d{2} apples]],
    lines = "The first newline is\ntrimmed in raw strings.\n"
      .. "   All other whitespace\n   is preserved.\n",
    quot15 = "Here are fifteen quotation marks: " .. ('"'):rep(15),
    apos15 = "Here are fifteen apostrophes: " .. ("'"):rep(15),
    str = "'That,' she said, 'is still pointless.'",
    two = "a''",
  } },
  { "escapes in multi-line basic strings", 's = """\\u00e9\\t\\"\\\\"""',
    { s = 'é\t"\\' } },
  { "unicode text in strings", 'a = "ünïcödé 中文 😀"\nb = \'✓\'',
    { a = "ünïcödé 中文 😀", b = "✓" } },

  -- integers
  { "decimal integers", [=[
int1 = +99
int2 = 42
int3 = 0
int4 = -17
int5 = 1_000
int6 = 5_349_221
int7 = 53_49_221
int8 = 1_2_3_4_5
zero1 = -0
zero2 = +0
]=], {
    int1 = 99, int2 = 42, int3 = 0, int4 = -17, int5 = 1000,
    int6 = 5349221, int7 = 5349221, int8 = 12345, zero1 = 0, zero2 = 0,
  } },
  { "hex, octal and binary integers", [=[
hex1 = 0xDEADBEEF
hex2 = 0xdeadbeef
hex3 = 0xdead_beef
hex4 = 0x00ff
oct1 = 0o01234567
oct2 = 0o755
bin1 = 0b11010110
bin2 = 0b0
]=], {
    hex1 = 0xDEADBEEF, hex2 = 0xDEADBEEF, hex3 = 0xDEADBEEF, hex4 = 255,
    oct1 = 342391, oct2 = 493, bin1 = 214, bin2 = 0,
  } },
  { "64-bit integer limits", [=[
max = 9223372036854775807
min = -9223372036854775808
hex = 0x7FFFFFFFFFFFFFFF
oct = 0o777777777777777777777
bin = 0b111111111111111111111111111111111111111111111111111111111111111
]=], {
    max = math.maxinteger, min = math.mininteger, hex = math.maxinteger,
    oct = math.maxinteger, bin = math.maxinteger,
  } },

  -- floats
  { "floats", [=[
flt1 = +1.0
flt2 = 3.1415
flt3 = -0.01
flt4 = 5e+22
flt5 = 1e06
flt6 = -2E-2
flt7 = 6.626e-34
flt8 = 224_617.445_991_228
flt9 = 0e0
flt10 = 1e1_0
]=], {
    flt1 = 1.0, flt2 = 3.1415, flt3 = -0.01, flt4 = 5e+22, flt5 = 1e06,
    flt6 = -2E-2, flt7 = 6.626e-34, flt8 = 224617.445991228, flt9 = 0.0,
    flt10 = 1e10,
  } },
  { "signed zero floats", "a = -0.0\nb = +0.0\nc = 0.0",
    { a = -0.0, b = 0.0, c = 0.0 } },
  { "infinity and nan", [=[
sf1 = inf
sf2 = +inf
sf3 = -inf
sf4 = nan
sf5 = +nan
sf6 = -nan
]=], {
    sf1 = math.huge, sf2 = math.huge, sf3 = -math.huge,
    sf4 = 0 / 0, sf5 = 0 / 0, sf6 = 0 / 0,
  } },
  { "integer and float kept apart", "i = 1\nf = 1.0\ne = 1e0",
    { i = 1, f = 1.0, e = 1.0 } },

  -- booleans
  { "booleans", "t = true\nf = false\na = [true,false]",
    { t = true, f = false, a = A{ true, false } } },

  -- dates and times
  { "offset date-times", [=[
odt1 = 1979-05-27T07:32:00Z
odt2 = 1979-05-27T00:32:00-07:00
odt3 = 1979-05-27T00:32:00.999999-07:00
odt4 = 1979-05-27 07:32:00Z
odt5 = 1987-07-05t17:45:00z
odt6 = 1979-05-27T07:32:00+05:30
]=], {
    odt1 = "1979-05-27T07:32:00Z", odt2 = "1979-05-27T00:32:00-07:00",
    odt3 = "1979-05-27T00:32:00.999999-07:00",
    odt4 = "1979-05-27 07:32:00Z", odt5 = "1987-07-05t17:45:00z",
    odt6 = "1979-05-27T07:32:00+05:30",
  } },
  { "local date-times, dates and times", [=[
ldt1 = 1979-05-27T07:32:00
ldt2 = 1979-05-27T00:32:00.999999
ld1 = 1979-05-27
lt1 = 07:32:00
lt2 = 00:32:00.999999
]=], {
    ldt1 = "1979-05-27T07:32:00", ldt2 = "1979-05-27T00:32:00.999999",
    ld1 = "1979-05-27", lt1 = "07:32:00", lt2 = "00:32:00.999999",
  } },
  { "date followed by a comment", "d = 1979-05-27 # a date\nt = 23:59:60",
    { d = "1979-05-27", t = "23:59:60" } },
  { "leap days", "a = 2000-02-29\nb = 2024-02-29T00:00:00",
    { a = "2000-02-29", b = "2024-02-29T00:00:00" } },
  { "dates in an array", "a = [1979-05-27, 07:32:00, 1979-05-27T07:32:00Z]",
    { a = A{ "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z" } } },

  -- whole documents
  { "the example from the TOML README", [=[
# This is a TOML document

title = "TOML Example"

[owner]
name = "Tom Preston-Werner"
dob = 1979-05-27T07:32:00-08:00

[database]
enabled = true
ports = [ 8000, 8001, 8002 ]
data = [ ["delta", "phi"], [3.14] ]
temp_targets = { cpu = 79.5, case = 72.0 }

[servers]

[servers.alpha]
ip = "10.0.0.1"
role = "frontend"

[servers.beta]
ip = "10.0.0.2"
role = "backend"
]=], {
    title = "TOML Example",
    owner = { name = "Tom Preston-Werner", dob = "1979-05-27T07:32:00-08:00" },
    database = {
      enabled = true,
      ports = A{ 8000, 8001, 8002 },
      data = A{ A{ "delta", "phi" }, A{ 3.14 } },
      temp_targets = { cpu = 79.5, case = 72.0 },
    },
    servers = {
      alpha = { ip = "10.0.0.1", role = "frontend" },
      beta = { ip = "10.0.0.2", role = "backend" },
    },
  } },
  { "a blueprint", [=[
# Two agents; the researcher waits for the other one.
[agents.researcher]
command = "list 3 facts about OTP"
provider = "claude"          # raw (default) | claude | user provider
type = "task"
depends_on = ["other"]
env = { K = "V" }

[agents.other]
command = "echo hi"
depends_on = []
env = {}
]=], { agents = {
    researcher = {
      command = "list 3 facts about OTP", provider = "claude",
      type = "task", depends_on = A{ "other" }, env = { K = "V" },
    },
    other = { command = "echo hi", depends_on = A{}, env = {} },
  } } },
}

-- { name, document, line of the error, optional text the message holds }
local invalid = {
  -- keys and tables defined twice
  { "duplicate key", "a = 1\na = 2", 2, "duplicate key 'a'" },
  { "duplicate key, bare and quoted",
    'spelling = "favorite"\n"spelling" = "favourite"', 2 },
  { "duplicate key in a table", "[t]\nx = 1\n\ny = 2\nx = 3", 5 },
  { "table defined twice", [=[
[fruit]
apple = "red"

[fruit]
orange = "orange"
]=], 4, "already defined" },
  { "table over a key", [=[
[fruit]
apple = "red"

[fruit.apple]
texture = "smooth"
]=], 4 },
  { "table over a value at the root", "a = 1\n[a]", 2 },
  { "table through a value", "a = 1\n[a.b]", 2 },
  { "super-table defined twice", "[a]\n[a.b]\n[a]", 3 },
  { "dotted key through a value",
    'fruit.apple = 1\nfruit.apple.smooth = true', 2 },
  { "dotted key over a table", "[a.b]\n[a]\nb = 1", 3 },
  { "header over a table made by dotted keys", [=[
[fruit]
apple.color = "red"
apple.taste.sweet = true

[fruit.apple]
]=], 5 },
  { "header over a deeper table made by dotted keys", [=[
[fruit]
apple.color = "red"
apple.taste.sweet = true

[fruit.apple.taste]
]=], 5 },
  { "header over a root table made by dotted keys", "a.b = 1\n[a]", 2 },
  { "dotted keys into a table defined by a header", [=[
[a.b.c]
  z = 9

[a]
  b.c.t = "not allowed"
]=], 5 },
  { "dotted keys into a deeper header table", [=[
[a.b.c.d]
  z = 9

[a]
  b.c.d.k.t = "not allowed"
]=], 5 },
  { "dotted keys redefining a key", "a.b = 1\na.b.c = 2", 2 },
  { "dotted key then the same plain key", "a.b = 1\na = 2", 2 },

  -- inline tables are sealed
  { "dotted key into an inline table", [=[
[product]
type = { name = "Nail" }
type.edible = false  # INVALID
]=], 3, "inline table" },
  { "inline table over dotted keys", [=[
[product]
type.name = "Nail"
type = { edible = false }  # INVALID
]=], 3 },
  { "header over an inline table", "a = {}\n[a]", 2 },
  { "header inside an inline table", "a = { b = 1 }\n[a.c]", 2 },
  { "array of tables inside an inline table", "a = { b = 1 }\n[[a.c]]", 2 },
  { "duplicate key in an inline table", "t = { a = 1, a = 2 }", 1 },
  { "inline table extended inside itself", "t = { a = { b = 1 }, a.c = 2 }",
    1 },
  { "inline table key over a dotted table", "t = { a.b = 1, a = 2 }", 1 },

  -- arrays of tables
  { "array of tables over a static array", "fruits = []\n\n[[fruits]]", 3,
    "static array" },
  { "array of tables over an array of inline tables",
    "a = [{ b = 1 }]\n[[a]]", 2 },
  { "table header through a static array", "a = [1]\n[a.b]", 2 },
  { "array of tables over a table", "[a]\n[[a]]", 2 },
  { "table over an array of tables", "[[a]]\n[a]", 2 },
  { "array of tables after its sub-table", [=[
# INVALID TOML DOC
[fruit.physical]  # subtable, but to which parent element should it belong?
color = "red"
shape = "round"

[[fruit]]  # parser must throw an error upon discovering that "fruit" is
           # an array rather than a table
name = "apple"
]=], 6 },
  { "table over a nested array of tables",
    "[[a]]\n[[a.b]]\n[a.b]", 3 },
  { "dotted key into an array", "a = [1]\na.b = 2", 2 },

  -- missing values and keys
  { "value missing at end of file", "a = ", 1, "missing value" },
  { "value missing at end of line", "a =\nb = 1", 1, "missing value" },
  { "value missing before a comment", "x = 1\na = # nothing", 2 },
  { "key with no value", "[t]\nkey\nb = 1", 2, "expected '='" },
  { "key with no value at end of file", "a = 1\nkey", 2 },
  { "key with no equals sign", "a 1", 1 },
  { "no key", "= 1", 1, "expected a key" },
  { "key with a space", "a b = 1", 1 },
  { "key starting with a dot", ".a = 1", 1 },
  { "key ending with a dot", "a. = 1", 1 },
  { "key with two dots", "a..b = 1", 1 },
  { "multi-line string as a key", '"""a""" = 1', 1 },
  { "non-ASCII bare key", "é = 1", 1 },
  { "unterminated quoted key", '"a = 1', 1 },
  { "two equals signs", "a = = 1", 1 },

  -- garbage after a value or header
  { "two values on a line", "a = 1 b = 2", 1, "after value" },
  { "two strings on a line", 'a = "x" "y"', 1 },
  { "text after a boolean", "\na = truex", 2 },
  { "text after an array", "a = [1] x", 1 },
  { "text after a table header", "[a] b = 1", 1, "after table header" },
  { "text after a date", "a = 1979-05-27x", 1 },
  { "local time with an offset", "a = 07:32:00Z", 1 },

  -- strings
  { "unterminated basic string", 'a = "abc', 1, "unterminated" },
  { "unterminated literal string", "\na = 'abc", 2 },
  { "unterminated multi-line basic string", 'x = 1\na = """\nabc\n', 2,
    "unterminated" },
  { "unterminated multi-line literal string", "a = '''\nabc\n''", 1 },
  { "newline in a basic string", 'a = "abc\ndef"', 1, "newline" },
  { "newline in a literal string", "a = 'abc\ndef'", 1 },
  { "NUL in a basic string", 'a = "a\0b"', 1, "control character" },
  { "DEL in a basic string", 'a = "a\127b"', 1 },
  { "control character in a literal string", "a = 'a\1b'", 1 },
  { "control character in a multi-line string", 'a = """\nok\n\31"""', 3 },
  { "control character in a multi-line literal", "a = '''\n\n\127'''", 3 },
  { "bare CR in a multi-line string", 'a = """a\rb"""', 1 },
  { "bad escape \\a", [=[a = "\a"]=], 1, "invalid escape" },
  { "bad escape \\x", [=[a = "\x41"]=], 1 },
  { "bad escape \\e", [=[a = "\e"]=], 1 },
  { "bad escape backslash-space", [=[a = "a\ b"]=], 1 },
  { "backslash at the end of a single-line string", 'a = "abc\\\n"', 1 },
  { "short \\u escape", [=[a = "\u12"]=], 1 },
  { "surrogate \\u escape", [=[a = "\uD800"]=], 1 },
  { "\\U escape past U+10FFFF", [=[a = "\U00110000"]=], 1 },
  { "bad escape in a quoted key", [=["\q" = 1]=], 1 },
  { "bad escape in a multi-line string", 'a = """\nok\n\\q"""', 3 },
  { "too many quotes closing a multi-line string", 'a = """abc""""""', 1 },
  { "too many quotes closing a multi-line literal", "a = '''abc''''''", 1 },

  -- integers
  { "leading zero", "a = 01", 1, "leading zeros" },
  { "signed leading zero", "a = -01", 1 },
  { "zero with underscore", "a = 0_1", 1 },
  { "double underscore", "a = 1__000", 1 },
  { "trailing underscore", "a = 1_", 1 },
  { "leading underscore", "a = _1", 1 },
  { "incomplete hex", "a = 0x", 1 },
  { "bad hex digit", "a = 0xG1", 1 },
  { "bad octal digit", "a = 0o8", 1 },
  { "bad binary digit", "a = 0b2", 1 },
  { "underscore after a prefix", "a = 0x_1", 1 },
  { "signed hex", "a = +0x1", 1 },
  { "signed binary", "a = -0b1", 1 },
  { "capital prefix", "a = 0X1F", 1 },
  { "double sign", "a = +-1", 1 },
  { "integer overflow", "a = 9223372036854775808", 1, "out of range" },
  { "negative integer overflow", "a = -9223372036854775809", 1 },
  { "hex overflow", "a = 0x8000000000000000", 1 },

  -- floats
  { "float with leading zero", "a = 03.14", 1 },
  { "float with leading point", "a = .5", 1 },
  { "float with trailing point", "a = 5.", 1 },
  { "point before exponent", "a = 1.e5", 1 },
  { "underscore before point", "a = 1_.5", 1 },
  { "underscore after point", "a = 1._5", 1 },
  { "trailing underscore in fraction", "a = 1.5_", 1 },
  { "trailing underscore in exponent", "a = 1e5_", 1 },
  { "empty exponent", "a = 1e", 1 },
  { "point in exponent", "a = 1e5.5", 1 },
  { "double point", "a = 1.2.3", 1 },
  { "capital inf", "a = Inf", 1 },
  { "capital nan", "a = NaN", 1 },
  { "infinity spelled out", "a = infinity", 1 },
  { "nan with underscore", "a = nan_", 1 },

  -- booleans and other words
  { "capital boolean", "a = True", 1 },
  { "truncated boolean", "a = tru", 1 },
  { "bare word", "a = hello", 1, "invalid value" },

  -- dates and times
  { "February 30th", "a = 1979-02-30", 1, "date out of range" },
  { "February 29th of a common year", "a = 2001-02-29", 1 },
  { "month 13", "a = 1979-13-01", 1 },
  { "month 0", "a = 1979-00-01", 1 },
  { "day 0", "a = 1979-05-00", 1 },
  { "day 32", "a = 1979-05-32", 1 },
  { "one-digit month", "a = 1979-5-27", 1 },
  { "hour 24", "a = 1979-05-27T24:00:00", 1 },
  { "minute 60", "a = 1979-05-27T07:60:00", 1 },
  { "second 61", "a = 07:32:61", 1 },
  { "no seconds", "a = 1979-05-27T07:32", 1 },
  { "T with no time", "a = 1979-05-27T", 1 },
  { "local time without seconds", "a = 07:32", 1 },
  { "one-digit hour", "a = 7:32:00", 1 },
  { "fraction without digits", "a = 07:32:00.", 1 },
  { "bad offset", "a = 1979-05-27T07:32:00+7:00", 1 },

  -- arrays
  { "array without comma", "a = [1 2]", 1, "expected ','" },
  { "array with only a comma", "a = [,]", 1 },
  { "array with two commas", "a = [1,,2]", 1 },
  { "unterminated array", "a = [1, 2", 1, "unterminated array" },
  { "unterminated multi-line array", "a = [\n  1, # one\n", 1 },
  { "array running into the next key", "a = [\n1,\n2\nb = 3", 4 },

  -- inline tables
  { "trailing comma in an inline table", "t = { a = 1, }", 1,
    "trailing comma" },
  { "newline in an inline table", "t = { a = 1,\n b = 2 }", 1, "newline" },
  { "newline before the first key", "t = {\n a = 1 }", 1 },
  { "unterminated inline table", "x = 1\nt = { a = 1", 2 },
  { "inline table without comma", "t = { a = 1 b = 2 }", 1 },
  { "inline table with only a comma", "t = {,}", 1 },
  { "inline table with a key and no value", "t = { a }", 1 },

  -- headers
  { "unterminated table header", "[a\nb = 1", 1 },
  { "unterminated array of tables header", "[[a]\nb = 1", 1 },
  { "empty table header", "[]", 1 },
  { "empty array of tables header", "[[]]", 1 },
  { "space in a table header", "[a b]", 1 },
  { "space inside array of tables brackets", "[[a] ]", 1 },
  { "header ending with a dot", "[a.]", 1 },
  { "extra bracket after a header", "[a]]", 1 },

  -- encoding and control characters outside strings
  { "invalid UTF-8", 'a = 1\n\n"\255" = 2', 3, "invalid UTF-8" },
  { "bare CR", "a = 1\rb = 2", 1 },
  { "form feed between key-value pairs", "a = 1\n\12b = 2", 2 },
  { "NUL in a comment", "a = 1\n# x\0y", 2, "in comment" },
  { "DEL in a comment", "# \127", 1 },
  { "CRLF does not change line numbers", "a = 1\r\nb = 1\r\nb = 2\r\n", 3 },

  { "arrays nested too deep", "a = " .. ("["):rep(300), 1, "too deep" },
}

local function check_valid(case)
  local got, err = toml.parse(case[2])
  assert.is_nil(err)
  local d = diff(case[3], got, "$")
  assert(d == nil, d)
end

local function check_invalid(case)
  local got, err = toml.parse(case[2])
  assert.is_nil(got)
  assert.is_string(err)
  local prefix = ("invalid TOML at line %d: "):format(case[3])
  assert.are.equal(prefix, err:sub(1, #prefix))
  if case[4] then
    assert(err:find(case[4], 1, true), err)
  end
end

describe("toml.parse", function()
  describe("valid", function()
    for _, case in ipairs(valid) do
      it(case[1], function() check_valid(case) end)
    end
  end)

  describe("invalid", function()
    for _, case in ipairs(invalid) do
      it(case[1], function() check_invalid(case) end)
    end
  end)

  it("marks arrays so an empty array is told from an empty table", function()
    local t = assert(toml.parse("a = []\nb = {}\nd = [[1]]\n[[c]]"))
    assert.are.equal(toml.array_mt, getmetatable(t.a))
    assert.is_nil(getmetatable(t.b))
    assert.are.equal(toml.array_mt, getmetatable(t.c))
    assert.is_nil(getmetatable(t.c[1]))
    assert.are.equal(toml.array_mt, getmetatable(t.d[1]))
    assert.are.equal("toml.array", toml.array_mt.__name)
  end)

  it("returns integers and floats as Lua subtypes", function()
    local t = assert(toml.parse("i = 3\nf = 3.0\nh = 0xff\nx = 1e2"))
    assert.are.equal("integer", math.type(t.i))
    assert.are.equal("float", math.type(t.f))
    assert.are.equal("integer", math.type(t.h))
    assert.are.equal("float", math.type(t.x))
  end)

  it("does not raise on input that is not a string", function()
    local got, err = toml.parse(nil)
    assert.is_nil(got)
    assert.are.equal("invalid TOML at line 1: ", err:sub(1, 24))
  end)

  it("names the key in duplicate-key messages", function()
    local _, err = toml.parse('[t]\n"a b".c = 1\n"a b".c = 2')
    assert.are.equal([[invalid TOML at line 3: duplicate key '"a b".c']],
      err)
  end)
end)

describe("toml.parse_file", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p '" .. dir .. "'"))
  end)
  after_each(function()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  local function write(name, text)
    local path = dir .. "/" .. name
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
    return path
  end

  it("reads a blueprint from a file", function()
    local path = write("bp.toml",
      '[agents.a]\ncommand = "echo hi"\ndepends_on = []\n')
    local t = assert(toml.parse_file(path))
    assert.are.equal("echo hi", t.agents.a.command)
    assert.are.equal(toml.array_mt, getmetatable(t.agents.a.depends_on))
  end)

  it("reports a missing file", function()
    local path = dir .. "/none.toml"
    local got, err = toml.parse_file(path)
    assert.is_nil(got)
    assert.are.equal("cannot read " .. path .. ": No such file or directory",
      err)
  end)

  it("reports a directory", function()
    local got, err = toml.parse_file(dir)
    assert.is_nil(got)
    assert.are.equal("cannot read " .. dir .. ": ",
      err:sub(1, #dir + 14))
  end)

  it("passes on parse errors", function()
    local path = write("bad.toml", "a = 1\na = 2\n")
    local got, err = toml.parse_file(path)
    assert.is_nil(got)
    assert.are.equal("invalid TOML at line 2: duplicate key 'a'", err)
  end)
end)
