// W2 lifecycle at scale: N workers, each looping on a 100 ms sleep, under one
// Workers group; against the floor, N bare coroutines each looping on a
// steady_timer. Not a Google Benchmark: one measurement per process, so that
// the resident-memory growth is this run's alone. bench/run repeats it.
//
//   lifecycle --impl=fluid|floor --idiom=seed|aware --n=N
//
// idiom seed:  while (is_running()) co_await sleep(100ms)   (floor: a flag)
// idiom aware: co_await sleep_while_running(100ms)          (floor: cancel every timer)
//
// Prints one JSON object: startup_s (group startup until every child runs),
// rss_per_worker_b (VmRSS growth / N, objects included), stop_s (graceful
// shutdown until every worker has stopped).

#include "support.hpp"

#include <fluid/fluid.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using bench::Clock;
using bench::rss_bytes;
using bench::seconds_between;
using fluid::Task;
using namespace std::chrono_literals;

constexpr auto period = 100ms;
/// After startup, how long to wait before reading the resident memory and
/// asking for the stop: every worker has gone round its loop once, and the
/// last one started has just gone back to sleep, so a stop that waits for the
/// sleeps to end (seed idiom) takes about one period, as the floor's does.
constexpr auto settle = period + 1ms;

struct Result {
  double startup_s = 0;
  double rss_per_worker_b = 0;
  double stop_s = 0;
  long running = 0;
};

// ------------------------------------------------------------------ fluid

class Sleeper final : public fluid::Worker {
 public:
  Sleeper(bool aware, long& running) : aware_(aware), running_(running) {}

 protected:
  Task<> run() override {
    ++running_;
    if (aware_) {
      // Not `while (co_await ...)`: g++ 12 miscompiles a co_await in a loop
      // or if condition here (GCC PR 106188): the frame is resumed at a bad state.
      for (;;) {
        const bool running = co_await sleep_while_running(period);
        if (!running) break;
      }
    } else {
      while (is_running()) co_await fluid::sleep(period);
    }
  }

 private:
  bool aware_;
  long& running_;
};

Task<Result> w2_fluid(long n, bool aware) {
  Result result;
  const long rss_before = rss_bytes();
  std::vector<std::shared_ptr<fluid::Worker>> children;
  children.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) children.push_back(std::make_shared<Sleeper>(aware, result.running));
  fluid::Workers group(std::move(children));
  const auto start = Clock::now();
  co_await group.startup();
  while (result.running < n) co_await fluid::sleep(0ms);  // startup() returning should mean all run
  result.startup_s = seconds_between(start, Clock::now());
  co_await fluid::sleep(settle);
  result.rss_per_worker_b = static_cast<double>(rss_bytes() - rss_before) / static_cast<double>(n);
  const auto stop = Clock::now();
  co_await group.shutdown();
  result.stop_s = seconds_between(stop, Clock::now());
  co_return result;
}

// ------------------------------------------------------------------ floor

struct FloorGroup {
  explicit FloorGroup(const asio::any_io_executor& executor, long n)
      : n(n), done(executor, asio::steady_timer::time_point::max()) {}
  long n;
  long started = 0;
  long finished = 0;
  bool running = true;
  asio::steady_timer done;
};

struct FloorSleeper {
  explicit FloorSleeper(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
};

Task<> floor_sleep_loop(FloorSleeper& sleeper, FloorGroup& group) {
  ++group.started;
  while (group.running) {
    sleeper.timer.expires_after(period);
    co_await sleeper.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (++group.finished == group.n) group.done.cancel();
}

Task<Result> w2_floor(long n, bool aware) {
  const auto executor = co_await asio::this_coro::executor;
  Result result;
  const long rss_before = rss_bytes();
  FloorGroup group(executor, n);
  std::vector<std::unique_ptr<FloorSleeper>> sleepers;
  sleepers.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) sleepers.push_back(std::make_unique<FloorSleeper>(executor));
  const auto start = Clock::now();
  for (auto& sleeper : sleepers) asio::co_spawn(executor, floor_sleep_loop(*sleeper, group), asio::detached);
  while (group.started < n) co_await asio::post(executor, asio::use_awaitable);
  result.startup_s = seconds_between(start, Clock::now());
  result.running = group.started;
  co_await fluid::sleep(settle);
  result.rss_per_worker_b = static_cast<double>(rss_bytes() - rss_before) / static_cast<double>(n);
  const auto stop = Clock::now();
  group.running = false;
  if (aware) {
    for (auto& sleeper : sleepers) sleeper->timer.cancel();
  }
  if (group.finished < n) co_await group.done.async_wait(asio::as_tuple(asio::use_awaitable));
  result.stop_s = seconds_between(stop, Clock::now());
  co_return result;
}

}  // namespace

int main(int argc, char** argv) {
  std::string impl = "fluid";
  std::string idiom = "seed";
  long n = 10'000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--impl=", 7) == 0) impl = argv[i] + 7;
    else if (std::strncmp(argv[i], "--idiom=", 8) == 0) idiom = argv[i] + 8;
    else if (std::strncmp(argv[i], "--n=", 4) == 0) n = std::atol(argv[i] + 4);
    else {
      std::fprintf(stderr, "usage: %s --impl=fluid|floor --idiom=seed|aware --n=N\n", argv[0]);
      return 2;
    }
  }
  if ((impl != "fluid" && impl != "floor") || (idiom != "seed" && idiom != "aware") || n <= 0) {
    std::fprintf(stderr, "lifecycle: bad arguments\n");
    return 2;
  }
  fluid::logger();  // created before the baseline, not counted per worker
  const bool aware = idiom == "aware";
  const Result r = fluid::run(impl == "fluid" ? w2_fluid(n, aware) : w2_floor(n, aware));
  std::printf(
      "{\"workload\": \"W2\", \"impl\": \"%s\", \"idiom\": \"%s\", \"n\": %ld, \"startup_s\": %.6f, "
      "\"rss_per_worker_b\": %.1f, \"stop_s\": %.6f, \"running\": %ld}\n",
      impl.c_str(), idiom.c_str(), n, r.startup_s, r.rss_per_worker_b, r.stop_s, r.running);
  return r.running == n ? 0 : 1;
}
