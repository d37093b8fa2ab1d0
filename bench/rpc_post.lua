-- wrk script: JSON-RPC log.append over HTTP POST /rpc (keep-alive), checks every answer.
-- Topic from the environment (RPC_TOPIC, default "bench"); value is 100 bytes.
local topic = os.getenv("RPC_TOPIC") or "bench"
local value = string.rep("YWJj", 33) -- base64 of 99 bytes "abc..."
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/rpc", nil,
    '{"jsonrpc":"2.0","id":' .. n .. ',"method":"log.append","params":{"topic":"' .. topic ..
    '","partition":0,"value":"' .. value .. '"}}')
end
local bad = 0
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"result"', 1, true) then
    bad = bad + 1
    if bad == 1 then io.stderr:write("first bad answer: " .. status .. " " .. body .. "\n") end
  end
end
done = function(summary, latency, requests)
  io.write(string.format("rpc_post: requests=%d errors(non-2xx)=%d p50=%.3fms p99=%.3fms\n",
    summary.requests, summary.errors.status, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
