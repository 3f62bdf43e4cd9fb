// The Lua every broker script starts with: the clock, the key layout, how a
// run is loaded, changed and written back, and the steps several scripts
// share (an attempt's end, a final run, a requeue, a wake-up, an event).
// docs/tasks-redis.md describes the layout these functions build.

#include "brokers/redis/broker_lua.hpp"

namespace fluid::redis {

const char* const broker_lua_library = R"lua(
redis.replicate_commands()
local P = KEYS[1]
local clock = redis.call('TIME')
local NOW = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
-- Numbers go to Redis as integer text: Lua's own tostring keeps 14 digits.
local function str(x) return string.format('%.0f', x) end
local NOW_S = str(NOW)
local EVENTS_KEPT = '10000'
local WAKES_KEPT = 255

local TASKS = P .. 'tasks'
local LEASES = P .. 'leases'
local EVENTS = P .. 'events'
local function run_key(id) return P .. 'run:' .. id end
local function task_key(task) return P .. 'task:' .. task end
local function queue_key(priority, task) return P .. 'queue:' .. priority .. ':' .. task end
local function wake_key(priority, task) return P .. 'wake:' .. priority .. ':' .. task end
local function running_key(task) return P .. 'running:' .. task end

-- A run is {f = its hash's fields, dirty = the fields changed since loaded}.
local function load_run(id)
  local flat = redis.call('HGETALL', run_key(id))
  if #flat == 0 then return nil end
  local f = {}
  for i = 1, #flat, 2 do f[flat[i]] = flat[i + 1] end
  return {f = f, dirty = {}}
end
local function set(run, field, value)
  run.f[field] = value
  run.dirty[field] = true
end
local function save(run)
  local args = {}
  for field in pairs(run.dirty) do
    args[#args + 1] = field
    args[#args + 1] = run.f[field]
  end
  if #args > 0 then redis.call('HSET', run_key(run.f.id), unpack(args)) end
  run.dirty = {}
end
-- Records travel packed, one string each: every value as its length, ':',
-- the value. An event or an answer is then one bulk string instead of a
-- name and a value per field, which Redis and Lua convert one by one.
local function pack(values)
  local parts, n = {}, 0
  for i = 1, #values do
    local value = values[i]
    parts[n + 1], parts[n + 2], parts[n + 3] = #value, ':', value
    n = n + 3
  end
  return table.concat(parts)
end
-- The run as callers see it: its public fields in RUN_FIELDS order, packed.
local function packed_run(run, overrides)
  local values = {}
  for i, field in ipairs(RUN_FIELDS) do values[i] = (overrides and overrides[field]) or run.f[field] or '' end
  return pack(values)
end

-- Event ids are 0-<n>, n counting events, so a reader sees a gap as a jump.
local function event(kind, packed)
  local n = redis.call('INCR', P .. 'event_seq')
  redis.call('XADD', EVENTS, 'MAXLEN', '~', EVENTS_KEPT, '0-' .. str(n), 'kind', kind, 'run', packed)
end
local function record(kind, run, changes, overrides)
  local packed = packed_run(run, overrides)
  event(kind, packed)
  if changes then changes[#changes + 1] = packed end
  return packed
end

-- One token per run that became claimable: a consumer blocked on the list
-- wakes; the list is bounded, and an empty claim clears its lists.
local function wake(priority, task)
  local key = wake_key(priority, task)
  redis.call('LPUSH', key, '1')
  redis.call('LTRIM', key, 0, WAKES_KEPT - 1)
end

-- Places order a queue: immediate runs by a strictly increasing clock
-- reading, delayed ones by their due time. Every place up to the last
-- immediate one is claimable, so a clock reading repeated (or stepped back)
-- delays nothing.
local function last_place() return tonumber(redis.call('GET', P .. 'place') or '0') end
local function immediate_place()
  local place = math.max(NOW, last_place() + 1)
  redis.call('SET', P .. 'place', str(place))
  return place
end
local function claimable_until() return math.max(NOW, last_place()) end

local function end_attempt(run, state, error, manager_id)
  set(run, 'state', state)
  set(run, 'end', NOW_S)
  set(run, 'error', error)
  set(run, 'manager_id', manager_id)
  local duration = 0
  if run.f.start ~= '' then duration = NOW - tonumber(run.f.start) end
  redis.call('HSET', task_key(run.f.task), 'last_run_end', NOW_S, 'last_run_state', state,
             'last_run_duration', str(duration))
end

-- Final runs expire after the retention, set once the script wrote them all.
local FINALS = {}
local function make_final(run, changes)
  save(run)
  FINALS[#FINALS + 1] = run.f.id
  record('state', run, changes)
end
local function expire_finals(retention_ms)
  local at = str(math.floor(NOW / 1000 + retention_ms) - 1)
  for _, id in ipairs(FINALS) do redis.call('PEXPIREAT', run_key(id), at) end
end

local function mark_requeued(run, changes)
  set(run, 'requeued', '1')
  save(run)
  record('state', run, changes)
end
local function queue_again(run, place, changes)
  set(run, 'state', 'queued')
  set(run, 'requeued', '0')
  set(run, 'queued', NOW_S)
  set(run, 'start', '')
  set(run, 'end', '')
  set(run, 'error', '')
  set(run, 'place', place)
  save(run)
  redis.call('ZADD', queue_key(run.f.priority, run.f.task), place, run.f.id)
  record('state', run, changes)
  wake(run.f.priority, run.f.task)
end
local function release_lease(run)
  redis.call('ZREM', LEASES, run.f.id)
  redis.call('SREM', running_key(run.f.task), run.f.id)
  set(run, 'abort_requested', '0')
  set(run, 'abort_reason', '')
end

-- ARGV[first..first+9]: id, task, priority, params, execute_after,
-- retry_attempt, rate_limit_attempt, from_run_id, root_run_id, manager_id.
local GIVEN_FIELDS = {'id', 'task', 'priority', 'params', 'execute_after', 'retry_attempt', 'rate_limit_attempt',
  'from_run_id', 'root_run_id', 'manager_id'}
local function given_run(first)
  local run = {f = {}, dirty = {}}
  for i, field in ipairs(GIVEN_FIELDS) do set(run, field, ARGV[first + i - 1]) end
  return run
end
-- Returns the run, packed, and whether it was created.
local function enqueue_run(run, delay_ms)
  local known = load_run(run.f.id)
  if known then return packed_run(known), false end
  set(run, 'state', 'queued')
  set(run, 'queued', NOW_S)
  set(run, 'start', '')
  set(run, 'end', '')
  set(run, 'error', '')
  set(run, 'requeued', '0')
  set(run, 'deliveries', '0')
  set(run, 'token', '0')
  set(run, 'abort_requested', '0')
  set(run, 'abort_reason', '')
  if delay_ms > 0 then set(run, 'execute_after', str(NOW + delay_ms * 1000)) end
  local after = tonumber(run.f.execute_after)
  local place = (after and after > NOW) and after or immediate_place()
  set(run, 'place', str(place))
  save(run)
  redis.call('SADD', TASKS, run.f.task)
  redis.call('ZADD', queue_key(run.f.priority, run.f.task), str(place), run.f.id)
  local packed = record('state', run, nil)
  wake(run.f.priority, run.f.task)
  return packed, true
end

local function task_row(name)
  local h = redis.call('HMGET', task_key(name), 'registered', 'info', 'enabled', 'max_concurrency', 'last_run_end',
                       'last_run_duration', 'last_run_state')
  if h[1] ~= '1' then return nil end
  return {name, h[2], h[3] or '1', h[4] or '0', h[5] or '', h[6] or '', h[7] or ''}
end

local function sorted_tasks()
  local names = redis.call('SMEMBERS', TASKS)
  table.sort(names)
  return names
end
)lua";

}  // namespace fluid::redis
