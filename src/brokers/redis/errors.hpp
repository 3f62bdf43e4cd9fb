#pragma once
// The errors of the Redis client. BrokerError and BrokerUnavailableError are
// the task queue's (pinned names and definitions); they live here until the
// tasks' public error header takes them over.

#include "fluid/errors.hpp"

#include <string>
#include <string_view>

namespace fluid {

/// The broker refused or failed an operation.
struct BrokerError : FluidError {
  using FluidError::FluidError;
};

/// The broker cannot be reached: not connected in time, or the connection
/// broke before the reply.
struct BrokerUnavailableError : BrokerError {
  using BrokerError::BrokerError;
};

}  // namespace fluid

namespace fluid::redis {

/// Redis answered with an error reply; what() is "<address>: <COMMAND>:
/// <Redis's text>", and reply() is Redis's text alone ("NOSCRIPT No matching
/// script...") for callers that act on its code.
class RedisReplyError : public BrokerError {
 public:
  RedisReplyError(std::string_view address, std::string_view command, std::string reply);
  /// Redis's text, as it sent it.
  const std::string& reply() const noexcept { return reply_; }
  /// The first word of the reply: "ERR", "NOSCRIPT", "WRONGTYPE", ...
  std::string_view code() const noexcept;

 private:
  std::string reply_;
};

}  // namespace fluid::redis
