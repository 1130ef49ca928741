--[[
House style for tables and figures, for Quarto and for the pandoc fallback alike.

Tables
  * Column widths are left to the renderer (auto layout), so a column is as
    wide as its content and text columns wrap, never numeric ones; the relative
    widths a pipe table's rule line implies are dropped.
  * A caption is split into a title (its first sentence, which keeps the
    `{#tbl-...}` label) and table notes (the rest: abbreviations, methods,
    footnotes), which are set below the table in small type: a Typst
    `#tablenote[...]` (defined in preamble.typ), a Word paragraph in the
    "Table Note" style, an HTML `<div class="table-note">`.  Under Quarto
    the caption of a labelled table is a FloatRefTarget's (see below).
  * Wide tables are set on landscape pages by a `::: {.landscape}` div in
    the source (Quarto's own feature; filters/manuscript.lua for the fallback).
Figures
  * In Typst and Word an image without a width is set at the width of the text
    block; the figures are drawn at that width, so their fonts print at the size
    they were drawn at.

Cell typography (no justification, no hyphenation, booktabs rules) is
preamble.typ's and style.css's job; intervals arrive as unbreakable units
from analysis.publish.format.ci.
]]

local function is_space(el)
  return el and (el.t == "Space" or el.t == "SoftBreak" or el.t == "LineBreak")
end

-- Index of the inline that ends the caption's first sentence, or nil.
local function first_sentence_end(inlines)
  for i, el in ipairs(inlines) do
    if el.t == "Str" and el.text:match("[%.]$") and not el.text:match("^{#") then
      local word = el.text
      local abbreviation = word:match("^e%.g%.$") or word:match("^i%.e%.$") or word:match("^vs%.$")
        or word:match("^%u%.$") or word:match("^al%.$")
      if not abbreviation and (i == #inlines or is_space(inlines[i + 1])) then
        return i
      end
    end
  end
  return nil
end

-- Cut the note (everything after the first sentence) off a caption's inlines, in place; returns it.
local function split_inlines(inl)
  local label = nil
  local last = inl[#inl]
  if last and last.t == "Str" and last.text:match("^{#tbl%-[%w_%-]+}$") then
    label = inl:remove(#inl)
    while #inl > 0 and is_space(inl[#inl]) do inl:remove(#inl) end
  end
  local cut = first_sentence_end(inl)
  local note = pandoc.Inlines({})
  if cut and cut < #inl then
    for i = cut + 1, #inl do note:insert(inl[i]) end
    while #note > 0 and is_space(note[1]) do note:remove(1) end
    for _ = #inl, cut + 1, -1 do inl:remove(#inl) end
  end
  if label then
    inl:insert(pandoc.Space())
    inl:insert(label)
  end
  if #note == 0 then return nil end
  return note
end

local function split_caption(tbl)
  local blocks = tbl.caption.long
  if #blocks ~= 1 or not blocks[1].content then return nil end
  local inl = blocks[1].content
  local note = split_inlines(inl)
  blocks[1].content = inl
  tbl.caption.long = blocks
  return note
end

local function note_blocks(note)
  if FORMAT:match("typst") then
    return {
      pandoc.RawBlock("typst", "#tablenote["),
      pandoc.Plain(note),
      pandoc.RawBlock("typst", "]"),
    }
  end
  local attr = pandoc.Attr("", { "table-note" }, { ["custom-style"] = "Table Note" })
  return { pandoc.Div({ pandoc.Para(note) }, attr) }
end

-- "0.83 (0.63-0.98)": an estimate and its interval stay together (a non-breaking space)
local function bind_estimates(cell)
  return cell:walk({
    Inlines = function(inl)
      for i = #inl - 1, 2, -1 do
        if inl[i].t == "Space" and inl[i - 1].t == "Str" and inl[i + 1].t == "Str"
          and inl[i - 1].text:match("%d$") and inl[i + 1].text:match("^%(%d") then
          inl[i - 1] = pandoc.Str(inl[i - 1].text .. "\u{00A0}" .. inl[i + 1].text)
          inl:remove(i + 1)
          inl:remove(i)
        end
      end
      return inl
    end,
  })
end

function Table(tbl)
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = { spec[1], pandoc.ColWidthDefault }
  end
  tbl = bind_estimates(tbl)
  -- the fallback (and Quarto for a table without a label): the caption is still the table's own
  local note = split_caption(tbl)
  local out = { tbl }
  for _, b in ipairs(note and note_blocks(note) or {}) do table.insert(out, b) end
  return out
end

-- Quarto (1.4 and later) moves a labelled table's caption into a FloatRefTarget before this filter
-- runs, so the Table above sees none: split it here, the note set below the table inside the float
-- (a Typst #tablenote inside Quarto's #figure is fine there; page settings would not be).
function FloatRefTarget(float)
  if float.type ~= "Table" or not float.caption_long or not float.caption_long.content then return nil end
  local note = split_inlines(float.caption_long.content)
  if not note then return nil end
  local content = float.content
  if pandoc.utils.type(content) ~= "Blocks" then content = pandoc.Blocks({ content }) end
  for _, b in ipairs(note_blocks(note)) do content:insert(b) end
  float.content = content
  return float
end

function Image(img)
  if (FORMAT:match("typst") or FORMAT:match("docx")) and not img.attributes.width then
    img.attributes.width = "100%"
  end
  return img
end
