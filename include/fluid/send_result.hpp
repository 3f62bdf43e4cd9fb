#pragma once
/// @file
/// SendResult: what an attempt to enqueue a message came to.

#include <cstdint>
#include <string_view>

namespace fluid {

/// What try_send() came to: accepted, or why not.
///
/// A producer that gets "full" may retry later (or await async_send()); one
/// that gets "closed" never will succeed with that consumer. Tests true only
/// when the message was accepted, so `if (!consumer.try_send(m))` reads as a
/// refusal of either kind.
class SendResult {
 public:
  enum Kind : std::uint8_t {
    accepted,  ///< queued: it will be handed to the consumer or counted as dropped
    closed,    ///< the consumer stopped accepting messages (stopped, drained while stopping, or retired)
    full,      ///< a bounded queue is at its capacity now
  };

  constexpr SendResult(Kind kind) noexcept : kind_(kind) {}  // NOLINT: implicit, so `result == SendResult::full` reads
  /// Which outcome it was, for a switch.
  constexpr Kind kind() const noexcept { return kind_; }
  /// True when the message was accepted.
  constexpr explicit operator bool() const noexcept { return kind_ == accepted; }
  friend constexpr bool operator==(SendResult, SendResult) noexcept = default;

 private:
  Kind kind_;
};

/// "accepted", "closed" or "full".
constexpr std::string_view to_string(SendResult result) noexcept {
  switch (result.kind()) {
    case SendResult::accepted: return "accepted";
    case SendResult::closed: return "closed";
    case SendResult::full: return "full";
  }
  return "unknown";
}

}  // namespace fluid
