#pragma once
// The HTTP/1.1 plumbing of StatusServer: accepting, reading, answering,
// limits, and closing everything on stop. What is answered is the caller's.

#include "fluid/detail/gate.hpp"
#include "fluid/detail/log_throttle.hpp"
#include "fluid/http.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace fluid::detail {

/// What one client may take of the server.
struct HttpLimits {
  /// For a complete request, for the client to take a response, and idle
  /// between keep-alive requests.
  std::chrono::milliseconds read_timeout{5000};
  /// Open connections at once; one more is answered 503 and closed.
  std::size_t max_connections = 64;
  /// Requests served on one connection; the last answer closes it.
  std::size_t max_requests_per_connection = 1000;
  /// The largest request body read; a larger one is answered 413 and the
  /// connection closed.
  std::size_t max_body_bytes = 64 * 1024;
};

/// Accepts connections and serves each in a coroutine of its own on the
/// listener's executor: request, `respond`, response, again while the client
/// keeps the connection alive and within its budget. Held by a shared_ptr,
/// which its coroutines share. All but connections() on that one executor.
class HttpListener : public std::enable_shared_from_this<HttpListener> {
 public:
  using Respond = std::function<Task<HttpResponse>(HttpRequest)>;

  HttpListener(std::string name, HttpLimits limits, Respond respond);

  /// Takes over `acceptor`, bound and listening.
  void listen(boost::asio::ip::tcp::acceptor acceptor);
  /// Accepts until close(). Failed accepts (out of file descriptors, say) are
  /// retried after a pause and logged at most once a second.
  [[nodiscard]] Task<> accept_loop();
  /// Refuses new connections, closes the listening socket and every open
  /// connection, and waits until their coroutines have ended (at once: their
  /// pending operations are aborted).
  [[nodiscard]] Task<> close();
  /// How many connections are open now. Thread-safe.
  std::size_t connections() const noexcept { return open_.count(); }

 private:
  struct Connection;
  void start(boost::asio::ip::tcp::socket socket, const boost::asio::any_io_executor& executor);
  void refuse(boost::asio::ip::tcp::socket socket);
  Task<> serve(std::shared_ptr<Connection> connection);
  Task<bool> answer(Connection& connection, HttpRequest request, unsigned version, bool keep_alive);
  Task<> stream(Connection& connection, HttpResponse response, unsigned version);

  std::string name_;
  HttpLimits limits_;
  Respond respond_;
  Gate open_;  // a connection is inside from its accept to the end of its coroutine
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  std::uint64_t next_id_ = 0;
  LogThrottle accept_errors_;
  LogThrottle refusals_;
};

}  // namespace fluid::detail
