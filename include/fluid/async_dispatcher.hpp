#pragma once
/// @file
/// AsyncDispatcher: routes a message to the coroutine handlers of its event
/// type and awaits them concurrently.

#include "fluid/detail/handler_registry.hpp"
#include "fluid/detail/when_all.hpp"
#include "fluid/task.hpp"

#include <cstddef>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace fluid {

/// Dispatcher for handlers that wait: dispatch(message) starts every handler
/// of the message's event type, lets them run concurrently, and returns once
/// all have finished, as aio-fluid's AsyncDispatcher does with asyncio.gather.
///
/// Registration is Dispatcher's: "type" or "type.tag", register_handler
/// returns the replaced handler, unregister_handler the removed one. A
/// subclass overrides event_type().
///
/// Handlers start inline, in registration order, each running until it first
/// suspends: handlers that never suspend cost no spawn and no post.
///
/// Thread-safety: registration is safe from any thread, also while a dispatch
/// runs: each dispatch keeps the handler list (and so each handler's closure,
/// which its coroutine refers to) it started with until every handler has
/// finished. dispatch() may be awaited from several executors at once.
/// @warning The handlers of one dispatch run on the awaiting coroutine's
/// executor, which must be a single thread or a strand.
template <class T>
class AsyncDispatcher : public detail::BasicDispatcher<T, std::function<Task<>(const T&)>> {
 public:
  /// Starts every handler registered under event_type(message), whatever its
  /// tag, awaits them all concurrently and returns how many there were (0 when
  /// none is registered for that type).
  /// If handlers throw, the others still run to completion, then the first
  /// exception thrown is rethrown. A cancellation of the awaiting coroutine is
  /// forwarded to the handlers, and dispatch still waits for them all.
  /// `message` must stay alive until dispatch completes (awaiting it does that).
  [[nodiscard]] Task<std::size_t> dispatch(const T& message) {
    const auto handlers = this->handlers_for(message);
    if (!handlers) co_return 0;
    std::vector<Task<>> tasks;
    tasks.reserve(handlers->size());
    for (const auto& entry : *handlers) tasks.push_back(call(this->handler_of(entry), message));
    co_await detail::when_all(std::move(tasks));
    co_return handlers->size();
  }

 private:
  using Handler = std::function<Task<>(const T&)>;

  /// The handler's coroutine; a handler that throws before returning one
  /// (a plain function, not a coroutine) yields a task that rethrows it.
  static Task<> call(const Handler& handler, const T& message) {
    try {
      return handler(message);
    } catch (...) {
      return rethrow(std::current_exception());
    }
  }

  static Task<> rethrow(std::exception_ptr error) {
    std::rethrow_exception(error);
    co_return;
  }
};

}  // namespace fluid
