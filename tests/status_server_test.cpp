// StatusServer over a real socket (127.0.0.1, port 0) with a Beast client and,
// where installed, curl: every path, errors, readiness through the lifecycle,
// liveness when a child stops, slow clients vs. shutdown, bind failures.

#include "support/prometheus_format.hpp"
#include "support/workers.hpp"

#include <fluid/serve.hpp>
#include <fluid/status_server.hpp>
#include <fluid/version.hpp>
#include <fluid/workers.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <spdlog/sinks/ostream_sink.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sstream>
#include <thread>

using namespace fluid;
using namespace fluid::test;
using SteadyClock = std::chrono::steady_clock;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

using Reply = http::response<http::string_body>;

Task<beast::tcp_stream> connect(std::uint16_t port) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(5s);
  co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), asio::use_awaitable);
  co_return stream;
}

/// Sends one request on `stream` and reads the reply (a HEAD reply has no body).
Task<Reply> exchange(beast::tcp_stream& stream, http::verb verb, std::string target, bool keep_alive = true) {
  http::request<http::empty_body> request{verb, target, 11};
  request.set(http::field::host, "127.0.0.1");
  request.keep_alive(keep_alive);
  stream.expires_after(5s);
  co_await http::async_write(stream, request, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(verb == http::verb::head);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  co_return parser.release();
}

/// One request on a fresh connection.
Task<Reply> request(std::uint16_t port, std::string target, http::verb verb = http::verb::get) {
  auto stream = co_await connect(port);
  co_return co_await exchange(stream, verb, std::move(target), false);
}

/// Writes `bytes` as they are and returns everything the server sends until it closes.
Task<std::string> raw_exchange(std::uint16_t port, std::string bytes) {
  auto stream = co_await connect(port);
  co_await asio::async_write(stream, asio::buffer(bytes), asio::use_awaitable);
  std::string received;
  char chunk[1024];
  for (;;) {
    auto [error, n] = co_await stream.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
    received.append(chunk, n);
    if (error) break;
  }
  co_return received;
}

/// Whether the server closed `stream` (end of file) within `limit`.
Task<bool> closed_by_peer(beast::tcp_stream& stream, std::chrono::milliseconds limit) {
  stream.expires_after(limit);
  char byte;
  auto [error, n] = co_await stream.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
  co_return error == asio::error::eof || error == asio::error::connection_reset;
}

nlohmann::json json_of(const Reply& reply) { return nlohmann::json::parse(reply.body()); }

std::string errors_of(const Exposition& e) {
  std::string out;
  for (const auto& error : e.errors) out += error + "\n";
  return out;
}

/// A group "root" holding a StatusServer on 127.0.0.1, port 0, plus `children`.
struct Service {
  explicit Service(std::vector<std::shared_ptr<Worker>> children = {}, StatusServerOptions options = {})
      : root(std::move(children), WorkersOptions{.name = "root"}),
        server(std::make_shared<StatusServer>(root, std::move(options))) {
    root.add_workers(server);
  }
  Workers root;
  std::shared_ptr<StatusServer> server;
};

/// Takes long to start: lets a test look at the service while it starts.
class SlowStart : public NiceWorker {
 public:
  explicit SlowStart(std::chrono::milliseconds delay) : NiceWorker({.name = "slow_start"}), delay_(delay) {}

 protected:
  Task<> on_startup() override { co_await sleep(delay_); }

 private:
  std::chrono::milliseconds delay_;
};

/// Takes long to stop: lets a test look at the service while it stops.
class SlowStop : public Worker {
 public:
  explicit SlowStop(std::chrono::milliseconds delay) : Worker({.name = "slow_stop"}), delay_(delay) {}

 protected:
  Task<> run() override {
    co_await stop_requested();
  }
  Task<> on_shutdown() override { co_await sleep(delay_); }

 private:
  std::chrono::milliseconds delay_;
};

/// Fails at once: under supervision with a long backoff it stays stopped a while.
class FailsAtOnce : public Worker {
 public:
  FailsAtOnce() : Worker({.name = "fragile"}) {}

 protected:
  Task<> run() override {
    co_await sleep(1ms);
    throw std::runtime_error("fragile broke");
  }
};

/// Its status() fails, after suspending.
class BrokenStatus : public NiceWorker {
 public:
  BrokenStatus() : NiceWorker({.name = "broken"}) {}
  Task<nlohmann::json> status() override {
    co_await sleep(1ms);
    throw std::runtime_error("status unavailable");
  }
};

/// Captures what the "fluid" logger writes while it lives.
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_)) { logger()->sinks().push_back(sink_); }
  ~CapturedLog() { std::erase(logger()->sinks(), sink_); }
  std::string text() {
    logger()->flush();
    return stream_.str();
  }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

}  // namespace

// ---------------------------------------------------------------- binding

TEST(StatusServer, UrlNamesThePageOnceBound) {
  fluid::run([]() -> Task<> {
    NiceWorker target;
    StatusServer server(target, {.port = 0});
    EXPECT_EQ(server.url(), "");
    co_await server.startup();
    EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(server.port()) + "/");
    co_await server.shutdown();
  }());
}

TEST(StatusServer, PortIsZeroBeforeStartupAndTheBoundPortAfterAndItIsLogged) {
  CapturedLog log;
  fluid::run([&]() -> Task<> {
    Service service;
    EXPECT_EQ(service.server->port(), 0);
    co_await service.root.startup();
    const auto port = service.server->port();
    EXPECT_NE(port, 0);
    EXPECT_NE(log.text().find("status_server listening on 127.0.0.1:" + std::to_string(port)), std::string::npos)
        << log.text();
    co_await service.root.shutdown();
  }());
}

TEST(StatusServer, APortInUseFailsStartupWithAFluidErrorNamingTheWorkerAndAddress) {
  fluid::run([]() -> Task<> {
    Service first;
    co_await first.root.startup();
    const auto port = first.server->port();
    NiceWorker target;
    StatusServer second(target, {.port = port}, {.name = "second_server"});
    try {
      co_await second.startup();
      ADD_FAILURE() << "startup on a port in use succeeded";
    } catch (const FluidError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("second_server"), std::string::npos) << what;
      EXPECT_NE(what.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << what;
    }
    EXPECT_TRUE(second.is_stopped());
    co_await second.shutdown();
    co_await first.root.shutdown();
  }());
}

TEST(StatusServer, AMalformedAddressFailsStartupWithAFluidError) {
  fluid::run([]() -> Task<> {
    NiceWorker target;
    StatusServer server(target, {.address = "not-an-address", .port = 0});
    try {
      co_await server.startup();
      ADD_FAILURE() << "startup with a malformed address succeeded";
    } catch (const FluidError& e) {
      EXPECT_NE(std::string(e.what()).find("status_server: cannot listen on not-an-address:0"), std::string::npos)
          << e.what();
    }
  }());
}

// ---------------------------------------------------------------- paths

TEST(StatusServer, WithoutAnAddressOrPortInItsOptionsItReadsStatusAddressAndStatusPort) {
  ScopedEnv address("STATUS_ADDRESS", "127.0.0.2");  // all of 127/8 is loopback on Linux
  ScopedEnv port("STATUS_PORT", "0");
  fluid::run([]() -> Task<> {
    NiceWorker target({.name = "target"});
    StatusServer server(target, {.default_port = 1});  // STATUS_PORT wins over the default
    co_await server.startup();
    const auto status = co_await server.status();
    co_await server.shutdown();
    EXPECT_EQ(status.at("listening"), "127.0.0.2:" + std::to_string(server.port()));
    EXPECT_NE(server.port(), 1);
  }());
}

TEST(StatusServer, ItsOwnOptionsWinOverTheEnvironment) {
  ScopedEnv address("STATUS_ADDRESS", "127.0.0.2");
  ScopedEnv port("STATUS_PORT", "1");
  fluid::run([]() -> Task<> {
    NiceWorker target({.name = "target"});
    StatusServer server(target, {.address = "127.0.0.1", .port = 0});
    co_await server.startup();
    const auto status = co_await server.status();
    co_await server.shutdown();
    EXPECT_EQ(status.at("listening"), "127.0.0.1:" + std::to_string(server.port()));
  }());
}

TEST(StatusServer, AMalformedStatusPortFailsStartupNamingItAndTheWorker) {
  ScopedEnv port("STATUS_PORT", "http");
  fluid::run([]() -> Task<> {
    NiceWorker target({.name = "target"});
    StatusServer server(target);
    std::string error;
    try {
      co_await server.startup();
    } catch (const FluidError& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "status_server: STATUS_PORT: \"http\" is not a port number (0-65535, 0: any free port)");
  }());
}

TEST(StatusServer, StatusIsTheTargetsStatusAsJson) {
  fluid::run([]() -> Task<> {
    Service service({std::make_shared<NiceWorker>(WorkerOptions{.name = "worker"})});
    co_await service.root.startup();
    const auto port = service.server->port();
    const auto reply = co_await request(port, "/status");
    co_await service.root.shutdown();
    EXPECT_EQ(reply.result(), http::status::ok);
    EXPECT_EQ(reply[http::field::content_type], "application/json");
    const auto status = json_of(reply);
    EXPECT_EQ(status.at("worker").at("state"), "running");
    const auto& own = status.at("status_server");
    EXPECT_EQ(own.at("running"), true) << "the server reports on itself";
    EXPECT_EQ(own.at("listening"), "127.0.0.1:" + std::to_string(port));
    EXPECT_EQ(own.at("connections"), 1) << "the one asking";
  }());
}

TEST(StatusServer, HealthIs200WhileEveryWorkerOfTheTreeRuns) {
  fluid::run([]() -> Task<> {
    Service service({std::make_shared<NiceWorker>(WorkerOptions{.name = "worker"})});
    co_await service.root.startup();
    const auto reply = co_await request(service.server->port(), "/health");
    const auto alias = co_await request(service.server->port(), "/livez");
    co_await service.root.shutdown();
    EXPECT_EQ(reply.result(), http::status::ok);
    EXPECT_EQ(reply[http::field::content_type], "application/json");
    EXPECT_EQ(json_of(reply), (nlohmann::json{{"alive", true},
                                              {"state", "running"},
                                              {"failed", nlohmann::json::object()},
                                              {"event_loop", "answering"}}));
    EXPECT_EQ(alias.result(), http::status::ok);
  }());
}

TEST(StatusServer, HealthStays200AndReadyIs503WhileASupervisedChildBacksOff) {
  fluid::run([]() -> Task<> {
    Service service;
    // Supervised with a long backoff: after failing, it stays stopped while the group runs.
    WorkersOptions options{.name = "inner", .backoff = {.initial = 1h, .max = 1h, .multiplier = 1, .jitter = 0}};
    auto inner = std::make_shared<Workers>(std::vector<std::shared_ptr<Worker>>{}, options);
    inner->add_supervised([] { return std::make_shared<FailsAtOnce>(); }, RestartPolicy::always);
    service.root.add_workers(inner);
    co_await service.root.startup();
    while (!inner->workers()[0]->is_stopped()) co_await sleep(1ms);
    const auto health = co_await request(service.server->port(), "/health");
    const auto ready = co_await request(service.server->port(), "/ready");
    const auto metrics = co_await request(service.server->port(), "/metrics");
    co_await service.root.shutdown();
    // Wired as a liveness probe, a 503 here would have the pod killed while fluid heals it.
    EXPECT_EQ(health.result(), http::status::ok) << health.body();
    EXPECT_EQ(ready.result(), http::status::service_unavailable);
    EXPECT_EQ(json_of(ready).at("not_ready"), (nlohmann::json{{"root/inner/fragile", "restarting"}}));
    const auto e = parse_exposition(metrics.body());
    EXPECT_EQ(e.value(R"(fluid_worker_up{worker="root/inner/fragile"})"), 0.0);
    EXPECT_EQ(e.value(R"(fluid_worker_state{worker="root/inner/fragile",state="stopped"})"), 1.0);
    EXPECT_EQ(e.value(R"(fluid_worker_restarts_total{worker="root/inner/fragile"})"), 0.0);
  }());
}

TEST(StatusServer, AChildThatEndedCleanlyUnderOnFailureIsAliveAndReady) {
  fluid::run([]() -> Task<> {
    Service service;
    service.root.add_supervised([] { return std::make_shared<ShortLived>(WorkerOptions{.name = "warm_up"}); },
                                RestartPolicy::on_failure);
    co_await service.root.startup();
    while (!service.root.workers()[1]->is_stopped()) co_await sleep(1ms);
    const auto health = co_await request(service.server->port(), "/health");
    const auto ready = co_await request(service.server->port(), "/ready");
    co_await service.root.shutdown();
    EXPECT_EQ(health.result(), http::status::ok) << health.body();
    EXPECT_EQ(ready.result(), http::status::ok) << ready.body();
  }());
}

TEST(StatusServer, HealthIs503NamingTheFailureOnceTheTreeFailed) {
  fluid::run([]() -> Task<> {
    // The server watches a group it is not part of, so it outlives the group.
    Workers target({std::make_shared<BadWorker2>(WorkerOptions{.name = "broken"})}, {.name = "target"});
    StatusServer server(target);
    co_await target.startup();
    co_await server.startup();
    try {
      co_await target.wait_for_shutdown();
    } catch (...) {
    }
    const auto health = co_await request(server.port(), "/health");
    co_await server.shutdown();
    EXPECT_EQ(health.result(), http::status::service_unavailable);
    EXPECT_EQ(json_of(health).at("failed"), (nlohmann::json{{"target/broken", "I'm so bad"}}));
    EXPECT_EQ(json_of(health).at("alive"), false);
  }());
}

namespace {

/// Blocks its thread for a while once running: its strand runs nothing else meanwhile.
class BlocksItsThread : public Worker {
 public:
  BlocksItsThread() : Worker({.name = "blocker"}) {}
  std::atomic<bool> blocking{false};

 protected:
  Task<> run() override {
    co_await sleep(1ms);
    blocking = true;
    std::this_thread::sleep_for(1500ms);
    blocking = false;
    co_await stop_requested();
  }
};

}  // namespace

TEST(StatusServer, HealthIs503WhileTheTargetsEventLoopDoesNotAnswer) {
  fluid::run(
      []() -> Task<> {
        BlocksItsThread target;
        StatusServer server(target, {.port = 0, .event_loop_timeout = 100ms});
        co_await target.startup();
        co_await server.startup();
        while (!target.blocking) co_await sleep(1ms);
        const auto stuck = co_await request(server.port(), "/health");
        while (target.blocking) co_await sleep(10ms);
        const auto again = co_await request(server.port(), "/health");
        co_await target.shutdown();
        co_await server.shutdown();
        EXPECT_EQ(stuck.result(), http::status::service_unavailable) << stuck.body();
        EXPECT_EQ(json_of(stuck).at("event_loop"), "not answering within 100ms");
        EXPECT_EQ(again.result(), http::status::ok) << again.body();
      }(),
      RunOptions{.threads = 2});
}

TEST(StatusServer, ReadyIs503WhileTheTargetStartsAnd200OnceItHas) {
  fluid::run([]() -> Task<> {
    // The server starts first, then the slow child keeps the group starting.
    Service service;
    service.root.add_workers(std::make_shared<SlowStart>(300ms));
    bool started = false;
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> Task<> {
          co_await service.root.startup();
          started = true;
        },
        asio::detached);
    while (service.server->port() == 0) co_await sleep(1ms);
    const auto during = co_await request(service.server->port(), "/ready");
    const auto startup_during = co_await request(service.server->port(), "/startupz");
    EXPECT_FALSE(started);
    while (!started) co_await sleep(1ms);
    const auto after = co_await request(service.server->port(), "/readyz");
    const auto startup_after = co_await request(service.server->port(), "/startupz");
    co_await service.root.shutdown();
    EXPECT_EQ(during.result(), http::status::service_unavailable);
    EXPECT_EQ(json_of(during).at("not_ready"), (nlohmann::json{{"root", "starting"}, {"root/slow_start", "starting"}}));
    EXPECT_EQ(startup_during.result(), http::status::service_unavailable);
    EXPECT_EQ(after.result(), http::status::ok);
    EXPECT_EQ(json_of(after), (nlohmann::json{{"ready", true},
                                              {"state", "running"},
                                              {"not_ready", nlohmann::json::object()},
                                              {"checks", nlohmann::json::object()}}));
    EXPECT_EQ(startup_after.result(), http::status::ok);
  }());
}

TEST(StatusServer, ReadyTurns503OnceTheTargetIsAskedToStopWhileHealthStays200) {
  fluid::run([]() -> Task<> {
    // The server watches a group it is not part of, so it outlives the group's stop.
    Workers target({std::make_shared<SlowStop>(300ms)}, {.name = "target"});
    StatusServer server(target);
    co_await target.startup();
    co_await server.startup();
    const auto before = co_await request(server.port(), "/ready");
    target.gracefully_stop();
    const auto ready = co_await request(server.port(), "/ready");
    const auto health = co_await request(server.port(), "/health");
    const auto started = co_await request(server.port(), "/startupz");
    const bool still_stopping = !target.is_stopped();
    co_await target.shutdown();
    const auto stopped = co_await request(server.port(), "/ready");
    co_await server.shutdown();
    EXPECT_EQ(before.result(), http::status::ok);
    EXPECT_TRUE(still_stopping) << "the test looked too late";
    EXPECT_EQ(ready.result(), http::status::service_unavailable);
    EXPECT_EQ(json_of(ready).at("state"), "stopping");
    EXPECT_EQ(json_of(ready).at("not_ready").at("target"), "stopping");
    EXPECT_EQ(health.result(), http::status::ok) << "draining is alive";
    EXPECT_EQ(started.result(), http::status::ok) << "it did start";
    EXPECT_EQ(stopped.result(), http::status::service_unavailable);
    EXPECT_EQ(json_of(stopped).at("state"), "stopped");
  }());
}

TEST(StatusServer, ItKeepsAnsweringWhileTheRestOfItsTreeStopsThenCloses) {
  fluid::run([]() -> Task<> {
    // The server stops with its siblings, concurrently; it lingers until they are done.
    Service service({std::make_shared<SlowStop>(300ms)});
    co_await service.root.startup();
    const auto port = service.server->port();
    service.root.gracefully_stop();
    co_await sleep(20ms);
    const auto ready = co_await request(port, "/ready");
    const auto health = co_await request(port, "/health");
    const auto metrics = co_await request(port, "/metrics");
    const bool still_stopping = !service.root.is_stopped();
    co_await service.root.shutdown();
    EXPECT_TRUE(still_stopping) << "the test looked too late";
    EXPECT_EQ(ready.result(), http::status::service_unavailable);
    EXPECT_EQ(json_of(ready).at("not_ready").at("root/slow_stop"), "stopping");
    EXPECT_EQ(health.result(), http::status::ok);
    EXPECT_EQ(metrics.result(), http::status::ok);
    EXPECT_EQ(service.server->worker_state(), WorkerState::stopped) << "stopped, not forced";
    EXPECT_EQ(service.root.stop_reason(), StopReason::normal);
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    auto [error] = co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                                 asio::as_tuple(asio::use_awaitable));
    EXPECT_EQ(error, asio::error::connection_refused);
  }());
}

TEST(StatusServer, WithoutLingerItStopsWithItsSiblingsAtOnce) {
  fluid::run([]() -> Task<> {
    Service service({std::make_shared<SlowStop>(300ms)}, {.linger = false});
    co_await service.root.startup();
    service.root.gracefully_stop();
    while (!service.server->is_stopped()) co_await sleep(1ms);
    const bool siblings_still_stopping = !service.root.is_stopped();
    co_await service.root.shutdown();
    EXPECT_TRUE(siblings_still_stopping);
  }());
}

TEST(StatusServer, AnUnhealthyCheckMakesReady503AndEveryCheckShowsInReadyAndStatus) {
  fluid::run([]() -> Task<> {
    Service service;
    auto database = std::make_shared<std::atomic<bool>>(false);
    service.server->add_check("database", [database]() -> Task<CheckResult> {
      co_return *database ? CheckResult{Health::healthy, "connected"} : CheckResult{Health::unhealthy, "refused"};
    });
    service.server->add_check("cache", []() -> Task<CheckResult> { co_return CheckResult{Health::degraded, "cold"}; });
    co_await service.root.startup();
    const auto down = co_await request(service.server->port(), "/ready");
    *database = true;
    const auto up = co_await request(service.server->port(), "/ready");
    const auto status = co_await request(service.server->port(), "/status");
    co_await service.root.shutdown();
    EXPECT_EQ(down.result(), http::status::service_unavailable);
    EXPECT_EQ(json_of(down).at("checks").at("database"), (nlohmann::json{{"health", "unhealthy"}, {"message", "refused"}}));
    EXPECT_EQ(up.result(), http::status::ok) << "degraded is still ready\n" << up.body();
    EXPECT_EQ(json_of(up).at("checks").at("cache"), (nlohmann::json{{"health", "degraded"}, {"message", "cold"}}));
    EXPECT_EQ(json_of(status).at("status_server").at("checks").at("database").at("health"), "healthy");
  }());
}

TEST(StatusServer, ACheckThatThrowsOrOverrunsIsUnhealthyWithWhy) {
  fluid::run([]() -> Task<> {
    Service service({}, {.check_timeout = 50ms});
    service.server->add_check("throws", []() -> Task<CheckResult> {
      co_await sleep(1ms);
      throw std::runtime_error("no route to host");
    });
    service.server->add_check("hangs", []() -> Task<CheckResult> {
      co_await sleep(1h);
      co_return CheckResult{};
    });
    co_await service.root.startup();
    const auto start = SteadyClock::now();
    const auto ready = co_await request(service.server->port(), "/ready");
    const auto took = SteadyClock::now() - start;
    co_await service.root.shutdown();
    EXPECT_EQ(ready.result(), http::status::service_unavailable);
    const auto checks = json_of(ready).at("checks");
    EXPECT_EQ(checks.at("throws"), (nlohmann::json{{"health", "unhealthy"}, {"message", "no route to host"}}));
    EXPECT_EQ(checks.at("hangs"), (nlohmann::json{{"health", "unhealthy"}, {"message", "no answer within 50ms"}}));
    EXPECT_LT(took, 5s);
  }());
}

TEST(StatusServer, AChecklessNameOrEmptyCheckIsAFluidError) {
  NiceWorker target;
  StatusServer server(target);
  EXPECT_THROW(server.add_check("", []() -> Task<CheckResult> { co_return CheckResult{}; }), FluidError);
  EXPECT_THROW(server.add_check("x", HealthCheck{}), FluidError);
}

TEST(StatusServer, MetricsAreValidPrometheusTextLabelledByWorkerPath) {
  fluid::run([]() -> Task<> {
    auto consumer = std::make_shared<QueueConsumerWorker<int>>([](int) -> Task<> { co_await sleep(1ms); },
                                                               WorkerOptions{.name = "consumer"});
    Service service({consumer});
    co_await service.root.startup();
    for (int i = 0; i < 3; ++i) consumer->send(i);
    while (consumer->processed_count() < 3) co_await sleep(1ms);
    co_await sleep(5ms);  // the third handler's latency is recorded after it returns
    const auto reply = co_await request(service.server->port(), "/metrics");
    co_await service.root.shutdown();
    EXPECT_EQ(reply.result(), http::status::ok);
    EXPECT_EQ(reply[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
    const auto e = parse_exposition(reply.body());
    EXPECT_TRUE(e.errors.empty()) << errors_of(e) << reply.body();
    EXPECT_EQ(e.value(R"(fluid_worker_up{worker="root"})"), 1.0);
    EXPECT_EQ(e.value(R"(fluid_worker_up{worker="root/status_server"})"), 1.0);
    EXPECT_EQ(e.value(R"(fluid_worker_state{worker="root/consumer",state="running"})"), 1.0);
    EXPECT_EQ(e.value(R"(fluid_queue_size{worker="root/consumer"})"), 0.0);
    EXPECT_EQ(e.value(R"(fluid_messages_processed_total{worker="root/consumer"})"), 3.0);
    EXPECT_EQ(e.value(R"(fluid_messages_dropped_total{worker="root/consumer"})"), 0.0);
    EXPECT_EQ(e.value(R"(fluid_handler_latency_seconds_count{worker="root/consumer"})"), 3.0);
    EXPECT_EQ(e.value(R"(fluid_handler_latency_seconds_bucket{worker="root/consumer",le="+Inf"})"), 3.0);
    EXPECT_GT(*e.value(R"(fluid_handler_latency_seconds_sum{worker="root/consumer"})"), 0.0);
  }());
}

TEST(StatusServer, MetricsAddTheProcessTheBuildAndTheApplicationsOwnRegistry) {
  MetricsRegistry registry;
  registry.counter("app_jobs_done_total", "Jobs done.", {{"queue", "mail"}}).increment(7);
  fluid::run([&]() -> Task<> {
    Service service({}, {.registry = &registry});
    co_await service.root.startup();
    const auto reply = co_await request(service.server->port(), "/metrics");
    co_await service.root.shutdown();
    const auto e = parse_exposition(reply.body());
    EXPECT_TRUE(e.errors.empty()) << errors_of(e) << reply.body();
    EXPECT_EQ(e.value(R"(app_jobs_done_total{queue="mail"})"), 7.0);
    EXPECT_GT(e.value("process_resident_memory_bytes").value_or(0), 1e6);
    EXPECT_GT(e.value("process_open_fds").value_or(0), 2);
    EXPECT_GT(e.value("process_start_time_seconds").value_or(0), 1.6e9);
    EXPECT_TRUE(e.value("process_cpu_seconds_total").has_value());
    EXPECT_EQ(e.value(R"(fluid_build_info{version=")" + std::string(fluid::version()) + R"("})"), 1.0);
    EXPECT_EQ(e.value(R"(fluid_worker_up{worker="root"})"), 1.0);
  }());
}

TEST(StatusServer, LatencyBucketsOffTheGridFailStartupNamingTheServer) {
  fluid::run([]() -> Task<> {
    NiceWorker target;
    StatusServer server(target, {.port = 0, .latency_buckets = {0.003}});
    std::string error;
    try {
      co_await server.startup();
    } catch (const FluidError& e) {
      error = e.what();
    }
    EXPECT_TRUE(error.starts_with("status_server: latency bucket 0.003 is not one the handlers record")) << error;
  }());
}

TEST(StatusServer, AQueryStringDoesNotChangeThePath) {
  fluid::run([]() -> Task<> {
    Service service;
    co_await service.root.startup();
    const auto reply = co_await request(service.server->port(), "/health?verbose=1");
    co_await service.root.shutdown();
    EXPECT_EQ(reply.result(), http::status::ok);
  }());
}

TEST(StatusServer, HeadGivesTheHeadersOfGetWithoutABody) {
  fluid::run([]() -> Task<> {
    Service service;
    co_await service.root.startup();
    auto stream = co_await connect(service.server->port());
    const auto head = co_await exchange(stream, http::verb::head, "/status");
    const auto get = co_await exchange(stream, http::verb::get, "/status");  // the connection is still usable
    co_await service.root.shutdown();
    EXPECT_EQ(head.result(), http::status::ok);
    EXPECT_EQ(head[http::field::content_type], "application/json");
    EXPECT_EQ(head[http::field::content_length], std::to_string(get.body().size()));
    EXPECT_TRUE(head.body().empty());
  }());
}

// ---------------------------------------------------------------- errors

TEST(StatusServer, TheRootPathIsASelfContainedHtmlPageOfEveryWorkerThatReloadsItself) {
  fluid::run([]() -> Task<> {
    auto consumer = std::make_shared<QueueConsumerWorker<int>>([](int) -> Task<> { co_await sleep(2ms); },
                                                               WorkerOptions{.name = "consumer"});
    Service service({consumer, std::make_shared<NiceWorker>(WorkerOptions{.name = "<odd & named>"})});
    WorkersOptions options{.name = "inner", .backoff = {.initial = 1h, .max = 1h, .multiplier = 1, .jitter = 0}};
    auto inner = std::make_shared<Workers>(std::vector<std::shared_ptr<Worker>>{}, options);
    inner->add_supervised([] { return std::make_shared<FailsAtOnce>(); }, RestartPolicy::always);
    service.root.add_workers(inner);
    co_await service.root.startup();
    for (int i = 0; i < 5; ++i) consumer->send(i);
    while (consumer->processed_count() < 5 || !inner->workers()[0]->is_stopped()) co_await sleep(1ms);
    co_await sleep(5ms);  // the last handler's latency is recorded after it returns
    const auto page = co_await request(service.server->port(), "/");
    co_await service.root.shutdown();
    EXPECT_EQ(page.result(), http::status::ok);
    EXPECT_EQ(page[http::field::content_type], "text/html; charset=utf-8");
    const auto& html = page.body();
    EXPECT_TRUE(html.starts_with("<!doctype html>")) << html;
    EXPECT_NE(html.find(R"(<meta http-equiv="refresh" content="2">)"), std::string::npos);
    for (const auto* name : {">root<", ">consumer<", ">status_server<", ">inner<", ">fragile<", "&lt;odd &amp; named&gt;"}) {
      EXPECT_NE(html.find(name), std::string::npos) << name << " missing\n" << html;
    }
    EXPECT_EQ(html.find("<odd & named>"), std::string::npos) << "names are escaped";
    EXPECT_NE(html.find("fragile broke"), std::string::npos) << "the last error of a restarting child";
    EXPECT_NE(html.find(R"(<span class="state running">running</span>)"), std::string::npos);
    for (const auto* link : {R"(href="/status")", R"(href="/metrics")", R"(href="/health")", R"(href="/ready")"}) {
      EXPECT_NE(html.find(link), std::string::npos) << link;
    }
    EXPECT_NE(html.find(" ms</td>"), std::string::npos) << "the consumer's p50 / p99\n" << html;
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("http://"), std::string::npos) << "nothing from outside";
  }());
}

TEST(StatusServer, AnUnknownPathIs404) {
  fluid::run([]() -> Task<> {
    Service service;
    co_await service.root.startup();
    const auto reply = co_await request(service.server->port(), "/nope");
    const auto under = co_await request(service.server->port(), "/status/nope");
    co_await service.root.shutdown();
    EXPECT_EQ(reply.result(), http::status::not_found);
    EXPECT_EQ(json_of(reply).at("path"), "/nope");
    EXPECT_EQ(under.result(), http::status::not_found);
  }());
}

TEST(StatusServer, OtherMethodsAre405WithAnAllowHeader) {
  fluid::run([]() -> Task<> {
    Service service;
    co_await service.root.startup();
    const auto post = co_await request(service.server->port(), "/status", http::verb::post);
    const auto del = co_await request(service.server->port(), "/metrics", http::verb::delete_);
    co_await service.root.shutdown();
    for (const auto* reply : {&post, &del}) {
      EXPECT_EQ(reply->result(), http::status::method_not_allowed);
      EXPECT_EQ((*reply)[http::field::allow], "GET, HEAD");
    }
    EXPECT_EQ(json_of(post).at("method"), "POST");
  }());
}

TEST(StatusServer, AMalformedRequestLineIs400AndTheConnectionIsClosed) {
  fluid::run([]() -> Task<> {
    Service service;
    co_await service.root.startup();
    const auto port = service.server->port();
    // raw_exchange returns only once the server has closed the connection.
    const auto garbage = co_await raw_exchange(port, "THIS IS NOT HTTP\r\n\r\n");
    const auto no_version = co_await raw_exchange(port, "GET /status\r\n\r\n");
    const auto bad_header = co_await raw_exchange(port, "GET /status HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n");
    co_await service.root.shutdown();
    for (const auto& reply : {garbage, no_version, bad_header}) {
      EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 Bad Request\r\n")) << reply;
      EXPECT_NE(reply.find("Connection: close\r\n"), std::string::npos) << reply;
    }
  }());
}

TEST(StatusServer, AStatusThatThrowsIs500AndTheServerGoesOn) {
  fluid::run([]() -> Task<> {
    Service service({std::make_shared<BrokenStatus>()});
    co_await service.root.startup();
    auto stream = co_await connect(service.server->port());
    const auto status = co_await exchange(stream, http::verb::get, "/status");
    const auto metrics = co_await exchange(stream, http::verb::get, "/metrics");
    const auto health = co_await exchange(stream, http::verb::get, "/health");
    co_await service.root.shutdown();
    EXPECT_EQ(status.result(), http::status::internal_server_error);
    EXPECT_EQ(json_of(status).at("detail"), "status unavailable");
    EXPECT_EQ(metrics.result(), http::status::internal_server_error);
    EXPECT_EQ(health.result(), http::status::ok) << "health needs no status()";
  }());
}

TEST(StatusServer, AnOversizedHeaderIs400) {
  fluid::run([]() -> Task<> {
    Service service;
    co_await service.root.startup();
    const auto reply = co_await raw_exchange(
        service.server->port(), "GET /status HTTP/1.1\r\nX-Big: " + std::string(16 * 1024, 'x') + "\r\n\r\n");
    co_await service.root.shutdown();
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 Bad Request\r\n")) << reply.substr(0, 200);
  }());
}

// ---------------------------------------------------------------- connections

TEST(StatusServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  fluid::run([]() -> Task<> {
    Service service;
    co_await service.root.startup();
    auto stream = co_await connect(service.server->port());
    std::vector<unsigned> results;
    for (const auto* path : {"/status", "/health", "/ready", "/metrics", "/nope"}) {
      const auto reply = co_await exchange(stream, http::verb::get, path);
      results.push_back(reply.result_int());
      EXPECT_TRUE(reply.keep_alive()) << path;
    }
    co_await service.root.shutdown();
    EXPECT_EQ(results, (std::vector<unsigned>{200, 200, 200, 200, 404}));
  }());
}

TEST(StatusServer, PipelinedRequestsAreAnsweredInOrder) {
  fluid::run([]() -> Task<> {
    Service service;
    co_await service.root.startup();
    const auto replies = co_await raw_exchange(service.server->port(),
                                               "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n"
                                               "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    co_await service.root.shutdown();
    const auto first = replies.find("HTTP/1.1 200 OK\r\n");
    const auto second = replies.find("HTTP/1.1 404 Not Found\r\n");
    EXPECT_EQ(first, 0u) << replies;
    EXPECT_NE(second, std::string::npos) << replies;
    EXPECT_GT(second, first);
  }());
}

TEST(StatusServer, ConnectionsAreServedConcurrentlyASilentOneBlocksNoOther) {
  fluid::run([]() -> Task<> {
    Service service({}, {.read_timeout = 30s});
    co_await service.root.startup();
    auto silent = co_await connect(service.server->port());
    auto partial = co_await connect(service.server->port());
    co_await asio::async_write(partial, asio::buffer(std::string("GET /sta")), asio::use_awaitable);
    const auto start = SteadyClock::now();
    const auto reply = co_await request(service.server->port(), "/health");
    const auto took = SteadyClock::now() - start;
    co_await service.root.shutdown();
    EXPECT_EQ(reply.result(), http::status::ok);
    EXPECT_LT(took, 2s);
  }());
}

TEST(StatusServer, AClientSilentPastTheReadTimeoutIsDisconnected) {
  fluid::run([]() -> Task<> {
    Service service({}, {.read_timeout = 100ms});
    co_await service.root.startup();
    auto silent = co_await connect(service.server->port());
    const auto start = SteadyClock::now();
    const bool closed = co_await closed_by_peer(silent, 5s);
    const auto took = SteadyClock::now() - start;
    co_await service.root.shutdown();
    EXPECT_TRUE(closed);
    EXPECT_GE(took, 50ms);
    EXPECT_LT(took, 3s);
  }());
}

TEST(StatusServer, HalfOpenClientsDoNotDelayShutdown) {
  fluid::run([]() -> Task<> {
    Service service({}, {.read_timeout = 30s});
    co_await service.root.startup();
    auto silent = co_await connect(service.server->port());
    auto partial = co_await connect(service.server->port());
    co_await asio::async_write(partial, asio::buffer(std::string("GET /status HTTP/1.1\r\nHo")), asio::use_awaitable);
    auto idle = co_await connect(service.server->port());  // keep-alive, between requests
    co_await exchange(idle, http::verb::get, "/health");
    co_await sleep(10ms);  // let the server accept and start reading
    const auto start = SteadyClock::now();
    co_await service.root.shutdown();
    const auto took = SteadyClock::now() - start;
    EXPECT_LT(took, 1s);
    EXPECT_EQ(service.server->worker_state(), WorkerState::stopped) << "stopped, not forced";
    EXPECT_EQ(service.root.stop_reason(), StopReason::normal);
    EXPECT_TRUE(co_await closed_by_peer(silent, 1s));
    EXPECT_TRUE(co_await closed_by_peer(partial, 1s));
    EXPECT_TRUE(co_await closed_by_peer(idle, 1s));
  }());
}

TEST(StatusServer, ItStopsPromptlyOnItsOwnWhenAskedAndNoLongerAccepts) {
  fluid::run([]() -> Task<> {
    NiceWorker target({.name = "target"});
    StatusServer server(target);
    co_await server.startup();
    const auto port = server.port();
    const auto start = SteadyClock::now();
    co_await server.shutdown();
    EXPECT_LT(SteadyClock::now() - start, 500ms);
    EXPECT_EQ(server.worker_state(), WorkerState::stopped);
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    auto [error] = co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                                 asio::as_tuple(asio::use_awaitable));
    EXPECT_EQ(error, asio::error::connection_refused);
  }());
}

TEST(StatusServer, ServesTargetsOnOtherStrandsWhenTheLoopHasSeveralThreads) {
  fluid::run(
      []() -> Task<> {
        auto consumer = std::make_shared<QueueConsumerWorker<int>>([](int) -> Task<> { co_return; },
                                                                   WorkerOptions{.name = "consumer"});
        Service service({consumer, std::make_shared<NiceWorker>(WorkerOptions{.name = "worker"})});
        co_await service.root.startup();
        for (int round = 0; round < 20; ++round) {
          consumer->send(round);
          const auto metrics = co_await request(service.server->port(), "/metrics");
          const auto status = co_await request(service.server->port(), "/status");
          EXPECT_EQ(metrics.result(), http::status::ok);
          EXPECT_EQ(status.result(), http::status::ok);
          EXPECT_TRUE(parse_exposition(metrics.body()).errors.empty());
        }
        co_await service.root.shutdown();
      }(),
      RunOptions{.threads = 2});
}

TEST(StatusServer, AConnectionBeyondMaxConnectionsIsAnswered503AndClosed) {
  fluid::run([]() -> Task<> {
    CapturedLog log;
    Service service({}, {.read_timeout = 30s, .max_connections = 2});
    co_await service.root.startup();
    auto first = co_await connect(service.server->port());
    auto second = co_await connect(service.server->port());
    co_await exchange(second, http::verb::get, "/health");  // both accepted by now
    const auto refused = co_await raw_exchange(service.server->port(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto again = co_await raw_exchange(service.server->port(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto served = co_await exchange(first, http::verb::get, "/health");
    co_await service.root.shutdown();
    EXPECT_TRUE(refused.starts_with("HTTP/1.1 503 Service Unavailable\r\n")) << refused;
    EXPECT_NE(refused.find("too many connections"), std::string::npos) << refused;
    EXPECT_TRUE(again.starts_with("HTTP/1.1 503")) << again;
    EXPECT_EQ(served.result(), http::status::ok) << "the connections within the limit are still served";
    const auto text = log.text();
    EXPECT_NE(text.find("refused a connection: 2 open, the most allowed (max_connections)"), std::string::npos)
        << text;
    EXPECT_EQ(text.find("refused a connection", text.find("refused a connection") + 1), std::string::npos)
        << "two refusals within a second make one line\n"
        << text;
  }());
}

TEST(StatusServer, AClientPipeliningWithoutEndIsClosedAfterItsRequestBudget) {
  fluid::run([]() -> Task<> {
    Service service({}, {.max_requests_per_connection = 3});
    co_await service.root.startup();
    std::string pipeline;
    for (int i = 0; i < 5; ++i) pipeline += "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n";
    const auto replies = co_await raw_exchange(service.server->port(), pipeline);
    co_await service.root.shutdown();
    std::size_t answered = 0;
    for (auto at = replies.find("HTTP/1.1 200 OK"); at != std::string::npos; at = replies.find("HTTP/1.1 200 OK", at + 1)) {
      ++answered;
    }
    EXPECT_EQ(answered, 3u) << replies;
    EXPECT_NE(replies.rfind("Connection: close"), std::string::npos) << "the last answer says so\n" << replies;
  }());
}

TEST(StatusServer, AcceptFailingAtTheDescriptorLimitIsLoggedAtMostOnceASecondAndRecovers) {
#if defined(__SANITIZE_ADDRESS__)
  // The asan preset also runs UBSan, whose vptr check tests memory through a
  // pipe: with no descriptor free it reports any virtual call as a bad type.
  // The TSan and plain builds run this test.
  GTEST_SKIP() << "UBSan's vptr check needs free descriptors";
#endif
  fluid::run([]() -> Task<> {
    CapturedLog log;
    Service service;
    co_await service.root.startup();
    // The lowest free descriptor goes to the client; the limit is set just
    // above it, so the server's accept has none left (EMFILE).
    const int client = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(client, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(service.server->port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    rlimit saved{};
    ::getrlimit(RLIMIT_NOFILE, &saved);
    rlimit lowered = saved;
    lowered.rlim_cur = static_cast<rlim_t>(client) + 1;
    ::setrlimit(RLIMIT_NOFILE, &lowered);
    const auto start = SteadyClock::now();
    co_await sleep(1500ms);  // about fifteen failed accepts, 100 ms apart
    const auto elapsed = SteadyClock::now() - start;
    ::setrlimit(RLIMIT_NOFILE, &saved);
    tcp::socket socket(co_await asio::this_coro::executor, tcp::v4(), client);
    beast::tcp_stream stream(std::move(socket));
    const auto reply = co_await exchange(stream, http::verb::get, "/health");
    co_await service.root.shutdown();
    EXPECT_EQ(reply.result(), http::status::ok) << "accepted once descriptors are free again";
    const auto text = log.text();
    std::size_t lines = 0;
    for (auto at = text.find("accept failed"); at != std::string::npos; at = text.find("accept failed", at + 1)) ++lines;
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
    EXPECT_GE(lines, 1u) << text;
    EXPECT_LE(lines, static_cast<std::size_t>(seconds) + 1) << text;
    EXPECT_NE(text.find("Too many open files"), std::string::npos) << text;
  }());
}

// ---------------------------------------------------------------- routes

TEST(StatusServer, AddedRoutesAreServedBesideTheBuiltInOnes) {
  fluid::run([]() -> Task<> {
    Service service;
    service.server->add_route("GET", "/tasks/*", [](HttpRequest request) -> Task<HttpResponse> {
      co_return HttpResponse::json(200, {{"under", request.path}, {"query", request.query}});
    });
    service.server->add_route("GET", "/tasks/special", [](HttpRequest) -> Task<HttpResponse> {
      co_return HttpResponse{.content_type = "text/plain", .body = "exact"};
    });
    service.server->add_route("POST", "/tasks", [](HttpRequest request) -> Task<HttpResponse> {
      co_return HttpResponse::json(201, {{"received", request.body}, {"type", request.header("content-type").value_or("")}});
    });
    co_await service.root.startup();
    const auto port = service.server->port();
    const auto under = co_await request(port, "/tasks/42?verbose=1");
    const auto exact = co_await request(port, "/tasks/special");
    const auto posted = co_await raw_exchange(port,
                                              "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                                              "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
    const auto wrong = co_await request(port, "/tasks", http::verb::get);
    const auto builtin = co_await request(port, "/health");
    co_await service.root.shutdown();
    EXPECT_EQ(json_of(under).at("under"), "/tasks/42");
    EXPECT_EQ(json_of(under).at("query"), "verbose=1");
    EXPECT_EQ(exact.body(), "exact");
    EXPECT_TRUE(posted.starts_with("HTTP/1.1 201 Created")) << posted;
    EXPECT_NE(posted.find(R"("received": "hello")"), std::string::npos) << posted;
    EXPECT_NE(posted.find(R"("type": "text/plain")"), std::string::npos) << posted;
    EXPECT_EQ(wrong.result(), http::status::method_not_allowed);
    EXPECT_EQ(wrong[http::field::allow], "POST");
    EXPECT_EQ(builtin.result(), http::status::ok);
  }());
}

TEST(StatusServer, AMalformedRouteIsAFluidError) {
  NiceWorker target;
  StatusServer server(target);
  const HttpHandler ok = [](HttpRequest) -> Task<HttpResponse> { co_return HttpResponse{}; };
  EXPECT_THROW(server.add_route("get", "/x", ok), FluidError);
  EXPECT_THROW(server.add_route("GET", "x", ok), FluidError);
  EXPECT_THROW(server.add_route("GET", "/x", HttpHandler{}), FluidError);
}

// ---------------------------------------------------------------- restarts

namespace {

/// Suspends in status() before answering, so that a sibling's restart on
/// another strand can land while a walk of the tree is inside it.
template <class Base>
class SuspendingStatus : public Base {
 public:
  using Base::Base;
  Task<nlohmann::json> status() override {
    co_await sleep(1ms);
    co_return co_await Base::status();
  }
};

/// Fails soon after it starts (while still running): restarted again and again.
class FailsSoon : public Worker {
 public:
  FailsSoon() : Worker({.name = "flaky"}) {}

 protected:
  Task<> run() override {
    const bool running = co_await sleep_while_running(2ms);
    if (running) throw std::runtime_error("flaky broke");
  }
};

/// Scrapes every endpoint of `server` `rounds` times, then returns (which stops its group).
class Scraper : public Worker {
 public:
  Scraper(std::shared_ptr<StatusServer> server, int rounds) : Worker({.name = "scraper"}), server_(server), rounds_(rounds) {}
  std::vector<std::string> problems;
  int answers = 0;

 protected:
  Task<> run() override {
    for (int round = 0; round < rounds_ && is_running(); ++round) {
      for (const auto* path : {"/health", "/ready", "/status", "/metrics"}) {
        const auto reply = co_await request(server_->port(), path);
        ++answers;
        const auto code = reply.result_int();
        const bool is_metrics = std::string_view(path) == "/metrics";
        const bool probe = std::string_view(path) == "/health" || std::string_view(path) == "/ready";
        if (code != 200 && !(code == 503 && probe)) {  // a probe may say "not now": children restart
          problems.push_back(std::string(path) + " answered " + std::to_string(code) + ": " + reply.body());
        }
        if (is_metrics && !parse_exposition(reply.body()).errors.empty()) problems.push_back("bad /metrics text");
        if (!is_metrics && !nlohmann::json::accept(reply.body())) problems.push_back(std::string(path) + ": bad JSON");
      }
    }
  }

 private:
  std::shared_ptr<StatusServer> server_;
  int rounds_;
};

}  // namespace

TEST(StatusServer, ScrapingEveryEndpointWhileChildrenRestartUnderServeOnTwoThreadsIsSafe) {
  // Run under ASan and TSan: a walk keeping a raw pointer to a child that a
  // restart on another strand frees is a heap-use-after-free there.
  Workers root({}, {.name = "service",
                    .restart_intensity = {.max_restarts = 1'000'000, .period = 1s},
                    .backoff = {.initial = 1ms, .max = 1ms, .multiplier = 1, .jitter = 0}});
  root.add_workers(std::make_shared<SuspendingStatus<NiceWorker>>(WorkerOptions{.name = "steady"}));
  root.add_supervised([] { return std::make_shared<SuspendingStatus<FailsSoon>>(); });
  root.add_supervised([] { return std::make_shared<SuspendingStatus<FailsSoon>>(); });
  auto server = std::make_shared<StatusServer>(root);
  root.add_workers(server);
  auto scraper = std::make_shared<Scraper>(server, 40);
  root.add_workers(scraper);
  const auto code = serve(root, {.threads = 2, .handle_signals = false});
  EXPECT_NE(code, exit_forced);
  EXPECT_EQ(scraper->answers, 160);
  for (const auto& problem : scraper->problems) ADD_FAILURE() << problem;
  EXPECT_GT(root.restarts(1) + root.restarts(2), 10u) << "the children must have restarted while being scraped";
}

// ---------------------------------------------------------------- curl

namespace {

/// Runs `command` and returns its standard output.
std::string shell(const std::string& command) {
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    while (const auto n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    ::pclose(pipe);
  }
  return out;
}

}  // namespace

TEST(StatusServer, CurlSeesEveryPath) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl is not installed";
  Service service;
  std::atomic<std::uint16_t> port{0};
  std::thread loop([&] {
    fluid::run([&]() -> Task<> {
      co_await service.root.startup();
      port = service.server->port();
      co_await service.root.wait_for_shutdown();
    }());
  });
  while (port == 0) std::this_thread::sleep_for(1ms);
  const auto base = "http://127.0.0.1:" + std::to_string(port.load());
  const auto code = [&](const std::string& args) {
    return shell("curl -s -o /dev/null -m 5 -w '%{http_code}' " + args);
  };
  EXPECT_EQ(code(base + "/status"), "200");
  EXPECT_EQ(code(base + "/health"), "200");
  EXPECT_EQ(code(base + "/ready"), "200");
  EXPECT_EQ(code(base + "/metrics"), "200");
  EXPECT_EQ(code(base + "/nope"), "404");
  EXPECT_EQ(code("-X POST " + base + "/status"), "405");
  EXPECT_EQ(code("-I " + base + "/status"), "200");
  const auto metrics = shell("curl -s -m 5 " + base + "/metrics");
  const auto e = parse_exposition(metrics);
  EXPECT_TRUE(e.errors.empty()) << errors_of(e) << metrics;
  EXPECT_EQ(e.value(R"(fluid_worker_up{worker="root/status_server"})"), 1.0);
  const auto headers = shell("curl -s -m 5 -D - -o /dev/null " + base + "/metrics");
  EXPECT_NE(headers.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << headers;
  service.root.gracefully_stop();  // thread-safe
  loop.join();
  EXPECT_EQ(service.root.stop_reason(), StopReason::normal);
}
