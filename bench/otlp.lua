-- wrk script for bench/ingest.py --otlp: POSTs OTLP protobuf export requests, read from the
-- files BODIES_PREFIX1.pb .. BODIES_PREFIXn.pb (binary, one request each), in turn. With KEYS
-- "keyed" each request carries a fresh Idempotency-Key (the OTLP path's only idempotency key;
-- the SDK sends none); prints the run's figures as one JSON line when done.
-- wrk -s bench/otlp.lua URL -- BODIES_PREFIX TOKEN RUN_TAG COUNT KEYS

local bodies = {}
local token, tag, keyed
local counter = 0
local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   token, tag, keyed = args[2], args[3], args[5] == "keyed"
   for n = 1, tonumber(args[4]) do
      local file = assert(io.open(args[1] .. n .. ".pb", "rb"))
      table.insert(bodies, file:read("*a"))
      file:close()
   end
   wrk.method = "POST"
   wrk.headers["Authorization"] = "Bearer " .. token
   wrk.headers["Content-Type"] = "application/x-protobuf"
end

function request()
   counter = counter + 1
   if keyed then
      wrk.headers["Idempotency-Key"] = string.format("%s-%d-%09d", tag, tid, counter)
   end
   return wrk.format(nil, nil, nil, bodies[counter % #bodies + 1])
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "status_errors": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, '
         .. '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.max))
end
