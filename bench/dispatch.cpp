// W4 dispatcher fan-out: an AsyncDispatcher with 10 trivial handlers on one
// event type, 100,000 sequential dispatch() calls; the handlers of a dispatch
// run concurrently. Floors: the same 10 handlers awaited with an Asio
// parallel_group of co_spawn (concurrent, like fluid), and awaited one after
// another (not concurrent: the bound for any concurrent scheme).
// The "suspending" variants make each handler yield once, so that nothing can
// finish inline.

#include "support.hpp"

#include <fluid/fluid.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using bench::Clock;
using bench::seconds_between;
using fluid::Task;

constexpr int handler_count = 10;
constexpr long dispatches = 100'000;

struct Tick {
  std::string type = "tick";
};

class Fanout final : public fluid::AsyncDispatcher<Tick> {
 public:
  std::string event_type(const Tick& tick) const override { return tick.type; }
};

using Handler = std::function<Task<>(const Tick&)>;

Task<> trivial(const Tick&, long& count) {
  ++count;
  co_return;
}

Task<> suspending(const Tick&, long& count) {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  ++count;
}

Handler make_handler(bool suspend, long& count) {
  if (suspend) return [&count](const Tick& tick) { return suspending(tick, count); };
  return [&count](const Tick& tick) { return trivial(tick, count); };
}

void check(long count, long n) {
  if (count != n * handler_count) throw std::logic_error("W4: a handler call was lost");
}

Task<double> w4_fluid(long n, bool suspend) {
  Fanout dispatcher;
  long count = 0;
  for (int h = 0; h < handler_count; ++h) {
    dispatcher.register_handler("tick.h" + std::to_string(h), make_handler(suspend, count));
  }
  const Tick tick;
  const auto start = Clock::now();
  for (long i = 0; i < n; ++i) co_await dispatcher.dispatch(tick);
  const auto end = Clock::now();
  check(count, n);
  co_return seconds_between(start, end);
}

Task<double> w4_floor_parallel(long n, bool suspend) {
  const auto executor = co_await asio::this_coro::executor;
  long count = 0;
  std::vector<Handler> handlers;
  for (int h = 0; h < handler_count; ++h) handlers.push_back(make_handler(suspend, count));
  const Tick tick;
  using Op = decltype(asio::co_spawn(executor, std::declval<Task<>>(), asio::deferred));
  const auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    std::vector<Op> ops;
    ops.reserve(handlers.size());
    for (auto& handler : handlers) ops.push_back(asio::co_spawn(executor, handler(tick), asio::deferred));
    co_await asio::experimental::make_parallel_group(std::move(ops))
        .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  }
  const auto end = Clock::now();
  check(count, n);
  co_return seconds_between(start, end);
}

Task<double> w4_floor_sequential(long n, bool suspend) {
  long count = 0;
  std::vector<Handler> handlers;
  for (int h = 0; h < handler_count; ++h) handlers.push_back(make_handler(suspend, count));
  const Tick tick;
  const auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    for (auto& handler : handlers) co_await handler(tick);
  }
  const auto end = Clock::now();
  check(count, n);
  co_return seconds_between(start, end);
}

void add(const char* name, std::function<Task<double>(long)> body, long n, int iterations) {
  benchmark::RegisterBenchmark(name, [body, n](benchmark::State& state) {
    for (auto _ : state) state.SetIterationTime(fluid::run(body(n)));
    state.SetItemsProcessed(state.iterations() * n);
  })
      ->UseManualTime()
      ->Iterations(iterations)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  add("W4/fluid", [](long n) { return w4_fluid(n, false); }, dispatches, 5);
  add("W4/floor_parallel_group", [](long n) { return w4_floor_parallel(n, false); }, dispatches, 2);
  add("W4/floor_sequential", [](long n) { return w4_floor_sequential(n, false); }, dispatches, 5);
  add("W4s/fluid", [](long n) { return w4_fluid(n, true); }, dispatches / 10, 3);
  add("W4s/floor_parallel_group", [](long n) { return w4_floor_parallel(n, true); }, dispatches / 10, 3);
  return bench::main_with_counts(argc, argv, {
      {"w4_fluid", [](long n) { fluid::run(w4_fluid(n, false)); }},
      {"w4_floor_parallel_group", [](long n) { fluid::run(w4_floor_parallel(n, false)); }},
      {"w4_floor_sequential", [](long n) { fluid::run(w4_floor_sequential(n, false)); }},
  });
}
