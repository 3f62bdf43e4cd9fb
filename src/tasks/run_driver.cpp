#include "tasks/run_driver.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/tasks/errors.hpp"
#include "runtime/awaitable_thread.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>

namespace fluid::detail {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// How long a cancelled executor may take to return before it is reported as
// ignoring its cancellation (it keeps its slot until it does).
constexpr milliseconds ignores_cancellation_after{1000};

std::string retry_text(const TaskRun& run, const TaskDefinition& task, milliseconds delay) {
  const auto& retry = task.options().retry;
  const auto limit = retry && retry->max_attempts ? std::to_string(*retry->max_attempts) : std::string("unlimited");
  return "retry " + std::to_string(run.retry_attempt + 1) + "/" + limit + " in " + seconds_text(delay);
}

void log_verdict(const Verdict& verdict, const TaskRun& run, const TaskDefinition& task) {
  if (!logger()->should_log(verdict.level)) return;
  auto shown = run;
  shown.state = verdict.state;
  shown.error = verdict.error;
  if (verdict.retry_in) {
    log_run(verdict.level, shown, "end - failure - " + retry_text(run, task, *verdict.retry_in));
  } else if (verdict.requeue) {
    log_run(verdict.level, shown, "interrupted by the consumer's stop - released to the queue");
  } else {
    log_run(verdict.level, shown, "end - " + std::string(to_string(verdict.state)));
  }
}

void mark_settled(RunnerState& state, RunSlot& slot) {
  {
    std::lock_guard lock(state.mutex);
    if (slot.settled) return;
    slot.settled = true;
    --state.unsettled;
  }
  state.freed.notify_all();
}

void free_slot(RunnerState& state, const RunSlot& slot) {
  {
    std::lock_guard lock(state.mutex);
    state.slots.erase(slot.lease.token);
    ++state.finished;
  }
  state.running.fetch_sub(1, std::memory_order_relaxed);
  state.freed.notify_all();
}

/// Waits for a cancelled executor to return, saying so once if it takes long.
Task<> await_executor(const RunSlot& slot) {
  const auto control = slot.attempt->control;
  const bool returned = co_await control->changed.wait_until([&control] { return control->is_finished(); },
                                                             deadline_after(ignores_cancellation_after));
  if (returned) co_return;
  logger()->warn("{} - its executor ignores its cancellation: its slot stays busy until it returns",
                 slot.run().name_id());
  co_await executor_finished(control);
}

/// Runs the attempt of the held run `slot`, records how it ended, and frees
/// its slot once the executor has returned: the bottom frame of the run's own
/// awaitable thread.
EntryPoint drive(std::shared_ptr<RunnerState> state, std::shared_ptr<RunSlot> slot, asio::any_io_executor executor) {
  try {
    const auto& task = state->core->task(slot->run().task);
    const bool threaded = task.options().execution == Execution::thread;
    if (threaded) executor = state->core->thread_executor();
    const auto end = co_await run_attempt(slot->attempt, executor, !threaded, task.options().timeout);
    const auto verdict = judge(end, task, slot->run(), true);
    if (verdict.record) {
      log_verdict(verdict, slot->run(), task);
      const Outcome outcome{verdict.state, verdict.error, verdict.retry_in, verdict.requeue};
      co_await record_end(*state, slot->run(), slot->lease, outcome);
    } else {
      log_run(spdlog::level::warn, slot->run(), "lease lost: the run belongs to a later attempt, nothing recorded");
    }
    mark_settled(*state, *slot);
    if (end.how == AttemptEnd::How::stopped) co_await await_executor(*slot);
    free_slot(*state, *slot);
  } catch (...) {
    // Only the loop's teardown cancels a held run's coroutine: nothing to record.
    logger()->debug("{} - abandoned: {}", slot->run().name_id(), error_message(std::current_exception()));
  }
}

}  // namespace

void log_run(spdlog::level::level_enum level, const TaskRun& run, std::string_view what) {
  const auto& log = logger();
  if (!log->should_log(level)) return;
  if (run.error.empty()) {
    log->log(level, "{} - {}", run.name_id(), what);
  } else {
    log->log(level, "{} - {}: {}", run.name_id(), what, run.error);
  }
}

Task<> record_end(RunnerState& state, const TaskRun& run, Lease lease, Outcome outcome) {
  std::vector<TaskRun> changed;
  try {
    changed = co_await state.core->broker->finish(std::move(lease), std::move(outcome));
  } catch (const LeaseLostError&) {
    log_run(spdlog::level::warn, run, "lease lost: the run belongs to a later attempt, nothing recorded");
    co_return;
  } catch (...) {
    logger()->error("{} - recording its end failed: {} (its lease expires and it is run again)", run.name_id(),
                    error_message(std::current_exception()));
    co_return;
  }
  for (const auto& change : changed) state.core->publish(change);
}

void launch_run(std::shared_ptr<RunnerState> state, std::shared_ptr<RunSlot> slot, asio::any_io_executor executor,
                bool start_inline) {
  auto start = [state = std::move(state), slot = std::move(slot), executor]() mutable {
    launch_thread(drive(std::move(state), std::move(slot), executor), executor, asio::cancellation_slot());
  };
  // A strand of its own is posted to: dispatching would run it on the
  // claimer's thread, serialized with the claims instead of beside them.
  if (start_inline) {
    start();
  } else {
    asio::post(executor, std::move(start));
  }
}

}  // namespace fluid::detail
