#pragma once
// A Redis reply (RESP2), fluid's own type: what the codec decodes into and
// what the client hands back.

#include <string>
#include <string_view>
#include <vector>

namespace fluid::redis {

/// One RESP2 reply. Error replies nested in an array stay replies; the
/// client turns a top-level error into RedisReplyError.
struct Reply {
  enum class Type { nil, integer, string, status, error, array };

  Type type = Type::nil;
  long long integer = 0;        ///< integer
  std::string text;             ///< string (bulk, binary safe), status, error
  std::vector<Reply> elements;  ///< array

  bool is_nil() const noexcept { return type == Type::nil; }
  bool is_error() const noexcept { return type == Type::error; }

  /// The text of a string or status reply.
  /// @throws BrokerError naming the type found.
  const std::string& as_string() const;
  /// The value of an integer reply.
  /// @throws BrokerError naming the type found.
  long long as_integer() const;
  /// The elements of an array reply.
  /// @throws BrokerError naming the type found.
  const std::vector<Reply>& as_array() const;

  /// A short rendering for messages and test failures: "nil", "42",
  /// "\"text\"", "+OK", "-ERR ...", "[3 elements]".
  std::string describe() const;

  bool operator==(const Reply&) const = default;
};

/// "nil", "integer", "string", "status", "error", "array".
std::string_view to_string(Reply::Type type) noexcept;

}  // namespace fluid::redis
