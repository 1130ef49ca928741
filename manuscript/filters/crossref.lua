--[[
Cross-references for the pandoc fallback renderer (Quarto does this itself).

Numbers figures (`#fig-...`) and tables (`#tbl-...`, from a caption ending
in `{#tbl-...}` as Quarto writes it), turns `@fig-x` / `@tbl-x` into
"Figure N" / "Table N" links, moves Quarto's `fig-alt` attribute into the
image's alt text, and fails the build on a reference to a label that does not
exist.  In HTML and DOCX it also prefixes captions with "Figure N:"; Typst
numbers its own figure captions, in the same order.

A document may set Quarto's `crossref: {fig-title: "Figure S", tbl-title:
"Table S"}` (the supplement does): its figures and tables are then numbered
"Figure S1", "Table S1", ..., in every output format.
]]

local labels = {}
local counters = { fig = 0, tbl = 0 }
local kinds = { fig = "Figure", tbl = "Table" }
local unresolved = {}

-- "Table S" + 1 = "Table S1"; "Table" + 1 = "Table 1" (a non-breaking space in references)
local function numbered(kind, number, space)
  local title = kinds[kind]
  if title:match("%sS$") then return title .. number end
  return title .. (space or " ") .. number
end

local function read_titles(meta)
  local cr = meta.crossref
  if type(cr) == "table" then
    for kind, key in pairs({ fig = "fig-title", tbl = "tbl-title" }) do
      if cr[key] then kinds[kind] = pandoc.utils.stringify(cr[key]) end
    end
  end
end

local function register(id)
  local kind = id:match("^(%a+)%-")
  if kind and counters[kind] then
    if labels[id] then
      io.stderr:write("crossref: label '" .. id .. "' is defined twice\n")
      os.exit(1)
    end
    counters[kind] = counters[kind] + 1
    labels[id] = { kind = kind, number = counters[kind] }
    return labels[id]
  end
end

local function prefix_caption(caption, info)
  if (FORMAT:match("html") or FORMAT:match("docx")) and caption and caption.long and #caption.long > 0 then
    local first = caption.long[1]
    if first.content then
      first.content:insert(1, pandoc.Space())
      first.content:insert(1, pandoc.Strong({ pandoc.Str(numbered(info.kind, info.number) .. ":") }))
    end
  end
end

-- Quarto-style table caption ": text {#tbl-x}": strip the label from the caption.
local function table_label(tbl)
  if tbl.identifier ~= "" then return tbl.identifier end
  local blocks = tbl.caption.long
  if #blocks == 0 then return nil end
  local inl = blocks[#blocks].content
  if not inl or #inl == 0 then return nil end
  local last = inl[#inl]
  if last.t == "Str" then
    local id = last.text:match("^{#(tbl%-[%w_%-]+)}$")
    if id then
      inl:remove(#inl)
      while #inl > 0 and (inl[#inl].t == "Space" or inl[#inl].t == "SoftBreak") do inl:remove(#inl) end
      return id
    end
  end
  return nil
end

local function number_blocks(doc)
  read_titles(doc.meta)
  if FORMAT:match("typst") then
    -- Typst numbers figures itself: give it the same prefix ("S1") as the other formats
    local prefix = kinds.tbl:match("%s(S)$") or ""
    if prefix ~= "" then
      doc.blocks:insert(1, pandoc.RawBlock("typst", '#set figure(numbering: "' .. prefix .. '1")'))
    end
  end
  doc.blocks = doc.blocks:walk({
    Figure = function(fig)
      fig = fig:walk({
        Image = function(img)
          local alt = img.attributes["fig-alt"]
          if alt then
            img.caption = pandoc.Inlines({ pandoc.Str(alt) })
            img.attributes["fig-alt"] = nil
            img.attributes["alt"] = alt
          end
          return img
        end,
      })
      local info = register(fig.identifier)
      if info then prefix_caption(fig.caption, info) end
      return fig
    end,
    Table = function(tbl)
      local id = table_label(tbl)
      if id then
        tbl.identifier = id
        local info = register(id)
        if info then prefix_caption(tbl.caption, info) end
      end
      return tbl
    end,
  })
  return doc
end

local function resolve_refs(doc)
  doc.blocks = doc.blocks:walk({
    Cite = function(cite)
      local out = pandoc.Inlines({})
      for i, c in ipairs(cite.citations) do
        local kind = c.id:match("^(%a+)%-")
        if not (kind and counters[kind] ~= nil) then return nil end
        local info = labels[c.id]
        if not info then
          table.insert(unresolved, c.id)
          return nil
        end
        if i > 1 then out:insert(pandoc.Str(", ")) end
        local text = numbered(info.kind, info.number, "\u{00A0}")
        out:insert(pandoc.Link(text, "#" .. c.id))
      end
      return out
    end,
  })
  if #unresolved > 0 then
    io.stderr:write("crossref: unresolved reference(s): " .. table.concat(unresolved, ", ") .. "\n")
    os.exit(1)
  end
  return doc
end

return {
  { Pandoc = number_blocks },
  { Pandoc = resolve_refs },
}
