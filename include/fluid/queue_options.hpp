#pragma once
/// @file
/// QueueOptions: how a queue consumer holds its messages.

#include <chrono>
#include <cstddef>
#include <optional>

namespace fluid {

/// How a queue consumer holds messages and what it does with them on stop.
struct QueueOptions {
  /// Most messages held at once; 0 means unbounded.
  std::size_t capacity = 0;
  /// On graceful stop, consume what is queued (true) or discard and count it.
  bool drain_on_stop = true;
  /// Most handler invocations in flight at once, for the consumers that run
  /// consume() (QueueConsumerWorker, AsyncConsumer). 1: one at a time, in
  /// order. Above 1, messages are taken in order but may finish in any order.
  std::size_t concurrency = 1;
  /// How long one handler may run (consume() again). Past it the handler is
  /// cancelled (operation_aborted at its pending co_await), the message counts
  /// as failed and is logged, and the consumer goes on. nullopt: no limit.
  std::optional<std::chrono::milliseconds> handler_timeout;
};

}  // namespace fluid
