--[[
Last touches on numbers, after cross-references and citations are resolved (Quarto: `at: post-render`
in _quarto.yml; the fallback runs it last).

  * "Table S 1" -> "Table S1": Quarto puts a (non-breaking) space between a caption or reference
    prefix and its number, and the supplement's prefixes (`tbl-title`, `tbl-prefix`: "Table S") end
    in S.  The fallback's crossref.lua writes "Table S1" already; then nothing changes here.
  * PDF: a page range in the references ("1282–91") is kept on one line (Typst breaks after a dash).
]]

local NBSP = "\u{00A0}"

local function is_gap(el)
  return el and (el.t == "Space" or (el.t == "Str" and el.text == NBSP))
end

local function titled(el)
  return el and el.t == "Str" and (el.text:match("Table$") or el.text:match("Figure$"))
end

-- "Table" gap "S" gap "1:" (or "Table S" "\u{a0}1:", or one string "Table\u{a0}S\u{a0}1:") -> "Table S1:"
local function join_s_numbers(inl)
  local i = 1
  while i <= #inl do
    local el = inl[i]
    if el.t == "Str" then
      el.text = el.text:gsub("((Table)" .. NBSP .. "S)" .. NBSP .. "(%d)", "%1%3")
      el.text = el.text:gsub("((Figure)" .. NBSP .. "S)" .. NBSP .. "(%d)", "%1%3")
      if el.text:match("^S" .. NBSP .. "%d") and is_gap(inl[i - 1]) and titled(inl[i - 2]) then
        el.text = "S" .. el.text:sub(1 + #"S" + #NBSP)
      elseif el.text == "S" and is_gap(inl[i - 1]) and titled(inl[i - 2]) then
        local nxt = inl[i + 1]
        if is_gap(nxt) and inl[i + 2] and inl[i + 2].t == "Str" and inl[i + 2].text:match("^%d") then
          el.text = "S" .. inl[i + 2].text
          inl:remove(i + 2)
          inl:remove(i + 1)
        elseif nxt and nxt.t == "Str" and nxt.text:match("^" .. NBSP .. "%d") then
          el.text = "S" .. nxt.text:sub(#NBSP + 1)
          inl:remove(i + 1)
        end
      end
    end
    i = i + 1
  end
  return inl
end

local function unbreakable_ranges(div)
  if not (FORMAT:match("typst") and div.identifier == "refs") then return nil end
  return div:walk({
    Str = function(s)
      local pre, range, post = s.text:match("^(.-)(%d+\u{2013}%d+)(.*)$")
      if not range then pre, range, post = s.text:match("^(.-)(%d+%-%d+)(.*)$") end
      if range then
        local out = pandoc.Inlines({})
        if pre ~= "" then out:insert(pandoc.Str(pre)) end
        out:insert(pandoc.RawInline("typst", "#box[" .. range .. "]"))
        if post ~= "" then out:insert(pandoc.Str(post)) end
        return out
      end
    end,
  })
end

return {
  { Inlines = join_s_numbers },
  { Div = unbreakable_ranges },
}
