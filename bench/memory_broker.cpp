// The memory broker alone: what a run costs the broker (enqueue, claim,
// finish) on one thread, without a consumer around it. The end-to-end goal
// through TaskConsumer is >= 100k runs/s, so the broker must be well above.
//
//   B1  one run at a time: enqueue, claim one, finish success.
//   B2  64 runs enqueued, then claimed in one call and finished one by one
//       (a consumer with 64 free slots).
//
// Final runs stay 1 s (?retention=1): a steady state holding the last second
// of runs, as a busy broker with a short retention would. items/s is runs;
// every run is three broker calls.

#include "support.hpp"

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using bench::Clock;
using bench::seconds_between;
using fluid::Task;
using namespace std::chrono_literals;

constexpr long runs = 200'000;
constexpr std::size_t batch = 64;

/// Run ids as a producer makes them (32 hex digits), made before the clock
/// starts (and cheaply: the --count mode counts them too).
std::vector<std::string> run_ids(long n) {
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) {
    std::string id(32, '0');
    auto bits = static_cast<unsigned long>(i) * 2654435761UL;
    for (std::size_t digit = 32; digit-- > 16 && bits != 0; bits >>= 4) id[digit] = "0123456789abcdef"[bits & 15];
    ids.push_back(std::move(id));
  }
  return ids;
}

struct Bench {
  std::shared_ptr<fluid::TaskBroker> broker = fluid::make_broker("memory://bench?retention=1");
  fluid::TaskRun prototype;
  fluid::ClaimRequest request;
  fluid::Outcome success;

  explicit Bench(std::size_t max_runs) {
    prototype.task = "noop";
    prototype.params = {{"n", 1}};
    request.manager_id = "0123456789abcdef0123456789abcdef";
    request.queues = {fluid::TaskPriority::high, fluid::TaskPriority::medium, fluid::TaskPriority::low};
    request.tasks = {"noop"};
    request.max_runs = max_runs;
  }

  Task<> enqueue(std::string id) {
    fluid::TaskRun run = prototype;
    run.id = id;
    co_await broker->enqueue(std::move(run), 0ms);
  }

  Task<std::size_t> claim_and_finish() {
    const auto result = co_await broker->claim(request);
    for (const auto& [run, lease] : result.claimed) co_await broker->finish(lease, success);
    co_return result.claimed.size();
  }
};

Task<double> one_by_one(long n) {
  const auto ids = run_ids(n);
  Bench bench(1);
  co_await bench.broker->open();
  const auto start = Clock::now();
  for (const auto& id : ids) {
    co_await bench.enqueue(id);
    const std::size_t done = co_await bench.claim_and_finish();
    if (done != 1) throw std::logic_error("B1: a run was not claimed");
  }
  const auto end = Clock::now();
  co_await bench.broker->close();
  co_return seconds_between(start, end);
}

Task<double> batched(long n) {
  const auto ids = run_ids(n);
  Bench bench(batch);
  co_await bench.broker->open();
  const auto start = Clock::now();
  for (std::size_t first = 0; first < ids.size(); first += batch) {
    const std::size_t last = std::min(ids.size(), first + batch);
    for (std::size_t i = first; i < last; ++i) co_await bench.enqueue(ids[i]);
    const std::size_t done = co_await bench.claim_and_finish();
    if (done != last - first) throw std::logic_error("B2: a batch was not claimed whole");
  }
  const auto end = Clock::now();
  co_await bench.broker->close();
  co_return seconds_between(start, end);
}

void add(const char* name, std::function<double()> body) {
  benchmark::RegisterBenchmark(name,
                               [body](benchmark::State& state) {
                                 for (auto _ : state) state.SetIterationTime(body());
                                 state.SetItemsProcessed(state.iterations() * runs);
                                 state.counters["broker_calls_per_run"] = 3;
                               })
      ->UseManualTime()
      ->Iterations(3)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  add("B1/one_by_one", [] { return fluid::run(one_by_one(runs)); });
  add("B2/batch_of_64", [] { return fluid::run(batched(runs)); });
  const bench::CountedRuns counted{
      {"b1_one_by_one", [](long count) { fluid::run(one_by_one(count)); }},
      {"b2_batch_of_64", [](long count) { fluid::run(batched(count)); }},
  };
  return bench::main_with_counts(argc, argv, counted);
}
