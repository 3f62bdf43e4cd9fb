#pragma once
/// @file
/// StatusServer: a worker serving a worker tree's status, health, readiness
/// and metrics over HTTP.

#include "fluid/health.hpp"
#include "fluid/http.hpp"
#include "fluid/metrics_registry.hpp"
#include "fluid/worker.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fluid {

namespace detail {
struct StatusServerState;
}

/// Where a StatusServer listens and how long it waits for a client.
struct StatusServerOptions {
  /// The IP address to bind (IPv4 or IPv6 literal, no host names; "0.0.0.0"
  /// in a container). nullopt: env STATUS_ADDRESS (so serve()'s
  /// --status-address), else "127.0.0.1". Read at startup.
  std::optional<std::string> address;
  /// The TCP port; 0 lets the system pick a free one (see port()). nullopt:
  /// env STATUS_PORT (so --status-port), else default_port. Read at startup.
  std::optional<std::uint16_t> port;
  /// The port when neither `port` nor STATUS_PORT gives one.
  std::uint16_t default_port = 0;
  /// How long a connection may take to send a complete request (and to take
  /// the response) before it is closed; an idle keep-alive connection too.
  std::chrono::milliseconds read_timeout{5000};
  /// Connections open at once; one more is answered 503 ("too many
  /// connections") and closed, logged at most once a second.
  std::size_t max_connections = 64;
  /// Requests served on one keep-alive connection; the answer to the last one
  /// says `Connection: close`, so a client pipelining without end is bounded.
  std::size_t max_requests_per_connection = 1000;
  /// The largest request body read; a larger one is answered 413 ("payload
  /// too large") and the connection closed. nullopt: 64 KiB (a
  /// TaskApiServer's default is 2 MiB, room for params of up to 1 MiB).
  std::optional<std::size_t> max_body_bytes;
  /// The buckets of fluid_handler_latency_seconds, in seconds (some of
  /// supported_latency_buckets()); empty: default_latency_buckets(),
  /// 0.5 ms to 10 s. Checked at startup.
  std::vector<double> latency_buckets;
  /// The application's metrics served at /metrics beside fluid's; null:
  /// the process's registry, fluid::metrics().
  MetricsRegistry* registry = nullptr;
  /// How long each application check may take (then it is unhealthy).
  std::chrono::milliseconds check_timeout{1000};
  /// How long /health waits for the target's executor to run a handler
  /// before saying the event loop is stuck (503). Below a probe's timeout.
  std::chrono::milliseconds event_loop_timeout{500};
  /// Asked to stop as part of its target's tree, keep answering until every
  /// other worker of the tree has stopped (within the server's own grace
  /// period), so probes see /ready 503 instead of a refused connection and
  /// the last scrape has the final counts. false: stop at once.
  bool linger = true;
};

/// Lets probes and scrapers see inside a running service.
///
/// A service made of workers needs to answer orchestrators ("is it alive, is it
/// ready?") and monitoring ("what is each worker doing?") without each service
/// writing an HTTP endpoint. StatusServer is a Worker, so it joins a group like
/// any other, and serves, over HTTP/1.1 with keep-alive, about its `target`
/// (usually the group that contains it, so it reports on itself too):
///
///   GET /status    200, the JSON of target.status()
///   GET /health    liveness (alias /livez): 200 while the process is alive
///                  and its event loop answers, also while starting,
///                  draining or backing off; 503 once the tree failed or the
///                  loop does not answer within event_loop_timeout
///   GET /ready     readiness (alias /readyz): 200 when every worker that
///                  should run is ready and no check is unhealthy; 503 from a
///                  stop request on, during a supervised child's backoff,
///                  while a check fails
///   GET /startupz  200 once the target's startup() has returned, 503 before
///   GET /metrics   Prometheus text 0.0.4: the tree's (see prometheus_text()),
///                  the process's, fluid_build_info, and the registry's
///   GET /          an HTML page of the tree for people, reloading itself
///
/// HEAD works wherever GET does. An unknown path is 404, another method 405
/// (with Allow), each with a JSON body whose "detail" says why; a malformed
/// request is 400, a body past max_body_bytes 413 (and the connection is
/// closed).
/// Connections are served concurrently on the server's executor. Asked to
/// stop, it keeps answering until the rest of its target's tree has stopped
/// (see StatusServerOptions::linger); on_shutdown() then closes the
/// listening socket and every open connection, so a slow or silent client
/// never delays the stop.
///
/// @warning Lifetime: `target` must outlive the server, which holds when the
/// server is one of target's children. Requests call target.status() and walk
/// target.workers() from the server's executor; with several threads (serve()
/// with threads > 1) that is another strand than target's.
class StatusServer : public Worker {
 public:
  /// A server reporting on `target`, to listen as `options` say once started.
  /// Default name: "status_server".
  explicit StatusServer(Worker& target, StatusServerOptions options = {}, WorkerOptions worker = {});
  ~StatusServer() override;

  /// The bound port once on_startup() has completed (useful with port 0); 0
  /// before. Thread-safe.
  std::uint16_t port() const noexcept;
  /// "http://ADDRESS:PORT/" (the HTML page) once on_startup() has completed;
  /// "" before. Thread-safe.
  std::string url() const;

  /// Worker status plus "listening" ("ADDRESS:PORT", once bound) and
  /// "connections" (how many are open now).
  Task<nlohmann::json> status() override;

  /// Serves `method` requests for `path` with `handler`, beside (or instead
  /// of) the built-in paths. `path` is exact, or ends in "/*" for everything
  /// under it ("/tasks/*" serves "/tasks/42"); the exact path wins, then the
  /// longest pattern. A GET route answers HEAD too. Thread-safe, also while
  /// the server runs; a request in progress keeps the routes it started with.
  /// @throws FluidError if `method` is not upper-case letters, `path` does
  ///         not start with '/', or `handler` is empty.
  void add_route(std::string method, std::string path, HttpHandler handler);

  /// Adds (or replaces) the application check `name`: /ready is 503 while it
  /// reports unhealthy, and its result shows in /ready and in status()
  /// ("checks"). Thread-safe, also while the server runs.
  /// @throws FluidError if `name` is empty or `check` is empty.
  void add_check(std::string name, HealthCheck check);

 protected:
  /// A server reporting on `target`, or on itself when `target` is null
  /// (for a derived server that serves no tree of its own).
  StatusServer(Worker* target, StatusServerOptions options, WorkerOptions worker);

  /// Binds and listens, then logs "<name> listening on ADDRESS:PORT
  /// (status: http://ADDRESS:PORT/)".
  /// @throws FluidError naming the worker and ADDRESS:PORT if the address is
  ///         malformed or cannot be bound (e.g. the port is in use), or
  ///         STATUS_PORT is not a port number.
  Task<> on_startup() override;
  /// Accepts connections until a stop is requested (and, lingering, until
  /// the rest of the tree has stopped), one coroutine per connection on the
  /// worker's executor.
  Task<> run() override;
  /// Closes the listening socket and every open connection, then waits for
  /// their coroutines to end (at once: their pending operations are aborted).
  Task<> on_shutdown() override;

 private:
  Task<> until_done();
  Task<> rest_of_tree_stopped();

  std::shared_ptr<detail::StatusServerState> state_;
};

}  // namespace fluid
