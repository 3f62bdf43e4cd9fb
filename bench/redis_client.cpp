// What the Redis client reaches against a redis-server: the round trip of one
// caller, and PINGs pipelined from 64 concurrent coroutines on one connection
// (redis-benchmark -t ping -P 16 is the reference to run beside it).
//
//   FLUID_BENCH_REDIS_URL=redis://127.0.0.1:<port> build/release/bench/redis_client
//
// Never against a production server: it only PINGs, but as fast as it can.

#include "brokers/redis/client.hpp"

#include <fluid/detail/when_all.hpp>

#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <optional>
#include <string>

namespace {

namespace asio = boost::asio;
using fluid::Task;
using fluid::redis::RedisClient;

std::optional<std::string> server_url() {
  const char* url = std::getenv("FLUID_BENCH_REDIS_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

// Runs `body` on a fresh loop with a client of the server, opened first.
template <class Body>
void with_client(benchmark::State& state, Body body) {
  const auto url = server_url();
  if (!url) {
    state.SkipWithError("set FLUID_BENCH_REDIS_URL=redis://127.0.0.1:<port> (a redis-server of your own)");
    return;
  }
  asio::io_context io(1);
  RedisClient client(io.get_executor(), {.url = fluid::redis::parse_redis_url(*url)});
  std::exception_ptr failure;
  asio::co_spawn(
      io,
      [&]() -> Task<> {
        co_await client.open();
        co_await body(client);
      },
      [&](std::exception_ptr error) {
        failure = error;
        client.close();  // the connection's loop ends, and so does run()
      });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
  }
}

Task<> ping(RedisClient& client) {
  std::vector<std::string> command{"PING"};
  const auto reply = co_await client.call(std::move(command));
  benchmark::DoNotOptimize(reply);
}

Task<> pings(RedisClient& client, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) co_await ping(client);
}

void RedisRoundTrip(benchmark::State& state) {
  with_client(state, [&](RedisClient& client) -> Task<> {
    for (auto _ : state) co_await ping(client);
  });
  state.SetItemsProcessed(state.iterations());
}

void RedisPipelined(benchmark::State& state) {
  const auto callers = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t total = 100'000;
  with_client(state, [&](RedisClient& client) -> Task<> {
    for (auto _ : state) {
      co_await fluid::detail::when_all(callers, [&](std::size_t) { return pings(client, total / callers); });
    }
  });
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(total / callers * callers));
}

}  // namespace

BENCHMARK(RedisRoundTrip)->UseRealTime();
BENCHMARK(RedisPipelined)->Arg(1)->Arg(16)->Arg(64)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
