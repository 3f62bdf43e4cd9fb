#include "tasks/runner.hpp"

#include "fluid/detail/when_all.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/tasks/errors.hpp"
#include "fluid/tasks/task_context.hpp"
#include "tasks/run_driver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fluid::detail {

namespace asio = boost::asio;
using std::chrono::milliseconds;

std::size_t RunnerState::count_unsettled() {
  std::lock_guard lock(mutex);
  return unsettled;
}

RunnerWorker::RunnerWorker(TaskManager& manager, std::shared_ptr<ManagerCore> core, milliseconds run_grace,
                           WorkerOptions options)
    : Worker(std::move(options)),
      state_(std::make_shared<RunnerState>(manager, std::move(core))),
      run_grace_(run_grace) {}

nlohmann::json RunnerWorker::tasks_status() const {
  const auto& config = state_->core->config;
  nlohmann::json queues = nlohmann::json::array();
  for (const auto priority : state_->core->broker->queues()) queues.push_back(to_string(priority));
  std::lock_guard lock(state_->mutex);
  return {{"running", running()},
          {"capacity", config.max_concurrent_tasks.value()},
          {"consuming", config.consume_tasks},
          {"queues", std::move(queues)},
          {"claimed", state_->claimed},
          {"finished", state_->finished}};
}

void RunnerWorker::on_feed_event(const TaskEvent& event) {
  if (event.kind != "abort") return;
  std::vector<std::shared_ptr<RunSlot>> held;
  {
    std::lock_guard lock(state_->mutex);
    for (const auto& [token, slot] : state_->slots) {
      if (slot->run().id == event.run.id && !slot->settled) held.push_back(slot);
    }
  }
  for (const auto& slot : held) slot->attempt->control->request_stop(StopCause::abort, event.run.error);
}

void RunnerWorker::gracefully_stop() {
  Worker::gracefully_stop();
  state_->freed.notify_all();  // a claim loop waiting for a free slot sees the stop
}

Task<> RunnerWorker::run() {
  co_await when_all(2, [this](std::size_t i) { return i == 0 ? claim_and_drain() : keep_leases(); });
}

Task<> RunnerWorker::claim_and_drain() {
  co_await claim_loop();
  co_await drain();
  {
    std::lock_guard lock(state_->mutex);
    state_->keeper_done = true;
  }
  state_->keeper.notify_all();
}

ClaimRequest RunnerWorker::claim_request() const {
  const auto& core = *state_->core;
  ClaimRequest request{.manager_id = core.manager_id,
                       .queues = core.broker->queues(),
                       .lease = core.config.lease.value(),
                       .max_deliveries = core.config.max_deliveries};
  for (const auto& [name, task] : core.registry) request.tasks.push_back(name);
  return request;
}

Task<> RunnerWorker::claim_loop() {
  auto& state = *state_;
  const auto& config = state.core->config;
  const std::size_t capacity = config.max_concurrent_tasks.value();
  auto request = claim_request();
  if (!config.consume_tasks || capacity == 0 || request.tasks.empty() || request.queues.empty()) {
    co_await stop_requested();
    co_return;
  }
  while (is_running()) {
    const auto ticket = state.freed.ticket();
    const auto held = running();
    if (held >= capacity) {
      co_await state.freed.wait(ticket);
      continue;
    }
    request.max_runs = capacity - held;
    auto result = co_await claim_or_pause(request);  // a copy: coroutines own their arguments
    if (!result) continue;
    co_await take(std::move(*result));
    co_await sleep(std::chrono::milliseconds(0));  // a batch at a time: the loop's other work goes on
  }
}

Task<std::optional<ClaimResult>> RunnerWorker::claim_or_pause(ClaimRequest request) {
  std::exception_ptr error;
  try {
    auto result = co_await claim(std::move(request));
    if (broker_failing_) logger()->info("broker {} available again", state_->core->config.broker_url);
    broker_failing_ = false;
    co_return std::move(result);
  } catch (...) {
    error = std::current_exception();
  }
  // A broker error pauses claiming; the runs held go on.
  if (is_cancellation(error)) std::rethrow_exception(error);
  if (!broker_failing_) {
    logger()->error("broker {} unavailable: {}", state_->core->config.broker_url, error_message(error));
  }
  broker_failing_ = true;
  co_await sleep_while_running(state_->core->config.sleep.value());
  co_return std::nullopt;
}

Task<ClaimResult> RunnerWorker::claim(ClaimRequest request) {
  request.wait = milliseconds(0);
  auto result = co_await state_->core->broker->claim(request);
  if (!result.claimed.empty() || !result.settled.empty()) co_return result;
  // Nothing now: wait for work, event driven; `sleep` only bounds a lost wake-up.
  request.wait = state_->core->config.sleep.value();
  co_return co_await claim_or_stop(request);
}

Task<ClaimResult> RunnerWorker::claim_or_stop(ClaimRequest request) {
  // The claim's wait ends at once when the runner is asked to stop. A claim
  // that completed anyway is taken, never dropped: its runs are then held
  // and drained like the others.
  const auto executor = co_await asio::this_coro::executor;
  auto [order, claim_error, claimed, stop_error] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(executor, state_->core->broker->claim(std::move(request)), asio::deferred),
          asio::co_spawn(executor, stop_requested(), asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  (void)order;
  (void)stop_error;
  if (claim_error && !is_cancellation(claim_error)) std::rethrow_exception(claim_error);
  co_return std::move(claimed);
}

void RunnerWorker::log_skipped(const std::vector<std::string>& tasks) {
  for (const auto& task : tasks) {
    {
      std::lock_guard lock(state_->mutex);
      if (!state_->skipped_logged.insert(task).second) continue;
    }
    logger()->warn("{}: runs of task '{}' are queued, and no task of that name is registered here: they stay queued",
                   state_->core->label(), task);
  }
}

Task<> RunnerWorker::take(ClaimResult result) {
  for (const auto& run : result.settled) {
    if (run.state == TaskState::queued) {
      const auto& policy = state_->core->task(run.task).options().rate_limit_retry;
      const auto delay = policy ? policy->delay(run.rate_limit_attempt) : milliseconds(0);
      const auto limit = policy && policy->max_attempts ? std::to_string(*policy->max_attempts) : "unlimited";
      log_run(spdlog::level::info, run,
              "rate limited - retry " + std::to_string(run.rate_limit_attempt) + "/" + limit + " in " +
                  seconds_text(delay));
      continue;
    }
    state_->core->publish(run);
    log_run(spdlog::level::info, run, "end - " + std::string(to_string(run.state)));
  }
  log_skipped(result.skipped_tasks);
  for (auto& [run, lease] : result.claimed) co_await start(std::move(run), std::move(lease));
}

Task<> RunnerWorker::start(TaskRun run, Lease lease) {
  // Params are checked where they are parsed: a typed task's executor throws
  // TaskParamsError before running, and the attempt fails, never retried.
  auto& state = *state_;
  const auto& task = state.core->task(run.task);
  state.core->publish(run);
  if (logger()->should_log(spdlog::level::info)) {
    log_run(spdlog::level::info, run, "start - params " + state.core->shown(run).params.dump());
  }
  auto slot = std::make_shared<RunSlot>();
  slot->attempt = TaskContextAccess::make_attempt(state.manager, task, std::move(run), lease.token);
  slot->lease = std::move(lease);
  {
    std::lock_guard lock(state.mutex);
    state.slots[slot->lease.token] = slot;
    ++state.unsettled;
    ++state.claimed;
  }
  state.running.fetch_add(1, std::memory_order_relaxed);
  const auto executor = co_await asio::this_coro::executor;
  const auto own = worker_executor(executor);  // a strand of its own when the loop has several threads
  launch_run(state_, std::move(slot), own, own == executor);
}

}  // namespace fluid::detail

namespace fluid::detail {

Task<> RunnerWorker::drain() {
  auto& state = *state_;
  const auto all_freed = [&state] { return state.running.load(std::memory_order_relaxed) == 0; };
  const bool finished = co_await state.freed.wait_until(all_freed, deadline_after(run_grace_));
  if (finished) co_return;
  logger()->warn("{}: {} runs still executing after the grace period of {}: cancelling and releasing them",
                 state.core->label(), running(), seconds_text(run_grace_));
  release_all();
  co_await state.freed.wait_until(all_freed);
}

void RunnerWorker::release_all() {
  std::vector<std::shared_ptr<RunSlot>> held;
  {
    std::lock_guard lock(state_->mutex);
    for (const auto& [token, slot] : state_->slots) {
      if (!slot->settled) held.push_back(slot);
    }
  }
  for (const auto& slot : held) slot->attempt->control->request_stop(StopCause::shutdown);
}

Task<> RunnerWorker::keep_leases() {
  auto& state = *state_;
  const auto interval = std::max(milliseconds(1), state.core->config.lease.value() / 3);
  auto next = std::chrono::steady_clock::now() + interval;
  for (;;) {
    const auto ticket = state.keeper.ticket();
    {
      std::lock_guard lock(state.mutex);
      if (state.keeper_done) co_return;
    }
    if (std::chrono::steady_clock::now() < next) {
      co_await state.keeper.wait(ticket, next);
      continue;
    }
    co_await renew();
    co_await reap();
    next = std::chrono::steady_clock::now() + interval;
  }
}

Task<> RunnerWorker::renew() {
  auto& state = *state_;
  std::vector<std::shared_ptr<RunSlot>> held;
  std::vector<Lease> leases;
  {
    std::lock_guard lock(state.mutex);
    for (const auto& [token, slot] : state.slots) {
      if (slot->settled) continue;
      held.push_back(slot);
      leases.push_back(slot->lease);
    }
  }
  if (leases.empty()) co_return;
  std::vector<LeaseState> renewed;
  try {
    renewed = co_await state.core->broker->renew(std::move(leases), state.core->config.lease.value());
  } catch (...) {
    logger()->warn("{}: renewing {} leases failed: {}", state.core->label(), held.size(),
                   error_message(std::current_exception()));
    co_return;
  }
  for (std::size_t i = 0; i < held.size() && i < renewed.size(); ++i) {
    const auto& control = held[i]->attempt->control;
    if (renewed[i].status == LeaseStatus::lost) control->request_stop(StopCause::lease_lost);
    if (renewed[i].status == LeaseStatus::abort_requested) {
      control->request_stop(StopCause::abort, renewed[i].abort_reason);
    }
  }
}

Task<> RunnerWorker::reap() {
  auto& core = *state_->core;
  std::vector<TaskRun> reaped;
  try {
    reaped = co_await core.broker->reap(core.manager_id);
  } catch (...) {
    logger()->warn("{}: reaping expired leases failed: {}", core.label(), error_message(std::current_exception()));
    co_return;
  }
  // Seen by cluster handlers only: this process did not run these runs.
  for (const auto& run : reaped) {
    if (run.state == TaskState::queued) continue;
    log_run(spdlog::level::warn, run,
            "lease expired - reaped: " + std::string(to_string(run.state)) + (run.requeued ? ", queued again" : ""));
  }
}

Task<> RunnerWorker::on_shutdown() {
  // Graceful: drain() has released everything. Forced: release now, and
  // wait only for the ends to be recorded, not for executors that ignore
  // their cancellation (they keep their slots until they return).
  release_all();
  auto& state = *state_;
  co_await state.freed.wait_until([&state] { return state.count_unsettled() == 0; });
  std::vector<TaskRun> stuck;
  {
    std::lock_guard lock(state.mutex);
    for (const auto& [token, slot] : state.slots) stuck.push_back(slot->run());
  }
  for (const auto& run : stuck) {
    log_run(spdlog::level::warn, run,
            "its executor ignores its cancellation: released while it still runs, its slot busy until it returns");
  }
}

}  // namespace fluid::detail
