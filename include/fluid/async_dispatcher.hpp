#pragma once
/// @file
/// AsyncDispatcher: routes a message to the coroutine handlers of its event
/// type and awaits them concurrently.

#include "fluid/detail/handler_registry.hpp"
#include "fluid/detail/when_all.hpp"
#include "fluid/task.hpp"

#include <cstddef>
#include <functional>
#include <string>

namespace fluid {

/// Dispatcher for handlers that wait: dispatch(message) starts every handler
/// of the message's event type, lets them run concurrently, and returns once
/// all have finished, as aio-fluid's AsyncDispatcher does with asyncio.gather
/// (but a failing handler does not make dispatch return before the others).
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
  using Base = detail::BasicDispatcher<T, std::function<Task<>(const T&)>>;

 public:
  /// Starts every handler registered under event_type(message), whatever its
  /// tag, awaits them all concurrently and returns how many there were (0 when
  /// none is registered for that type).
  /// If handlers throw, the others still run to completion, then the first
  /// exception thrown is rethrown. A cancellation of the awaiting coroutine is
  /// forwarded to the handlers, and dispatch still waits for them all.
  /// `message` must stay alive until dispatch completes (awaiting it does that).
  /// @warning g++ 12 destroys a braced temporary argument of a co_await'ed call
  /// twice: inside a coroutine write `const Msg m{...}; co_await d.dispatch(m);`,
  /// not `co_await d.dispatch({...})`.
  [[nodiscard]] Task<std::size_t> dispatch(const T& message) {
    const auto handlers = this->handlers_for(message);
    if (!handlers) co_return 0;
    const auto& entries = *handlers;
    // Two references: small enough for std::function to hold without allocating.
    const auto start_handler = [&entries, &message](std::size_t i) { return Base::handler_of(entries[i])(message); };
    co_await detail::when_all(entries.size(), start_handler);
    co_return handlers->size();
  }
};

}  // namespace fluid
