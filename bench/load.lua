-- wrk script: rotate over the dashboard routes and stop each thread after
-- its share of the total request count.
local paths = { "/api/3/all", "/api/3/cpu", "/api/3/processlist" }
local total = tonumber(os.getenv("LOAD_REQUESTS") or "1000000")
local threads = tonumber(os.getenv("LOAD_THREADS") or "2")
local per_thread = math.ceil(total / threads)
local counter = 0
local done = 0

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

function response(status, headers, body)
  done = done + 1
  if done >= per_thread then
    wrk.thread:stop()
  end
end
