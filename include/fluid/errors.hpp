#pragma once
/// @file
/// The exceptions fluid throws. Every one derives from FluidError, so a
/// service can catch "anything fluid complained about" in one place, and each
/// message names the worker (or the input) at fault.

#include <exception>
#include <stdexcept>
#include <string>

namespace fluid {

/// Base of every error fluid reports: bad configuration, misuse, closed queues.
struct FluidError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A worker was asked to start twice (or started concurrently from two places).
struct WorkerStartError : FluidError {
  using FluidError::FluidError;
};

/// A message was sent to a queue consumer that no longer accepts messages.
struct QueueClosedError : FluidError {
  using FluidError::FluidError;
};

/// A message was sent with send() to a bounded queue consumer that is full.
struct QueueFullError : FluidError {
  using FluidError::FluidError;
};

/// The message of `error`: what() of a std::exception, else "unknown exception".
std::string error_message(const std::exception_ptr& error);

}  // namespace fluid
