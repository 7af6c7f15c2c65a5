-- wrk script: GET /api/v1/products/{id}, rotating over the active demo products
-- (ids 1..180; every 10th id is a draft that answers 404, so those are skipped).
local ids = {}
for i = 1, 180 do
  if i % 10 ~= 0 then ids[#ids + 1] = i end
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/products/" .. ids[(n % #ids) + 1])
end
