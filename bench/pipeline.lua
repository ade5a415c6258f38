-- wrk script for the pipelined run: every write carries `depth` copies of the
-- request wrk would otherwise send alone (same method, path and -H headers), and
-- wrk waits for all of their responses before it writes again.
--
--   wrk ... -s pipeline.lua http://127.0.0.1:8080/plaintext -- 16
--
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
