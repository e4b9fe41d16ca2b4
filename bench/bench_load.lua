-- One simulated member of staff per wrk thread (bench/bench_load.py starts wrk with
-- `-t N -c N`: one connection per thread, so request() and response() strictly alternate
-- and this thread's Lua state is that person's browser: cookie, pending steps, feed ETag).
--
--   wrk -t N -c N -d 120s --timeout 30s -s bench/bench_load.lua URL -- PLAN OUT THINK_MS
--
-- PLAN (written by bench_load.py): "site <id>", "days <d1,d2,...>", "resources <ids>",
-- then one "user <session cookie> <feed path>" line per person, already logged in.
-- OUT: a folder; each thread writes samples-<n>.tsv (page, status, ms, ok|error|skip).
-- THINK_MS: the mean pause between steps (exponential, at most four times the mean).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } samlokal_timespec;
  int clock_gettime(int clock_id, samlokal_timespec *tp);
]]
local timespec = ffi.new("samlokal_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

-- setup() runs in wrk's main thread once per thread: it numbers them.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("number", counter)
end

local site, days, resources, cookie, feed, etag
local think_ms, out
local queue, current, started = {}, nil, 0
local first = true

local function split(text, sep)
  local parts = {}
  for part in string.gmatch(text, "[^" .. sep .. "]+") do parts[#parts + 1] = part end
  return parts
end

function init(args)
  local plan, folder = args[1], args[2]
  think_ms = tonumber(args[3])
  math.randomseed(number * 7919 + 17)
  local users = {}
  for line in io.lines(plan) do
    local fields = split(line, " ")
    if fields[1] == "site" then site = fields[2]
    elseif fields[1] == "days" then days = split(fields[2], ",")
    elseif fields[1] == "resources" then resources = split(fields[2], ",")
    elseif fields[1] == "user" then users[#users + 1] = { fields[2], fields[3] } end
  end
  local me = users[(number - 1) % #users + 1]
  cookie, feed = me[1], me[2]
  out = io.open(folder .. "/samples-" .. number .. ".tsv", "w")
  out:setvbuf("full")
end

local function pick(list) return list[math.random(#list)] end

local function urlencode(text)
  return (string.gsub(tostring(text), "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local function unescape(text)
  text = string.gsub(text, "&#(%d+);", function(n) return string.char(tonumber(n)) end)
  text = string.gsub(text, "&#x(%x+);", function(n) return string.char(tonumber(n, 16)) end)
  text = string.gsub(text, "&quot;", '"')
  text = string.gsub(text, "&lt;", "<")
  text = string.gsub(text, "&gt;", ">")
  return (string.gsub(text, "&amp;", "&"))
end

local function form_body(fields)
  local parts = {}
  for _, pair in ipairs(fields) do parts[#parts + 1] = urlencode(pair[1]) .. "=" .. urlencode(pair[2]) end
  return table.concat(parts, "&")
end

local function csrf(body)
  local token = string.match(body, 'name="csrf_token"[^>]-value="([^"]+)"')
  return token and unescape(token)
end

-- A step is a list of functions; each returns the next request of the step, or nil to end
-- the step early (e.g. nothing to cancel). Later requests read what earlier answers held.
local function get(name, path, expect, after)
  return { name = name, method = "GET", path = path, expect = expect or { [200] = true }, after = after }
end

local function post(name, path, fields, expect, after)
  return { name = name, method = "POST", path = path, body = form_body(fields),
           expect = expect or { [302] = true }, after = after }
end

local POSTED = { [302] = true, [409] = true, [422] = true }

local function outcome(name)
  return function(status) out:write(name, "\t", status, "\t0\toutcome\n") end
end

local function week()
  return { function() return get("week grid", "/bookings/?site=" .. site .. "&view=week&day=" .. pick(days)) end }
end

local function day()
  return { function() return get("day grid", "/bookings/?site=" .. site .. "&view=day&day=" .. pick(days)) end }
end

local function find_and_book()
  local fields
  local hour = math.random(8, 15)
  local search = string.format("/bookings/find?site=%s&day=%s&start=%02d:00&end=%02d:00&people=%d&kind=room",
                               site, pick(days), hour, hour + 1, math.random(1, 4))
  return {
    function()
      return get("find a free room", search, nil, function(status, body)
        local form = string.match(body, '<form method="post" action="/bookings/new"[^>]*>(.-)</form>')
        if not form then return end
        fields = {}
        for name, value in string.gmatch(form, 'name="([^"]+)" value="([^"]*)"') do
          fields[#fields + 1] = { name, unescape(value) }
        end
      end)
    end,
    function()
      if not fields then return nil end
      return post("book (from the search)", "/bookings/new", fields, POSTED, outcome("booked from the search"))
    end,
  }
end

local function book_from_form()
  local token, seen_at
  local resource, when, hour = pick(resources), pick(days), math.random(8, 15)
  return {
    function()
      return get("booking form", string.format("/bookings/new?resource=%s&day=%s&start=%02d:00", resource, when, hour),
                 nil, function(status, body)
        token = csrf(body)
        seen_at = string.match(body, 'name="seen_at" type="hidden" value="([^"]+)"')
      end)
    end,
    function()
      if not token then return nil end
      return post("book (from the form)", "/bookings/new", {
        { "csrf_token", token }, { "seen_at", seen_at or "" }, { "title", "Lastprov" },
        { "resource_id", resource }, { "day", when }, { "start", string.format("%02d:00", hour) },
        { "end", string.format("%02d:00", hour + 1) }, { "attendees", 1 }, { "booked_for_id", 0 },
        { "repeat", "none" }, { "ends", "count" }, { "count", 1 } }, POSTED, outcome("booked from the form"))
    end,
  }
end

local function cancel()
  local occurrence, token
  return {
    function()
      return get("my bookings", "/bookings/mine", nil, function(status, body)
        local mine = {}
        for id in string.gmatch(body, 'href="/bookings/occurrences/(%d+)"') do mine[#mine + 1] = id end
        if #mine > 0 then occurrence = pick(mine) end
      end)
    end,
    function()
      if not occurrence then return nil end
      return get("one booking", "/bookings/occurrences/" .. occurrence, nil,
                 function(status, body) token = csrf(body) end)
    end,
    function()
      if not token then return nil end
      return post("cancel", "/bookings/occurrences/" .. occurrence .. "/cancel",
                  { { "csrf_token", token }, { "scope", "all" } }, nil, outcome("cancelled"))
    end,
  }
end

local function mine()
  return { function() return get("my bookings", "/bookings/mine") end }
end

local function seminars()
  local pages = {}
  return {
    function()
      return get("seminar list", "/seminars/", nil, function(status, body)
        for id in string.gmatch(body, 'href="/seminars/(%d+)"') do pages[#pages + 1] = id end
      end)
    end,
    function()
      if #pages == 0 then return nil end
      return get("one seminar", "/seminars/" .. pick(pages))
    end,
  }
end

local function poll_feed()
  return { function()
    if feed == "-" then return nil end
    local request = get("calendar feed", feed, { [200] = true, [304] = true }, function(status, body, headers)
      etag = headers["ETag"] or headers["etag"] or etag
    end)
    request.headers = etag and { ["If-None-Match"] = etag } or nil
    return request
  end }
end

-- What people do, and how often (weights): mostly look at the week, then book and cancel.
local STEPS = { { week, 30 }, { day, 10 }, { find_and_book, 15 }, { book_from_form, 10 },
                { cancel, 10 }, { mine, 10 }, { seminars, 10 }, { poll_feed, 5 } }
local TOTAL = 0
for _, step in ipairs(STEPS) do TOTAL = TOTAL + step[2] end

local function next_step()
  local roll = math.random() * TOTAL
  for _, step in ipairs(STEPS) do
    roll = roll - step[2]
    if roll <= 0 then return step[1]() end
  end
  return STEPS[1][1]()
end

local function think()
  local pause = -think_ms * math.log(1 - math.random())
  return math.floor(math.min(pause, 4 * think_ms))
end

function delay()
  if first then
    first = false
    return math.random(0, 2 * think_ms) -- a morning, not a thundering herd
  end
  if #queue == 0 then
    queue = next_step()
    return think()
  end
  return 0
end

function request()
  while true do
    if #queue == 0 then queue = next_step() end
    local make = table.remove(queue, 1)
    local made = make()
    if made then
      current = made
      -- A browser keeps its connection to nginx (bench_load.py puts nginx before gunicorn as
      -- deploy/nginx.conf does): a person thinking holds no gunicorn worker or thread.
      local headers = { Cookie = cookie }
      if made.body then headers["Content-Type"] = "application/x-www-form-urlencoded" end
      for key, value in pairs(made.headers or {}) do headers[key] = value end
      started = now_ms()
      return wrk.format(made.method, made.path, headers, made.body)
    end
    queue = {} -- the step ended early: the next one starts at once
  end
end

function response(status, headers, body)
  local ms = now_ms() - started
  local made = current
  if not made then return end
  current = nil
  local set = headers["Set-Cookie"] or headers["set-cookie"]
  if set then
    local name, value = string.match(set, "^([^=]+)=([^;]*)")
    if name == "session" and value ~= "" then cookie = "session=" .. value end
  end
  local verdict = made.expect[status] and "ok" or ("error " .. made.method .. " " .. made.path
                  .. " -> " .. (headers["Location"] or headers["location"] or ""))
  out:write(made.name, "\t", status, "\t", string.format("%.2f", ms), "\t", verdict, "\n")
  if made.after then made.after(status, body, headers) end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk: %d requests in %.1f s; socket errors connect %d, read %d, write %d, timeout %d; status > 399: %d\n",
                         summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.timeout, e.status))
end
