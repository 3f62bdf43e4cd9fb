#pragma once
/// @file
/// Event: the key dispatchers register handlers under, "type" or "type.tag".

#include <string>
#include <string_view>

namespace fluid {

/// The name a dispatcher handler is registered under.
///
/// A dispatcher routes each message to the handlers of its event type; the
/// tag lets several handlers share one type ("user.audit", "user.email"),
/// each replaced or removed on its own. The string form is "type" (tag "")
/// or "type.tag".
struct Event {
  /// The event type a message is routed by; never empty, never contains '.'.
  std::string type;
  /// Tells apart the handlers of one type; "" for the untagged handler.
  std::string tag;

  /// Parses "type" (tag "") or "type.tag".
  /// Stricter than aio-fluid, which silently drops what follows a second dot:
  /// an empty type (".tag", ""), an empty tag after a dot ("type.") and more
  /// than one dot ("a.b.c") are all rejected, because each would otherwise
  /// register a handler under a key nobody meant.
  /// @throws FluidError quoting `event` when it is malformed.
  static Event from_string(std::string_view event);

  /// The string form: "type" when the tag is empty, else "type.tag".
  std::string to_string() const;

  /// Two events are equal when type and tag both are.
  friend bool operator==(const Event&, const Event&) = default;
};

}  // namespace fluid
