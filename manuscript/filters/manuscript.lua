--[[
Front matter and document structure, for Quarto and for the pandoc fallback alike.

  * Keywords: a "Keywords: ..." paragraph opens the body in PDF and Word (Quarto shows `keywords`
    only in its HTML title block; pandoc's templates nowhere), and in the fallback's HTML.
  * Authors: Quarto's `author: [{name, affiliations}]` schema.  Quarto renders it itself; for the
    fallback each author becomes "Name (Affiliation, ...)" text, so that pandoc's templates print
    the name instead of "true" (a map printed as text), and Typst gets name and affiliation.
  * Links between the documents ("[Table S1](supplement.html#tbl-meta)", "[Table 3](index.html#tbl-x)"):
    links in HTML; their text only in PDF and Word, where a relative .html target goes nowhere.
  * `::: {.landscape width="29.7cm" height="21cm"}`: Quarto (1.6 and later) sets its content on
    landscape pages in Typst and Word; the fallback does the same here, with Quarto's raw blocks
    (`#set page(flipped: ...)` at the top level, outside any figure; a Word section of that size).
]]

local is_quarto = type(quarto) == "table"

local function is_html() return FORMAT:match("html") ~= nil end

local function keywords_para(meta)
  local kw = meta.keywords
  if not kw then return nil end
  local items = {}
  if pandoc.utils.type(kw) == "List" then
    for _, k in ipairs(kw) do table.insert(items, pandoc.utils.stringify(k)) end
  else
    table.insert(items, pandoc.utils.stringify(kw))
  end
  if #items == 0 then return nil end
  local inl = pandoc.Inlines({ pandoc.Strong({ pandoc.Str("Keywords:") }), pandoc.Space() })
  inl:extend(pandoc.Inlines(table.concat(items, "; ")))
  return pandoc.Div({ pandoc.Para(inl) }, pandoc.Attr("", { "keywords" }, { ["custom-style"] = "Keywords" }))
end

-- the fallback: Quarto's author schema as pandoc's templates can print it
local function plain_authors(meta)
  local authors = meta.author
  if not authors or pandoc.utils.type(authors) ~= "List" then return meta end
  local out = pandoc.List({})
  for _, a in ipairs(authors) do
    if type(a) == "table" and a.name then
      local name = pandoc.utils.stringify(a.name)
      local affs = {}
      for _, aff in ipairs(a.affiliations or {}) do
        local s = type(aff) == "table" and aff.name and pandoc.utils.stringify(aff.name) or pandoc.utils.stringify(aff)
        if s ~= "" then table.insert(affs, s) end
      end
      local affiliation = table.concat(affs, "; ")
      if FORMAT:match("typst") then
        out:insert({ name = pandoc.Inlines(name), affiliation = pandoc.Inlines(affiliation) })
      elseif affiliation ~= "" then
        out:insert(pandoc.Inlines(name .. " (" .. affiliation .. ")"))
      else
        out:insert(pandoc.Inlines(name))
      end
    else
      out:insert(a)
    end
  end
  meta.author = out
  return meta
end

local function landscape(div)
  if is_quarto or not div.classes:includes("landscape") then return nil end
  if FORMAT:match("typst") then
    local out = pandoc.Blocks({ pandoc.RawBlock("typst", "#set page(flipped: true)") })
    out:extend(div.content)
    out:insert(pandoc.RawBlock("typst", "#set page(flipped: false)"))
    return out
  end
  if FORMAT:match("docx") then
    local function twips(x)
      local num, unit = tostring(x):match("([%d%.]+)%s*(%a+)")
      num = tonumber(num)
      if unit == "cm" then return math.floor(num * 1440 / 2.54 + 0.5) end
      if unit == "in" then return math.floor(num * 1440 + 0.5) end
      error("landscape: width and height in cm or in, found '" .. tostring(x) .. "'")
    end
    local w = twips(div.attributes.width or "29.7cm")
    local h = twips(div.attributes.height or "21cm")
    local open, close = "<w:p><w:pPr><w:sectPr>", "</w:sectPr></w:pPr></w:p>"
    div.content:insert(1, pandoc.RawBlock("openxml", open .. close))
    div.content:insert(pandoc.RawBlock("openxml",
      open .. '<w:pgSz w:h="' .. h .. '" w:w="' .. w .. '" w:orient="landscape" />' .. close))
    return div
  end
  return nil
end

return {
  {
    Meta = function(meta)
      if not is_quarto then return plain_authors(meta) end
    end,
  },
  {
    Div = landscape,
    Link = function(link)
      if not is_html() and link.target:match("^%a+%.html#") then return link.content end
    end,
  },
  {
    Pandoc = function(doc)
      local show = not is_html() or not is_quarto
      local para = show and keywords_para(doc.meta)
      if para then doc.blocks:insert(1, para) end
      -- pandoc's Typst template would write the keywords unquoted (invalid Typst): shown above instead
      if not is_quarto and FORMAT:match("typst") then doc.meta.keywords = nil end
      return doc
    end,
  },
}
