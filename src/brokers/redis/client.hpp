#pragma once
// A Redis client on Asio coroutines: one connection, pipelined, every call
// bounded by a deadline, reconnecting with backoff. hiredis only encodes and
// decodes; the socket, the timers and the strand are Asio's.

#include "brokers/redis/reply.hpp"
#include "brokers/redis/url.hpp"
#include "fluid/restart.hpp"
#include "fluid/task.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace fluid::redis {

class Connection;

/// How a client connects and reconnects.
struct ClientOptions {
  RedisUrl url;  ///< address, credentials, db, client name, timeout, connect_timeout
  Backoff backoff{.initial = std::chrono::milliseconds(100),
                  .max = std::chrono::milliseconds(5'000),
                  .multiplier = 2.0,
                  .jitter = 0.2};
  /// A connection for blocking calls (BLPOP, XREAD BLOCK): one call at a time
  /// (a second concurrent call is FluidError), and a call cancelled while it
  /// waits drops the connection instead of leaving its reply to come, so the
  /// next call is not queued behind a block nobody waits for.
  bool blocking = false;
};

/// How one call is made.
struct CallOptions {
  /// How long the call waits for the connection and its reply (default: the
  /// URL's timeout). A blocking command gives its block time plus a margin.
  std::optional<std::chrono::milliseconds> timeout;
  /// Safe to send again: when the connection breaks before its reply, it is
  /// sent again on the next connection (within its deadline) instead of
  /// failing. Only for commands whose repetition changes nothing.
  bool idempotent = false;
};

/// A Lua script run with EVALSHA; cheap to copy (copies share what the
/// server told its SHA1 to be).
class RedisScript {
 public:
  explicit RedisScript(std::string source);
  const std::string& source() const noexcept;
  /// The SHA1 SCRIPT LOAD returned; empty until then. Thread-safe.
  std::string sha() const;
  void set_sha(std::string sha) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

/// One connection to Redis, shared by any number of concurrent callers.
///
/// Calls from every coroutine are written as they come, back to back
/// (pipelining), and answered in order. The connection opens on the first
/// call (or open()) and on each (re)connection runs AUTH, SELECT, CLIENT
/// SETNAME and a version check. When it breaks, or the oldest call's reply is
/// later than its deadline (RESP has no request ids, so a late reply would
/// answer the wrong call), it is closed, the calls on it fail with
/// BrokerUnavailableError (idempotent ones are sent again), and it reopens
/// with backoff; calls made meanwhile wait up to their timeout. An error
/// reply is RedisReplyError; READONLY (the server became a replica)
/// reconnects and retries.
/// @warning Thread-safe: call from any executor; each call resumes on its own.
class RedisClient {
 public:
  /// Connects nothing yet.
  /// @throws FluidError for a rediss:// URL (this build has no TLS).
  RedisClient(boost::asio::any_io_executor executor, ClientOptions options);
  /// Closes the connection: pending calls fail with BrokerUnavailableError.
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  /// Connects, retrying with backoff for the URL's connect_timeout.
  /// @throws BrokerUnavailableError naming the address and the last error
  ///         when still unreachable; RedisReplyError or BrokerError when the
  ///         server refuses the handshake (wrong password, unknown db, too old).
  [[nodiscard]] Task<> open();

  /// Sends the command `args` ({"SET", "k", "v"}; binary safe) and returns
  /// its reply.
  /// @throws RedisReplyError for an error reply, BrokerUnavailableError when
  ///         no reply came within the timeout or the connection broke first,
  ///         boost::system::system_error(operation_aborted) when the caller
  ///         is cancelled (the reply, when it comes, is discarded).
  [[nodiscard]] Task<Reply> call(std::vector<std::string> args, CallOptions options = {});

  /// EVALSHA of `script`, loading it (SCRIPT LOAD) when the server does not
  /// have it (first use, NOSCRIPT after a restart or SCRIPT FLUSH).
  /// @throws as call().
  [[nodiscard]] Task<Reply> eval(RedisScript script, std::vector<std::string> keys, std::vector<std::string> args,
                                 CallOptions options = {});

  /// Closes the connection for good; pending and later calls fail with
  /// BrokerUnavailableError. Thread-safe, idempotent.
  void close();

  /// The URL with its password masked, as messages quote it.
  const std::string& address() const noexcept;

 private:
  Task<std::string> load(RedisScript script);

  std::shared_ptr<Connection> connection_;
  std::atomic<bool> busy_{false};  // blocking: a call is in progress
};

}  // namespace fluid::redis
