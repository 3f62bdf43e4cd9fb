// Supervision: restart policies, intensity, backoff, stop during backoff.

#include "support/workers.hpp"

#include <fluid/workers.hpp>

#include <fluid/detail/notifier.hpp>
#include <fluid/supervision_clock.hpp>
#include <fluid/worker_tree.hpp>

#include <gtest/gtest.h>

#include <algorithm>

using namespace fluid;
using namespace fluid::test;
using SteadyClock = std::chrono::steady_clock;  // not Clock: fluid::Clock (tasks) is the system clock

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

/// Runs until fail() is called, then throws "told to fail".
class FailsWhenTold : public Worker {
 public:
  using Worker::Worker;
  void fail() {
    told_ = true;
    changed_.notify_all();
  }
  void gracefully_stop() override {
    Worker::gracefully_stop();
    changed_.notify_all();
  }

 protected:
  Task<> run() override {
    co_await changed_.wait_until([this] { return told_ || !is_running(); });
    if (told_) throw std::runtime_error("told to fail");
  }

 private:
  bool told_ = false;
  detail::Notifier changed_;
};

/// The supervision events of a group, as they come (one thread: no lock).
struct EventLog {
  std::vector<SupervisionEvent> events;
  detail::Notifier changed;

  SupervisionListener listener() {
    return [this](const SupervisionEvent& event) {
      events.push_back(event);
      changed.notify_all();
    };
  }
  std::size_t count(SupervisionEvent::Kind kind) const {
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [kind](const auto& e) { return e.kind == kind; }));
  }
  /// Waits until `n` events of `kind` came (5 s at most).
  Task<bool> wait_for(SupervisionEvent::Kind kind, std::size_t n) {
    co_return co_await changed.wait_until([=, this] { return count(kind) >= n; }, detail::deadline_after(5s));
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(std::string(to_string(e.kind)) + ":" + e.child);
    return out;
  }
};

/// The instances a factory made, newest last.
template <class W>
struct Instances {
  std::shared_ptr<std::vector<std::shared_ptr<W>>> made = std::make_shared<std::vector<std::shared_ptr<W>>>();
  WorkerFactory factory(std::string name) {
    return [made = made, name] {
      made->push_back(std::make_shared<W>(WorkerOptions{.name = name}));
      return made->back();
    };
  }
  W& last() const { return *made->back(); }
  std::size_t size() const { return made->size(); }
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
    } catch (const RestartLimitExceeded& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("bad_worker2"), std::string::npos) << what;
      EXPECT_NE(what.find("I'm so bad"), std::string::npos) << what;
      EXPECT_EQ(e.child, "bad_worker2");
      EXPECT_EQ(e.stops, 3u);
      EXPECT_EQ(e.window, 10s);
      EXPECT_EQ(error_message(e.last_error), "I'm so bad");
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
    const auto start = SteadyClock::now();
    co_await group.startup();
    while (*instances < 3 || !group.workers()[0]->is_running()) co_await sleep(1ms);
    EXPECT_GE(SteadyClock::now() - start, 40ms + 80ms);
    co_await group.shutdown();
  }());
}

TEST(Restart, StoppingTheGroupDuringABackoffIsImmediate) {
  fluid::run([]() -> Task<> {
    Workers group({}, {.backoff = {.initial = 1h, .max = 1h}});
    group.add_supervised([] { return std::make_shared<BadWorker2>(); });
    co_await group.startup();
    while (group.failures().empty()) co_await sleep(1ms);
    const auto start = SteadyClock::now();
    co_await group.shutdown();
    EXPECT_LT(SteadyClock::now() - start, 1s);
    EXPECT_EQ(group.restarts(0), 0u);
    EXPECT_EQ(group.stop_reason(), StopReason::normal);
  }());
}

TEST(Restart, PermanentChildIsRestartedAfterACleanReturnButTransientIsNot) {
  fluid::run([]() -> Task<> {
    Workers group({}, fast_restarts());
    group.add_supervised([] { return std::make_shared<ShortLived>(WorkerOptions{.name = "permanent"}, 1ms); },
                         RestartPolicy::always);
    group.add_supervised([] { return std::make_shared<ShortLived>(WorkerOptions{.name = "transient"}, 1ms); },
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

TEST(Restart, AFreshInstanceThatCannotStartIsOneMoreStopUnderTheIntensity) {
  // It used to hang the group for ever: counted as started, never finished.
  fluid::run([]() -> Task<> {
    auto options = fast_restarts();
    options.restart_intensity = {.max_restarts = 2, .period = 10s};
    Workers group({std::make_shared<NiceWorker>()}, options);
    auto made = std::make_shared<int>(0);
    group.add_supervised([made]() -> std::shared_ptr<Worker> {
      if ((*made)++ == 0) return std::make_shared<BadWorker2>();  // runs, then fails
      return std::make_shared<NiceWorker>(WorkerOptions{.name = "bad_worker2", .stopping_grace_period = -1ms});
    });
    co_await group.startup();
    try {
      co_await group.wait_for_shutdown();
      ADD_FAILURE() << "the group did not give up";
    } catch (const RestartLimitExceeded& e) {
      EXPECT_EQ(e.child, "bad_worker2");
      EXPECT_EQ(e.stops, 3u);
      EXPECT_NE(error_message(e.last_error).find("stopping_grace_period"), std::string::npos) << e.what();
    }
    EXPECT_EQ(*made, 3);
    co_await group.shutdown();
  }());
}

TEST(Restart, AStopRequestIsSeenAtOnceWhileAReplacementIsStillStartingAndOnlyItIsForced) {
  // The group used to await a replacement's startup() before looking at
  // anything else: the stop waited out the group's 20 s, then forced all.
  fluid::run([]() -> Task<> {
    auto sibling = std::make_shared<NiceWorker>(WorkerOptions{.name = "sibling", .stopping_grace_period = 5s});
    auto options = fast_restarts();
    options.stopping_grace_period = 20s;
    Workers group({sibling}, options);
    auto made = std::make_shared<std::vector<std::shared_ptr<Worker>>>();
    group.add_supervised(
        [made]() -> std::shared_ptr<Worker> {
          if (made->empty()) {
            made->push_back(std::make_shared<NiceWorker>(WorkerOptions{.name = "slow"}));
          } else {
            made->push_back(std::make_shared<SlowToStart>(1h, WorkerOptions{.name = "slow", .stopping_grace_period = 50ms}));
          }
          return made->back();
        },
        RestartPolicy::always);
    co_await group.startup();
    made->front()->gracefully_stop();  // "always": the replacement starts, slowly
    const bool replaced = co_await wait_for_tree(group, [&] { return made->size() >= 2; });
    EXPECT_TRUE(replaced);
    if (!replaced) {
      co_await group.shutdown();
      co_return;
    }
    auto& replacement = static_cast<SlowToStart&>(*made->back());
    const bool starting = co_await wait_until_starting(replacement);
    EXPECT_TRUE(starting);
    const auto start = SteadyClock::now();
    co_await group.shutdown();
    EXPECT_LT(SteadyClock::now() - start, 5s) << "the group waited out its own grace period";
    EXPECT_EQ(sibling->worker_state(), WorkerState::stopped) << "a well-behaved sibling was forced";
    EXPECT_EQ(replacement.worker_state(), WorkerState::force_stopped);
    EXPECT_EQ(group.worker_state(), WorkerState::stopped);
  }());
}

TEST(Restart, AFactoryMayCallBackIntoItsGroup) {
  // It used to be called under the group's lock: num_workers() deadlocked.
  fluid::run([]() -> Task<> {
    Workers group({}, fast_restarts());
    std::size_t seen = 0;
    auto made = std::make_shared<int>(0);
    group.add_supervised(
        [&, made]() -> std::shared_ptr<Worker> {
          seen = group.num_workers() + group.workers().size();
          ++*made;
          return std::make_shared<NiceWorker>(WorkerOptions{.name = "child"});
        },
        RestartPolicy::always);
    co_await group.startup();
    group.workers()[0]->gracefully_stop();
    const bool restarted =
        co_await wait_for_tree(group, [&] { return *made >= 2 && group.workers()[0]->is_running(); });
    EXPECT_TRUE(restarted);
    EXPECT_EQ(seen, 2u);
    co_await group.shutdown();
  }());
}

// ------------------------------------------------- on virtual time

TEST(Restart, OnVirtualTimeARetryForeverBackoffReachesItsMaxAndStaysThere) {
  fluid::run([]() -> Task<> {
    auto clock = std::make_shared<ManualClock>();
    Workers group({}, {.name = "crew",
                       .restart_intensity = {.max_restarts = RestartIntensity::unlimited, .period = 5s},
                       .backoff = {.initial = 1s, .max = 60s, .multiplier = 2, .jitter = 0.2},
                       .clock = clock,
                       .jitter = no_jitter()});
    group.add_supervised([] { return std::make_shared<BadWorker2>(); });
    EventLog log;
    auto subscription = group.subscribe_supervision(log.listener());
    co_await group.startup();
    std::vector<std::chrono::milliseconds> delays;
    for (std::size_t i = 1; i <= 8; ++i) {
      const bool scheduled = co_await log.wait_for(SupervisionEvent::Kind::restart_scheduled, i);
      if (!scheduled) break;
      delays.push_back(log.events.back().delay);
      clock->advance(log.events.back().delay);  // no wall time spent
    }
    EXPECT_EQ(delays, (std::vector<std::chrono::milliseconds>{1s, 2s, 4s, 8s, 16s, 32s, 60s, 60s}));
    EXPECT_TRUE(group.is_running());
    co_await group.shutdown();
  }());
}

TEST(Restart, OnVirtualTimeAHealthyUptimeStartsTheBackoffAfresh) {
  fluid::run([]() -> Task<> {
    auto clock = std::make_shared<ManualClock>();
    Workers group({}, {.name = "crew",
                       .restart_intensity = {.max_restarts = RestartIntensity::unlimited},
                       .backoff = {.initial = 1s, .max = 60s, .multiplier = 2, .reset_after = 30s},
                       .clock = clock,
                       .jitter = no_jitter()});
    Instances<FailsWhenTold> instances;
    group.add_supervised(instances.factory("flaky"));
    EventLog log;
    auto subscription = group.subscribe_supervision(log.listener());
    co_await group.startup();
    std::vector<std::chrono::milliseconds> delays;
    for (std::size_t i = 1; i <= 3; ++i) {
      if (i == 3) clock->advance(31s);  // the third instance runs healthily first
      instances.last().fail();
      const bool scheduled = co_await log.wait_for(SupervisionEvent::Kind::restart_scheduled, i);
      if (!scheduled) break;
      delays.push_back(log.events.back().delay);
      clock->advance(log.events.back().delay);
      const bool running =
          co_await wait_for_tree(group, [&] { return instances.size() > i && instances.last().is_running(); });
      EXPECT_TRUE(running);
    }
    EXPECT_EQ(delays, (std::vector<std::chrono::milliseconds>{1s, 2s, 1s}));
    co_await group.shutdown();
  }());
}

TEST(Restart, AChildInItsBackoffStandsRestartingForTheHealthChecks) {
  fluid::run([]() -> Task<> {
    auto clock = std::make_shared<ManualClock>();
    Workers group({std::make_shared<NiceWorker>(WorkerOptions{.name = "steady"})},
                  {.name = "crew", .backoff = {.initial = 10s, .max = 10s}, .clock = clock, .jitter = no_jitter()});
    group.add_supervised([] { return std::make_shared<BadWorker2>(); });
    EventLog log;
    auto subscription = group.subscribe_supervision(log.listener());
    co_await group.startup();
    const bool scheduled = co_await log.wait_for(SupervisionEvent::Kind::restart_scheduled, 1);
    EXPECT_TRUE(scheduled);
    const auto children = group.children();
    EXPECT_EQ(children.at(0).standing, ChildStanding::active);
    EXPECT_EQ(children.at(1).standing, ChildStanding::restarting);
    EXPECT_EQ(worker_tree(group).at(2).standing, ChildStanding::restarting);
    auto status = co_await group.status();
    EXPECT_EQ(status["bad_worker2"]["standing"], "restarting");
    EXPECT_EQ(status["bad_worker2"]["state"], "stopped");
    co_await group.shutdown();
  }());
}

TEST(Restart, SupervisionEventsReachSubscribersAsValuesUntilTheSubscriptionIsReset) {
  fluid::run([]() -> Task<> {
    auto options = fast_restarts();
    options.restart_intensity = {.max_restarts = 1, .period = 10s};
    Workers group({std::make_shared<NiceWorker>()}, options);
    group.add_supervised([] { return std::make_shared<BadWorker2>(); });
    EventLog log;
    auto subscription = group.subscribe_supervision(log.listener());
    EventLog ignored;
    auto reset = group.subscribe_supervision(ignored.listener());
    reset.reset();
    co_await group.startup();
    EXPECT_THROW(co_await group.wait_for_shutdown(), RestartLimitExceeded);
    EXPECT_EQ(log.lines(), (std::vector<std::string>{"restart_scheduled:bad_worker2", "restarted:bad_worker2",
                                                     "gave_up:bad_worker2"}));
    if (log.events.size() == 3) {
      EXPECT_EQ(log.events[0].group, "supervisor");
      EXPECT_EQ(log.events[0].delay, 1ms);
      EXPECT_EQ(error_message(log.events[0].error), "I'm so bad");
      EXPECT_EQ(log.events[1].restarts, 1u);
      EXPECT_EQ(error_message(log.events[2].error), "I'm so bad");
    }
    EXPECT_TRUE(ignored.events.empty());
  }());
}

// ------------------------------------------------- strategies

namespace {

struct Trio {
  Instances<FailsWhenTold> a, b, c;
  std::shared_ptr<NiceWorker> plain = std::make_shared<NiceWorker>(WorkerOptions{.name = "plain"});

  void add_to(Workers& group) {
    group.add_supervised(a.factory("a"));
    group.add_workers(plain);
    group.add_supervised(b.factory("b"));
    group.add_supervised(c.factory("c"));
  }
};

WorkersOptions with_strategy(RestartStrategy strategy) {
  auto options = fast_restarts();
  options.strategy = strategy;
  return options;
}

}  // namespace

TEST(Restart, OneForAllRestartsEverySupervisedChildInOrderAndLeavesPlainOnesAlone) {
  fluid::run([]() -> Task<> {
    Workers group({}, with_strategy(RestartStrategy::one_for_all));
    Trio trio;
    trio.add_to(group);
    EventLog log;
    auto subscription = group.subscribe_supervision(log.listener());
    co_await group.startup();
    auto first_a = trio.a.made->front();
    trio.b.last().fail();
    const bool all_back = co_await wait_for_tree(group, [&] {
      return trio.a.size() == 2 && trio.b.size() == 2 && trio.c.size() == 2 && trio.a.last().is_running() &&
             trio.b.last().is_running() && trio.c.last().is_running();
    });
    EXPECT_TRUE(all_back);
    EXPECT_EQ(log.lines(),
              (std::vector<std::string>{"restart_scheduled:b", "restarted:a", "restarted:b", "restarted:c"}));
    EXPECT_EQ(first_a->stop_reason(), StopReason::normal) << "a sibling is asked to stop, not forced";
    EXPECT_TRUE(trio.plain->is_running());
    EXPECT_EQ(group.restarts(0), 1u);
    EXPECT_EQ(group.restarts(2), 1u);
    EXPECT_EQ(group.restarts(3), 1u);
    co_await group.shutdown();
    EXPECT_EQ(group.stop_reason(), StopReason::normal);
  }());
}

TEST(Restart, RestForOneRestartsTheChildAndTheSupervisedOnesAddedAfterIt) {
  fluid::run([]() -> Task<> {
    Workers group({}, with_strategy(RestartStrategy::rest_for_one));
    Trio trio;
    trio.add_to(group);
    EventLog log;
    auto subscription = group.subscribe_supervision(log.listener());
    co_await group.startup();
    trio.b.last().fail();
    const bool back = co_await wait_for_tree(group, [&] {
      return trio.b.size() == 2 && trio.c.size() == 2 && trio.b.last().is_running() && trio.c.last().is_running();
    });
    EXPECT_TRUE(back);
    EXPECT_EQ(log.lines(), (std::vector<std::string>{"restart_scheduled:b", "restarted:b", "restarted:c"}));
    EXPECT_EQ(trio.a.size(), 1u);
    EXPECT_TRUE(trio.a.last().is_running());
    co_await group.shutdown();
  }());
}

// ------------------------------------------------- changing a running group

TEST(Restart, AChildCanBeRemovedWhileTheGroupRunsWithoutStoppingIt) {
  fluid::run([]() -> Task<> {
    auto leaving = std::make_shared<NiceWorker>(WorkerOptions{.name = "dup"});
    auto staying = std::make_shared<NiceWorker>(WorkerOptions{.name = "dup"});
    Workers group({leaving, staying}, {.name = "crew"});
    co_await group.startup();
    co_await group.remove_child("dup");
    EXPECT_EQ(leaving->worker_state(), WorkerState::stopped);
    EXPECT_TRUE(group.is_running());
    EXPECT_EQ(group.num_workers(), 1u);
    const auto children = group.children();
    EXPECT_EQ(children.at(0).key, "dup_2") << "a slot keeps its key";
    std::string missing;
    try {
      co_await group.remove_child("dup");
    } catch (const FluidError& e) {
      missing = e.what();
    }
    EXPECT_NE(missing.find("no child dup"), std::string::npos) << missing;
    co_await group.shutdown();
    EXPECT_EQ(group.stop_reason(), StopReason::normal);
  }());
}

TEST(Restart, AChildCanBeRestartedOnRequestWithoutSpendingItsIntensity) {
  fluid::run([]() -> Task<> {
    auto options = fast_restarts();
    options.restart_intensity = {.max_restarts = 1, .period = 1h};
    Workers group({std::make_shared<NiceWorker>(WorkerOptions{.name = "plain"})}, options);
    Instances<NiceWorker> instances;
    group.add_supervised(instances.factory("renewed"), RestartPolicy::on_failure);
    co_await group.startup();
    for (std::size_t i = 1; i <= 3; ++i) {
      co_await group.restart_child("renewed");
      const bool running =
          co_await wait_for_tree(group, [&] { return instances.size() > i && instances.last().is_running(); });
      EXPECT_TRUE(running);
    }
    EXPECT_EQ(group.restarts(1), 3u);
    EXPECT_TRUE(group.is_running());
    EXPECT_THROW(co_await group.restart_child("plain"), FluidError);
    co_await group.shutdown();
    EXPECT_EQ(group.stop_reason(), StopReason::normal);
  }());
}
