#pragma once
// redis:// URLs: where the broker's Redis is and how the broker uses it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fluid::redis {

/// A parsed redis://, rediss:// or unix:// URL:
///   redis://[[user]:password@]host[:port][/db][?name=N&queues=a,b&retention=S&timeout=S&connect_timeout=S]
///   unix://[[user]:password@]/path/to/redis.sock[?db=D&name=N&...]
/// Durations are decimal seconds. User, password, path and values may be
/// percent-encoded.
struct RedisUrl {
  bool tls = false;                ///< rediss://
  std::string host = "localhost";  ///< empty for a Unix socket
  std::uint16_t port = 6379;
  std::string unix_path;                              ///< unix://: the socket's path
  std::string user;                                   ///< empty: the default user
  std::string password;                               ///< empty: no AUTH
  unsigned db = 0;                                    ///< SELECTed on each connection
  std::string name = "redis-task-broker";             ///< key namespace and CLIENT SETNAME
  std::optional<std::vector<std::string>> queues;     ///< ?queues=: as written (empty: none)
  std::chrono::milliseconds retention{3'600'000};     ///< how long final runs stay readable
  std::chrono::milliseconds timeout{5'000};           ///< a call's wait for the connection and its reply
  std::chrono::milliseconds connect_timeout{10'000};  ///< how long open() retries
  std::string redacted;                               ///< the URL as given, password masked: for messages
};

/// Parses `url`.
/// @throws FluidError quoting the URL with its password masked: unknown
///         scheme, bad port or database, unknown or repeated query key, bad
///         duration, a user without a password, a name Redis would refuse.
RedisUrl parse_redis_url(std::string_view url);

/// `url` with the password (between "user:" and "@") replaced by "***";
/// works on any text, well-formed or not.
std::string redact_url(std::string_view url);

/// Where a client connects, for messages: "host:port" or the socket's path.
std::string endpoint_text(const RedisUrl& url);

}  // namespace fluid::redis
