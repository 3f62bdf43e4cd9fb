// W3 shutdown latency: an idle QueueConsumerWorker waiting for messages, time
// from shutdown() until it has stopped; the floor is a coroutine waiting in
// an Asio channel's async_receive, time from close() until it has returned.
// 20 runs each; the median and the max are reported as counters (us).

#include "support.hpp"

#include <fluid/fluid.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace {

namespace asio = boost::asio;
using bench::Clock;
using bench::seconds_between;
using fluid::Task;
using namespace std::chrono_literals;

constexpr int repeats = 20;
constexpr auto idle_for = 1ms;  // long enough for the consumer to be parked

Task<double> w3_fluid() {
  fluid::QueueConsumerWorker<long> worker([](long) -> Task<> { co_return; });
  co_await worker.startup();
  co_await fluid::sleep(idle_for);
  const auto start = Clock::now();
  co_await worker.shutdown();
  co_return seconds_between(start, Clock::now());
}

using Channel = asio::experimental::channel<void(boost::system::error_code, long)>;

Task<> floor_on_message(long) { co_return; }

Task<> floor_consume(Channel& channel) {
  for (;;) {
    auto [error, message] = co_await channel.async_receive(asio::as_tuple(asio::use_awaitable));
    if (error) co_return;  // closed: the floor's "stop"
    co_await floor_on_message(message);
  }
}

Task<double> w3_floor() {
  const auto executor = co_await asio::this_coro::executor;
  Channel channel(executor, 64);
  asio::steady_timer done(executor, asio::steady_timer::time_point::max());
  bool finished = false;
  asio::co_spawn(executor, floor_consume(channel), [&](std::exception_ptr) {
    finished = true;
    done.cancel();
  });
  asio::steady_timer idle(executor, idle_for);
  co_await idle.async_wait(asio::use_awaitable);
  const auto start = Clock::now();
  channel.close();
  if (!finished) co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return seconds_between(start, Clock::now());
}

void latency(benchmark::State& state, const std::function<Task<double>()>& body) {
  std::vector<double> samples;
  for (auto _ : state) {
    const double seconds = fluid::run(body());
    state.SetIterationTime(seconds);
    samples.push_back(seconds);
  }
  std::sort(samples.begin(), samples.end());
  state.counters["median_us"] = samples[samples.size() / 2] * 1e6;
  state.counters["max_us"] = samples.back() * 1e6;
}

void add(const char* name, std::function<Task<double>()> body) {
  benchmark::RegisterBenchmark(name, [body](benchmark::State& state) { latency(state, body); })
      ->UseManualTime()
      ->Iterations(repeats)
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
  add("W3/fluid", w3_fluid);
  add("W3/floor", w3_floor);
  return bench::main_with_counts(argc, argv, {
      {"w3_fluid", [](long n) { for (long i = 0; i < n; ++i) fluid::run(w3_fluid()); }},
      {"w3_floor", [](long n) { for (long i = 0; i < n; ++i) fluid::run(w3_floor()); }},
  });
}
