// W7: the task queue on one redis-server, end to end. See docs/benchmarks.md;
// bench/w7 starts the server, the consumers and the references.
//
//   --role=consumer --url=URL [--concurrency=64]   a TaskConsumer serve()d
//       on URL with a no-op task `noop`, until SIGTERM.
//   --role=producer --url=URL [--n=20000] [--queuers=64]   queues n runs of
//       `noop` (queuers coroutines at once, through a TaskManager) while it
//       follows the broker's feed; prints one JSON line: runs/s from the
//       first queue() to the last run final.
//   --role=latency --url=URL [--n=2000] [--rate=R]   queues n runs at R
//       runs/s (a steady trickle, half the measured throughput); prints the
//       p50 / p99 of queue-to-start (the run's started - queued, both read
//       from Redis's clock).

#include "support.hpp"

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using bench::Clock;
using fluid::Task;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::string option(int argc, char** argv, const char* name, const char* fallback) {
  const auto prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  }
  return fallback;
}

fluid::TaskDefinition noop() {
  return fluid::make_task("noop", [](fluid::TaskContext&) -> Task<> { co_return; });
}

int consume(const std::string& url, std::size_t concurrency) {
  fluid::TaskManagerConfig config;
  config.broker_url = url;
  config.max_concurrent_tasks = concurrency;
  fluid::TaskConsumer consumer(config, fluid::WorkerOptions{.name = "w7_consumer", .stopping_grace_period = 5s});
  consumer.register_task(noop());
  return fluid::serve(consumer);
}

/// The runs of `ids` final so far, read from the feed; what the feed dropped
/// (it keeps fewer events than 20,000 runs make) is read run by run.
struct Finals {
  /// Run ids of this process's own: a known id would not be queued again.
  std::string prefix = "w7-" + std::to_string(::getpid()) + "-";
  std::set<std::string> pending;
  std::map<std::string, fluid::TaskRun> done;
  Clock::time_point last{};

  void take(const fluid::TaskRun& run) {
    if (!run.is_final() || pending.erase(run.id) == 0) return;
    done.emplace(run.id, run);
    last = Clock::now();
  }
  Task<> resync(fluid::TaskBroker& broker) {
    const std::vector<std::string> ids(pending.begin(), pending.end());
    for (const auto& id : ids) {
      const auto run = co_await broker.get_run(id);
      if (run) take(*run);
    }
  }
};

Task<> follow(std::shared_ptr<fluid::TaskBroker> broker, std::string cursor, Finals& finals, std::size_t n) {
  while (finals.done.size() < n) {
    auto batch = co_await broker->read_events(cursor, 10'000, 500ms);
    cursor = batch.cursor;
    if (batch.gap) co_await finals.resync(*broker);
    for (const auto& event : batch.events) {
      if (event.kind == "state") finals.take(event.run);
    }
  }
}

Task<> queue_share(fluid::TaskManager& manager, Finals& finals, std::size_t from, std::size_t step, std::size_t n) {
  for (std::size_t i = from; i < n; i += step) {
    fluid::EnqueueOptions options;
    options.run_id = finals.prefix + std::to_string(i);
    finals.pending.insert(options.run_id);
    (void)co_await manager.queue("noop", nlohmann::json::object(), options);
  }
}

/// detached, but an error still ends fluid::run (which rethrows it).
void rethrow(std::exception_ptr error) {
  if (error) std::rethrow_exception(error);
}

/// Queues `n` runs from `queuers` coroutines at once and follows them to the end.
Task<> produce_all(fluid::TaskManager& manager, std::shared_ptr<fluid::TaskBroker> broker, Finals& finals,
                   std::size_t n, std::size_t queuers, Clock::time_point& started) {
  const auto cursor = (co_await broker->read_events("", 1, 0ms)).cursor;
  const auto executor = co_await boost::asio::this_coro::executor;
  started = Clock::now();
  for (std::size_t q = 0; q < queuers; ++q) {
    boost::asio::co_spawn(executor, queue_share(manager, finals, q, queuers, n), rethrow);
  }
  co_await follow(broker, cursor, finals, n);
}

using Producing = std::function<Task<>(fluid::TaskManager&, std::shared_ptr<fluid::TaskBroker>)>;

/// Runs `body` with a TaskManager that knows `noop` and a broker object of
/// its own (to follow the feed), both open on `url`.
void with_producer(const std::string& url, const Producing& body) {
  fluid::TaskManagerConfig config;
  config.broker_url = url;
  fluid::TaskManager manager(config);
  manager.register_task(noop());
  auto broker = fluid::make_broker(url);
  fluid::run([&]() -> Task<> {
    co_await manager.open();
    co_await broker->open();
    co_await body(manager, broker);
    co_await broker->close();
    co_await manager.close();
  }());
}

int produce(const std::string& url, std::size_t n, std::size_t queuers) {
  Finals finals;
  Clock::time_point started;
  with_producer(url, [&](fluid::TaskManager& manager, std::shared_ptr<fluid::TaskBroker> broker) {
    return produce_all(manager, std::move(broker), finals, n, queuers, started);
  });
  const double seconds = bench::seconds_between(started, finals.last);
  std::printf("{\"workload\": \"W7\", \"impl\": \"fluid\", \"runs\": %zu, \"seconds\": %.6f, \"runs_per_s\": %.1f}\n", n,
              seconds, static_cast<double>(n) / seconds);
  return 0;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(at, values.size() - 1)];
}

/// Queues `n` runs at `rate` runs/s.
Task<> trickle(fluid::TaskManager& manager, Finals& finals, std::size_t n, double rate) {
  const auto gap = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  auto next = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    next += gap;
    fluid::EnqueueOptions options;
    options.run_id = finals.prefix + std::to_string(i);
    finals.pending.insert(options.run_id);
    (void)co_await manager.queue("noop", nlohmann::json::object(), options);
    co_await fluid::sleep(std::max(Clock::duration::zero(), next - Clock::now()));
  }
}

Task<> trickle_and_follow(fluid::TaskManager& manager, std::shared_ptr<fluid::TaskBroker> broker, Finals& finals,
                          std::size_t n, double rate) {
  const auto cursor = (co_await broker->read_events("", 1, 0ms)).cursor;
  const auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::co_spawn(executor, trickle(manager, finals, n, rate), rethrow);
  co_await follow(broker, cursor, finals, n);
}

int latency(const std::string& url, std::size_t n, double rate) {
  Finals finals;
  with_producer(url, [&](fluid::TaskManager& manager, std::shared_ptr<fluid::TaskBroker> broker) {
    return trickle_and_follow(manager, std::move(broker), finals, n, rate);
  });
  std::vector<double> waits;
  for (const auto& [id, run] : finals.done) {
    if (const auto in_queue = run.in_queue()) waits.push_back(static_cast<double>(in_queue->count()) / 1000.0);
  }
  std::printf("{\"workload\": \"W7latency\", \"impl\": \"fluid\", \"runs\": %zu, \"rate\": %.0f, \"p50_ms\": %.2f, "
              "\"p99_ms\": %.2f}\n",
              waits.size(), rate, percentile(waits, 0.5), percentile(waits, 0.99));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto role = option(argc, argv, "role", "");
  const auto url = option(argc, argv, "url", "");
  if (url.empty() || (role != "consumer" && role != "producer" && role != "latency")) {
    std::fprintf(stderr, "usage: %s --role=consumer|producer|latency --url=redis://... [--n=N] [--concurrency=N]\n",
                 argv[0]);
    return 2;
  }
  if (role == "consumer") return consume(url, std::stoul(option(argc, argv, "concurrency", "64")));
  if (role == "latency") {
    return latency(url, std::stoul(option(argc, argv, "n", "2000")), std::stod(option(argc, argv, "rate", "1000")));
  }
  return produce(url, std::stoul(option(argc, argv, "n", "20000")), std::stoul(option(argc, argv, "queuers", "64")));
}
