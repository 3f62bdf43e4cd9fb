#pragma once
// A redis-server of the test's own: a free port, a temporary directory, gone
// when the test ends. Never the system server on 6379.

#include <gtest/gtest.h>

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace fluid::test {

struct RedisServerOptions {
  bool appendonly = false;         ///< --appendonly yes: survives stop() + start()
  std::string password;            ///< --requirepass
  std::vector<std::string> extra;  ///< further arguments ("--maxmemory", "1mb")
};

/// Starts Debian's redis-server on 127.0.0.1, a free port and a Unix socket
/// in a temporary directory (`--save ""`, `--appendonly no` unless asked),
/// and returns once it accepts connections (it says so on its log, which is
/// read as it comes: no sleeping). Stops it and removes the directory when
/// destroyed.
/// @warning Start it from the test's main thread: the server is killed when
///          the thread that started it exits (so a crashed test leaves none).
class RedisServer {
 public:
  /// The redis-server on PATH, if any.
  static std::optional<std::string> binary();

  /// @throws std::runtime_error with its log when it does not start.
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }
  std::string unix_socket() const { return (dir_ / "redis.sock").string(); }
  /// "redis://[:password@]127.0.0.1:<port>" followed by `rest` ("/1?name=x").
  std::string url(std::string_view rest = "") const;

  /// SIGTERM, and waits for it to exit (with appendonly, its data is on disk).
  void stop();
  /// SIGKILL, and waits for it to exit.
  void kill();
  /// Starts it again on the same port and directory.
  void start();
  bool running() const noexcept { return pid_ > 0; }
  /// What it logged so far.
  std::string log() const;

 private:
  std::vector<std::string> arguments() const;
  bool launch();  // false: it exited before it was ready (the port was taken)
  void read_log(int fd);
  void reap(int signal);

  RedisServerOptions options_;
  std::string binary_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::thread log_reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string log_;                  // guarded by mutex_
  bool ready_ = false;               // guarded by mutex_
  bool ended_ = false;               // guarded by mutex_: the log pipe closed
  std::size_t ready_scan_from_ = 0;  // guarded by mutex_: this start's part of log_
};

}  // namespace fluid::test

/// Skips the test, saying why, when redis-server is not installed.
#define FLUID_REQUIRE_REDIS_SERVER()                                                                        \
  do {                                                                                                      \
    if (!::fluid::test::RedisServer::binary()) {                                                            \
      GTEST_SKIP() << "redis-server not found on PATH: Redis tests skipped (apt-get install redis-server)"; \
    }                                                                                                       \
  } while (false)
