-- wrk script: cycles through a storefront query mix (English, Vietnamese with and without
-- diacritics, a prefix, a typo) against /v1/search, 20 hits a page.
local qs = {"milk", "ca+chua", "c%C3%A0+chua", "nuoc+mam", "s%E1%BB%AFa+t", "tomatos", "rice",
            "tom", "thit+ba+chi", "coffee"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/v1/search?q=" .. qs[(i % #qs) + 1] .. "&per_page=20")
end
