// Supervision: restart policies, intensity, backoff, stop during backoff.

#include "support/workers.hpp"

#include <fluid/workers.hpp>

#include <gtest/gtest.h>

using namespace fluid;
using namespace fluid::test;
using Clock = std::chrono::steady_clock;

namespace {

/// Fails while the shared countdown is positive, then runs until stopped.
class FlakyWorker : public Worker {
 public:
  FlakyWorker(std::shared_ptr<int> failures_left, std::shared_ptr<int> instances)
      : Worker({.name = "flaky"}), failures_left_(std::move(failures_left)) {
    ++*instances;
  }

 protected:
  Task<> run() override {
    co_await sleep(1ms);
    if (*failures_left_ > 0) {
      --*failures_left_;
      throw std::runtime_error("flaky failure");
    }
    co_await stop_requested();
  }

 private:
  std::shared_ptr<int> failures_left_;
};

class Returns : public Worker {
 public:
  using Worker::Worker;

 protected:
  Task<> run() override { co_await sleep(1ms); }
};

WorkersOptions fast_restarts() {
  return {.name = "supervisor", .backoff = {.initial = 1ms, .max = 5ms, .multiplier = 2, .jitter = 0}};
}

}  // namespace

TEST(Restart, TransientChildFailingThreeTimesIsRestartedUntilItRuns) {
  fluid::run([]() -> Task<> {
    auto failures_left = std::make_shared<int>(3);
    auto instances = std::make_shared<int>(0);
    Workers group({}, fast_restarts());
    group.add_supervised([=] { return std::make_shared<FlakyWorker>(failures_left, instances); },
                         RestartPolicy::on_failure);
    co_await group.startup();
    while (*instances < 4 || !group.workers()[0]->is_running()) co_await sleep(1ms);
    EXPECT_TRUE(group.is_running());
    EXPECT_EQ(group.restarts(0), 3u);
    auto status = co_await group.status();
    EXPECT_EQ(status["flaky"]["restarts"], 3);
    EXPECT_EQ(status["flaky"]["last_error"], "flaky failure");
    EXPECT_EQ(status["flaky"]["restart_policy"], "on_failure");
    co_await group.shutdown();
    co_await group.wait_for_shutdown();  // restarted failures are not the group's
    EXPECT_EQ(group.stop_reason(), StopReason::normal);
    EXPECT_EQ(group.failures().size(), 3u);
  }());
}

TEST(Restart, ExceedingTheIntensityStopsTheGroupWithAnErrorNamingTheChild) {
  fluid::run([]() -> Task<> {
    auto options = fast_restarts();
    options.restart_intensity = {.max_restarts = 2, .period = 10s};
    Workers group({std::make_shared<NiceWorker>()}, options);
    group.add_supervised([] { return std::make_shared<BadWorker2>(); });
    co_await group.startup();
    try {
      co_await group.wait_for_shutdown();
      ADD_FAILURE() << "the group did not give up";
    } catch (const FluidError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("bad_worker2"), std::string::npos) << what;
      EXPECT_NE(what.find("I'm so bad"), std::string::npos) << what;
    }
    EXPECT_EQ(group.restarts(1), 2u);
    EXPECT_EQ(group.stop_reason(), StopReason::failed);
  }());
}

TEST(Restart, BackoffDelaysEachRestart) {
  fluid::run([]() -> Task<> {
    auto failures_left = std::make_shared<int>(2);
    auto instances = std::make_shared<int>(0);
    Workers group({}, {.backoff = {.initial = 40ms, .max = 1s, .multiplier = 2, .jitter = 0}});
    group.add_supervised([=] { return std::make_shared<FlakyWorker>(failures_left, instances); });
    const auto start = Clock::now();
    co_await group.startup();
    while (*instances < 3 || !group.workers()[0]->is_running()) co_await sleep(1ms);
    EXPECT_GE(Clock::now() - start, 40ms + 80ms);
    co_await group.shutdown();
  }());
}

TEST(Restart, StoppingTheGroupDuringABackoffIsImmediate) {
  fluid::run([]() -> Task<> {
    Workers group({}, {.backoff = {.initial = 1h, .max = 1h}});
    group.add_supervised([] { return std::make_shared<BadWorker2>(); });
    co_await group.startup();
    while (group.failures().empty()) co_await sleep(1ms);
    const auto start = Clock::now();
    co_await group.shutdown();
    EXPECT_LT(Clock::now() - start, 1s);
    EXPECT_EQ(group.restarts(0), 0u);
    EXPECT_EQ(group.stop_reason(), StopReason::normal);
  }());
}

TEST(Restart, PermanentChildIsRestartedAfterACleanReturnButTransientIsNot) {
  fluid::run([]() -> Task<> {
    Workers group({}, fast_restarts());
    group.add_supervised([] { return std::make_shared<Returns>(WorkerOptions{.name = "permanent"}); },
                         RestartPolicy::always);
    group.add_supervised([] { return std::make_shared<Returns>(WorkerOptions{.name = "transient"}); },
                         RestartPolicy::on_failure);
    co_await group.startup();
    while (group.restarts(0) < 2) co_await sleep(1ms);
    EXPECT_TRUE(group.is_running());
    EXPECT_EQ(group.restarts(1), 0u);
    EXPECT_TRUE(group.workers()[1]->is_stopped());
    co_await group.shutdown();
  }());
}

TEST(Restart, BadBackoffFailsTheGroupAtStartup) {
  fluid::run([]() -> Task<> {
    Workers group({}, {.name = "crew", .backoff = {.multiplier = 0.5}});
    try {
      co_await group.startup();
      ADD_FAILURE() << "bad backoff accepted";
    } catch (const FluidError& e) {
      EXPECT_NE(std::string(e.what()).find("crew"), std::string::npos) << e.what();
    }
  }());
}

TEST(Restart, FactoryMustMakeAWorker) {
  Workers group;
  EXPECT_THROW(group.add_supervised(nullptr), FluidError);
  EXPECT_THROW(group.add_supervised([] { return std::shared_ptr<Worker>(); }), FluidError);
}
