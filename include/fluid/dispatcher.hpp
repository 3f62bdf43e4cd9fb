#pragma once
/// @file
/// Dispatcher: routes a message to the synchronous handlers of its event type.

#include "fluid/detail/handler_registry.hpp"

#include <cstddef>
#include <functional>
#include <string>

namespace fluid {

/// Decouples the code that produces messages from the code that reacts to
/// them: handlers register under an event type, and dispatch(message) calls
/// every handler of the message's type, whatever its tag.
///
/// A subclass says how a message maps to an event type by overriding
/// event_type(). Several handlers share a type through tags: "order" and
/// "order.audit" are two handlers of type "order", each replaced or removed
/// on its own. Handlers run in registration order (a replaced handler keeps
/// its place), on the calling thread.
///
/// Thread-safety: registration and dispatch may be called from any thread
/// concurrently. A dispatch works on the handler list it found when it
/// started, so a handler may register or unregister handlers (even itself)
/// while being called; the change applies from the next dispatch.
template <class T>
class Dispatcher : public detail::BasicDispatcher<T, std::function<void(const T&)>> {
 public:
  /// Calls every handler registered under event_type(message), whatever its
  /// tag, in registration order; returns how many were called (0 when none
  /// is registered for that type).
  /// An exception from a handler propagates at once: the handlers after it are
  /// not called (as in aio-fluid).
  std::size_t dispatch(const T& message) {
    const auto handlers = this->handlers_for(message);
    if (!handlers) return 0;
    for (const auto& entry : *handlers) this->handler_of(entry)(message);
    return handlers->size();
  }
};

}  // namespace fluid
