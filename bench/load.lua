-- wrk script: rotate over the dashboard routes on every connection.
local paths = { "/api/3/all", "/api/3/cpu", "/api/3/processlist" }
local counter = 0

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
