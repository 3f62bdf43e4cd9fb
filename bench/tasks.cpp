// W6: the task queue on the memory broker, end to end. See docs/benchmarks.md.
//
//   --workload=throughput --n=100000   one TaskConsumer (max_concurrent_tasks
//       64) on memory://; a producer coroutine in the same process queues n
//       no-op runs (yielding every 1,000); runs/s from the first queue() to
//       the last run final (success).
//   --workload=pickup --n=1000   an idle consumer: time from queue() to the
//       executor's start, one run at a time, p50 and p99.
//   --workload=slots --n=200   a scheduler firing every 20 ms: how late each
//       slot is queued (queued - slot), p99.
//   --count=w6 --n=N   the throughput workload once, for callgrind.
//
// Each workload prints one JSON line. No bare-Asio floor: the goals are
// absolute (>= 100k runs/s on one thread, pickup p99 <= 1 ms, slot p99 <= 50 ms).

#include "support.hpp"

#include <fluid/detail/notifier.hpp>
#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using bench::Clock;
using fluid::Task;
using namespace std::chrono_literals;

constexpr long yield_every = 1'000;

fluid::TaskDefinition noop() {
  return fluid::make_task("noop", [](fluid::TaskContext&) -> Task<> { co_return; });
}

/// Counts the runs that succeeded and wakes whoever waits for the n-th.
struct Finished {
  long n = 0;
  long count = 0;
  Clock::time_point last{};
  fluid::detail::Notifier changed;
  void one() {
    if (++count == n) last = Clock::now();
    changed.notify_all();
  }
  Task<> all() {
    co_await changed.wait_until([this] { return count >= n; });
  }
};

/// Queues `n` no-op runs and waits until every one succeeded; returns seconds.
double throughput(long n) {
  fluid::TaskConsumer consumer({.broker_url = "memory://bench_w6", .max_concurrent_tasks = 64},
                               {.stopping_grace_period = 5s});
  consumer.register_task(noop());
  Finished finished{.n = n};
  consumer.dispatcher().register_handler("success.bench", [&finished](const fluid::TaskRun&) { finished.one(); });
  Clock::time_point started;
  fluid::run([&]() -> Task<> {
    co_await consumer.startup();
    started = Clock::now();
    for (long i = 0; i < n; ++i) {
      (void)co_await consumer.queue("noop");
      if (i % yield_every == yield_every - 1) co_await fluid::sleep(0ms);
    }
    co_await finished.all();
    co_await consumer.shutdown();
  }());
  return bench::seconds_between(started, finished.last);
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(at, values.size() - 1)];
}

/// An idle consumer's pickup latency, one run at a time; microseconds.
std::vector<double> pickup(long n) {
  fluid::TaskConsumer consumer({.broker_url = "memory://bench_pickup", .max_concurrent_tasks = 64},
                               {.stopping_grace_period = 5s});
  Clock::time_point queued_at;
  std::vector<double> latencies;
  Finished started;
  consumer.register_task(fluid::make_task("stamp", [&](fluid::TaskContext&) -> Task<> {
    latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - queued_at).count());
    started.one();
    co_return;
  }));
  fluid::run([&]() -> Task<> {
    co_await consumer.startup();
    for (long i = 0; i < n; ++i) {
      co_await fluid::sleep(1ms);  // the consumer is back waiting for work
      started.n = i + 1;
      queued_at = Clock::now();
      (void)co_await consumer.queue("stamp");
      co_await started.all();
    }
    co_await consumer.shutdown();
  }());
  return latencies;
}

/// How late a scheduler queues its slots (queued - slot); milliseconds.
std::vector<double> slots(long n) {
  fluid::TaskScheduler scheduler({.broker_url = "memory://bench_slots", .schedule_tasks = true, .consume_tasks = false},
                                 {.stopping_grace_period = 5s});
  scheduler.register_task(
      fluid::make_task("tick", [](fluid::TaskContext&) -> Task<> { co_return; }, {.schedule = fluid::every(20ms)}));
  std::vector<double> delays;
  Finished fired{.n = n};
  scheduler.dispatcher().register_handler("queued.bench", [&](const fluid::TaskRun& run) {
    delays.push_back(std::chrono::duration<double, std::milli>(*run.queued - *run.execute_after).count());
    fired.one();
  });
  fluid::run([&]() -> Task<> {
    co_await scheduler.startup();
    co_await fired.all();
    co_await scheduler.shutdown();
  }());
  return delays;
}

std::string option(int argc, char** argv, const char* name, const char* fallback) {
  const auto prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  if (bench::run_counted(argc, argv, {{"w6", [](long n) { (void)throughput(n); }}})) return 0;
  const auto workload = option(argc, argv, "workload", "throughput");
  const long n = std::atol(option(argc, argv, "n", "0").c_str());
  if (workload == "throughput") {
    const long runs = n > 0 ? n : 100'000;
    const double seconds = throughput(runs);
    std::printf("{\"workload\": \"W6\", \"runs\": %ld, \"seconds\": %.6f, \"runs_per_s\": %.1f}\n", runs, seconds,
                static_cast<double>(runs) / seconds);
  } else if (workload == "pickup") {
    const auto latencies = pickup(n > 0 ? n : 1000);
    std::printf("{\"workload\": \"W6pickup\", \"runs\": %zu, \"p50_us\": %.1f, \"p99_us\": %.1f}\n", latencies.size(),
                percentile(latencies, 0.5), percentile(latencies, 0.99));
  } else if (workload == "slots") {
    const auto delays = slots(n > 0 ? n : 200);
    std::printf("{\"workload\": \"W6slots\", \"slots\": %zu, \"p50_ms\": %.2f, \"p99_ms\": %.2f}\n", delays.size(),
                percentile(delays, 0.5), percentile(delays, 0.99));
  } else {
    std::fprintf(stderr, "usage: %s --workload=throughput|pickup|slots [--n=N] | --count=w6 --n=N\n", argv[0]);
    return 2;
  }
  return 0;
}
