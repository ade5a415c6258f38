-- wrk script for the pipelined run: every write carries `depth` copies of the
-- request wrk would otherwise send alone (same method, path and -H headers), and
-- wrk waits for all of their responses before it writes again.
--
--   WRK_CONNECTIONS=100 wrk -c100 ... -s pipeline.lua http://127.0.0.1:8080/plaintext -- 16
--
-- The argument is the depth (16). done() runs in wrk's main Lua state, which
-- never sees the arguments, so it takes wrk's -c from WRK_CONNECTIONS; without
-- it no batch p99 is printed.
-- wrk counts each response, so Requests/sec stays per request, not per batch.

local batch

function init(args)
   local depth = tonumber(args[1]) or 16
   local copies = {}
   for i = 1, depth do
      copies[i] = wrk.format()
   end
   batch = table.concat(copies)
end

-- Defining request makes wrk call it per write; it only hands back the batch
-- built once in init, so the Lua cost is one call per `depth` requests.
function request()
   return batch
end

-- wrk records one latency per batch, then "corrects" for coordinated omission
-- assuming one request per round trip: it takes an interval
-- e = duration / (responses / connections) and, for each recorded latency n,
-- adds a sample at n-e, n-2e, ... while above e. Pipelined, e is `depth` times
-- too small, so the added samples swamp the real ones, some land below the
-- minimum where its percentile walk never looks, and wrk prints 0 for p99.
--
-- The correction is exactly reversible: with C the corrected counts and O the
-- recorded ones, C[m] = O[m] + O[m+e] + O[m+2e] + ... for m > e, so the
-- recorded samples above v number F(v+e) - F(v), where F is C's cumulative
-- count; and all of them number F(a+e-1) with a = max(min, e+1). F is read
-- (in units of wrk's total count, which cancels) by bisecting
-- latency:percentile. The batch p99 printed below is the smallest v with at
-- most 1% of the recorded batches above it.

local function cumulative(latency, x)
   local lo, hi = 0, 100
   for _ = 1, 45 do
      local mid = (lo + hi) / 2
      local v = latency:percentile(mid)
      if v ~= 0 and v <= x then lo = mid else hi = mid end
   end
   return lo / 100
end

function done(summary, latency, requests)
   local conns = tonumber(os.getenv("WRK_CONNECTIONS") or "")
   if not conns or conns <= 0 then
      return
   end
   local per = math.floor(summary.requests / conns)
   if per == 0 or latency.max == 0 then
      return -- wrk made no correction, or recorded nothing
   end
   local e = math.floor(summary.duration / per)
   local a = math.max(latency.min, e + 1)
   local total = cumulative(latency, a + e - 1)
   local lo, hi = a - 1, latency.max -- above lo: more than 1%; above hi: none
   while hi - lo > 1 do
      local v = math.floor((lo + hi) / 2)
      if cumulative(latency, v + e) - cumulative(latency, v) <= 0.01 * total then
         hi = v
      else
         lo = v
      end
   end
   io.write(string.format("Batch p99 latency: %dus\n", hi))
end
