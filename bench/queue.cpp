// W1 queue throughput and W5 threads: a QueueConsumerWorker<long> whose handler
// counts messages, against the same consumer written directly on an Asio
// channel (the floor). See docs/benchmarks.md.
//
//   W1a  1,000,000 messages sent before startup; startup -> last handled.
//   W1b  a producer coroutine on the same loop sends 1,000,000, yielding every
//        1,000; first send -> last handled.
//   W5   W1b's messages sent by 2 producer threads, the consumer on a 1- or
//        2-thread loop; first send -> last handled.

#include "support.hpp"

#include <fluid/fluid.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using bench::Clock;
using bench::seconds_between;
using fluid::Task;
using namespace std::chrono_literals;

constexpr long messages = 1'000'000;
constexpr long yield_every = 1'000;
constexpr int producer_threads = 2;

/// The handlers' shared work: count, and note when the n-th message came.
struct Count {
  long n;
  long handled = 0;
  Clock::time_point last{};
  bool done() const { return handled == n; }
};

// ------------------------------------------------------------------ fluid

/// A consumer that counts and stops itself after the n-th message.
class Counter {
 public:
  explicit Counter(long n) : count_{n}, worker_([this](long) -> Task<> { return on_message(); }) {}
  fluid::QueueConsumerWorker<long>& worker() { return worker_; }
  const Count& count() const { return count_; }

 private:
  Task<> on_message() {
    if (++count_.handled == count_.n) {
      count_.last = Clock::now();
      worker_.gracefully_stop();
    }
    co_return;
  }

  Count count_;
  fluid::QueueConsumerWorker<long> worker_;
};

Task<double> w1a_fluid(long n) {
  Counter counter(n);
  auto& worker = counter.worker();
  for (long i = 0; i < n; ++i) worker.send(i);
  const auto start = Clock::now();
  co_await worker.startup();
  co_await worker.wait_for_shutdown();
  co_return seconds_between(start, counter.count().last);
}

Task<double> w1b_fluid(long n) {
  Counter counter(n);
  auto& worker = counter.worker();
  co_await worker.startup();
  const auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    worker.send(i);
    if ((i + 1) % yield_every == 0) co_await fluid::sleep(0ms);
  }
  co_await worker.wait_for_shutdown();
  co_return seconds_between(start, counter.count().last);
}

Task<double> w5_fluid(long n) {
  Counter counter(n);
  auto& worker = counter.worker();
  co_await worker.startup();
  const auto start = Clock::now();
  std::vector<std::jthread> producers;
  for (int p = 0; p < producer_threads; ++p) {
    producers.emplace_back([&worker, n] {
      for (long i = 0; i < n / producer_threads; ++i) worker.send(i);
    });
  }
  co_await worker.wait_for_shutdown();  // the producers are done: every message was handled
  co_return seconds_between(start, counter.count().last);
}

// ------------------------------------------------------------------ floor

using Channel = asio::experimental::channel<void(boost::system::error_code, long)>;
using ConcurrentChannel = asio::experimental::concurrent_channel<void(boost::system::error_code, long)>;

Task<> floor_on_message(long, Count& count) {
  if (++count.handled == count.n) count.last = Clock::now();
  co_return;
}

/// The consumer on a bare channel: takes what is queued with try_receive
/// (`drain`), suspends in async_receive only when the channel is empty.
template <class Chan>
Task<> floor_consume(Chan& channel, Count& count, bool drain) {
  while (!count.done()) {
    long message = 0;
    if (!drain || !channel.try_receive([&](boost::system::error_code, long m) { message = m; })) {
      message = co_await channel.async_receive(asio::use_awaitable);
    }
    co_await floor_on_message(message, count);
  }
}

/// Spawns the consumer; its end cancels `done`, which the caller awaits.
struct FloorConsumer {
  asio::steady_timer done;
  bool finished = false;

  template <class Chan>
  FloorConsumer(const asio::any_io_executor& executor, Chan& channel, Count& count, bool drain)
      : done(executor, asio::steady_timer::time_point::max()) {
    asio::co_spawn(executor, floor_consume(channel, count, drain), [this](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      finished = true;
      done.cancel();
    });
  }

  Task<> wait() {
    if (!finished) co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
  }
};

Task<double> w1a_floor(long n, bool drain) {
  const auto executor = co_await asio::this_coro::executor;
  Channel channel(executor, n);
  for (long i = 0; i < n; ++i) channel.try_send(boost::system::error_code{}, i);
  Count count{n};
  const auto start = Clock::now();
  FloorConsumer consumer(executor, channel, count, drain);
  co_await consumer.wait();
  co_return seconds_between(start, count.last);
}

Task<double> w1b_floor(long n, bool drain) {
  const auto executor = co_await asio::this_coro::executor;
  Channel channel(executor, n);  // room for all, like fluid's unbounded queue: the producer never waits
  Count count{n};
  FloorConsumer consumer(executor, channel, count, drain);
  co_await asio::post(executor, asio::use_awaitable);  // the consumer is waiting, like a started worker
  const auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    channel.try_send(boost::system::error_code{}, i);
    if ((i + 1) % yield_every == 0) co_await asio::post(executor, asio::use_awaitable);
  }
  co_await consumer.wait();
  co_return seconds_between(start, count.last);
}

/// W5's floor: a thread-safe channel, the consumer on a strand of a loop run
/// by `threads` threads, producers calling try_send from their own threads.
double w5_floor(long n, int threads) {
  asio::io_context loop(threads);
  auto guard = asio::make_work_guard(loop);
  std::vector<std::jthread> runners;
  for (int t = 0; t < threads; ++t) runners.emplace_back([&loop] { loop.run(); });
  const auto strand = asio::make_strand(loop);
  ConcurrentChannel channel(strand, n);
  Count count{n};
  std::promise<void> finished;
  asio::co_spawn(strand, floor_consume(channel, count, true), [&](std::exception_ptr e) {
    if (e) finished.set_exception(e); else finished.set_value();
  });
  const auto start = Clock::now();
  {
    std::vector<std::jthread> producers;
    for (int p = 0; p < producer_threads; ++p) {
      producers.emplace_back([&channel, n] {
        for (long i = 0; i < n / producer_threads; ++i) {
          if (!channel.try_send(boost::system::error_code{}, i)) throw std::logic_error("channel full");
        }
      });
    }
  }
  finished.get_future().get();
  guard.reset();
  loop.stop();
  for (auto& runner : runners) runner.join();  // before the channel and strand go
  return seconds_between(start, count.last);
}

// ------------------------------------------------------------------ registration

template <class Body>
void timed(benchmark::State& state, Body body) {
  for (auto _ : state) state.SetIterationTime(body());
  state.SetItemsProcessed(state.iterations() * messages);
}

void add(const char* name, std::function<double()> body, int iterations) {
  benchmark::RegisterBenchmark(name, [body](benchmark::State& state) { timed(state, body); })
      ->UseManualTime()
      ->Iterations(iterations)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  const long n = messages;
  add("W1a/fluid", [n] { return fluid::run(w1a_fluid(n)); }, 5);
  add("W1a/floor", [n] { return fluid::run(w1a_floor(n, true)); }, 5);
  add("W1a/floor_await", [n] { return fluid::run(w1a_floor(n, false)); }, 2);
  add("W1b/fluid", [n] { return fluid::run(w1b_fluid(n)); }, 5);
  add("W1b/floor", [n] { return fluid::run(w1b_floor(n, true)); }, 5);
  add("W1b/floor_await", [n] { return fluid::run(w1b_floor(n, false)); }, 2);
  add("W5/fluid_1thread", [n] { return fluid::run(w5_fluid(n), {.threads = 1}); }, 3);
  add("W5/fluid_2threads", [n] { return fluid::run(w5_fluid(n), {.threads = 2}); }, 3);
  add("W5/floor_1thread", [n] { return w5_floor(n, 1); }, 3);
  add("W5/floor_2threads", [n] { return w5_floor(n, 2); }, 3);
  return bench::main_with_counts(argc, argv, {
      {"w1a_fluid", [](long count) { fluid::run(w1a_fluid(count)); }},
      {"w1a_floor", [](long count) { fluid::run(w1a_floor(count, true)); }},
      {"w1b_fluid", [](long count) { fluid::run(w1b_fluid(count)); }},
      {"w1b_floor", [](long count) { fluid::run(w1b_floor(count, true)); }},
  });
}
