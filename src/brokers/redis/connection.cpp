#include "brokers/redis/connection.hpp"

#include "brokers/redis/errors.hpp"
#include "brokers/redis/handshake.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "runtime/backoff.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

namespace fluid::redis {

namespace asio = boost::asio;

namespace {

constexpr std::size_t read_chunk = 64 * 1024;

std::string milliseconds_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

// Boost's system_error::what() carries the source location: keep the message.
std::string failure_text(const std::exception& e) {
  if (const auto* system = dynamic_cast<const boost::system::system_error*>(&e)) return system->code().message();
  return e.what();
}

std::string error_text(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return failure_text(e);
  } catch (...) {
    return "unknown error";
  }
}

bool cancels_sent_call(asio::cancellation_type type) {
  // Total cancellation promises the operation had no effect: a command already
  // on the wire may still run, so only terminal and partial take it back.
  return (type & (asio::cancellation_type::terminal | asio::cancellation_type::partial)) !=
         asio::cancellation_type::none;
}

// Runs both until the first ends, however it ends (awaitable operators'
// `||` would wait on for a success), cancels the other and waits for it;
// returns which ended first (0 or 1) or rethrows its exception.
Task<std::size_t> first_to_end(Task<> first, Task<> second) {
  const auto executor = co_await asio::this_coro::executor;
  auto [order, error0, error1] =
      co_await asio::experimental::make_parallel_group(asio::co_spawn(executor, std::move(first), asio::deferred),
                                                       asio::co_spawn(executor, std::move(second), asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  const auto& error = order[0] == 0 ? error0 : error1;
  if (error) std::rethrow_exception(error);
  co_return order[0];
}

}  // namespace

Connection::Connection(asio::any_io_executor executor, ClientOptions options)
    : strand_(asio::make_strand(std::move(executor))),
      options_(std::move(options)),
      writer_wake_(strand_),
      watchdog_timer_(strand_) {}

std::shared_ptr<Request> Connection::make_request(const std::vector<std::string>& args,
                                                  const CallOptions& options) const {
  if (args.empty()) throw FluidError(address() + ": empty Redis command");
  auto request = std::make_shared<Request>();
  append_command(request->bytes, args);
  request->command = command_name(args);
  request->timeout = options.timeout.value_or(options_.url.timeout);
  request->deadline = Clock::now() + request->timeout;
  request->idempotent = options.idempotent;
  return request;
}

Task<Reply> Connection::submit(std::shared_ptr<Request> request) {
  auto initiate = [self = shared_from_this()](auto handler, std::shared_ptr<Request> request) {
    const boost::asio::any_io_executor caller = asio::get_associated_executor(handler, self->strand_);
    request->caller = std::make_unique<CallerCompletion>(CallerCompletion::Handler(std::move(handler)), caller);
    // The erased handler has a cancellation slot of its own (it took over the
    // caller's): ours goes there.
    auto slot = request->caller->cancellation_slot();
    if (slot.is_connected()) {
      // Runs on the canceller's thread: hop onto the strand, where the request lives.
      slot.assign([connection = std::weak_ptr(self), weak = std::weak_ptr(request),
                   strand = self->strand_](asio::cancellation_type type) {
        asio::post(strand, [connection, weak, type] {
          auto alive = connection.lock();
          auto request = weak.lock();
          if (alive && request) alive->abandon(request, type);
        });
      });
    }
    asio::post(self->strand_, [self, request = std::move(request)]() mutable { self->start(std::move(request)); });
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, Reply)>(
      std::move(initiate), asio::use_awaitable, std::move(request));
}

void Connection::close() {
  asio::post(strand_, [self = shared_from_this()] { self->shutdown(); });
}

// ---------------------------------------------------------------- calls (strand)

void Connection::start(std::shared_ptr<Request> request) {
  if (closed_) {
    complete(*request, unavailable("client closed"));
    return;
  }
  const auto deadline = request->deadline;
  queued_.push_back(std::move(request));
  if (!started_) {
    started_ = true;
    asio::co_spawn(strand_, run(shared_from_this()),
                   asio::bind_cancellation_slot(stop_.slot(), [address = address()](std::exception_ptr error) {
                     if (error) logger()->debug("redis {}: connection loop ended: {}", address, error_text(error));
                   }));
  }
  if (writer_waiting_) writer_wake_.cancel();
  if (deadline < watchdog_timer_.expiry()) watchdog_timer_.cancel();
}

void Connection::abandon(const std::shared_ptr<Request>& request, asio::cancellation_type type) {
  if (!request->caller) return;
  if (request->sent && !cancels_sent_call(type)) return;
  if (!request->sent) {
    std::erase(queued_, request);
    std::erase(retry_, request);
  }
  // A sent request keeps its place in in_flight_: its reply is read and dropped.
  const bool was_sent = request->sent;
  complete(*request, call_aborted());
  if (was_sent && options_.blocking) end_session("a blocking call was cancelled");
}

void Connection::shutdown() {
  if (closed_) return;
  closed_ = true;
  const auto error = unavailable("client closed");
  fail_waiting(error);
  for (auto& request : in_flight_) complete(*request, error);
  end_session("client closed");
  if (started_) stop_.emit(asio::cancellation_type::terminal);
}

void Connection::complete(Request& request, std::exception_ptr error, Reply reply) {
  if (!request.caller) return;
  // Posted, never run inline: the caller resumes on its own executor, outside
  // the strand and outside whatever loop of ours completed it.
  const auto caller = std::move(request.caller);
  caller->complete(std::move(error), std::move(reply));
}

void Connection::fail_waiting(const std::exception_ptr& error) {
  for (auto& request : queued_) complete(*request, error);
  for (auto& request : retry_) complete(*request, error);
  queued_.clear();
  retry_.clear();
}

std::exception_ptr Connection::unavailable(const std::string& why) const {
  return std::make_exception_ptr(BrokerUnavailableError(address() + ": " + why));
}

// ---------------------------------------------------------------- connection loop (strand)

Task<> Connection::run(std::shared_ptr<Connection> self) {
  co_await first_to_end(self->reconnect_loop(), self->watchdog());
}

Task<> Connection::reconnect_loop() {
  asio::steady_timer pause(strand_);
  for (;;) {
    co_await session();
    if (closed_) co_return;
    ++failures_;
    const auto delay = detail::backoff_delay(options_.backoff, failures_);
    logger()->debug("redis {}: {}; reconnecting in {}ms", address(), last_error_, delay.count());
    pause.expires_after(delay);
    co_await pause.async_wait(asio::use_awaitable);
  }
}

// One connection, from its first attempt to its end; never throws.
Task<> Connection::session() {
  Socket socket(strand_);
  ReplyDecoder decoder;
  auto reason = co_await open_session(socket, decoder);
  if (reason.empty()) {
    socket_ = &socket;
    reason = co_await serve(socket, decoder);
    socket_ = nullptr;
  }
  after_session(ending_.empty() ? reason : ending_);
}

// Connects and runs the handshake, within the timeout; returns why it failed
// ("" when it did not).
Task<std::string> Connection::open_session(Socket& socket, ReplyDecoder& decoder) {
  std::string failure;
  try {
    asio::steady_timer limit(strand_, options_.url.timeout);
    const auto first = co_await first_to_end(establish(socket, decoder), limit.async_wait(asio::use_awaitable));
    if (first == 1) failure = "no connection within " + milliseconds_text(options_.url.timeout);
  } catch (const BrokerUnavailableError& e) {
    failure = e.what();
  } catch (const BrokerError& e) {
    // The server refused the handshake: nothing waiting can succeed on it.
    fail_waiting(std::current_exception());
    failure = e.what();
  } catch (const std::exception& e) {
    failure = failure_text(e);
  }
  co_return failure;
}

// Runs the connection until it breaks or is closed; returns why it ended.
Task<std::string> Connection::serve(Socket& socket, ReplyDecoder& decoder) {
  std::string failure = "connection ended";
  try {
    co_await first_to_end(read_replies(socket, decoder), write_requests(socket));
  } catch (const std::exception& e) {
    failure = failure_text(e);
  }
  co_return failure;
}

Task<> Connection::establish(Socket& socket, ReplyDecoder& decoder) {
  co_await connect_socket(socket);
  co_await handshake(socket, decoder);
}

Task<> Connection::connect_socket(Socket& socket) {
  const auto& url = options_.url;
  if (!url.unix_path.empty()) {
    const Socket::endpoint_type endpoint(asio::local::stream_protocol::endpoint(url.unix_path));
    boost::system::error_code error;
    co_await socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, error));
    if (error) throw BrokerUnavailableError("cannot connect to " + url.unix_path + ": " + error.message());
    co_return;
  }
  asio::ip::tcp::resolver resolver(strand_);
  boost::system::error_code error;
  const auto endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                         asio::redirect_error(asio::use_awaitable, error));
  if (error) throw BrokerUnavailableError("cannot resolve " + url.host + ": " + error.message());
  for (const auto& entry : endpoints) {
    socket.close(error);
    co_await socket.async_connect(Socket::endpoint_type(entry.endpoint()),
                                  asio::redirect_error(asio::use_awaitable, error));
    if (!error) {
      socket.set_option(asio::ip::tcp::no_delay(true));
      co_return;
    }
  }
  throw BrokerUnavailableError("cannot connect to " + endpoint_text(url) + ": " + error.message());
}

Task<> Connection::handshake(Socket& socket, ReplyDecoder& decoder) {
  const auto commands = handshake_commands(options_.url);
  std::string out;
  for (const auto& command : commands) append_command(out, command);
  co_await asio::async_write(socket, asio::buffer(out), asio::use_awaitable);
  std::vector<Reply> replies;
  std::vector<char> buffer(4096);
  while (replies.size() < commands.size()) {
    auto reply = decoder.next();
    if (reply) {
      replies.push_back(std::move(*reply));
      continue;
    }
    const std::size_t size = co_await socket.async_read_some(asio::buffer(buffer), asio::use_awaitable);
    decoder.feed(buffer.data(), size);
  }
  check_handshake(address(), commands, replies);
}

Task<> Connection::read_replies(Socket& socket, ReplyDecoder& decoder) {
  std::vector<char> buffer(read_chunk);
  for (;;) {
    const std::size_t size = co_await socket.async_read_some(asio::buffer(buffer), asio::use_awaitable);
    decoder.feed(buffer.data(), size);
    for (;;) {
      auto reply = decoder.next();
      if (!reply) break;
      on_reply(std::move(*reply));
    }
  }
}

// Writes whatever accumulated since the last write in one go: callers that
// arrive while a write is in progress share the next one (pipelining).
Task<> Connection::write_requests(Socket& socket) {
  std::string out;
  for (;;) {
    // end_session() closed it: what comes now is for the next connection.
    if (!socket.is_open()) co_return;
    if (queued_.empty() || draining_) {
      writer_wake_.expires_at(Clock::time_point::max());
      writer_waiting_ = true;
      boost::system::error_code woken;
      co_await writer_wake_.async_wait(asio::redirect_error(asio::use_awaitable, woken));
      writer_waiting_ = false;
      continue;
    }
    out.clear();
    for (auto& request : queued_) {
      out += request->bytes;
      request->sent = true;
      in_flight_.push_back(std::move(request));
    }
    queued_.clear();
    co_await asio::async_write(socket, asio::buffer(out), asio::use_awaitable);
  }
}

void Connection::on_reply(Reply reply) {
  if (in_flight_.empty()) throw BrokerError("a reply with no call waiting for it: " + reply.describe());
  auto request = std::move(in_flight_.front());
  in_flight_.pop_front();
  if (reply.is_error() && reply.text.starts_with("READONLY")) {
    // Not executed: safe to send again, to whichever server is primary now.
    request->sent = false;
    if (request->caller) retry_.push_back(std::move(request));
    draining_ = true;
  } else {
    failures_ = 0;
    if (reply.is_error()) {
      auto error = std::make_exception_ptr(RedisReplyError(address(), request->command, std::move(reply.text)));
      complete(*request, std::move(error));
    } else {
      complete(*request, nullptr, std::move(reply));
    }
  }
  if (draining_ && in_flight_.empty()) end_session("READONLY: the server is a replica; reconnecting");
}

void Connection::end_session(const std::string& reason) {
  if (socket_ == nullptr || !socket_->is_open()) return;
  ending_ = reason;
  boost::system::error_code ignored;
  socket_->close(ignored);
}

void Connection::after_session(std::string reason) {
  last_error_ = reason;
  ending_.clear();
  draining_ = false;
  auto again = std::move(retry_);
  retry_.clear();
  for (auto& request : in_flight_) {
    if (!request->caller) continue;
    if (request->idempotent) {
      request->sent = false;
      again.push_back(std::move(request));
      continue;
    }
    complete(*request, unavailable("connection lost before the reply to " + request->command + " (" + reason + ")"));
  }
  in_flight_.clear();
  queued_.insert(queued_.begin(), std::make_move_iterator(again.begin()), std::make_move_iterator(again.end()));
}

// ---------------------------------------------------------------- deadlines (strand)

// Wakes at the earliest deadline; start() wakes it early for an earlier one.
Task<> Connection::watchdog() {
  for (;;) {
    expire(Clock::now());
    watchdog_timer_.expires_at(next_deadline());
    boost::system::error_code woken;
    co_await watchdog_timer_.async_wait(asio::redirect_error(asio::use_awaitable, woken));
  }
}

void Connection::expire(Clock::time_point now) {
  if (!in_flight_.empty() && in_flight_.front()->deadline <= now) {
    // RESP has no request ids: a reply this late would answer the wrong call.
    auto& head = *in_flight_.front();
    const auto why = "no reply to " + head.command + " within " + milliseconds_text(head.timeout);
    complete(head, unavailable(why + "; connection closed"));
    end_session(why);
  }
  const auto connected = socket_ != nullptr;
  const auto expired = [&](const std::shared_ptr<Request>& request) {
    if (request->deadline > now) return false;
    const auto why = connected ? "no reply to " + request->command + " within " + milliseconds_text(request->timeout)
                               : "no connection within " + milliseconds_text(request->timeout) +
                                     (last_error_.empty() ? std::string() : " (" + last_error_ + ")");
    complete(*request, unavailable(why));
    return true;
  };
  std::erase_if(queued_, expired);
  std::erase_if(retry_, expired);
}

Connection::Clock::time_point Connection::next_deadline() const {
  auto next = Clock::time_point::max();
  if (!in_flight_.empty()) next = in_flight_.front()->deadline;
  for (const auto& request : queued_) next = std::min(next, request->deadline);
  for (const auto& request : retry_) next = std::min(next, request->deadline);
  return next;
}

}  // namespace fluid::redis
