#pragma once
/// @file
/// when_all: awaits several coroutines concurrently, starting each inline.

#include "fluid/task.hpp"

#include <vector>

namespace fluid::detail {

/// Awaits every task of `tasks` concurrently; returns once all have finished,
/// then rethrows the first exception any of them threw.
///
/// Each task starts inline, on the caller's thread and executor, and runs until
/// it first suspends (or finishes) before the next one starts. Tasks that
/// finish without suspending cost no spawn and no post; the caller suspends
/// only if some task did, and the last task to finish resumes it (one post).
///
/// A cancellation of the caller is forwarded to every task (each accepts
/// terminal cancellation, Asio's default for a spawned coroutine) and the
/// caller still waits for all of them, since they may use the caller's data;
/// the tasks' operation_aborted errors are then rethrown like any other.
///
/// @warning The tasks run on the caller's executor, which must be a single
/// thread or a strand (the rule for all of fluid's coroutines).
[[nodiscard]] Task<> when_all(std::vector<Task<>> tasks);

}  // namespace fluid::detail
