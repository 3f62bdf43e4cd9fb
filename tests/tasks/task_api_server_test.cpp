// TaskApiServer over a real socket (127.0.0.1, port 0) with a Beast client:
// every route of the task API with its answers and errors, the event feed as
// Server-Sent Events, actions off, the status routes on the same port and the
// dashboard; each on the memory broker and on a redis-server of the test's own.

#include "support/redis_server.hpp"
#include "support/task_events.hpp"
#include "tasks.hpp"

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

using namespace fluid;
using namespace fluid::test;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using json = nlohmann::json;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// ---------------------------------------------------------------- the client

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string allow;
  json data() const { return json::parse(body); }
  std::string detail() const { return data().at("detail").get<std::string>(); }
};

Task<beast::tcp_stream> connect(std::uint16_t port) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(10s);
  co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), asio::use_awaitable);
  co_return stream;
}

/// One request on a fresh connection; `body` sent as JSON when not empty.
Task<Reply> request(std::uint16_t port, http::verb verb, std::string target, std::string body = {}) {
  auto stream = co_await connect(port);
  http::request<http::string_body> out{verb, target, 11};
  out.set(http::field::host, "127.0.0.1");
  if (!body.empty()) out.set(http::field::content_type, "application/json");
  out.body() = std::move(body);
  out.keep_alive(false);
  out.prepare_payload();
  stream.expires_after(20s);
  co_await http::async_write(stream, out, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  const auto& in = parser.get();
  co_return Reply{static_cast<int>(in.result_int()), in.body(), std::string(in[http::field::content_type]),
                  std::string(in[http::field::allow])};
}

Task<Reply> get(std::uint16_t port, std::string target) { return request(port, http::verb::get, std::move(target)); }

/// One Server-Sent Event as the client parsed it.
struct SseEvent {
  std::string id, event, data;
};

/// A client of GET /tasks-events that reads events as they come.
class EventClient {
 public:
  /// Connects, asks for the feed (from `last_event_id` when not empty) and
  /// returns once the server has answered: from then on every change reaches it.
  static Task<std::unique_ptr<EventClient>> open(std::uint16_t port, std::string last_event_id = {}) {
    auto client = std::unique_ptr<EventClient>(new EventClient(co_await connect(port)));
    std::string request = "GET /tasks-events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    if (!last_event_id.empty()) request += "Last-Event-ID: " + last_event_id + "\r\n";
    request += "\r\n";
    co_await asio::async_write(client->stream_, asio::buffer(request), asio::use_awaitable);
    co_await client->read_raw_until("retry: ");  // sent once the server follows the feed
    co_return client;
  }

  /// Reads until an event satisfies `wanted` (or 20 s pass: then it fails
  /// the test) and returns every event read so far.
  Task<std::vector<SseEvent>> read_until(std::function<bool(const SseEvent&)> wanted) {
    for (;;) {
      parse();
      if (std::any_of(events_.begin(), events_.end(), wanted)) co_return events_;
      co_await read_more();
    }
  }

  /// What the server sent before the first event (status line and headers).
  const std::string& raw() const { return raw_; }

 private:
  explicit EventClient(beast::tcp_stream stream) : stream_(std::move(stream)) {}

  Task<> read_more() {
    char chunk[4096];
    stream_.expires_after(20s);
    const auto [error, n] = co_await stream_.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
    if (error) throw std::runtime_error("the event stream ended: " + error.message() + "\n" + raw_);
    raw_.append(chunk, n);
  }

  Task<> read_raw_until(std::string text) {
    while (raw_.find(text) == std::string::npos) co_await read_more();
  }

  /// Cuts whole events ("...\n\n") out of what was read. Chunk-size lines
  /// of the chunked body fall between them and match no field.
  void parse() {
    for (auto end = raw_.find("\n\n", parsed_); end != std::string::npos; end = raw_.find("\n\n", parsed_)) {
      SseEvent event;
      std::string_view block(raw_.data() + parsed_, end - parsed_);
      parsed_ = end + 2;
      while (!block.empty()) {
        const auto eol = block.find('\n');
        auto line = block.substr(0, eol);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        for (const auto* field : {"id", "event", "data"}) {
          const auto name = std::string(field) + ": ";
          if (line.starts_with(name)) {
            auto& value = field == std::string("id") ? event.id : field == std::string("event") ? event.event : event.data;
            value = std::string(line.substr(name.size()));
          }
        }
        if (eol == std::string_view::npos) break;
        block.remove_prefix(eol + 1);
      }
      if (!event.event.empty()) events_.push_back(std::move(event));
    }
  }

  beast::tcp_stream stream_;
  std::string raw_;
  std::size_t parsed_ = 0;
  std::vector<SseEvent> events_;
};

/// The event of `run_id` reaching `state`.
std::function<bool(const SseEvent&)> state_of(std::string run_id, std::string state) {
  return [run_id, state](const SseEvent& e) {
    if (e.event != "state") return false;
    const auto run = json::parse(e.data);
    return run.at("id") == run_id && run.at("state") == state;
  };
}

// ---------------------------------------------------------------- brokers

RedisServer& shared_redis() {
  static auto* server = new RedisServer();  // never destroyed: killed when the main thread exits
  return *server;
}

std::string why_no_redis() {
  if (!FLUID_WITH_REDIS) return "this build of fluid has no Redis broker (FLUID_WITH_REDIS=OFF)";
  return RedisServer::binary() ? std::string() : "redis-server not found on PATH (apt-get install redis-server)";
}

int namespaces = 0;

/// The broker URL of a fresh namespace of `broker` ("memory" or "redis").
std::string fresh_url(const std::string& broker) {
  if (broker == "memory") return unique_memory_url();
  return shared_redis().url("?name=api-" + std::to_string(::getpid()) + "-" + std::to_string(++namespaces));
}

class TaskApi : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "redis") {
      const auto why = why_no_redis();
      if (!why.empty()) GTEST_SKIP() << why;
      shared_redis();  // started from the main thread
    }
    url_ = fresh_url(GetParam());
  }
  std::string url_;
};

/// A service as an application builds one: a scheduler with the example
/// tasks and a TaskApiServer on the same group, reporting on it.
struct Service {
  explicit Service(std::string url, bool actions = true, StatusServerOptions http = {})
      : root({}, WorkersOptions{.name = "service"}),
        scheduler(examples::task_scheduler({.broker_url = std::move(url)}, {.name = "scheduler"})) {
    http.address = "127.0.0.1";
    http.port = 0;
    api = std::make_shared<TaskApiServer>(*scheduler,
                                          TaskApiOptions{.http = std::move(http), .actions = actions, .target = &root});
    root.add_workers(api);
    root.add_workers(scheduler);
  }
  std::uint16_t port() const { return api->port(); }

  Workers root;
  std::shared_ptr<TaskScheduler> scheduler;
  std::shared_ptr<TaskApiServer> api;
};

/// A plain manager (no consumer: runs stay queued) served by a TaskApiServer.
struct Producer {
  explicit Producer(std::string url, bool actions = true)
      : manager(std::make_unique<TaskManager>(TaskManagerConfig{.broker_url = std::move(url)})) {
    manager->register_tasks(examples::example_tasks());
    api = std::make_shared<TaskApiServer>(
        *manager, TaskApiOptions{.http = {.address = "127.0.0.1", .port = 0}, .actions = actions});
  }
  std::uint16_t port() const { return api->port(); }

  std::unique_ptr<TaskManager> manager;
  std::shared_ptr<TaskApiServer> api;
};

std::vector<std::string> names_of(const json& infos) {
  std::vector<std::string> out;
  for (const auto& info : infos) out.push_back(info.at("name"));
  return out;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Brokers, TaskApi, ::testing::Values("memory", "redis"),
                         [](const auto& info) { return info.param; });

// ---------------------------------------------------------------- tasks

TEST_P(TaskApi, ListsTheRegisteredTasksSortedAndFiltersThemByAnyOfTheTagsGiven) {
  fluid::run([this]() -> Task<> {
    Service service(url_);
    co_await service.root.startup();
    const auto all = co_await get(service.port(), "/tasks");
    const auto tagged = co_await get(service.port(), "/tasks?tags=fast&tags=skip_db");
    const auto none = co_await get(service.port(), "/tasks?tags=nothing");
    co_await service.root.shutdown();
    EXPECT_EQ(all.status, 200) << all.body;
    auto names = names_of(all.data());
    EXPECT_EQ(names.size(), examples::example_tasks().size());
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
    EXPECT_EQ(all.data().front().count("last_run_state"), 1u) << "every TaskInfo field is present";
    EXPECT_THAT(names_of(tagged.data()), ::testing::ElementsAre("fast", "ping"));
    EXPECT_TRUE(none.data().empty());
  }());
}

TEST_P(TaskApi, ATaskIsItsInfoAndAnUnknownTaskIs404TaskNotFound) {
  fluid::run([this]() -> Task<> {
    Service service(url_);
    co_await service.root.startup();
    const auto ping = co_await get(service.port(), "/tasks/ping");
    const auto unknown = co_await get(service.port(), "/tasks/nope");
    const auto nested = co_await get(service.port(), "/tasks/ping/more");
    co_await service.root.shutdown();
    EXPECT_EQ(ping.status, 200) << ping.body;
    EXPECT_EQ(ping.data().at("name"), "ping");
    EXPECT_EQ(ping.data().at("schedule"), "every(0:00:02)");
    EXPECT_EQ(ping.data().at("enabled"), true);
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(unknown.detail(), "Task not found");
    EXPECT_EQ(nested.status, 404);
  }());
}

TEST_P(TaskApi, PostQueuesARunThatTheConsumerRunsToSuccess) {
  fluid::run([this]() -> Task<> {
    Service service(url_);
    co_await service.root.startup();
    const auto posted = co_await request(service.port(), http::verb::post, "/tasks/add", R"({"a": 2, "b": 3})");
    EXPECT_EQ(posted.status, 200) << posted.body;
    const auto queued = posted.data();
    EXPECT_EQ(queued.at("state"), "queued");
    EXPECT_EQ(queued.at("params"), json({{"a", 2.0}, {"b", 3.0}}));
    const auto done = co_await service.scheduler->wait(queued.at("id").get<std::string>(), 20s);
    const auto shown = co_await get(service.port(), "/tasks-runs/" + done.id);
    const auto info = co_await get(service.port(), "/tasks/add");
    co_await service.root.shutdown();
    EXPECT_EQ(done.state, TaskState::success);
    EXPECT_EQ(shown.status, 200) << shown.body;
    EXPECT_EQ(shown.data().at("state"), "success");
    EXPECT_EQ(info.data().at("last_run_state"), "success");
  }());
}

TEST_P(TaskApi, PostWithoutABodyQueuesTheTasksDefaultParams) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_);
    co_await producer.api->startup();
    const auto posted = co_await request(producer.port(), http::verb::post, "/tasks/fast");
    co_await producer.api->shutdown();
    EXPECT_EQ(posted.status, 200) << posted.body;
    EXPECT_EQ(posted.data().at("params"), json({{"sleep", 0.1}, {"error", false}, {"abort", false}}));
  }());
}

TEST_P(TaskApi, BadParamsAre422AndQueueNothing) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_);
    co_await producer.api->startup();
    const auto port = producer.port();
    const auto negative = co_await request(port, http::verb::post, "/tasks/fast", R"({"sleep": -1})");
    const auto wrong_type = co_await request(port, http::verb::post, "/tasks/add", R"({"a": "5"})");
    const auto not_object = co_await request(port, http::verb::post, "/tasks/add", "[1, 2]");
    const auto not_json = co_await request(port, http::verb::post, "/tasks/add", "{oops");
    const auto missing = co_await request(port, http::verb::post, "/tasks/whisper", "{}");
    const auto unknown = co_await request(port, http::verb::post, "/tasks/nope", "{}");
    const auto lengths = co_await producer.manager->queue_length();
    co_await producer.api->shutdown();
    for (const auto* reply : {&negative, &wrong_type, &not_object, &not_json, &missing}) {
      EXPECT_EQ(reply->status, 422) << reply->body;
      EXPECT_FALSE(reply->detail().empty());
    }
    EXPECT_THAT(negative.detail(), HasSubstr("invalid params for task 'fast'"));
    EXPECT_THAT(not_json.detail(), HasSubstr("not JSON"));
    EXPECT_EQ(unknown.status, 404);
    for (const auto& [priority, n] : lengths) EXPECT_EQ(n, 0u) << to_string(priority);
  }());
}

TEST_P(TaskApi, SecretParamsAreMaskedInEveryRunItReturns) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_);
    co_await producer.api->startup();
    const auto posted = co_await request(producer.port(), http::verb::post, "/tasks/whisper", R"({"secret": "s3cr3t"})");
    const auto id = posted.data().at("id").get<std::string>();
    const auto shown = co_await get(producer.port(), "/tasks-runs/" + id);
    co_await producer.api->shutdown();
    EXPECT_EQ(posted.data().at("params").at("secret"), secret_mask);
    EXPECT_EQ(shown.data().at("params").at("secret"), secret_mask);
    EXPECT_EQ(shown.body.find("s3cr3t"), std::string::npos);
  }());
}

TEST_P(TaskApi, PatchDisablesAndEnablesATaskForEveryProcessAndABadBodyIs422) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_);
    co_await producer.api->startup();
    const auto port = producer.port();
    const auto off = co_await request(port, http::verb::patch, "/tasks/add", R"({"enabled": false})");
    std::vector<std::string> add{"add"};
    const auto seen = co_await producer.manager->tasks_info(add);
    const auto on = co_await request(port, http::verb::patch, "/tasks/add", R"({"enabled": true})");
    const auto not_bool = co_await request(port, http::verb::patch, "/tasks/add", R"({"enabled": "no"})");
    const auto empty = co_await request(port, http::verb::patch, "/tasks/add");
    const auto unknown = co_await request(port, http::verb::patch, "/tasks/nope", R"({"enabled": false})");
    co_await producer.api->shutdown();
    EXPECT_EQ(off.status, 200) << off.body;
    EXPECT_EQ(off.data().at("enabled"), false);
    EXPECT_FALSE(seen.at(0).enabled);
    EXPECT_EQ(on.data().at("enabled"), true);
    EXPECT_EQ(not_bool.status, 422);
    EXPECT_EQ(empty.status, 422);
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(unknown.detail(), "Task not found");
  }());
}

// ---------------------------------------------------------------- status and queues

TEST_P(TaskApi, TasksStatusListsTheStatusesConsumersPublishedAndTheQueueLengths) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_);
    co_await producer.api->startup();
    // What a consumer publishes every second, published here at once.
    const json published = {{"kind", "task_consumer"}, {"status", {{"tasks", {{"running", 0}}}}}};
    co_await producer.manager->broker().set_manager_status("consumer-1", published, 5s);
    (void)co_await producer.manager->queue("add");
    const auto status = co_await get(producer.port(), "/tasks-status");
    co_await producer.api->shutdown();
    EXPECT_EQ(status.status, 200) << status.body;
    EXPECT_EQ(status.data().at("workers"), json::array({published}));
    EXPECT_EQ(status.data().at("queues"), json({{"high", 0}, {"medium", 1}, {"low", 0}}));
  }());
}

TEST_P(TaskApi, DeleteQueueAbortsEveryWaitingRunAndCountsThemPerPriority) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_);
    co_await producer.api->startup();
    auto& manager = *producer.manager;
    const EnqueueOptions high{.priority = TaskPriority::high};
    const auto first = co_await manager.queue("add", json::object(), high);
    (void)co_await manager.queue("add");
    (void)co_await manager.queue("add");
    const auto lengths = co_await get(producer.port(), "/tasks-status");
    const auto one = co_await request(producer.port(), http::verb::delete_, "/tasks-queue/high");
    const auto bad = co_await request(producer.port(), http::verb::delete_, "/tasks-queue/urgent");
    const auto rest = co_await request(producer.port(), http::verb::delete_, "/tasks-queue");
    const auto aborted = co_await manager.get_run(first.id);
    co_await producer.api->shutdown();
    EXPECT_EQ(lengths.data().at("queues"), json({{"high", 1}, {"medium", 2}, {"low", 0}}));
    EXPECT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(one.data(), json({{"high", 1}}));
    EXPECT_EQ(bad.status, 422);
    EXPECT_THAT(bad.detail(), HasSubstr("urgent"));
    EXPECT_EQ(rest.data(), json({{"high", 0}, {"medium", 2}, {"low", 0}}));
    EXPECT_EQ(aborted.value().state, TaskState::aborted);
    EXPECT_EQ(aborted.value().error, "queue cleared");
  }());
}

// ---------------------------------------------------------------- runs

TEST_P(TaskApi, ARunIsItsRecordAndAnUnknownRunIs404) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_);
    co_await producer.api->startup();
    const auto queued = co_await producer.manager->queue("add");
    const auto shown = co_await get(producer.port(), "/tasks-runs/" + queued.id);
    const auto unknown = co_await get(producer.port(), "/tasks-runs/nope");
    co_await producer.api->shutdown();
    EXPECT_EQ(shown.status, 200) << shown.body;
    EXPECT_EQ(shown.data().at("id"), queued.id);
    EXPECT_EQ(shown.data().at("state"), "queued");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(unknown.detail(), "Run not found");
  }());
}

TEST_P(TaskApi, AbortEndsARunningRunAbortedWithTheReasonAndAFinalRunIs409) {
  fluid::run([this]() -> Task<> {
    Service service(url_);
    RunEvents events(*service.scheduler);
    co_await service.root.startup();
    const auto port = service.port();
    const json params = {{"sleep", 30}};
    const auto run = co_await service.scheduler->queue("dummy", params);
    (void)co_await events.wait_for_state(run.id, TaskState::running, 20s);
    const auto abort = co_await request(port, http::verb::post, "/tasks-runs/" + run.id + "/abort", R"({"reason": "from http"})");
    const auto done = co_await service.scheduler->wait(run.id, 20s);
    const auto again = co_await request(port, http::verb::post, "/tasks-runs/" + run.id + "/abort");
    const auto unknown = co_await request(port, http::verb::post, "/tasks-runs/nope/abort");
    const auto bad_body = co_await request(port, http::verb::post, "/tasks-runs/" + run.id + "/abort", R"({"reason": 1})");
    const auto no_action = co_await request(port, http::verb::post, "/tasks-runs/" + run.id + "/stop");
    co_await service.root.shutdown();
    EXPECT_EQ(abort.status, 200) << abort.body;
    EXPECT_EQ(done.state, TaskState::aborted);
    EXPECT_EQ(done.error, "from http");
    EXPECT_EQ(again.status, 409) << again.body;
    EXPECT_THAT(again.detail(), HasSubstr("already final"));
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(bad_body.status, 422);
    EXPECT_EQ(no_action.status, 404);
  }());
}

// ---------------------------------------------------------------- the event feed

TEST_P(TaskApi, TheEventFeedStreamsEveryChangeAsServerSentEvents) {
  fluid::run([this]() -> Task<> {
    Service service(url_);
    co_await service.root.startup();
    auto feed = co_await EventClient::open(service.port());
    // The feed starts from now: a run queued once the client is connected.
    const auto posted = co_await request(service.port(), http::verb::post, "/tasks/add", R"({"a": 1})");
    const auto id = posted.data().at("id").get<std::string>();
    const auto events = co_await feed->read_until(state_of(id, "success"));
    co_await service.root.shutdown();
    EXPECT_THAT(feed->raw(), HasSubstr("Content-Type: text/event-stream"));
    std::vector<std::string> states;
    for (const auto& e : events) {
      const auto run = json::parse(e.data);
      if (run.at("id") == id) states.push_back(run.at("state"));
      EXPECT_FALSE(e.id.empty()) << "every event carries its cursor";
    }
    EXPECT_THAT(states, ::testing::ElementsAre("queued", "running", "success"));
  }());
}

TEST_P(TaskApi, TheEventFeedResumesAfterTheLastEventIdGiven) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_);
    co_await producer.api->startup();
    auto& manager = *producer.manager;
    auto first_feed = co_await EventClient::open(producer.port());
    const auto first = co_await manager.queue("add");
    const auto seen = co_await first_feed->read_until(state_of(first.id, "queued"));
    const auto cursor = seen.back().id;
    first_feed.reset();  // disconnected; meanwhile:
    const auto second = co_await manager.queue("add");
    auto resumed = co_await EventClient::open(producer.port(), cursor);
    const auto replayed = co_await resumed->read_until(state_of(second.id, "queued"));
    const auto bad = co_await request(producer.port(), http::verb::get, "/tasks-events?last_event_id=not-a-cursor");
    co_await producer.api->shutdown();
    EXPECT_EQ(replayed.size(), 1u) << "only what came after the cursor";
    EXPECT_EQ(json::parse(replayed.at(0).data).at("id"), second.id);
    EXPECT_EQ(bad.status, 422) << bad.body;
    EXPECT_THAT(bad.detail(), HasSubstr("not-a-cursor"));
  }());
}

TEST_P(TaskApi, AnEventStreamOpenAtShutdownDoesNotDelayIt) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_);
    co_await producer.api->startup();
    auto feed = co_await EventClient::open(producer.port());
    const auto queued = co_await producer.manager->queue("add");
    (void)co_await feed->read_until(state_of(queued.id, "queued"));
    const auto started = std::chrono::steady_clock::now();
    co_await producer.api->shutdown();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_EQ(producer.api->worker_state(), WorkerState::stopped);
  }());
}

// ---------------------------------------------------------------- actions off

TEST_P(TaskApi, WithActionsOffEveryChangeIs403AndReadsStillAnswer) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_, false);
    co_await producer.api->startup();
    const auto port = producer.port();
    const auto queued = co_await producer.manager->queue("add");
    const auto post = co_await request(port, http::verb::post, "/tasks/add", "{}");
    const auto patch = co_await request(port, http::verb::patch, "/tasks/add", R"({"enabled": false})");
    const auto abort = co_await request(port, http::verb::post, "/tasks-runs/" + queued.id + "/abort");
    const auto clear = co_await request(port, http::verb::delete_, "/tasks-queue");
    const auto clear_one = co_await request(port, http::verb::delete_, "/tasks-queue/medium");
    const auto list = co_await get(port, "/tasks");
    const auto run = co_await get(port, "/tasks-runs/" + queued.id);
    const auto page = co_await get(port, "/");
    const auto lengths = co_await producer.manager->queue_length();
    co_await producer.api->shutdown();
    for (const auto* reply : {&post, &patch, &abort, &clear, &clear_one}) {
      EXPECT_EQ(reply->status, 403) << reply->body;
      EXPECT_THAT(reply->detail(), HasSubstr("actions are off"));
    }
    EXPECT_EQ(list.status, 200);
    EXPECT_EQ(run.data().at("state"), "queued") << "the abort changed nothing";
    EXPECT_EQ(lengths.at(TaskPriority::medium), 1u) << "nothing queued, nothing cleared";
    EXPECT_THAT(page.body, HasSubstr(R"("actions":false)"));
  }());
}

// ---------------------------------------------------------------- HTTP errors and limits

TEST_P(TaskApi, AnUnknownPathIs404AndAnotherMethod405EachWithADetail) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_);
    co_await producer.api->startup();
    const auto unknown = co_await get(producer.port(), "/tasks-nope");
    const auto put = co_await request(producer.port(), http::verb::put, "/tasks/add", "{}");
    const auto post_list = co_await request(producer.port(), http::verb::post, "/tasks", "{}");
    co_await producer.api->shutdown();
    EXPECT_EQ(unknown.status, 404);
    EXPECT_FALSE(unknown.detail().empty());
    EXPECT_EQ(put.status, 405);
    EXPECT_EQ(put.allow, "GET, HEAD, PATCH, POST");
    EXPECT_FALSE(put.detail().empty());
    EXPECT_EQ(post_list.status, 405);
  }());
}

TEST_P(TaskApi, ABodyPastTheLimitIs413AndParamsPastOneMebibyte422) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_);
    co_await producer.api->startup();
    const auto huge_params = json{{"a", 1}, {"pad", std::string(1100 * 1024, 'x')}}.dump();
    const auto past_params_limit = co_await request(producer.port(), http::verb::post, "/tasks/add", huge_params);
    const auto past_body_limit =
        co_await request(producer.port(), http::verb::post, "/tasks/add", std::string(3 * 1024 * 1024, ' '));
    co_await producer.api->shutdown();
    EXPECT_EQ(past_params_limit.status, 422) << past_params_limit.body.substr(0, 200);
    EXPECT_EQ(past_body_limit.status, 413);
    EXPECT_THAT(past_body_limit.detail(), HasSubstr("larger than"));
  }());
}

TEST_P(TaskApi, BeforeTheConsumerHasOpenedItsManagerTheTaskRoutesAre503) {
  fluid::run([this]() -> Task<> {
    auto consumer = examples::task_scheduler({.broker_url = url_});
    TaskApiServer api(*consumer, {.http = {.address = "127.0.0.1", .port = 0}});
    co_await api.startup();  // the consumer is not started: it has not opened itself
    const auto list = co_await get(api.port(), "/tasks");
    const auto health = co_await get(api.port(), "/health");
    co_await api.shutdown();
    EXPECT_EQ(list.status, 503);
    EXPECT_EQ(list.detail(), "task manager not open");
    EXPECT_EQ(health.status, 200);
  }());
}

TEST(TaskApiRedis, WhileRedisIsDownTheTaskRoutesAre503) {
  if (const auto why = why_no_redis(); !why.empty()) GTEST_SKIP() << why;
  RedisServer redis;
  fluid::run([&redis]() -> Task<> {
    Producer producer(redis.url("?name=down&timeout=0.3"));
    co_await producer.api->startup();
    const auto before = co_await get(producer.port(), "/tasks");
    redis.stop();
    const auto during = co_await get(producer.port(), "/tasks");
    const auto queue_during = co_await request(producer.port(), http::verb::post, "/tasks/add", "{}");
    const auto health = co_await get(producer.port(), "/health");
    co_await producer.api->shutdown();
    EXPECT_EQ(before.status, 200);
    EXPECT_EQ(during.status, 503) << during.body;
    EXPECT_EQ(queue_during.status, 503) << queue_during.body;
    EXPECT_THAT(during.detail(), HasSubstr("unavailable"));
    EXPECT_EQ(health.status, 200) << "the process is alive: only the broker is away";
  }());
}

// ---------------------------------------------------------------- one server

TEST_P(TaskApi, TheStatusRoutesAndTheDashboardShareThePortOfTheTaskRoutes) {
  fluid::run([this]() -> Task<> {
    Service service(url_);
    co_await service.root.startup();
    const auto port = service.port();
    const auto health = co_await get(port, "/health");
    const auto ready = co_await get(port, "/ready");
    const auto status = co_await get(port, "/status");
    const auto metrics = co_await get(port, "/metrics");
    const auto workers = co_await get(port, "/workers");
    const auto page = co_await get(port, "/");
    co_await service.root.shutdown();
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(ready.status, 200) << ready.body;
    EXPECT_TRUE(status.data().contains("scheduler"));
    EXPECT_THAT(metrics.body, HasSubstr("fluid_"));
    std::vector<std::string> paths;
    for (const auto& row : workers.data()) paths.push_back(row.at("path"));
    EXPECT_THAT(paths, ::testing::IsSupersetOf({"service", "service/task_api_server", "service/scheduler"}));
    EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
    EXPECT_THAT(page.body, HasSubstr(R"("prefix":"/tasks")"));
    EXPECT_THAT(page.body, HasSubstr(R"("actions":true)"));
    EXPECT_THAT(page.body, HasSubstr("EventSource"));
    EXPECT_EQ(page.body.find("http://"), std::string::npos) << "nothing from outside";
    EXPECT_EQ(page.body.find("<script src"), std::string::npos);
  }());
}

TEST_P(TaskApi, APlainManagerIsOpenedByTheServerAndClosedWhenItStops) {
  fluid::run([this]() -> Task<> {
    Producer producer(url_);
    EXPECT_FALSE(producer.manager->is_open());
    co_await producer.api->startup();
    const bool open_while_serving = producer.manager->is_open();
    co_await producer.api->shutdown();
    EXPECT_TRUE(open_while_serving);
    EXPECT_FALSE(producer.manager->is_open());
  }());
}

TEST(TaskApiServer, AMalformedPrefixIsAFluidError) {
  TaskManager manager({.broker_url = unique_memory_url()});
  for (const auto* prefix : {"tasks", "/tasks/", "/", "/ta sks"}) {
    EXPECT_THROW(TaskApiServer(manager, {.prefix = prefix}), FluidError) << prefix;
  }
}
