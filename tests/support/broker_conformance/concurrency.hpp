#pragma once
// Conformance under concurrency: consumers and schedulers on threads of
// their own, each with its own broker object (standing for a process).

#include <algorithm>
#include <atomic>
#include <latch>
#include <mutex>
#include <thread>

namespace fluid::test {

namespace conformance {

/// What the racing consumers saw, shared between their threads.
struct ConsumersSeen {
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};
  std::atomic<std::size_t> finished{0};
  std::mutex mutex;
  std::map<std::string, int> successes;  // by run id, under mutex
};

/// A consumer: claims runs of "a" until `total` are finished, holding each
/// for a turn of its loop, counting how many the consumers hold at once.
inline Task<> race_consumer(std::string url, std::size_t total, ConsumersSeen& seen) {
  auto broker = make_broker(url);
  co_await broker->open();
  ClaimRequest request = claim_of(names("a"), 2);
  request.wait = 200ms;
  while (seen.finished.load() < total) {
    const auto result = co_await broker->claim(request);
    for (const auto& [run, lease] : result.claimed) {
      const int now = ++seen.running;
      int most = seen.most_running.load();
      while (now > most && !seen.most_running.compare_exchange_weak(most, now)) {
      }
      co_await let_others_run();
      --seen.running;  // before the slot is given back
      co_await broker->finish(lease, outcome(TaskState::success));
      std::lock_guard lock(seen.mutex);
      ++seen.successes[run.id];
      ++seen.finished;
    }
  }
  co_await broker->close();
}

/// One claim of up to `max_runs` runs of "a", made when every thread is ready.
inline Task<> claim_at_once(std::string url, std::size_t max_runs, std::latch& ready, std::atomic<std::size_t>& leased,
                            std::atomic<std::size_t>& settled) {
  auto broker = make_broker(url);
  co_await broker->open();
  ready.arrive_and_wait();  // blocks this thread's own loop only
  const auto result = co_await broker->claim(claim_of(names("a"), max_runs));
  leased += result.claimed.size();
  settled += result.settled.size();
  co_await broker->close();
}

/// A scheduler firing `slots` slots of "tick", one second apart from `t0`, in order.
inline Task<> race_scheduler(std::string url, int scheduler, TimePoint t0, int slots, std::atomic<int>& fired) {
  auto broker = make_broker(url);
  co_await broker->open();
  for (int slot = 0; slot < slots; ++slot) {
    const TimePoint at = t0 + std::chrono::seconds(slot);
    TaskRun run = make_run_with_id("tick", "s" + std::to_string(scheduler) + "-" + std::to_string(slot));
    run.execute_after = at;
    const auto queued = co_await broker->fire_slot("tick", at, run);
    if (queued) ++fired;
  }
  co_await broker->close();
}

}  // namespace conformance

TEST_P(BrokerConformance, MaxConcurrencyHoldsUnderClaimsRacingFromSeveralThreads) {
  constexpr std::size_t total = 200;
  constexpr std::size_t limit = 3;
  constexpr int consumers = 4;
  conformance::ConsumersSeen seen;
  run([&]() -> Task<> {
    auto keeper = co_await open_broker();  // holds the namespace while the threads come and go
    co_await keeper->register_tasks(registrations(registration("a", limit, fixed_policy(std::nullopt, 1ms))));
    for (std::size_t i = 0; i < total; ++i) co_await keeper->enqueue(make_run("a"), 0ms);
    {
      std::vector<std::jthread> threads;
      for (int c = 0; c < consumers; ++c) {
        threads.emplace_back([&] { fluid::run(conformance::race_consumer(url(), total, seen)); });
      }
    }  // joined: this loop has nothing else to do meanwhile
    const auto lengths = co_await keeper->queue_length(all_priorities());
    EXPECT_EQ(lengths.at(TaskPriority::medium), 0u);
  });
  EXPECT_LE(seen.most_running.load(), static_cast<int>(limit));
  EXPECT_GE(seen.most_running.load(), 1);
  EXPECT_EQ(seen.successes.size(), total);
  const bool each_once =
      std::all_of(seen.successes.begin(), seen.successes.end(), [](const auto& entry) { return entry.second == 1; });
  EXPECT_TRUE(each_once);
}

TEST_P(BrokerConformance, ClaimsRacingFromSeveralThreadsLeaseNoMoreThanMaxConcurrencyInAll) {
  constexpr std::size_t runs = 40;
  constexpr std::size_t limit = 3;
  constexpr int consumers = 4;
  std::atomic<std::size_t> leased{0};
  std::atomic<std::size_t> settled{0};
  run([&]() -> Task<> {
    auto keeper = co_await open_broker();
    co_await keeper->register_tasks(registrations(registration("a", limit)));
    for (std::size_t i = 0; i < runs; ++i) co_await keeper->enqueue(make_run("a"), 0ms);
    std::latch ready(consumers);
    {
      std::vector<std::jthread> threads;
      for (int c = 0; c < consumers; ++c) {
        threads.emplace_back([&] { fluid::run(conformance::claim_at_once(url(), 2, ready, leased, settled)); });
      }
    }
  });
  EXPECT_EQ(leased.load(), limit);  // every other run met the limit: rate_limited
  EXPECT_EQ(settled.load(), runs - limit);
}

TEST_P(BrokerConformance, ExactlyOneRunPerSlotWithSchedulersRacingFromSeveralThreads) {
  constexpr int schedulers = 4;
  constexpr int slots = 50;
  std::atomic<int> fired{0};
  run([&]() -> Task<> {
    auto keeper = co_await open_broker();
    const TimePoint t0 = co_await keeper->now() - 1h;
    {
      std::vector<std::jthread> threads;
      for (int s = 0; s < schedulers; ++s) {
        threads.emplace_back([&, s] { fluid::run(conformance::race_scheduler(url(), s, t0, slots, fired)); });
      }
    }
    const auto lengths = co_await keeper->queue_length(all_priorities());
    EXPECT_EQ(lengths.at(TaskPriority::medium), static_cast<std::size_t>(slots));
    const auto last = co_await keeper->last_slot("tick");
    EXPECT_EQ(last, t0 + std::chrono::seconds(slots - 1));
  });
  EXPECT_EQ(fired.load(), slots);
}

}  // namespace fluid::test
