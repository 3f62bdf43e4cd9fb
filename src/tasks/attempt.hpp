#pragma once
// One attempt of a run: its executor started on an awaitable thread of its
// own, and the wait for it to end or to be stopped (timeout, abort, lease
// lost, shutdown). Shared by TaskManager::execute() and the consumer's runner.

#include "fluid/detail/notifier.hpp"
#include "fluid/task.hpp"
#include "fluid/tasks/task_context.hpp"
#include "fluid/tasks/task_definition.hpp"
#include "fluid/tasks/task_run.hpp"
#include "tasks/cancellation.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace fluid {
class TaskManager;
}

namespace fluid::detail {

/// Why an attempt is stopped before its executor returned.
enum class StopCause { none, timeout, abort, lease_lost, shutdown };
std::string_view to_string(StopCause cause) noexcept;

/// What an attempt and those who may stop it share.
struct AttemptControl {
  /// ctx.is_cancelled(): set by the first stop request, before the executor is cancelled.
  std::atomic<bool> cancelled{false};
  /// Wakes the attempt's wait: a stop was requested, or the executor ended.
  Notifier changed;

  std::mutex mutex;  // guards what follows
  StopCause cause = StopCause::none;
  std::string reason;                       // the abort's
  bool finished = false;                    // the executor returned or threw
  bool finished_after_stop = false;         // ... once a stop had been requested
  std::exception_ptr error;                 // what it threw
  boost::asio::any_io_executor executor;    // where it runs
  boost::asio::cancellation_signal signal;  // emitted on `executor`
  bool cancel_sent = false;

  /// Requests a stop; the first request wins. False if the executor has
  /// finished or a stop was requested already.
  bool request_stop(StopCause why, std::string abort_reason = {});
  bool is_finished();
};

/// An attempt: its control and the executor's context (which refers to the manager).
struct Attempt {
  std::shared_ptr<AttemptControl> control;
  std::unique_ptr<TaskContext> context;
};

struct TaskContextAccess {
  static std::shared_ptr<Attempt> make_attempt(TaskManager& manager, TaskDefinition task, TaskRun run,
                                               std::uint64_t lease_token);
};

/// How the wait for an attempt ended.
struct AttemptEnd {
  enum class How { returned, threw, stopped } how = How::returned;
  std::exception_ptr error;           // threw
  StopCause cause = StopCause::none;  // stopped
  std::string reason;                 // stopped by an abort
};

/// Starts the attempt's executor on `executor` (inline when the caller is on
/// it, loop mode; posted otherwise) and waits until it ends, a stop is
/// requested, or `timeout` passes (a stop of its own). A stopped executor is
/// cancelled (terminal) and may still be running when this returns: await
/// executor_finished() for that. If the awaiting coroutine is cancelled, the
/// attempt is stopped as a shutdown and the cancellation rethrown.
Task<AttemptEnd> run_attempt(std::shared_ptr<Attempt> attempt, boost::asio::any_io_executor executor, bool start_inline,
                             std::chrono::milliseconds timeout);

/// Waits until the attempt's executor has returned.
Task<> executor_finished(std::shared_ptr<AttemptControl> control);

/// What a failure reads in a run's `error`: what() or "unknown exception".
std::string failure_text(const std::exception_ptr& error);

/// "2", "0.25": up to three decimals, without trailing zeros.
std::string decimal_text(double value);

/// "2s", "0.25s": seconds without trailing zeros.
std::string seconds_text(std::chrono::milliseconds duration);

/// "timeout after 2s", a timed-out run's error.
std::string timeout_text(std::chrono::milliseconds timeout);

}  // namespace fluid::detail
