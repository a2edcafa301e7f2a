-- wrk script for bench/ingest.py: POSTs the batches of a file (one JSON body a line), each
-- with a fresh batch_id, and prints the run's figures as one JSON line when done.
-- wrk -s bench/ingest.lua URL -- BODIES_FILE TOKEN RUN_TAG

local bodies = {}
local token, tag
local counter = 0
local threads = {}
local placeholder = string.rep("x", 32)

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   token, tag = args[2], args[3]
   for line in io.lines(args[1]) do
      local at = line:find(placeholder, 1, true)
      table.insert(bodies, { line:sub(1, at - 1), line:sub(at + #placeholder) })
   end
   wrk.method = "POST"
   wrk.headers["Authorization"] = "Bearer " .. token
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local parts = bodies[counter % #bodies + 1]
   local id = string.format("%s-%d-%09d", tag, tid, counter)
   id = id .. string.rep("0", 32 - #id)
   return wrk.format(nil, nil, nil, parts[1] .. id .. parts[2])
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "status_errors": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, '
         .. '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.max))
end
