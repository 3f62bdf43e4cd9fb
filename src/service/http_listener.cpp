#include "service/http_listener.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/system/system_error.hpp>


namespace fluid {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace detail {

namespace {

using BeastRequest = http::request<http::string_body>;
using BeastResponse = http::response<http::string_body>;

constexpr std::size_t max_header_bytes = 8 * 1024;
/// After a failed accept (e.g. out of file descriptors), before the next one.
constexpr std::chrono::milliseconds accept_retry_delay{100};

HttpRequest to_request(const BeastRequest& from) {
  HttpRequest out;
  out.method = std::string(from.method_string());
  out.target = std::string(from.target());
  const auto query = out.target.find('?');
  out.path = out.target.substr(0, query);
  if (query != std::string::npos) out.query = out.target.substr(query + 1);
  for (const auto& field : from) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = from.body();
  return out;
}

BeastResponse to_beast(HttpResponse from, unsigned version, bool keep_alive) {
  BeastResponse out{static_cast<http::status>(from.status), version};
  out.set(http::field::server, "fluid");
  out.set(http::field::content_type, from.content_type);
  out.set(http::field::cache_control, "no-store");
  for (auto& [name, value] : from.headers) out.set(name, value);
  out.keep_alive(keep_alive);
  out.body() = std::move(from.body);
  out.prepare_payload();
  return out;
}

/// A request Beast could not parse: the client gets 400 (a stream that just
/// ended, mid-message or between messages, gets nothing).
bool is_malformed(const beast::error_code& error) {
  return error.category() == http::make_error_code(http::error::bad_method).category() &&
         error != http::error::end_of_stream && error != http::error::partial_message;
}

/// The answer to a request Beast did not read whole: 413 past the body
/// limit, else 400.
HttpResponse refusal(const beast::error_code& error, std::size_t max_body_bytes) {
  if (error == http::error::body_limit) {
    const auto detail = "request body larger than " + std::to_string(max_body_bytes) + " bytes";
    return HttpResponse::json(413, {{"error", "payload too large"}, {"detail", detail}});
  }
  return HttpResponse::json(400, {{"error", "malformed request"}, {"detail", error.message()}});
}

/// After refusing a body: says the answer is complete, then discards what
/// the client still sends until it closes (or `limit` passes), so that it
/// reads the answer instead of a reset of the unread bytes.
Task<> drain(beast::tcp_stream& stream, std::chrono::milliseconds limit) {
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(limit);
  char discard[4096];
  for (;;) {
    const auto [error, n] = co_await stream.async_read_some(asio::buffer(discard), asio::as_tuple(asio::use_awaitable));
    if (error) co_return;
  }
}

/// Resolves once the peer has closed (or reset) the connection; what it
/// sends meanwhile is discarded. Reads the socket itself, not the timed
/// stream, so that it never times out.
Task<> peer_closed(tcp::socket& socket) {
  char discard[512];
  for (;;) {
    const auto [error, n] = co_await socket.async_read_some(asio::buffer(discard), asio::as_tuple(asio::use_awaitable));
    if (error) co_return;
  }
}

/// Runs a stream's body; what it throws ends the body (logged), never the
/// race against peer_closed(), which would then wait for the peer.
Task<> guarded_stream(std::string name, std::function<Task<>(HttpBodyWriter)> body, HttpBodyWriter write) {
  try {
    co_await body(std::move(write));
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) throw;
    logger()->warn("{}: a streamed answer ended: {}", name, e.what());
  } catch (...) {
    logger()->warn("{}: a streamed answer ended: {}", name, error_message(std::current_exception()));
  }
}

Task<beast::error_code> send(beast::tcp_stream& stream, BeastResponse response, bool head) {
  if (head) {  // the GET's headers, Content-Length included, and no body
    http::response<http::empty_body> header{std::move(response.base())};
    const auto [error, written] = co_await http::async_write(stream, header, asio::as_tuple(asio::use_awaitable));
    co_return error;
  }
  const auto [error, written] = co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
  co_return error;
}

/// A connection's coroutine ended by an exception: cancelled on stop (normal), or worse.
void log_connection_error(const std::string& name, const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) logger()->warn("{}: connection ended: {}", name, e.what());
  } catch (...) {
    logger()->warn("{}: connection ended: {}", name, error_message(std::current_exception()));
  }
}

std::string held_back(std::uint64_t count) {
  return count == 0 ? "" : " (" + std::to_string(count) + " more since the last report)";
}

}  // namespace

struct HttpListener::Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  asio::cancellation_signal cancel;  // ends the connection's coroutine wherever it waits
};

HttpListener::HttpListener(std::string name, HttpLimits limits, Respond respond)
    : name_(std::move(name)), limits_(limits), respond_(std::move(respond)) {}

void HttpListener::listen(tcp::acceptor acceptor) { acceptor_.emplace(std::move(acceptor)); }

Task<> HttpListener::accept_loop() {
  const auto executor = co_await asio::this_coro::executor;
  for (;;) {
    auto [error, socket] = co_await acceptor_->async_accept(asio::as_tuple(asio::use_awaitable));
    if (error == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
    if (error) {
      if (const auto held = accept_errors_.admit()) {
        logger()->warn("{}: accept failed: {}; retrying{}", name_, error.message(), held_back(*held));
      }
      co_await sleep(accept_retry_delay);
      continue;
    }
    start(std::move(socket), executor);
  }
}

void HttpListener::start(tcp::socket socket, const asio::any_io_executor& executor) {
  if (open_.count() >= limits_.max_connections) return refuse(std::move(socket));
  auto pass = open_.try_hold();
  if (!pass) return;  // closing: the socket closes as it goes out of scope
  auto connection = std::make_shared<Connection>(std::move(socket));
  const auto id = next_id_++;
  connections_.emplace(id, connection);
  // The handler holds the connection (its signal must outlive the slot it is
  // bound to) and the pass, left once the connection is forgotten.
  auto self = shared_from_this();
  asio::co_spawn(executor, serve(connection),
                 asio::bind_cancellation_slot(connection->cancel.slot(),
                                              [self, id, connection, pass = std::move(*pass)](std::exception_ptr e) mutable {
                                                if (e) log_connection_error(self->name_, e);
                                                self->connections_.erase(id);
                                                pass.release();
                                              }));
}

void HttpListener::refuse(tcp::socket socket) {
  // Said in one small write that the socket buffer always takes, without
  // waiting: a flood of connections costs no coroutine and no timer.
  static constexpr char body[] = "{\"error\": \"too many connections\"}\n";
  const std::string reply = "HTTP/1.1 503 Service Unavailable\r\nServer: fluid\r\nContent-Type: application/json\r\n"
                            "Cache-Control: no-store\r\nConnection: close\r\nContent-Length: " +
                            std::to_string(sizeof body - 1) + "\r\n\r\n" + body;
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(reply), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  if (const auto held = refusals_.admit()) {
    logger()->warn("{}: refused a connection: {} open, the most allowed (max_connections){}", name_,
                   open_.count(), held_back(*held));
  }
}

Task<> HttpListener::serve(std::shared_ptr<Connection> connection) {
  auto& stream = connection->stream;
  beast::flat_buffer buffer;
  for (std::size_t served = 1;; ++served) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(max_header_bytes);
    parser.body_limit(limits_.max_body_bytes);
    stream.expires_after(limits_.read_timeout);
    const auto [error, bytes] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (error) {
      if (is_malformed(error)) {
        co_await send(stream, to_beast(refusal(error, limits_.max_body_bytes), 11, false), false);
        if (error == http::error::body_limit) co_await drain(stream, limits_.read_timeout);
      }
      break;
    }
    const auto& request = parser.get();
    // The last request of its budget is answered, then the connection closes.
    const bool keep_alive = request.keep_alive() && served < limits_.max_requests_per_connection;
    const bool kept = co_await answer(*connection, to_request(request), request.version(), keep_alive);
    if (!kept) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

Task<bool> HttpListener::answer(Connection& connection, HttpRequest request, unsigned version, bool keep_alive) {
  std::optional<HttpResponse> response;
  std::string failure;
  try {
    response = co_await respond_(request);
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) throw;  // the server is stopping
    failure = e.what();
  } catch (...) {  // a handler that threw: the client learns it, the server goes on
    failure = error_message(std::current_exception());
  }
  if (!response) {
    logger()->warn("{}: {} {} failed: {}", name_, request.method, request.target, failure);
    response = HttpResponse::json(500, {{"error", "internal error"}, {"detail", failure}});
  }
  logger()->debug("{}: {} {} -> {}", name_, request.method, request.target, response->status);
  if (response->stream && request.method != "HEAD") {
    co_await stream(connection, std::move(*response), version);
    co_return false;
  }
  response->stream = nullptr;
  connection.stream.expires_after(limits_.read_timeout);
  const auto error = co_await send(connection.stream, to_beast(std::move(*response), version, keep_alive),
                                   request.method == "HEAD");
  co_return !error && keep_alive;
}

/// A streamed answer: chunked headers, the handler's pieces as they come,
/// then the last chunk. Ends early when the peer closes the connection.
Task<> HttpListener::stream(Connection& connection, HttpResponse response, unsigned version) {
  using namespace asio::experimental::awaitable_operators;
  auto& stream = connection.stream;
  auto body = std::move(response.stream);
  BeastResponse full = to_beast(std::move(response), version, false);
  http::response<http::empty_body> header{std::move(full.base())};
  header.erase(http::field::content_length);
  header.chunked(true);
  http::response_serializer<http::empty_body> serializer{header};
  stream.expires_after(limits_.read_timeout);
  const auto [error, written] = co_await http::async_write_header(stream, serializer, asio::as_tuple(asio::use_awaitable));
  if (error) co_return;
  const auto timeout = limits_.read_timeout;
  const HttpBodyWriter write = [&stream, timeout](std::string piece) -> Task<bool> {
    if (piece.empty()) co_return true;  // an empty chunk would end the body
    stream.expires_after(timeout);
    const auto [error, n] = co_await asio::async_write(stream, http::make_chunk(asio::buffer(piece)),
                                                       asio::as_tuple(asio::use_awaitable));
    co_return !error;
  };
  co_await (guarded_stream(name_, std::move(body), write) || peer_closed(stream.socket()));
  stream.expires_after(timeout);
  co_await asio::async_write(stream, http::make_chunk_last(), asio::as_tuple(asio::use_awaitable));
}

Task<> HttpListener::close() {
  open_.close();
  beast::error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  std::vector<std::shared_ptr<Connection>> open;
  for (const auto& [id, connection] : connections_) open.push_back(connection);
  for (const auto& connection : open) {
    connection->cancel.emit(asio::cancellation_type::terminal);
    connection->stream.close();
  }
  co_await open_.close_and_drain();
  acceptor_.reset();
}

}  // namespace detail
}  // namespace fluid
