#pragma once
/// @file
/// when_all: awaits several coroutines concurrently, starting each inline.

#include "fluid/task.hpp"

#include <cstddef>
#include <functional>

namespace fluid::detail {

/// Makes the task of index `index` (0 to count - 1) for when_all.
using TaskFactory = std::function<Task<>(std::size_t index)>;

/// Awaits `count` tasks concurrently, task i being `make_task(i)`; returns once
/// all have finished, then rethrows the first exception any of them threw
/// (an exception from `make_task` itself counts as its task's).
///
/// Each task is made and started inline, in index order, on the caller's
/// thread and executor, and runs until it first suspends (or finishes) before
/// the next one is made. Tasks that finish without suspending cost no spawn
/// and no post (the next task reuses their frames' memory and cancellation
/// state); the caller suspends only if some task did, and the last task to
/// finish resumes it (one post). `make_task` is called only during when_all's first
/// step, before the caller can suspend.
///
/// A cancellation of the caller is forwarded to every task still running
/// (each accepts terminal cancellation, Asio's default for a spawned
/// coroutine) and the caller still waits for all of them, since they may use
/// the caller's data; their operation_aborted errors are rethrown like any other.
///
/// @warning The tasks run on the caller's executor, which must be a single
/// thread or a strand (the rule for all of fluid's coroutines).
[[nodiscard]] Task<> when_all(std::size_t count, TaskFactory make_task);

}  // namespace fluid::detail
