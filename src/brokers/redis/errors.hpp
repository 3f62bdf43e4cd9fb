#pragma once
// The Redis client's own error: an error reply. The broker errors it
// derives from are the task queue's public ones (fluid/tasks/errors.hpp).

#include "fluid/tasks/errors.hpp"

#include <exception>
#include <string>
#include <string_view>

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

/// What a call taken back completes with (cancelled, or dropped with its
/// client): Asio's operation_aborted, as Asio's own operations do.
std::exception_ptr call_aborted();

}  // namespace fluid::redis
