-- startup.lua -- loads lunet and exits: resume.lua times it, to aim its kills past start-up.
require "lunet"
