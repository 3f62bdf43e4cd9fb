#pragma once
// The machinery behind RedisClient: requests in FIFO order over one socket
// at a time, a writer and a reader coroutine, a watchdog for deadlines, and
// the reconnect loop, all on one strand.

#include "brokers/redis/caller_completion.hpp"
#include "brokers/redis/client.hpp"
#include "brokers/redis/codec.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>

namespace fluid::redis {

/// One call on its way: encoded once, kept until its reply (or its failure).
struct Request {
  using Clock = std::chrono::steady_clock;

  std::string bytes;    // the RESP encoding
  std::string command;  // its name, for messages
  Clock::time_point deadline;
  std::chrono::milliseconds timeout{};
  bool idempotent = false;
  bool sent = false;  // written on the current connection: its reply is due there
  // Null once completed (or abandoned by a cancelled caller).
  std::unique_ptr<CallerCompletion> caller;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Clock = Request::Clock;
  using Socket = boost::asio::generic::stream_protocol::socket;

  Connection(boost::asio::any_io_executor executor, ClientOptions options);

  const ClientOptions& options() const noexcept { return options_; }
  const std::string& address() const noexcept { return options_.url.redacted; }

  /// Encodes a call (any thread).
  /// @throws FluidError for an empty command.
  std::shared_ptr<Request> make_request(const std::vector<std::string>& args, const CallOptions& options) const;

  /// Queues `request` and completes with its reply (any thread).
  Task<Reply> submit(std::shared_ptr<Request> request);

  /// Closes for good (any thread).
  void close();

 private:
  // Everything below runs on strand_.
  void start(std::shared_ptr<Request> request);
  void abandon(const std::shared_ptr<Request>& request, boost::asio::cancellation_type type);
  void shutdown();

  static Task<> run(std::shared_ptr<Connection> self);
  Task<> reconnect_loop();
  Task<> session();
  Task<std::string> open_session(Socket& socket, ReplyDecoder& decoder);
  Task<std::string> serve(Socket& socket, ReplyDecoder& decoder);
  Task<> establish(Socket& socket, ReplyDecoder& decoder);
  Task<> connect_socket(Socket& socket);
  Task<> handshake(Socket& socket, ReplyDecoder& decoder);
  Task<> read_replies(Socket& socket, ReplyDecoder& decoder);
  Task<> write_requests(Socket& socket);
  Task<> watchdog();

  void on_reply(Reply reply);
  void end_session(const std::string& reason);
  void after_session(std::string reason);  // a copy: ending_ is cleared here
  void expire(Clock::time_point now);
  Clock::time_point next_deadline() const;
  void complete(Request& request, std::exception_ptr error, Reply reply = {});
  void fail_waiting(const std::exception_ptr& error);
  std::exception_ptr unavailable(const std::string& why) const;

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  const ClientOptions options_;
  std::deque<std::shared_ptr<Request>> queued_;     // not written yet
  std::deque<std::shared_ptr<Request>> in_flight_;  // written, replies due in this order
  std::deque<std::shared_ptr<Request>> retry_;      // refused with READONLY: for the next connection
  boost::asio::steady_timer writer_wake_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::cancellation_signal stop_;
  Socket* socket_ = nullptr;  // the live session's, once its handshake passed
  std::string ending_;        // why end_session() closed the live socket
  std::string last_error_;    // why the last connection (attempt) ended
  std::size_t failures_ = 0;  // attempts since the last good reply
  bool started_ = false;
  bool closed_ = false;
  bool draining_ = false;  // READONLY seen: send nothing more, reconnect once the replies are in
  bool writer_waiting_ = false;
};

}  // namespace fluid::redis
