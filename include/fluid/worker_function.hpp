#pragma once
/// @file
/// WorkerFunction: a worker made of a function called in a loop.

#include "fluid/worker.hpp"

#include <chrono>
#include <functional>

namespace fluid {

/// A worker that awaits `fn()` in a loop while running, pausing `heartbeat`
/// between calls, for periodic jobs that need no class of their own.
/// The pause ends early when the worker is asked to stop, so a long heartbeat
/// never delays shutdown; a zero heartbeat just yields to the loop.
class WorkerFunction : public Worker {
 public:
  /// @throws FluidError if `fn` is empty or `heartbeat` is negative.
  explicit WorkerFunction(std::function<Task<>()> fn, std::chrono::milliseconds heartbeat = {},
                          WorkerOptions options = {});

  /// The pause between two calls.
  std::chrono::milliseconds heartbeat() const noexcept { return heartbeat_; }

 protected:
  Task<> run() override;

 private:
  std::function<Task<>()> fn_;
  std::chrono::milliseconds heartbeat_;
};

}  // namespace fluid
