#pragma once
/// @file
/// QueueOptions: how a queue consumer holds its messages.

#include <cstddef>

namespace fluid {

/// How a queue consumer holds messages and what it does with them on stop.
struct QueueOptions {
  /// Most messages held at once; 0 means unbounded.
  std::size_t capacity = 0;
  /// On graceful stop, consume what is queued (true) or discard and count it.
  bool drain_on_stop = true;
};

}  // namespace fluid
