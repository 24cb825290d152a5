-- Values with commas, quotes and newlines survive a write/read round trip;
-- numbers keep full precision; reopening appends under the same header.
local lunet = require "lunet"

local path = os.tmpname()
os.remove(path)
local tricky = { 'plain', 'a,b', 'say "hi"', 'two\nlines', ' padded ' }
local log = lunet.csv(path)
for i, s in ipairs(tricky) do log:write{ id = i, text = s, third = 1 / 3, big = 2 ^ 60, ok = true } end
log:close()

log = lunet.csv(path) -- append: the header is not written twice
log:write{ id = 6, text = "later", third = 0.1, big = 1, ok = false }
log:close()

local rows = lunet.read_csv(path)
assert(#rows == 6, "expected 6 rows, got " .. #rows)
for i, s in ipairs(tricky) do
  assert(rows[i].text == s, ("row %d: %q came back as %q"):format(i, s, tostring(rows[i].text)))
  assert(rows[i].third == 1 / 3, "1/3 lost precision")
  assert(rows[i].big == 2 ^ 60)
end
assert(rows[6].third == 0.1 and rows[6].ok == "false")

local f = assert(io.open(path))
local text = f:read("a")
f:close()
local _, headers = text:gsub("big,id,ok,text,third", "")
assert(headers == 1, "header written " .. headers .. " times")

-- a column the header does not have is refused, naming it
log = lunet.csv(path)
local ok, err = pcall(log.write, log, { id = 7, surprise = 1 })
assert(not ok and err:find("surprise"), err)
log:close()
os.remove(path)
