-- fortunes.lua -- what text_classifier.lua and masked_lm.lua share: the
-- classes (four files of Debian's fortunes package), their splits through
-- text_classes, and the encoder both put under their heads.
-- `local fortunes = require "fortunes"`.
local lunet = require "lunet"
local M = {}

M.classes = { "computers", "definitions", "songs-poems", "zippy" }

-- The class files under `dir`; raises naming the script when one is missing.
function M.files(dir, script)
  local files = {}
  for i, name in ipairs(M.classes) do
    files[i] = dir .. "/" .. name
    local h = io.open(files[i])
    if not h then error(("%s: %s not found: install Debian's fortunes package (apt-get install fortunes) "
                         .. "or give --dir"):format(script, files[i]), 0) end
    h:close()
  end
  return files
end

-- Split `split` of the fortunes of `files`, T bytes each (text_classes).
function M.texts(files, T, split)
  return lunet.dataset("text_classes", { files = table.concat(files, ","), records = "fortune", max_len = T,
                                         split = split, seed = 1 })
end

-- lunet.graph over (T) byte ids: embedding (V, E) + learned positions, one
-- pre-norm transformer block (attention with the key-padding mask of
-- pad_mask, then linear(ff), gelu, linear(E)), a layernorm "n3" (T, E),
-- then the nodes of `head` (which may read "n3" and "mask").
function M.encoder(T, V, E, heads, ff, head)
  local L = lunet.layer
  local nodes = {
    { "mask", L("pad_mask", { pad = 1 }), "x" },
    { "emb", L("embedding", { vocab = V, dim = E }), "x" },
    { "h0", L("positional", { kind = "learned", max_len = T }), "emb" },
    { "n1", L("layernorm", { axis = "last" }), "h0" },
    { "att", L("attention", { heads = heads }), { "n1", "mask" } },
    { "h1", L("add"), { "h0", "att" } },
    { "n2", L("layernorm", { axis = "last" }), "h1" },
    { "ff1", L("linear", { out = ff }), "n2" },
    { "act", L("gelu"), "ff1" },
    { "ff2", L("linear", { out = E }), "act" },
    { "h2", L("add"), { "h1", "ff2" } },
    { "n3", L("layernorm", { axis = "last" }), "h2" } }
  for _, n in ipairs(head) do nodes[#nodes + 1] = n end
  return lunet.graph{ seed = 1, input = { T }, nodes = nodes }
end

return M
