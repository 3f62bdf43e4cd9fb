// The broker scripts around runs: tasks, schedules, queues, manager
// statuses, the event feed and the data version. Each runs after
// broker_lua_library.

#include "brokers/redis/broker_lua.hpp"

namespace fluid::redis {

// ARGV: the data version this build writes. Returns the namespace's.
const char* const version_lua = R"lua(
local version = redis.call('GET', P .. 'version')
if version then return version end
redis.call('SET', P .. 'version', ARGV[1])
return ARGV[1]
)lua";

// ARGV: per task name, info JSON, max_concurrency, rl ('1'/'0'),
// rl_max_attempts ('' for none), rl_wait_ms, rl_backoff, rl_max_wait_ms.
const char* const register_lua = R"lua(
for i = 1, #ARGV, 8 do
  local key = task_key(ARGV[i])
  redis.call('SADD', TASKS, ARGV[i])
  redis.call('HSET', key, 'registered', '1', 'info', ARGV[i + 1], 'max_concurrency', ARGV[i + 2], 'rl', ARGV[i + 3],
             'rl_max_attempts', ARGV[i + 4], 'rl_wait', ARGV[i + 5], 'rl_backoff', ARGV[i + 6],
             'rl_max_wait', ARGV[i + 7])
  redis.call('HSETNX', key, 'enabled', '1')
end
return 1
)lua";

// ARGV: task names (none: every task). Returns a row per registered task.
const char* const tasks_info_lua = R"lua(
local names = ARGV
if #names == 0 then names = sorted_tasks() end
local rows = {}
for _, name in ipairs(names) do
  local row = task_row(name)
  if row then rows[#rows + 1] = row end
end
return rows
)lua";

// ARGV: task, '1' or '0'. Returns the task's row, or nil for a task never registered.
const char* const set_enabled_lua = R"lua(
if not task_row(ARGV[1]) then return false end
redis.call('HSET', task_key(ARGV[1]), 'enabled', ARGV[2])
return task_row(ARGV[1])
)lua";

// ARGV: task, proposed anchor (us). Returns the stored anchor.
const char* const anchor_lua = R"lua(
redis.call('HSETNX', task_key(ARGV[1]), 'anchor', ARGV[2])
return redis.call('HGET', task_key(ARGV[1]), 'anchor')
)lua";

// ARGV: task, slot (us), the given run packed (library's given_run). Returns
// the run queued, packed, or nil.
const char* const fire_slot_lua = R"lua(
local key = task_key(ARGV[1])
local slot = tonumber(ARGV[2])
local last = tonumber(redis.call('HGET', key, 'last_slot') or '')
if last and slot <= last then return false end
redis.call('HSET', key, 'last_slot', ARGV[2])
if redis.call('HGET', key, 'enabled') == '0' then return false end
local packed, created = enqueue_run(given_run(ARGV[3]), 0)
if not created then return false end
commit()
return packed
)lua";

// ARGV: priorities. Returns the claimable runs of each.
const char* const queue_length_lua = R"lua(
local due = str(claimable_until())
local tasks = sorted_tasks()
local counts = {}
for i, priority in ipairs(ARGV) do
  local count = 0
  for _, task in ipairs(tasks) do count = count + redis.call('ZCOUNT', queue_key(priority, task), '-inf', due) end
  counts[i] = count
end
return counts
)lua";

// ARGV: manager_id, retention_ms, priorities. Returns the runs aborted per priority.
const char* const clear_queue_lua = R"lua(
local tasks = sorted_tasks()
local counts = {}
for i = 3, #ARGV do
  local count = 0
  for _, task in ipairs(tasks) do
    local key = queue_key(ARGV[i], task)
    for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
      local run = load_run(id)
      if run then
        end_attempt(run, 'aborted', 'queue cleared', ARGV[1])
        make_final(run, nil)
        count = count + 1
      end
    end
    redis.call('DEL', key)
  end
  counts[#counts + 1] = count
end
commit(tonumber(ARGV[2]))
return counts
)lua";

// ARGV: manager_id, status JSON, ttl_ms.
const char* const set_status_lua = R"lua(
redis.call('HSET', P .. 'statuses', ARGV[1], ARGV[2])
redis.call('ZADD', P .. 'status_expiry', str(NOW + tonumber(ARGV[3]) * 1000), ARGV[1])
return 1
)lua";

// Returns the live statuses, flat: id, JSON, ...
const char* const statuses_lua = R"lua(
local expiry = P .. 'status_expiry'
local expired = redis.call('ZRANGEBYSCORE', expiry, '-inf', NOW_S)
if #expired > 0 then
  redis.call('HDEL', P .. 'statuses', unpack(expired))
  redis.call('ZREM', expiry, unpack(expired))
end
return redis.call('HGETALL', P .. 'statuses')
)lua";

// ARGV: cursor ('': now). Returns {'bad'} for a cursor past the feed, else
// {newest event number, gap ('1'/'0')}. The events themselves are read with
// XREAD: returned by a script, each would be converted into Lua and back.
const char* const feed_position_lua = R"lua(
local newest = tonumber(redis.call('GET', P .. 'event_seq') or '0')
if ARGV[1] == '' then return {str(newest), '0'} end
local after = tonumber(ARGV[1])
if not after or after > newest then return {'bad'} end
local gap = '0'
local oldest = redis.call('XRANGE', EVENTS, '-', '+', 'COUNT', 1)[1]
if oldest then
  if tonumber(oldest[2][2]) > after + 1 then gap = '1' end  -- fields: 'first', its first event's number, ...
elseif newest > after then
  gap = '1'
end
return {str(newest), gap}
)lua";

}  // namespace fluid::redis
