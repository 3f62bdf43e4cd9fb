#include "tasks/attempt.hpp"

#include "fluid/errors.hpp"
#include "fluid/tasks/detail/process_runner.hpp"
#include "fluid/tasks/errors.hpp"
#include "runtime/awaitable_thread.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <cstdio>

namespace fluid::detail {

namespace asio = boost::asio;

namespace {

std::mutex process_runner_mutex;
ProcessRunner installed_process_runner;  // guarded by process_runner_mutex

std::string missing_entry_point(const TaskDefinition& task) {
  return "task '" + task.name() +
         "' runs in a child process (Execution::process), which needs the program's main() to be "
         "fluid::task_cli(): no process entry point is installed";
}

/// Runs the attempt through the installed process runner.
Task<> run_in_child(TaskContext& ctx) {
  const auto runner = process_runner();  // kept in this frame while its coroutine runs
  if (!runner) throw CpuBoundEntryPointError(missing_entry_point(ctx.task()));
  co_await runner(ctx);
}

/// The attempt's body: the executor itself (loop and thread modes, and in a
/// process-mode child), or the child process. Not a coroutine: one frame less
/// per run.
Task<> executor_body(TaskContext& ctx) {
  const auto& task = ctx.task();
  if (task.cpu_bound() && !is_in_cpu_process()) return run_in_child(ctx);
  return task.execute(ctx, ctx.params());
}

void finish(AttemptControl& control, std::exception_ptr error) {
  {
    std::lock_guard lock(control.mutex);
    control.finished = true;
    control.finished_after_stop = control.cause != StopCause::none;
    control.error = std::move(error);
  }
  control.changed.notify_all();
}

/// The bottom frame of the executor's own awaitable thread.
EntryPoint executor_thread(std::shared_ptr<Attempt> attempt) {
  std::exception_ptr error;
  try {
    co_await executor_body(*attempt->context);
  } catch (...) {
    error = std::current_exception();
  }
  finish(*attempt->control, std::move(error));
}

void start_executor(const std::shared_ptr<Attempt>& attempt, const asio::any_io_executor& executor, bool start_inline) {
  auto& control = *attempt->control;
  {
    std::lock_guard lock(control.mutex);
    control.executor = executor;
  }
  if (start_inline) {
    launch_thread(executor_thread(attempt), executor, control.signal.slot());
    return;
  }
  asio::post(executor, [attempt, executor] {
    launch_thread(executor_thread(attempt), executor, attempt->control->signal.slot());
  });
}

/// Emits a terminal cancellation where the executor runs, unless it has ended.
void cancel_executor(const std::shared_ptr<AttemptControl>& control) {
  asio::any_io_executor executor;
  {
    std::lock_guard lock(control->mutex);
    executor = control->executor;
  }
  asio::dispatch(executor, [control] {
    {
      std::lock_guard lock(control->mutex);
      if (control->finished || control->cancel_sent) return;
      control->cancel_sent = true;
    }
    control->signal.emit(asio::cancellation_type::terminal);
  });
}

AttemptEnd how_it_ended(AttemptControl& control) {
  std::lock_guard lock(control.mutex);
  AttemptEnd end;
  if (control.finished && !control.finished_after_stop) {
    end.how = control.error ? AttemptEnd::How::threw : AttemptEnd::How::returned;
    end.error = control.error;
  } else {
    end.how = AttemptEnd::How::stopped;
    end.cause = control.cause;
    end.reason = control.reason;
  }
  return end;
}

}  // namespace

std::string_view to_string(StopCause cause) noexcept {
  switch (cause) {
    case StopCause::none: return "none";
    case StopCause::timeout: return "timeout";
    case StopCause::abort: return "abort";
    case StopCause::lease_lost: return "lease lost";
    case StopCause::shutdown: return "shutdown";
  }
  return "unknown";
}

bool AttemptControl::request_stop(StopCause why, std::string abort_reason) {
  {
    std::lock_guard lock(mutex);
    if (finished || cause != StopCause::none) return false;
    cause = why;
    reason = std::move(abort_reason);
    cancelled.store(true, std::memory_order_release);
  }
  changed.notify_all();
  return true;
}

bool AttemptControl::is_finished() {
  std::lock_guard lock(mutex);
  return finished;
}

Task<AttemptEnd> run_attempt(std::shared_ptr<Attempt> attempt, asio::any_io_executor executor, bool start_inline,
                             std::chrono::milliseconds timeout) {
  const auto control = attempt->control;
  const auto deadline = deadline_after(timeout);
  start_executor(attempt, executor, start_inline);
  for (;;) {
    const auto ticket = control->changed.ticket();
    {
      std::lock_guard lock(control->mutex);
      if (control->finished || control->cause != StopCause::none) break;
    }
    bool notified = false;
    std::exception_ptr cancelled;
    try {
      notified = co_await control->changed.wait(ticket, deadline);
    } catch (...) {
      cancelled = std::current_exception();
    }
    if (cancelled) {
      control->request_stop(StopCause::shutdown);
      cancel_executor(control);
      std::rethrow_exception(cancelled);
    }
    if (!notified) control->request_stop(StopCause::timeout);
  }
  auto end = how_it_ended(*control);
  if (end.how == AttemptEnd::How::stopped) cancel_executor(control);
  co_return end;
}

Task<> executor_finished(std::shared_ptr<AttemptControl> control) {
  co_await control->changed.wait_until([&control] { return control->is_finished(); });
}

std::string failure_text(const std::exception_ptr& error) { return error_message(error); }

std::string decimal_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  std::string decimal(text);
  decimal.erase(decimal.find_last_not_of('0') + 1);
  if (decimal.back() == '.') decimal.pop_back();
  return decimal;
}

std::string seconds_text(std::chrono::milliseconds duration) {
  return decimal_text(static_cast<double>(duration.count()) / 1000.0) + "s";
}

std::string timeout_text(std::chrono::milliseconds timeout) { return "timeout after " + seconds_text(timeout); }

void set_process_runner(ProcessRunner runner) {
  std::lock_guard lock(process_runner_mutex);
  installed_process_runner = std::move(runner);
}

ProcessRunner process_runner() {
  std::lock_guard lock(process_runner_mutex);
  return installed_process_runner;
}

}  // namespace fluid::detail
