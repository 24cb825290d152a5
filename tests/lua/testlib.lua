-- testlib.lua -- what the Lua tests share: running a script of scripts/
-- the way `lunet run` would, and asserting that a call fails with a
-- message that names what it should. `local t = require "testlib"`.
local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")
-- scripts find their shared modules (corpus.lua) beside them, as under `lunet run`
package.path = here .. "/../../scripts/?.lua;" .. package.path

-- Whether gnuplot is there to draw figures.
function M.gnuplot()
  return os.execute("command -v gnuplot >/dev/null 2>&1") == true
end

-- Runs scripts/NAME.lua with the given arguments in `arg`, adding --no_plot
-- when gnuplot is missing; returns whether the script draws its figure.
function M.run_script(name, ...)
  local path = here .. "/../../scripts/" .. name .. ".lua"
  arg = { [0] = path, ... }
  if not M.gnuplot() then arg[#arg + 1] = "--no_plot" end
  dofile(path)
  return arg[#arg] ~= "--no_plot"
end

-- A new empty folder (the caller removes it).
function M.tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p '" .. dir .. "'"), "cannot make " .. dir)
  return dir
end

-- Asserts that f(...) raises an error containing every string of needles.
function M.fails(needles, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error containing " .. needles[1])
  for _, s in ipairs(needles) do
    assert(err:find(s, 1, true), ("error %q lacks %q"):format(err, s))
  end
end

return M
