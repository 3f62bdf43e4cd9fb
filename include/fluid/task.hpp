#pragma once
/// @file
/// The coroutine type, the event loop entry point and the basic sleep.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

namespace fluid {

/// A lazily started coroutine running on a Boost.Asio executor.
template <class T = void>
using Task = boost::asio::awaitable<T>;

/// How fluid::run drives the event loop.
struct RunOptions {
  /// Threads running the loop; 1 keeps everything on the calling thread.
  std::size_t threads = 1;
};

/// Declares that `context` is run by several threads, so each worker started
/// on it gets a strand of its own (its coroutine stays serialized while
/// independent workers run in parallel). fluid::run and fluid::serve do this
/// themselves when given more than one thread; call it only for an io_context
/// you run on several threads yourself, before starting workers on it.
void use_worker_strands(boost::asio::execution_context& context);

namespace detail {
/// The executor a worker started from `caller` runs on: a new strand when
/// use_worker_strands() was called for its context, else `caller` itself.
boost::asio::any_io_executor worker_executor(const boost::asio::any_io_executor& caller);

/// Runs `main` on a fresh io_context until it completes, then stops the loop
/// (what is still pending is abandoned, like asyncio.run). Rethrows main's
/// error, or the first one that escaped a handler (which stops the loop too).
void run_to_completion(Task<> main, RunOptions options);

template <class T>
Task<> store_result(Task<T> task, std::optional<T>& out) {
  out.emplace(co_await std::move(task));
}
}  // namespace detail

/// Runs `main` on a fresh event loop until it finishes, like asyncio.run:
/// returns its value or rethrows its exception. An exception that escapes a
/// handler of the loop instead (a co_spawn completion handler that rethrows)
/// stops the loop, whichever of the threads it surfaced on: run() joins them
/// all, abandons what is pending, and rethrows the first such error.
/// @throws FluidError if options.threads is 0.
template <class T>
T run(Task<T> main, RunOptions options = {}) {
  if constexpr (std::is_void_v<T>) {
    detail::run_to_completion(std::move(main), options);
  } else {
    std::optional<T> result;
    detail::run_to_completion(detail::store_result(std::move(main), result), options);
    return std::move(*result);
  }
}

/// Suspends the calling coroutine for `d`; sleep(0ms) just yields to the loop.
/// Cancellable: a forced stop ends it with boost::asio::error::operation_aborted.
[[nodiscard]] Task<> sleep(std::chrono::steady_clock::duration d);

}  // namespace fluid
