-- wrk script for `make load-test`: every connection POSTs one 40-character line to /v1/write.
-- Run with as many threads as connections (-t N -c N), so each thread has one request in flight and can time it
-- (the time from sending a request to its answer, a wait after a 503 not included):
-- request() notes the time, response() files the latency under its status. done() prints one line,
-- "LOADTEST {json}", that Tests/Load/load_test.py reads: counts per status, 503s without Retry-After, and the
-- latencies (ms) of the 2xx answers and of the 503s.
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } quill_timespec;
  int clock_gettime(int clock, quill_timespec *ts);
]]
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("quill_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local text = os.getenv("LOAD_TEXT") or "Quill writes by hand on an ordinary CPU."
-- LOAD_BACKOFF=1: after a 503 the client waits Retry-After seconds before its next request, as a polite client
-- does; 0: it asks again at once (and so does every other refused client: a storm of 503s).
local backoff = os.getenv("LOAD_BACKOFF") ~= "0"
local wait_ms = 0
local body = string.format('{"text": "%s", "bias": 1, "seed": 7}', text)
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  started, statuses, ok_ms, busy_ms, no_retry_after = nil, {}, {}, {}, 0
end

function delay()
  local d = wait_ms
  wait_ms = 0
  return d
end

function request()
  started = now_ms()
  return wrk.format("POST", "/v1/write", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, _)
  local elapsed = now_ms() - (started or now_ms())
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 200 and status < 300 then
    table.insert(ok_ms, elapsed)
  elseif status == 503 then
    table.insert(busy_ms, elapsed)
    local retry = headers["Retry-After"] or headers["retry-after"]
    if retry == nil then no_retry_after = no_retry_after + 1 end
    if backoff then wait_ms = (tonumber(retry) or 1) * 1000 end
  end
end

local function json_numbers(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = string.format("%.3f", v) end
  return "[" .. table.concat(out, ",") .. "]"
end

function done(summary, _, _)
  local per_thread = {}
  for _, thread in ipairs(threads) do
    local parts = {}
    for status, n in pairs(thread:get("statuses")) do table.insert(parts, string.format('"%d": %d', status, n)) end
    table.insert(per_thread, string.format('{"statuses": {%s}, "ok_ms": %s, "busy_ms": %s, "no_retry_after": %d}',
      table.concat(parts, ", "), json_numbers(thread:get("ok_ms")), json_numbers(thread:get("busy_ms")),
      thread:get("no_retry_after")))
  end
  local e = summary.errors
  io.write(string.format('LOADTEST {"duration_us": %d, "requests": %d, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "status": %d}, "threads": [%s]}\n', summary.duration, summary.requests,
    e.connect, e.read, e.write, e.timeout, e.status, table.concat(per_thread, ", ")))
end
