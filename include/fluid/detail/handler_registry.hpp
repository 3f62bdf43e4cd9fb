#pragma once
/// @file
/// The handler registry both dispatchers share, and its typed face.

#include "fluid/errors.hpp"
#include "fluid/event.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fluid::detail {

/// Keeps a dispatcher's handlers by event type and tag, so that registering on
/// one thread never disturbs a dispatch running on another.
///
/// Handlers are type-erased here, so the sync and async dispatchers share one
/// implementation. Each event type maps to an immutable list, a snapshot:
/// registration copies the list under a mutex, edits the copy and publishes
/// it; a dispatch takes the current list (a reference count, under the mutex)
/// and keeps it while its handlers run, so a handler replaced or removed
/// meanwhile is destroyed only once no dispatch uses it.
class HandlerRegistry {
 public:
  /// A handler of some std::function type that only the typed layer knows.
  using Erased = std::shared_ptr<const void>;
  /// One handler and the tag it was registered under.
  struct Entry {
    std::string tag;
    Erased handler;
  };
  /// The handlers of one event type in registration order; never modified once published.
  using Snapshot = std::shared_ptr<const std::vector<Entry>>;

  /// Registers `handler` under `event`; a handler with the same type and tag
  /// is replaced in place (it keeps its position). Returns the replaced one,
  /// or null if none.
  Erased replace(const Event& event, Erased handler);

  /// Removes the handler registered under `event`; returns it, or null if none.
  Erased remove(const Event& event);

  /// The handlers of `event_type`, every tag; null if there are none.
  Snapshot handlers(const std::string& event_type) const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Snapshot> by_type_;
};

/// What Dispatcher and AsyncDispatcher share, as aio-fluid's BaseDispatcher:
/// registration by event ("type" or "type.tag") and the abstract event_type().
/// `Handler` is a std::function type; this layer only casts it to and from
/// HandlerRegistry's erased form.
template <class T, class Handler>
class BasicDispatcher {
 public:
  /// The messages dispatched.
  using message_type = T;
  /// The handlers called with them.
  using handler_type = Handler;

  BasicDispatcher() = default;
  BasicDispatcher(const BasicDispatcher&) = delete;
  BasicDispatcher& operator=(const BasicDispatcher&) = delete;
  virtual ~BasicDispatcher() = default;

  /// The event type `message` belongs to: every handler registered under this
  /// type, whatever its tag, receives the message. A type containing '.'
  /// matches no handler, since registered types cannot contain one.
  virtual std::string event_type(const T& message) const = 0;

  /// Registers `handler` under `event` ("type" or "type.tag") and returns the
  /// handler it replaced there, or an empty function if there was none.
  /// Thread-safe; a dispatch already running keeps the handlers it started with.
  /// @throws FluidError if `event` is malformed (see Event::from_string) or
  ///         `handler` is empty.
  Handler register_handler(std::string_view event, Handler handler) {
    if (!handler) throw FluidError("dispatcher: the handler for event \"" + std::string(event) + "\" is empty");
    return unerase(registry_.replace(Event::from_string(event), std::make_shared<const Handler>(std::move(handler))));
  }

  /// Removes the handler registered under `event` ("type" or "type.tag") and
  /// returns it, or an empty function if there was none. Thread-safe.
  /// @throws FluidError if `event` is malformed (see Event::from_string).
  Handler unregister_handler(std::string_view event) {
    return unerase(registry_.remove(Event::from_string(event)));
  }

 protected:
  /// The handlers `message` goes to (null if none), kept alive by the caller
  /// for the whole dispatch.
  HandlerRegistry::Snapshot handlers_for(const T& message) const {
    return registry_.handlers(event_type(message));
  }

  /// The typed handler of one snapshot entry.
  static const Handler& handler_of(const HandlerRegistry::Entry& entry) noexcept {
    return *static_cast<const Handler*>(entry.handler.get());
  }

 private:
  static Handler unerase(const HandlerRegistry::Erased& handler) {
    return handler ? *static_cast<const Handler*>(handler.get()) : Handler{};
  }

  HandlerRegistry registry_;
};

}  // namespace fluid::detail
