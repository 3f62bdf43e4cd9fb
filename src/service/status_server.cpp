#include "fluid/status_server.hpp"

#include "fluid/detail/gate.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <utility>
#include <map>
#include <optional>

namespace fluid {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr std::string_view json_type = "application/json";
constexpr std::size_t max_header_bytes = 8 * 1024;
constexpr std::size_t max_body_bytes = 64 * 1024;
/// After a failed accept (e.g. out of file descriptors), before the next one.
constexpr std::chrono::milliseconds accept_retry_delay{100};

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  asio::cancellation_signal cancel;  // ends the connection's coroutine wherever it waits
};

std::string host_port(const asio::ip::address& address, std::uint16_t port) {
  const auto host = address.to_string();
  return (address.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Response make_response(const Request& request, http::status status, std::string_view content_type, std::string body) {
  Response response{status, request.version()};
  response.set(http::field::server, "fluid");
  response.set(http::field::content_type, content_type);
  response.set(http::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

std::string json_body(const nlohmann::json& value) { return value.dump(2) + "\n"; }

Response health(Worker& target, const Request& request) {
  nlohmann::json not_running = nlohmann::json::object();
  for (const auto& node : worker_tree(target)) {
    const auto state = node.worker->worker_state();
    if (state != WorkerState::running) not_running[node.path] = to_string(state);
  }
  const bool healthy = not_running.empty();
  nlohmann::json body{{"healthy", healthy}, {"not_running", std::move(not_running)}};
  return make_response(request, healthy ? http::status::ok : http::status::service_unavailable, json_type,
                       json_body(body));
}

Response readiness(Worker& target, const Request& request) {
  const bool ready = target.is_ready();
  nlohmann::json body{{"ready", ready}, {"state", to_string(target.worker_state())}};
  return make_response(request, ready ? http::status::ok : http::status::service_unavailable, json_type,
                       json_body(body));
}

/// The response to a well-formed request.
Task<Response> respond(Worker& target, const Request& request) {
  const std::string_view full = request.target();
  const auto path = full.substr(0, full.find('?'));
  const bool known = path == "/status" || path == "/health" || path == "/ready" || path == "/metrics";
  if (!known) {
    nlohmann::json body{{"error", "not found"}, {"path", std::string(path)}};
    co_return make_response(request, http::status::not_found, json_type, json_body(body));
  }
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    nlohmann::json body{{"error", "method not allowed"}, {"method", std::string(request.method_string())}};
    auto response = make_response(request, http::status::method_not_allowed, json_type, json_body(body));
    response.set(http::field::allow, "GET, HEAD");
    co_return response;
  }
  if (path == "/health") co_return health(target, request);
  if (path == "/ready") co_return readiness(target, request);
  if (path == "/status") {
    const auto status = co_await target.status();
    co_return make_response(request, http::status::ok, json_type, json_body(status));
  }
  const auto samples = co_await sample_tree(target);
  co_return make_response(request, http::status::ok, prometheus_content_type, prometheus_text(samples));
}

/// A request Beast could not parse: the client gets 400 (a stream that just
/// ended, mid-message or between messages, gets nothing).
bool is_malformed(const beast::error_code& error) {
  return error.category() == http::make_error_code(http::error::bad_method).category() &&
         error != http::error::end_of_stream && error != http::error::partial_message;
}

Task<beast::error_code> send_response(beast::tcp_stream& stream, Response response, bool head) {
  if (head) {  // the GET's headers, Content-Length included, and no body
    http::response<http::empty_body> header{std::move(response.base())};
    const auto [error, written] = co_await http::async_write(stream, header, asio::as_tuple(asio::use_awaitable));
    co_return error;
  }
  const auto [error, written] = co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
  co_return error;
}

}  // namespace

namespace detail {

/// What the server's coroutines share; they hold it, so it outlives the StatusServer if it must.
struct StatusServerState {
  StatusServerState(Worker& target, StatusServerOptions options) : target(&target), options(std::move(options)) {}

  Worker* target;
  StatusServerOptions options;
  std::string name;  // the worker's, fixed in on_startup()
  std::atomic<std::uint16_t> port{0};
  std::string listening;  // "ADDRESS:PORT", set in on_startup() before `port`
  /// Every connection's coroutine is inside from its accept to its end;
  /// closed on stop, so the shutdown waits for exactly those.
  Gate connections_open;
  // Touched only on the worker's executor:
  std::optional<tcp::acceptor> acceptor;
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections;
  std::uint64_t next_id = 0;
};

}  // namespace detail

namespace {

using State = detail::StatusServerState;

Task<> reply_bad_request(beast::tcp_stream& stream, const beast::error_code& error) {
  Response response{http::status::bad_request, 11};
  response.set(http::field::server, "fluid");
  response.set(http::field::content_type, json_type);
  response.keep_alive(false);
  nlohmann::json body{{"error", "malformed request"}, {"detail", error.message()}};
  response.body() = json_body(body);
  response.prepare_payload();
  co_await send_response(stream, std::move(response), false);
}

/// Serves one client: request, response, and again while it keeps the connection alive.
Task<> serve_connection(std::shared_ptr<State> state, std::shared_ptr<Connection> connection) {
  auto& stream = connection->stream;
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(max_header_bytes);
    parser.body_limit(max_body_bytes);
    stream.expires_after(state->options.read_timeout);
    const auto [error, bytes] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (error) {
      if (is_malformed(error)) co_await reply_bad_request(stream, error);
      break;
    }
    const auto& request = parser.get();
    std::optional<Response> response;
    std::string failure;
    try {
      response = co_await respond(*state->target, request);
    } catch (const boost::system::system_error& e) {
      if (e.code() == asio::error::operation_aborted) throw;  // the server is stopping
      failure = e.what();
    } catch (const std::exception& e) {  // a status() that threw: the client learns it, the server goes on
      failure = e.what();
    }
    if (!response) {
      logger()->warn("{}: {} {} failed: {}", state->name, request.method_string(), request.target(), failure);
      nlohmann::json body{{"error", "internal error"}, {"detail", failure}};
      response = make_response(request, http::status::internal_server_error, json_type, json_body(body));
    }
    logger()->debug("{}: {} {} -> {}", state->name, request.method_string(), request.target(), response->result_int());
    const bool keep_alive = response->keep_alive();
    stream.expires_after(state->options.read_timeout);
    if (co_await send_response(stream, std::move(*response), request.method() == http::verb::head) || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

/// A connection's coroutine ended by an exception: cancelled on stop (normal), or worse.
void log_connection_error(const State& state, const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) logger()->warn("{}: connection ended: {}", state.name, e.what());
  } catch (const std::exception& e) {
    logger()->warn("{}: connection ended: {}", state.name, e.what());
  } catch (...) {
    logger()->warn("{}: connection ended by an unknown exception", state.name);
  }
}

void start_connection(const std::shared_ptr<State>& state, const asio::any_io_executor& executor,
                      tcp::socket socket) {
  auto pass = state->connections_open.try_hold();
  if (!pass) return;  // stopping: the socket closes as it goes out of scope
  auto connection = std::make_shared<Connection>(std::move(socket));
  const auto id = state->next_id++;
  state->connections.emplace(id, connection);
  // The handler holds the connection (its signal must outlive the slot it is
  // bound to) and the pass, left once the connection is forgotten.
  asio::co_spawn(executor, serve_connection(state, connection),
                 asio::bind_cancellation_slot(connection->cancel.slot(), [state, id, connection, pass = std::move(*pass)](
                                                                              std::exception_ptr e) mutable {
                   if (e) log_connection_error(*state, e);
                   state->connections.erase(id);
                   pass.release();
                 }));
}

Task<> accept_loop(std::shared_ptr<State> state) {
  const auto executor = co_await asio::this_coro::executor;
  for (;;) {
    auto [error, socket] = co_await state->acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
    if (error == asio::error::operation_aborted) co_return;
    if (error) {
      logger()->warn("{}: accept failed: {}", state->name, error.message());
      co_await sleep(accept_retry_delay);
      continue;
    }
    start_connection(state, executor, std::move(socket));
  }
}

}  // namespace

StatusServer::StatusServer(Worker& target, StatusServerOptions options, WorkerOptions worker)
    : Worker(std::move(worker)), state_(std::make_shared<detail::StatusServerState>(target, std::move(options))) {}

StatusServer::~StatusServer() = default;

std::uint16_t StatusServer::port() const noexcept { return state_->port.load(); }

Task<> StatusServer::on_startup() {
  auto state = state_;
  state->name = worker_name();
  const auto& options = state->options;
  const auto where = options.address + ":" + std::to_string(options.port);
  const auto fail = [&](const std::string& why) {
    throw FluidError(state->name + ": cannot listen on " + where + ": " + why);
  };
  beast::error_code error;
  const auto address = asio::ip::make_address(options.address, error);
  if (error) fail("not an IP address");
  const tcp::endpoint endpoint(address, options.port);
  tcp::acceptor acceptor(co_await asio::this_coro::executor);
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) fail(error.message());
  const auto port = acceptor.local_endpoint().port();
  state->acceptor.emplace(std::move(acceptor));
  state->listening = host_port(address, port);
  state->port = port;  // publishes `listening`
  logger()->info("{} listening on {}", state->name, state->listening);
}

Task<nlohmann::json> StatusServer::status() {
  auto out = co_await Worker::status();
  if (state_->port.load() != 0) out["listening"] = state_->listening;
  out["connections"] = state_->connections_open.count();
  co_return out;
}

Task<> StatusServer::run() {
  using namespace asio::experimental::awaitable_operators;
  co_await (accept_loop(state_) || stop_requested());
}

Task<> StatusServer::on_shutdown() {
  auto state = state_;
  state->connections_open.close();
  beast::error_code ignored;
  if (state->acceptor) state->acceptor->close(ignored);
  std::vector<std::shared_ptr<Connection>> open;
  for (const auto& [id, connection] : state->connections) open.push_back(connection);
  for (const auto& connection : open) {
    connection->cancel.emit(asio::cancellation_type::terminal);
    connection->stream.close();
  }
  co_await state->connections_open.close_and_drain();
  state->acceptor.reset();
}

}  // namespace fluid
