// The Lua every broker script starts with: the clock, the key layout, how a
// run is loaded, changed and written back, and the steps several scripts
// share (an attempt's end, a final run, a requeue, a wake-up, an event).
// docs/tasks-redis.md describes the layout these functions build.
//
// A script changes its runs and counters in Lua and writes them at its end
// (commit): each run touched one SET of its packed string however many
// steps changed it, each counter one GET and one SET, each set or wake-up
// list one command for all its members, its events one stream entry. A
// batch of runs then costs Redis a few commands a run, not a dozen; what is
// read in between comes from the script's own copies.

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
local EVENTS_KEPT = 10000
local WAKES_KEPT = 255
local pack, unpack_record = cmsgpack.pack, cmsgpack.unpack

local TASKS = P .. 'tasks'
local LEASES = P .. 'leases'
local EVENTS = P .. 'events'
local function run_key(id) return P .. 'run:' .. id end
local function task_key(task) return P .. 'task:' .. task end
local function queue_key(priority, task) return P .. 'queue:' .. priority .. ':' .. task end
local function wake_key(priority, task) return P .. 'wake:' .. priority .. ':' .. task end
local function running_key(task) return P .. 'running:' .. task end

-- A run is {id, v = its public values (ID, TASK, ... index them), x = the
-- broker's own}, both arrays, stored as one string: v packed then x packed
-- (MessagePack, two objects back to back). Loading or writing a run is one
-- command and one C call each way, where a field at a time cost Lua more
-- than all its commands; a final run's write sets its expiry too. v packed
-- is also what events and answers carry. Loaded once a script: a second
-- step on a run sees the first's changes.
local TOKEN, PLACE, ABORT_REQUESTED, ABORT_REASON, MAX_DELIVERIES, LEASE_EXPIRES, FIN_TOKEN, FIN_OUTCOME,
      FIN_CHANGES = 1, 2, 3, 4, 5, 6, 7, 8, 9
local RUNS, TOUCHED = {}, {}
local function load_run(id)
  local run = RUNS[id]
  if run then return run end
  local stored = redis.call('GET', run_key(id))
  if not stored then return nil end
  local v, x = unpack_record(stored)
  run = {id = id, v = v, x = x}
  RUNS[id] = run
  return run
end
-- The run's values to change: its packed form (`r`, what packed() keeps so
-- that a transition packs once for its event, its answer and its write)
-- is stale from here. Reading needs no call.
local function changed(run)
  run.r = nil
  return run.v
end
local function packed(run)
  if not run.r then run.r = pack(run.v) end
  return run.r
end
-- Marks the run to be written at commit().
local function save(run)
  if not run.saved then
    run.saved = true
    TOUCHED[#TOUCHED + 1] = run
  end
  RUNS[run.id] = run
end
local function stored(run) return packed(run) .. pack(run.x) end
-- Final runs expire after the retention (`retention_ms`); the others keep
-- none (KEEPTTL: never one a final run loses).
local function write_runs(retention_ms)
  local expires
  for _, run in ipairs(TOUCHED) do
    if run.final then
      expires = expires or str(math.floor(NOW / 1000 + retention_ms) - 1)
      redis.call('SET', run_key(run.id), stored(run), 'PXAT', expires)
    else
      redis.call('SET', run_key(run.id), stored(run), 'KEEPTTL')
    end
    run.saved = false
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
local function member(command, key, a, b)
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
  local args = m.args
  args[#args + 1] = a
  if b then args[#args + 1] = b end
end
local function write_all_members()
  for _, key in ipairs(MEMBER_KEYS) do write_members(key) end
  MEMBER_KEYS = {}
end

-- Events are numbered 1, 2, ... (event_seq), so a reader sees a gap as a
-- jump. A script's events go as few stream entries (at most
-- EVENTS_AN_ENTRY events each, so a reader's cursor inside one never makes
-- it fetch a huge one again and again), id 0-<its last number>, fields
-- 'first' (its first number) and 'events' (kind, run, kind, run, ...
-- packed): one XADD for a batch, and a reader takes its events as one value.
-- The stream keeps the entries holding the last EVENTS_KEPT events or so
-- (MINID). Appended at commit(), with the counter: a script failing
-- half-way (bad data) then leaves no event behind a counter that did not move.
local EVENTS_AN_ENTRY = 256
local EVENTS_PENDING = {}
local function event(kind, record)
  local n = #EVENTS_PENDING
  EVENTS_PENDING[n + 1], EVENTS_PENDING[n + 2] = kind, record
end
local function append_entry(values)
  local seq = counter('event_seq')
  local first = seq.value + 1
  seq.value, seq.changed = seq.value + #values / 2, true
  redis.call('XADD', EVENTS, 'MINID', '~', '0-' .. str(math.max(seq.value - EVENTS_KEPT, 0)), '0-' .. str(seq.value),
             'first', str(first), 'events', pack(values))
end
local function write_events()
  local pending = EVENTS_PENDING
  if #pending <= 2 * EVENTS_AN_ENTRY then
    if #pending > 0 then append_entry(pending) end
  else
    for from = 1, #pending, 2 * EVENTS_AN_ENTRY do
      append_entry({unpack(pending, from, math.min(from + 2 * EVENTS_AN_ENTRY - 1, #pending))})
    end
  end
  EVENTS_PENDING = {}
end
-- The run's event (`overrides`: values the event shows instead of the
-- run's, by index); returns the run packed, also added to `changes`.
local function record(kind, run, changes, overrides)
  local values
  if overrides then
    local shown = {unpack(run.v)}
    for i, value in pairs(overrides) do shown[i] = value end
    values = pack(shown)
  else
    values = packed(run)
  end
  event(kind, values)
  if changes then changes[#changes + 1] = values end
  return values
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
  local v = changed(run)
  v[STATE], v[END], v[ERROR], v[MANAGER_ID] = state, NOW_S, error, manager_id
  local duration = 0
  if v[START] ~= '' then duration = NOW - tonumber(v[START]) end
  local task = v[TASK]
  if not LAST_RUNS[task] then LAST_RUN_TASKS[#LAST_RUN_TASKS + 1] = task end
  LAST_RUNS[task] = {state, str(duration)}
end
local function write_last_runs()
  for _, task in ipairs(LAST_RUN_TASKS) do
    local last = LAST_RUNS[task]
    redis.call('HSET', task_key(task), 'last_run_end', NOW_S, 'last_run_state', last[1], 'last_run_duration', last[2])
  end
  LAST_RUNS, LAST_RUN_TASKS = {}, {}
end

local function make_final(run, changes)
  run.final = true
  save(run)
  record('state', run, changes)
end

-- Writes what the script's steps changed; every script that changes runs
-- ends with it (`retention_ms` for the runs made final).
local function commit(retention_ms)
  write_runs(retention_ms)
  write_events()
  write_counters()
  write_all_members()
  write_wakes()
  write_last_runs()
end

local function mark_requeued(run, changes)
  changed(run)[REQUEUED] = '1'
  save(run)
  record('state', run, changes)
end
local function queue_again(run, place, changes)
  local v = changed(run)
  v[STATE], v[REQUEUED], v[QUEUED], v[START], v[END], v[ERROR] = 'queued', '0', NOW_S, '', '', ''
  run.x[PLACE] = place
  save(run)
  member('ZADD', queue_key(v[PRIORITY], v[TASK]), place, run.id)
  record('state', run, changes)
  wake(v[PRIORITY], v[TASK])
end
local function release_lease(run)
  member('ZREM', LEASES, run.id)
  member('SREM', running_key(run.v[TASK]), run.id)
  run.x[ABORT_REQUESTED], run.x[ABORT_REASON] = '0', ''
end

-- A run as the caller packed it (C++ packed_given_run()): its own values,
-- those the scripts set left empty.
local function given_run(packed)
  local v = unpack_record(packed)
  if type(v) ~= 'table' or #v ~= RUN_SIZE then error('fluid: a given run that is not ' .. RUN_SIZE .. ' values') end
  return {id = v[ID], v = v, x = {'0', '', '0', '', '', '', '', '', ''}}
end
-- Returns the run, packed, and whether it was created.
local KNOWN_TASKS = {}
local function enqueue_run(run, delay_ms)
  local known = load_run(run.id)
  if known then return packed(known), false end
  local v = changed(run)
  v[STATE], v[QUEUED], v[START], v[END], v[ERROR], v[REQUEUED], v[DELIVERIES] = 'queued', NOW_S, '', '', '', '0', '0'
  if delay_ms > 0 then v[EXECUTE_AFTER] = str(NOW + delay_ms * 1000) end
  local after = tonumber(v[EXECUTE_AFTER])
  local place = str((after and after > NOW) and after or immediate_place())
  run.x[PLACE] = place
  save(run)
  local task = v[TASK]
  if not KNOWN_TASKS[task] then
    KNOWN_TASKS[task] = true
    member('SADD', TASKS, task)
  end
  member('ZADD', queue_key(v[PRIORITY], task), place, run.id)
  local answer = record('state', run, nil)
  wake(v[PRIORITY], task)
  return answer, true
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
