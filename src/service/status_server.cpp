#include "fluid/status_server.hpp"

#include "fluid/config.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/metrics.hpp"
#include "fluid/worker_tree.hpp"
#include "fluid/detail/notifier.hpp"
#include "service/exposition.hpp"
#include "service/http_listener.hpp"
#include "service/probes.hpp"
#include "service/process_metrics.hpp"
#include "service/status_page.hpp"
#include "service/routes.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>

namespace fluid {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace detail {

/// What the server's coroutines share; they hold it, so it outlives the StatusServer if it must.
struct StatusServerState {
  StatusServerState(Worker& target, StatusServerOptions options) : target(&target), options(std::move(options)) {}

  Worker* target;
  StatusServerOptions options;
  RouteTable routes;
  std::string name;  // the worker's, fixed in on_startup()
  std::atomic<std::uint16_t> port{0};
  std::string listening;  // "ADDRESS:PORT", set in on_startup() before `port`
  std::shared_ptr<HttpListener> listener;  // from on_startup() on

  std::vector<NamedCheck> checks() const {
    std::lock_guard lock(checks_mutex);
    return registered_checks;
  }
  Task<CheckReport> run_checks() const { return detail::run_checks(checks(), options.check_timeout); }

  mutable std::mutex checks_mutex;
  std::vector<NamedCheck> registered_checks;  // under checks_mutex, in registration order
};

}  // namespace detail

namespace {

using State = detail::StatusServerState;

constexpr std::size_t default_max_body_bytes = 64 * 1024;

std::string host_port(const asio::ip::address& address, std::uint16_t port) {
  const auto host = address.to_string();
  return (address.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

/// /metrics: the tree's, the process's, the build's and the application's, in one text.
Task<HttpResponse> metrics_page(Worker& target, const StatusServerOptions& options) {
  const auto samples = co_await sample_tree(target);
  detail::Exposition out;
  out.append(prometheus_text(samples, options.latency_buckets.empty() ? default_latency_buckets()
                                                                      : options.latency_buckets));
  detail::write_process_metrics(out);
  detail::write_build_info(out);
  out.append((options.registry ? *options.registry : metrics()).prometheus_text());
  co_return HttpResponse{.content_type = std::string(prometheus_content_type), .body = out.take()};
}

/// The answer to a well-formed request: its route's, or 404 / 405. The state
/// is held weakly because it owns the listener that calls this: a strong
/// reference would keep both alive for ever (a cycle ASan reports as a leak).
Task<HttpResponse> respond(std::weak_ptr<State> weak_state, HttpRequest request) {
  const auto state = weak_state.lock();
  if (!state) co_return HttpResponse::json(503, {{"error", "status server destroyed"}});
  const auto routes = state->routes.snapshot();  // kept while the handler runs
  const auto match = detail::RouteTable::match(routes, request.method, request.path);
  if (match.handler != nullptr) co_return co_await (*match.handler)(std::move(request));
  if (match.allowed.empty()) {
    co_return HttpResponse::json(404, {{"error", "not found"}, {"detail", "Not Found"}, {"path", request.path}});
  }
  auto response = HttpResponse::json(
      405, {{"error", "method not allowed"}, {"detail", "Method Not Allowed"}, {"method", request.method}});
  response.headers.emplace_back("Allow", match.allowed);
  co_return response;
}

struct Where {
  std::string address;
  std::uint16_t port = 0;
};

/// The address and port to bind: the options', else the environment's, else the defaults.
Where where_to_listen(const StatusServerOptions& options) {
  Where out{options.address.value_or(env("STATUS_ADDRESS").value_or("127.0.0.1")), options.default_port};
  if (options.port) {
    out.port = *options.port;
  } else if (const auto text = env("STATUS_PORT")) {
    out.port = parse_port(*text, "STATUS_PORT");
  }
  return out;
}

tcp::acceptor bind_acceptor(const asio::any_io_executor& executor, const std::string& name, const Where& where,
                            asio::ip::address& address) {
  const auto fail = [&](const std::string& why) {
    throw FluidError(name + ": cannot listen on " + where.address + ":" + std::to_string(where.port) + ": " + why);
  };
  boost::system::error_code error;
  address = asio::ip::make_address(where.address, error);
  if (error) fail("not an IP address");
  const tcp::endpoint endpoint(address, where.port);
  tcp::acceptor acceptor(executor);
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) fail(error.message());
  return acceptor;
}

/// The built-in routes. They point at the state that holds them (the route
/// table is part of it), so a plain pointer, never a cycle.
void add_builtin_routes(State& state) {
  auto* self = &state;
  const HttpHandler live = [self](HttpRequest) { return detail::liveness(*self->target, self->options.event_loop_timeout); };
  const HttpHandler ready = [self](HttpRequest) -> Task<HttpResponse> {
    const auto checks = co_await self->run_checks();  // named: see the README's g++ 12 pitfall
    co_return detail::readiness(*self->target, checks);
  };
  state.routes.add("GET", "/health", live);
  state.routes.add("GET", "/livez", live);
  state.routes.add("GET", "/ready", ready);
  state.routes.add("GET", "/readyz", ready);
  state.routes.add("GET", "/startupz", [self](HttpRequest) -> Task<HttpResponse> {
    co_return detail::startup(*self->target);
  });
  state.routes.add("GET", "/status", [self](HttpRequest) -> Task<HttpResponse> {
    const auto status = co_await self->target->status();
    co_return HttpResponse::json(200, status);
  });
  state.routes.add("GET", "/metrics", [self](HttpRequest) { return metrics_page(*self->target, self->options); });
  state.routes.add("GET", "/", [self](HttpRequest) -> Task<HttpResponse> {
    auto page = co_await detail::status_page(*self->target, 2);
    co_return HttpResponse{.content_type = "text/html; charset=utf-8", .body = std::move(page)};
  });
}

}  // namespace

StatusServer::StatusServer(Worker& target, StatusServerOptions options, WorkerOptions worker)
    : StatusServer(&target, std::move(options), std::move(worker)) {}

StatusServer::StatusServer(Worker* target, StatusServerOptions options, WorkerOptions worker)
    : Worker(std::move(worker)),
      state_(std::make_shared<detail::StatusServerState>(target ? *target : *this, std::move(options))) {
  add_builtin_routes(*state_);
}

void StatusServer::add_check(std::string name, HealthCheck check) {
  if (name.empty()) throw FluidError(worker_name() + ": a check needs a name");
  if (!check) throw FluidError(worker_name() + ": check " + name + " is empty");
  std::lock_guard lock(state_->checks_mutex);
  auto& checks = state_->registered_checks;
  const auto same = std::find_if(checks.begin(), checks.end(), [&](const auto& c) { return c.name == name; });
  if (same != checks.end()) {
    same->check = std::move(check);
  } else {
    checks.push_back({std::move(name), std::move(check)});
  }
}

StatusServer::~StatusServer() = default;

std::uint16_t StatusServer::port() const noexcept { return state_->port.load(); }

std::string StatusServer::url() const {
  if (state_->port.load() == 0) return {};  // `listening` is published by `port`
  return "http://" + state_->listening + "/";
}

void StatusServer::add_route(std::string method, std::string path, HttpHandler handler) {
  state_->routes.add(std::move(method), std::move(path), std::move(handler));
}

Task<> StatusServer::on_startup() {
  auto state = state_;
  state->name = worker_name();
  const auto& options = state->options;
  if (options.max_connections == 0 || options.max_requests_per_connection == 0) {
    throw FluidError(state->name + ": max_connections and max_requests_per_connection must be at least 1");
  }
  try {
    check_latency_buckets(options.latency_buckets);
  } catch (const FluidError& e) {
    throw FluidError(state->name + ": " + e.what());
  }
  Where where;
  try {
    where = where_to_listen(options);
  } catch (const FluidError& e) {
    throw FluidError(state->name + ": " + e.what());
  }
  asio::ip::address address;
  auto acceptor = bind_acceptor(co_await asio::this_coro::executor, state->name, where, address);
  const auto port = acceptor.local_endpoint().port();
  const detail::HttpLimits limits{options.read_timeout, options.max_connections, options.max_requests_per_connection,
                                  options.max_body_bytes.value_or(default_max_body_bytes)};
  state->listener = std::make_shared<detail::HttpListener>(
      state->name, limits, [weak = std::weak_ptr(state)](HttpRequest request) { return respond(weak, std::move(request)); });
  state->listener->listen(std::move(acceptor));
  state->listening = host_port(address, port);
  state->port = port;  // publishes `listening`
  log_worker(spdlog::level::info, state->name, "{} listening on {} (status: http://{}/)", state->name, state->listening,
             state->listening);
}

Task<nlohmann::json> StatusServer::status() {
  auto out = co_await Worker::status();
  if (state_->port.load() != 0) {
    out["listening"] = state_->listening;
    out["connections"] = state_->listener->connections();
  } else {
    out["connections"] = 0;
  }
  const auto checks = co_await state_->run_checks();
  if (!checks.results.empty()) out["checks"] = checks.results;
  co_return out;
}

Task<> StatusServer::run() {
  using namespace asio::experimental::awaitable_operators;
  co_await (state_->listener->accept_loop() || until_done());
}

Task<> StatusServer::until_done() {
  co_await stop_requested();
  if (state_->options.linger) co_await rest_of_tree_stopped();
}

Task<> StatusServer::rest_of_tree_stopped() {
  auto& target = *state_->target;
  const auto others_stopped = [this, &target] {
    bool in_tree = false;
    bool others_done = true;
    for (const auto& node : worker_tree(target)) {
      if (node.worker.get() == this) {
        in_tree = true;
      } else if (!node.group && (node.worker->is_running() || node.worker->is_stopping())) {
        others_done = false;  // a group ends only after its children, this server among them
      }
    }
    return !in_tree || others_done;  // outside the tree, its stop is its own
  };
  detail::Notifier changed;
  const auto watching = target.subscribe([&changed](const StateChange&) { changed.notify_all(); });
  const bool stopped = co_await changed.wait_until(others_stopped);
  static_cast<void>(stopped);  // no deadline: only the condition ends the wait
}

Task<> StatusServer::on_shutdown() {
  if (state_->listener) co_await state_->listener->close();
}

}  // namespace fluid
