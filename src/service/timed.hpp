#pragma once
// serve()'s one idiom to race a timer: the awaitable `||`.

#include "fluid/task.hpp"

#include <chrono>
#include <exception>

namespace fluid::detail {

/// How a task raced against a timer.
struct Timed {
  bool timed_out = false;     ///< the timer won; the task was cancelled and has unwound
  std::exception_ptr error;   ///< what the task threw, if it completed first
};

/// Awaits `task` for at most `timeout`. A task that throws still ends the
/// race at once (the awaitable `||` would otherwise wait for the timer:
/// it completes on the first *success*).
[[nodiscard]] Task<Timed> race_timer(Task<> task, std::chrono::milliseconds timeout);

}  // namespace fluid::detail
