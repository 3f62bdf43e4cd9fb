#pragma once
// The event loop behind fluid::run and fluid::serve, for serve() to run its
// root with a say in what happens when an exception escapes a handler.

#include "fluid/task.hpp"

#include <cstddef>
#include <exception>
#include <functional>

namespace fluid::detail {

/// Told of an exception that escaped a handler of the loop (the co_spawn
/// rethrow-on-error idiom), on the thread where it escaped; may run on
/// several threads at once.
using EscapeHandler = std::function<void(std::exception_ptr)>;

/// Runs `main` on a fresh io_context with `threads` threads until it
/// completes, then stops the loop (what is still pending is abandoned) and
/// joins every thread, whichever thread an error surfaced on. Rethrows the
/// first error: main's own, or one that escaped a handler. With `on_escape`,
/// an escaped exception is handed to it instead and the loop goes on until
/// `main` completes (serve() stops its tree first).
void run_event_loop(Task<> main, std::size_t threads, const EscapeHandler& on_escape = {});

}  // namespace fluid::detail
