#pragma once
// RESP2 encoding and decoding. hiredis does the work (its reader and command
// formatter only: fluid does its own I/O); nothing of it shows here.

#include "brokers/redis/reply.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

struct redisReader;

namespace fluid::redis {

/// Appends the RESP encoding of the command `args` to `out`; binary safe
/// (an argument may hold any byte, '\0' and "\r\n" included).
/// @throws std::bad_alloc when hiredis cannot allocate.
void append_command(std::string& out, const std::vector<std::string>& args);

/// The RESP encoding of the command `args`.
std::string encode_command(const std::vector<std::string>& args);

/// Decodes the reply stream of one connection as its bytes arrive, in any
/// pieces. A protocol error makes it (and so the connection) unusable.
class ReplyDecoder {
 public:
  ReplyDecoder();
  ~ReplyDecoder();
  ReplyDecoder(const ReplyDecoder&) = delete;
  ReplyDecoder& operator=(const ReplyDecoder&) = delete;

  /// Adds bytes read from the connection.
  /// @throws BrokerError after a protocol error.
  void feed(const char* data, std::size_t size);

  /// The next complete reply, if the bytes fed so far hold one.
  /// @throws BrokerError on a protocol error ("Protocol error, got ...").
  std::optional<Reply> next();

 private:
  redisReader* reader_;
};

}  // namespace fluid::redis
