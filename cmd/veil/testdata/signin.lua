-- wrk script for BenchmarkFloorProcess: failed sign-ins through
-- /api/login, taking turns between one of the benchmark's accounts (as many
-- as the script's argument says: user0@example.com and on) and
-- identifiers nobody holds (veil does the same work for both), and a count
-- of every answer that is not the one 401.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  wrong = 0
  accounts = tonumber(args[1])
  -- Each run of wrk starts a new sequence: the benchmark's turns are
  -- seconds apart.
  math.randomseed(os.time())
end

function request()
  counter = counter + 1
  local id
  if counter % 2 == 0 then
    id = string.format("user%d@example.com", math.random(0, accounts - 1))
  else
    id = string.format("nobody%d-%d@example.com", counter, math.random(1, 1000000000))
  end
  local body = string.format('{"identifier":"%s","password":"wrong horse battery"}', id)
  return wrk.format("POST", "/api/login", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status ~= 401 then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + t:get("wrong")
  end
  io.write(string.format("answers other than 401: %d\n", n))
end
