-- The benchmark's wrk driver (test/load/wrk.go writes this file next to
-- the results and runs `wrk -s wrk.lua URL -- MODE DATA THREADS`).
--
-- DATA holds one request per line, "kind<TAB>token<TAB>body". The kind is
-- a path (GET when the body is empty, else POST) or one of refresh, login
-- and register; the token goes into Authorization: Bearer, the body is
-- sent as JSON. Modes:
--   pick    a random line per request (GET /me, POST /authorize)
--   collect a random login per request, keeping the token pairs returned
--   rotate  refresh: each line is a refresh token, spent once; the token a
--           200 returns goes back into the thread's pool
--   unique  register: every body's "%d" becomes a number unique to the run
--   mix     70% a random path line, 20% rotate, 10% a random login
-- done() writes the run's numbers as one JSON object to $UMS_WRK_OUT, and
-- the token pairs collected (or the refresh tokens left unspent) one per
-- line to $UMS_WRK_OUT.tokens.

local threads, nthreads = {}, 0

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

local function header(token)
  local h = { ["Content-Type"] = "application/json" }
  if token ~= "" then h["Authorization"] = "Bearer " .. token end
  return h
end

function init(args)
  mode, file, total = args[1], args[2], tonumber(args[3])
  math.randomseed(os.time() * 100 + tid)
  statuses, pairs_out, serial = {}, {}, 0
  picks, pool, logins, kinds = {}, {}, {}, {}
  local i = 0
  for line in io.lines(file) do
    local kind, token, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local method = (body == "" and "GET" or "POST")
    if kind == "refresh" then
      -- Refresh tokens are split between threads: a token sent twice would
      -- be reuse and end its session.
      if i % total == tid then table.insert(pool, token) end
    elseif kind == "login" then
      table.insert(logins, wrk.format("POST", "/api/v1/auth/login", header(""), body))
    elseif kind == "register" then
      table.insert(logins, body)
    else
      table.insert(picks, wrk.format(method, kind, header(token), body))
    end
    i = i + 1
  end
  if mode ~= "pick" then response = on_response end
end

local function refresh_request()
  local t = table.remove(pool, math.random(#pool > 0 and #pool or 1))
  if t == nil then t = "pool-empty" end
  return wrk.format("POST", "/api/v1/auth/refresh", header(""), '{"refresh_token":"' .. t .. '"}')
end

function request()
  if mode == "pick" or mode == "collect" then
    if #picks > 0 then return picks[math.random(#picks)] end
    return logins[math.random(#logins)]
  elseif mode == "rotate" then
    return refresh_request()
  elseif mode == "unique" then
    serial = serial + 1
    local body = logins[1]:gsub("%%d", tid .. "x" .. serial)
    return wrk.format("POST", "/api/v1/auth/register", header(""), body)
  end
  local r = math.random()
  if r < 0.7 then return picks[math.random(#picks)] end
  if r < 0.9 and #pool > 0 then return refresh_request() end
  return logins[math.random(#logins)]
end

function on_response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 200 then return end
  local refresh = body:match('"refresh_token":"([^"]+)"')
  if refresh == nil then return end
  if mode == "collect" then
    local access = body:match('"access_token":"([^"]+)"')
    table.insert(pairs_out, access .. "\t" .. refresh)
  else
    table.insert(pool, refresh)
  end
end

function done(summary, latency, requests)
  local counted, all_pairs = {}, {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses") or {}) do
      counted[status] = (counted[status] or 0) + n
    end
    for _, p in ipairs(t:get("pairs_out") or {}) do table.insert(all_pairs, p) end
    for _, p in ipairs(t:get("pool") or {}) do table.insert(all_pairs, p) end
  end
  local parts = {}
  for status, n in pairs(counted) do table.insert(parts, string.format('"%d":%d', status, n)) end
  local e = summary.errors
  local out = io.open(os.getenv("UMS_WRK_OUT"), "w")
  out:write(string.format('{"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"non_2xx":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout, e.status, table.concat(parts, ",")))
  out:close()
  if #all_pairs > 0 then
    local f = io.open(os.getenv("UMS_WRK_OUT") .. ".tokens", "w")
    f:write(table.concat(all_pairs, "\n"), "\n")
    f:close()
  end
end
