// The broker scripts of a run's life under a consumer: enqueue, claim,
// renew, finish, reap, abort. Each runs after broker_lua_library.

#include "brokers/redis/broker_lua.hpp"

namespace fluid::redis {

// ARGV per run: delay_ms, the given run packed (library's given_run).
// Returns per run {created (1/0), the run packed}.
const char* const enqueue_lua = R"lua(
local answers = {}
for i = 1, #ARGV, 2 do
  local packed, created = enqueue_run(given_run(ARGV[i + 1]), tonumber(ARGV[i]))
  answers[#answers + 1] = {created and 1 or 0, packed}
end
commit()
return answers
)lua";

// ARGV: manager_id, lease_ms, max_deliveries, max_runs, retention_ms,
// queue count, the queues, the tasks.
// Returns {now, claimed {token, expires, run}..., settled runs, next_due, skipped tasks}, runs packed.
const char* const claim_lua = R"lua(
local manager_id, lease_us, max_deliveries = ARGV[1], tonumber(ARGV[2]) * 1000, ARGV[3]
local max_runs, retention, nqueues = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local MAX_SETTLED, MAX_SKIPPED = 256, 8
local queues, tasks, requested = {}, {}, {}
for i = 1, nqueues do queues[i] = ARGV[6 + i] end
for i = 7 + nqueues, #ARGV do
  if not requested[ARGV[i]] then
    requested[ARGV[i]] = true
    tasks[#tasks + 1] = ARGV[i]
  end
end
local due = claimable_until()
local claimed, settled = {}, {}

local limits = {}
local function limits_of(task)
  if limits[task] then return limits[task] end
  local h = redis.call('HMGET', task_key(task), 'enabled', 'max_concurrency', 'rl', 'rl_max_attempts', 'rl_wait',
                       'rl_backoff', 'rl_max_wait')
  local t = {enabled = h[1] ~= '0', limit = tonumber(h[2] or '0') or 0, running = redis.call('SCARD', running_key(task)),
             rl = h[3] == '1', rl_max = tonumber(h[4] or ''), rl_wait = tonumber(h[5] or '0') or 0,
             rl_backoff = tonumber(h[6] or '1') or 1, rl_max_wait = tonumber(h[7] or '0') or 0}
  limits[task] = t
  return t
end
-- RetryPolicy::next_delay(done): nil once the attempts are used up.
local function rate_limit_delay(t, done)
  if not t.rl or (t.rl_max and done >= t.rl_max) then return nil end
  local scaled = t.rl_wait * math.pow(t.rl_backoff, done)
  if not (scaled < t.rl_max_wait) then return t.rl_max_wait end
  return math.floor(scaled + 0.5)
end

local function lease(run, t)
  local token = str(next_number('token'))
  local expires = str(NOW + lease_us)
  local v, x = changed(run), run.x
  v[STATE], v[START], v[END], v[MANAGER_ID] = 'running', NOW_S, '', manager_id
  v[DELIVERIES] = str(tonumber(v[DELIVERIES]) + 1)
  x[TOKEN], x[MAX_DELIVERIES], x[LEASE_EXPIRES] = token, max_deliveries, expires
  save(run)
  member('ZADD', LEASES, expires, run.id)
  member('SADD', running_key(v[TASK]), run.id)
  t.running = t.running + 1
  claimed[#claimed + 1] = {token, expires, record('state', run, nil)}
end

-- A rate-limit retry is no transition: still queued, delayed, no event. Its
-- queue entry moves (ZADD of a member there), so it is not removed.
local function retry_rate_limited(run, delay_ms)
  local at = str(NOW + delay_ms * 1000)
  local v = changed(run)
  v[RATE_LIMIT_ATTEMPT] = str(tonumber(v[RATE_LIMIT_ATTEMPT]) + 1)
  v[EXECUTE_AFTER], v[MANAGER_ID] = at, manager_id
  run.x[PLACE] = at
  save(run)
  redis.call('ZADD', queue_key(v[PRIORITY], v[TASK]), at, run.id)
  wake(v[PRIORITY], v[TASK])
  settled[#settled + 1] = packed(run)
end

-- Runs leaving their queue go at commit(), in one ZREM a queue.
local function settle_or_lease(id, task, queue)
  local run = load_run(id)
  local t = run and limits_of(task)
  if t and t.limit > 0 and t.running >= t.limit and t.enabled then
    local delay = rate_limit_delay(t, tonumber(run.v[RATE_LIMIT_ATTEMPT]))
    if delay then return retry_rate_limited(run, delay) end
  end
  member('ZREM', queue, id)
  if not run then return end
  if not t.enabled then
    end_attempt(run, 'aborted', 'task disabled', manager_id)
    make_final(run, settled)
  elseif t.limit > 0 and t.running >= t.limit then
    end_attempt(run, 'rate_limited', '', manager_id)
    make_final(run, settled)
  else
    lease(run, t)
  end
end

-- The due runs at the head of a task's queue, read a window at a time
-- (those taken so far removed first).
local function due_window(priority, task)
  local n = math.max(max_runs - #claimed, 1)
  local queue = queue_key(priority, task)
  write_members(queue)
  local found = redis.call('ZRANGEBYSCORE', queue, '-inf', str(due), 'WITHSCORES', 'LIMIT', 0, n)
  local heads = {}
  for i = 1, #found, 2 do heads[#heads + 1] = {id = found[i], score = tonumber(found[i + 1])} end
  return {heads = heads, next = 1, full = #heads == n}
end
-- Merges the tasks' queues of one priority by place, FIFO.
local function take_from(priority)
  local windows = {}
  local function head(task)
    local w = windows[task]
    if not w or (w.next > #w.heads and w.full) then  -- taken runs are gone: the next window starts at 0
      w = due_window(priority, task)
      windows[task] = w
    end
    return w.heads[w.next]
  end
  while #claimed < max_runs and #settled < MAX_SETTLED do
    local best_task, best = nil, nil
    for _, task in ipairs(tasks) do
      local h = head(task)
      if h and (not best or h.score < best.score or (h.score == best.score and h.id < best.id)) then
        best_task, best = task, h
      end
    end
    if not best then return end
    windows[best_task].next = windows[best_task].next + 1
    settle_or_lease(best.id, best_task, queue_key(priority, best_task))
  end
end
for _, priority in ipairs(queues) do take_from(priority) end

local next_due, skipped = '', {}
if #claimed < max_runs then
  local best
  for _, priority in ipairs(queues) do
    for _, task in ipairs(tasks) do
      local h = redis.call('ZRANGEBYSCORE', queue_key(priority, task), '(' .. str(due), '+inf', 'WITHSCORES',
                           'LIMIT', 0, 1)
      if h[1] and (not best or tonumber(h[2]) < best.score) then best = {id = h[1], score = tonumber(h[2])} end
    end
  end
  if best then
    local run = load_run(best.id)  -- this script's copy: a rate-limited retry changed it
    local after = run and run.v[EXECUTE_AFTER]
    next_due = (after and after ~= '') and after or str(best.score)
  end
  for _, task in ipairs(sorted_tasks()) do
    if #skipped == MAX_SKIPPED then break end
    if not requested[task] then
      for _, priority in ipairs(queues) do
        if #redis.call('ZRANGEBYSCORE', queue_key(priority, task), '-inf', str(due), 'LIMIT', 0, 1) > 0 then
          skipped[#skipped + 1] = task
          break
        end
      end
    end
  end
end
-- Nothing due for this claimant: the tokens on its lists are stale (any
-- later change pushes a fresh one).
if #claimed == 0 and #settled == 0 then
  for _, priority in ipairs(queues) do
    for _, task in ipairs(tasks) do redis.call('DEL', wake_key(priority, task)) end
  end
end
commit(retention)
return {NOW_S, claimed, settled, next_due, skipped}
)lua";

// ARGV: lease_ms, then run id and token per lease. Returns {status, expires, reason} per lease.
const char* const renew_lua = R"lua(
local expires = str(NOW + tonumber(ARGV[1]) * 1000)
local out = {}
for i = 2, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local run = load_run(id)
  if not run or run.v[STATE] ~= 'running' or run.x[TOKEN] ~= token then
    out[#out + 1] = {'lost', '', ''}
  else
    run.x[LEASE_EXPIRES] = expires
    redis.call('SET', run_key(id), stored(run), 'KEEPTTL')
    redis.call('ZADD', LEASES, expires, id)
    if run.x[ABORT_REQUESTED] == '1' then
      out[#out + 1] = {'abort_requested', expires, run.x[ABORT_REASON]}
    else
      out[#out + 1] = {'held', expires, ''}
    end
  end
end
return out
)lua";

// ARGV: retention_ms, then per run: id, token, state, error, retry_in_ms
// ('' for none), requeue ('1'/'0'). Returns per run {'ok', the changes
// packed together} or {'lost', why}.
const char* const finish_lua = R"lua(
local function finish(id, token, state, error, retry_in, requeue)
  local outcome = state .. '|' .. retry_in .. '|' .. requeue .. '|' .. error
  local run = load_run(id)
  if run and token ~= '0' and run.x[FIN_TOKEN] == token then
    if run.x[FIN_OUTCOME] ~= outcome then return {'lost', 'finished with another outcome'} end
    return {'ok', run.x[FIN_CHANGES]}
  end
  if not run or run.v[STATE] ~= 'running' or run.x[TOKEN] ~= token then
    return {'lost', 'the run belongs to a later attempt or was reaped'}
  end
  -- An abort requested meanwhile wins over going back to the queue.
  local v, x = run.v, run.x
  local abort_requested, abort_reason = x[ABORT_REQUESTED] == '1', x[ABORT_REASON]
  release_lease(run)
  local changes = {}
  local holder = v[MANAGER_ID]
  local release = state == 'interrupted' and requeue == '1'
  local retry = state == 'failure' and retry_in ~= ''
  if release and abort_requested then
    end_attempt(run, 'aborted', abort_reason, holder)
    make_final(run, changes)
  elseif release then
    end_attempt(run, 'interrupted', error, holder)
    local deliveries = tonumber(v[DELIVERIES])
    if deliveries > 0 then changed(run)[DELIVERIES] = str(deliveries - 1) end  -- a graceful release is no delivery
    mark_requeued(run, changes)
    queue_again(run, x[PLACE], changes)
  elseif retry and not abort_requested then
    end_attempt(run, 'failure', error, holder)
    mark_requeued(run, changes)
    local at = str(NOW + tonumber(retry_in) * 1000)
    v = changed(run)
    v[RETRY_ATTEMPT] = str(tonumber(v[RETRY_ATTEMPT]) + 1)
    v[DELIVERIES] = '0'  -- a retry is a new attempt, not a redelivery
    v[EXECUTE_AFTER] = at
    queue_again(run, at, changes)
  else
    end_attempt(run, state, error, holder)
    make_final(run, changes)
  end
  local all = pack(changes)
  x[FIN_TOKEN], x[FIN_OUTCOME], x[FIN_CHANGES] = token, outcome, all
  save(run)
  return {'ok', all}
end
local answers = {}
for i = 2, #ARGV, 6 do
  answers[#answers + 1] = finish(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5])
end
commit(tonumber(ARGV[1]))
return answers
)lua";

// ARGV: manager_id, retention_ms. Returns the changes.
const char* const reap_lua = R"lua(
local reaper = ARGV[1]
local changes = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', LEASES, '-inf', NOW_S)) do
  local run = load_run(id)
  if not run then
    redis.call('ZREM', LEASES, id)
  else
    local abort_requested, abort_reason = run.x[ABORT_REQUESTED] == '1', run.x[ABORT_REASON]
    release_lease(run)
    local deliveries = tonumber(run.v[DELIVERIES])
    if abort_requested then
      end_attempt(run, 'aborted', abort_reason, reaper)
      make_final(run, changes)
    elseif deliveries >= (tonumber(run.x[MAX_DELIVERIES]) or 5) then
      end_attempt(run, 'failure', 'lease expired ' .. str(deliveries) .. ' times: consumer lost', reaper)
      make_final(run, changes)
    else
      end_attempt(run, 'interrupted', 'lease expired', reaper)
      mark_requeued(run, changes)
      queue_again(run, run.x[PLACE], changes)
    end
  end
end
commit(tonumber(ARGV[2]))
return changes
)lua";

// ARGV: run id, reason, manager_id, retention_ms. Returns {'unknown'} or {'ok', changes}.
const char* const abort_lua = R"lua(
local id, reason, manager_id = ARGV[1], ARGV[2], ARGV[3]
local run = load_run(id)
if not run then return {'unknown'} end
local changes = {}
local v, x = run.v, run.x
if v[STATE] == 'queued' then
  redis.call('ZREM', queue_key(v[PRIORITY], v[TASK]), id)
  end_attempt(run, 'aborted', reason, manager_id)
  make_final(run, changes)
elseif v[STATE] == 'running' and x[ABORT_REQUESTED] ~= '1' then
  x[ABORT_REQUESTED], x[ABORT_REASON] = '1', reason
  save(run)
  record('abort', run, changes, {[ERROR] = reason, [MANAGER_ID] = manager_id})
end
commit(tonumber(ARGV[4]))
return {'ok', changes}
)lua";

}  // namespace fluid::redis
