#pragma once
/// @file
/// async_with: aio-fluid's `async with worker:` for C++ coroutines.

#include "fluid/task.hpp"

#include <boost/asio/this_coro.hpp>

#include <exception>

namespace fluid {

/// Starts `worker`, awaits `body(worker)`, then shuts the worker down on every
/// exit path (normal return, exception, cancellation), and rethrows body's
/// error. The worker's own failure is not thrown here: shutdown() is cleanup;
/// ask wait_for_shutdown() for it. `body` is any callable returning Task<>.
/// @throws what startup() throws (then body is not run), or what body threw.
template <class W, class F>
[[nodiscard]] Task<> async_with(W& worker, F body) {
  co_await worker.startup();
  std::exception_ptr body_error;
  try {
    co_await body(worker);
  } catch (...) {
    body_error = std::current_exception();
  }
  // A cancelled body leaves the cancellation set; reset it, or shutdown()'s
  // own waits would throw and the worker would be left running.
  auto state = co_await boost::asio::this_coro::cancellation_state;
  if (state.cancelled() != boost::asio::cancellation_type::none) {
    co_await boost::asio::this_coro::reset_cancellation_state();
  }
  co_await worker.shutdown();
  if (body_error) std::rethrow_exception(body_error);
}

}  // namespace fluid
