#pragma once
// A TCP proxy between a client under test and its server that misbehaves on
// demand: stalls replies, drops connections, cuts a reply mid-frame.

#include <fluid/detail/notifier.hpp>
#include <fluid/task.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fluid::test {

/// Listens on 127.0.0.1 (a free port) and forwards each connection to
/// 127.0.0.1:<upstream>, on a thread and event loop of its own, so that what
/// it holds back never blocks the test's loop. Control calls are thread-safe
/// and take effect before they return.
class FaultProxy {
 public:
  explicit FaultProxy(std::uint16_t upstream);
  /// Closes every connection and stops its thread.
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const noexcept;
  /// "redis://127.0.0.1:<port>" followed by `rest` ("/1?name=x").
  std::string url(std::string_view rest = "") const;

  /// Connections accepted from now on go to 127.0.0.1:<upstream>.
  void set_upstream(std::uint16_t upstream);
  /// Live connections stop forwarding what the server sends (held, not
  /// lost); connections accepted later are not stalled.
  void stall_replies();
  /// Stalled connections forward what they held, and go on.
  void resume_replies();
  /// Closes every live connection, both sides.
  void drop_connections();
  /// The next bytes any server sends: the first `bytes` of them reach the
  /// client, then that connection is closed, both sides.
  void cut_next_reply(std::size_t bytes);

  /// Connections accepted so far.
  std::size_t connections() const;
  /// Waits (event-driven) until connections() >= n; false on timeout.
  [[nodiscard]] Task<bool> wait_for_connections(std::size_t n, std::chrono::milliseconds timeout);
  /// Waits until the bytes clients sent (every connection, in arrival
  /// order) contain `needle`; false on timeout.
  [[nodiscard]] Task<bool> wait_for_sent(std::string needle, std::chrono::milliseconds timeout);

  struct State;  // the proxy's loop and what its connections share (fault_proxy.cpp)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace fluid::test
