// The Lua every broker script starts with: the clock, the key layout, how a
// run is loaded, changed and written back, and the steps several scripts
// share (an attempt's end, a final run, a requeue, a wake-up, an event).
// docs/tasks-redis.md describes the layout these functions build.
//
// A script changes its runs and counters in Lua and writes them at its end
// (commit): each run touched one HSET however many steps changed it, each
// counter one GET and one SET, each set or wake-up list one command for all
// its members. A batch of runs then costs Redis a few commands a run, not a
// dozen; what is read in between comes from the script's own copies.

#include "brokers/redis/broker_lua.hpp"

namespace fluid::redis {

const char* const broker_lua_library = R"lua(
redis.replicate_commands()
local P = KEYS[1]
local clock = redis.call('TIME')
local NOW = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
-- Numbers go to Redis as integer text: Lua's own tostring keeps 14 digits,
-- and '%.0f' of a 16-digit number takes glibc's multi-precision path (a
-- tenth of the broker's time in a W7 profile); every number here is whole.
local function str(x) return string.format('%d', x) end
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

-- A run is {f = its hash's fields, dirty = the fields changed since
-- loaded}, loaded once a script: a second step on it sees the first's changes.
local RUNS, TOUCHED = {}, {}
local function load_run(id)
  if RUNS[id] then return RUNS[id] end
  local flat = redis.call('HGETALL', run_key(id))
  if #flat == 0 then return nil end
  local f = {}
  for i = 1, #flat, 2 do f[flat[i]] = flat[i + 1] end
  RUNS[id] = {f = f, dirty = {}}
  return RUNS[id]
end
-- A field set to the value it holds is not written again.
local function set(run, field, value)
  if run.f[field] == value then return end
  run.f[field] = value
  run.dirty[field] = true
end
-- Marks the run to be written at commit().
local function save(run)
  if not run.saved then
    run.saved = true
    TOUCHED[#TOUCHED + 1] = run
  end
  RUNS[run.f.id] = run
end
local function write_runs()
  for _, run in ipairs(TOUCHED) do
    local args, n = {}, 0
    for field in pairs(run.dirty) do
      args[n + 1], args[n + 2] = field, run.f[field]
      n = n + 2
    end
    if n > 0 then redis.call('HSET', run_key(run.f.id), unpack(args)) end
    run.dirty, run.saved = {}, false
  end
  TOUCHED = {}
end

-- Counters (event numbers, fencing tokens, queue places) are read on first
-- use and written back at commit().
local COUNTERS = {}
local function counter(name)
  if not COUNTERS[name] then COUNTERS[name] = {value = tonumber(redis.call('GET', P .. name) or '0')} end
  return COUNTERS[name]
end
local function next_number(name)
  local c = counter(name)
  c.value, c.changed = c.value + 1, true
  return c.value
end
local function write_counters()
  for name, c in pairs(COUNTERS) do
    if c.changed then redis.call('SET', P .. name, str(c.value)) end
    c.changed = false
  end
end

-- Members added to or removed from a set or sorted set, one command a key
-- at commit(); a key switching between adding and removing is written
-- before the switch, so the order of the steps holds.
local MEMBERS, MEMBER_KEYS = {}, {}
local function write_members(key)
  local m = MEMBERS[key]
  if m then
    for first = 1, #m.args, 1000 do  -- unpack() is bounded by Lua's stack; even, for score-member pairs
      redis.call(m.command, key, unpack(m.args, first, math.min(first + 999, #m.args)))
    end
  end
  MEMBERS[key] = nil
end
local function member(command, key, ...)
  local m = MEMBERS[key]
  if m and m.command ~= command then
    write_members(key)
    m = nil
  end
  if not m then
    m = {command = command, args = {}}
    MEMBERS[key] = m
    MEMBER_KEYS[#MEMBER_KEYS + 1] = key
  end
  for _, arg in ipairs({...}) do m.args[#m.args + 1] = arg end
end
local function write_all_members()
  for _, key in ipairs(MEMBER_KEYS) do write_members(key) end
  MEMBER_KEYS = {}
end
-- Records travel packed, one string each: every value as its length, ':',
-- the value. An event or an answer is then one bulk string instead of a
-- name and a value per field, which Redis and Lua convert one by one.
-- The length prefixes, each formatted once a script (a number in
-- table.concat is one sprintf).
local PREFIXES = {}
local function pack(values)
  local parts = {}
  for i = 1, #values do
    local value = values[i]
    local length = #value
    local prefix = PREFIXES[length]
    if not prefix then
      prefix = length .. ':'
      PREFIXES[length] = prefix
    end
    parts[2 * i - 1], parts[2 * i] = prefix, value
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
-- Appended at commit(), with the counter: a script failing half-way (bad
-- data) then leaves no event behind a counter that did not move.
local EVENTS_PENDING = {}
local function event(kind, packed)
  EVENTS_PENDING[#EVENTS_PENDING + 1] = {kind, packed}
end
local function write_events()
  for _, e in ipairs(EVENTS_PENDING) do
    local n = next_number('event_seq')
    redis.call('XADD', EVENTS, 'MAXLEN', '~', EVENTS_KEPT, '0-' .. str(n), 'kind', e[1], 'run', e[2])
  end
  EVENTS_PENDING = {}
end
local function record(kind, run, changes, overrides)
  local packed = packed_run(run, overrides)
  event(kind, packed)
  if changes then changes[#changes + 1] = packed end
  return packed
end

-- One token per run that became claimable: a consumer blocked on the list
-- wakes; the list is bounded, and an empty claim clears its lists.
local WAKES, WAKE_KEYS = {}, {}
local function wake(priority, task)
  local key = wake_key(priority, task)
  if not WAKES[key] then
    WAKES[key] = 0
    WAKE_KEYS[#WAKE_KEYS + 1] = key
  end
  WAKES[key] = WAKES[key] + 1
end
local function write_wakes()
  for _, key in ipairs(WAKE_KEYS) do
    local tokens = {}
    for i = 1, math.min(WAKES[key], WAKES_KEPT) do tokens[i] = '1' end
    redis.call('LPUSH', key, unpack(tokens))
    redis.call('LTRIM', key, 0, WAKES_KEPT - 1)
  end
  WAKES, WAKE_KEYS = {}, {}
end

-- Places order a queue: immediate runs by a strictly increasing clock
-- reading, delayed ones by their due time. Every place up to the last
-- immediate one is claimable, so a clock reading repeated (or stepped back)
-- delays nothing.
local function immediate_place()
  local c = counter('place')
  c.value, c.changed = math.max(NOW, c.value + 1), true
  return c.value
end
local function claimable_until() return math.max(NOW, counter('place').value) end

-- A task's last run, written at commit().
local LAST_RUNS, LAST_RUN_TASKS = {}, {}
local function end_attempt(run, state, error, manager_id)
  set(run, 'state', state)
  set(run, 'end', NOW_S)
  set(run, 'error', error)
  set(run, 'manager_id', manager_id)
  local duration = 0
  if run.f.start ~= '' then duration = NOW - tonumber(run.f.start) end
  if not LAST_RUNS[run.f.task] then LAST_RUN_TASKS[#LAST_RUN_TASKS + 1] = run.f.task end
  LAST_RUNS[run.f.task] = {state, str(duration)}
end
local function write_last_runs()
  for _, task in ipairs(LAST_RUN_TASKS) do
    local last = LAST_RUNS[task]
    redis.call('HSET', task_key(task), 'last_run_end', NOW_S, 'last_run_state', last[1], 'last_run_duration', last[2])
  end
  LAST_RUNS, LAST_RUN_TASKS = {}, {}
end

-- Final runs expire after the retention, set once the script wrote them all.
local FINALS = {}
local function make_final(run, changes)
  save(run)
  FINALS[#FINALS + 1] = run.f.id
  record('state', run, changes)
end

-- Writes what the script's steps changed; every script that changes runs
-- ends with it (`retention_ms` for the runs made final).
local function commit(retention_ms)
  write_runs()
  write_events()
  write_counters()
  write_all_members()
  write_wakes()
  write_last_runs()
  if #FINALS > 0 then
    local at = str(math.floor(NOW / 1000 + retention_ms) - 1)
    for _, id in ipairs(FINALS) do redis.call('PEXPIREAT', run_key(id), at) end
    FINALS = {}
  end
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
  member('ZADD', queue_key(run.f.priority, run.f.task), place, run.f.id)
  record('state', run, changes)
  wake(run.f.priority, run.f.task)
end
local function release_lease(run)
  member('ZREM', LEASES, run.f.id)
  member('SREM', running_key(run.f.task), run.f.id)
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
local KNOWN_TASKS = {}
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
  if not KNOWN_TASKS[run.f.task] then
    KNOWN_TASKS[run.f.task] = true
    member('SADD', TASKS, run.f.task)
  end
  member('ZADD', queue_key(run.f.priority, run.f.task), str(place), run.f.id)
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
