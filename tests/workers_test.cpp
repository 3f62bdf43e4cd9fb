// Workers groups: aio-fluid's test_workers, then fluid's guarantees: event
// driven reaction to a child's stop, concurrent stop, failures never lost.

#include "support/workers.hpp"

#include <fluid/workers.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

using namespace fluid;
using namespace fluid::test;
namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;  // not Clock: fluid::Clock (tasks) is the system clock

namespace {

/// Records the order children became ready in.
class OrderedStart : public NiceWorker {
 public:
  OrderedStart(std::string name, std::vector<std::string>& log) : NiceWorker({.name = std::move(name)}), log_(log) {}

 protected:
  Task<> on_startup() override {
    co_await sleep(5ms);
    log_.push_back(worker_name());
  }

 private:
  std::vector<std::string>& log_;
};

class FailsToStart : public NiceWorker {
 public:
  using NiceWorker::NiceWorker;

 protected:
  Task<> on_startup() override {
    co_await sleep(1ms);
    throw std::runtime_error("no database");
  }
};

}  // namespace

TEST(Workers, StartsChildrenInOrderEachReadyBeforeTheNext) {
  fluid::run([]() -> Task<> {
    std::vector<std::string> log;
    Workers group({make<OrderedStart>("a", log), make<OrderedStart>("b", log), make<OrderedStart>("c", log)});
    co_await group.startup();
    EXPECT_EQ(log, (std::vector<std::string>{"a", "b", "c"}));
    for (auto* child : group.workers()) EXPECT_TRUE(child->is_running());
    co_await group.shutdown();
    for (auto* child : group.workers()) EXPECT_EQ(child->worker_state(), WorkerState::stopped);
  }());
}

TEST(Workers, ReportsItsChildrenInOrder) {
  auto a = make<NiceWorker>(WorkerOptions{.name = "a"});
  auto b = make<NiceWorker>(WorkerOptions{.name = "b"});
  Workers group({a, b});
  EXPECT_EQ(group.num_workers(), 2u);
  EXPECT_EQ(group.workers(), (std::vector<Worker*>{a.get(), b.get()}));
  EXPECT_EQ(group.worker_name(), "workers");
}

TEST(Workers, AChildStoppingStopsTheWholeGroupAtOnce) {
  fluid::run([]() -> Task<> {
    auto nice = make<NiceWorker>();
    Workers group({nice, make<ShortLived>()}, {.heartbeat = std::chrono::hours(1)});
    co_await group.startup();
    const auto start = SteadyClock::now();
    co_await group.wait_for_shutdown();
    EXPECT_LT(SteadyClock::now() - start, 1s);  // not a heartbeat later
    EXPECT_EQ(nice->worker_state(), WorkerState::stopped);
    EXPECT_EQ(group.stop_reason(), StopReason::normal);
  }());
}

TEST(Workers, ChildFailureIsLoggedKeptAndRethrownByTheGroup) {
  fluid::run([]() -> Task<> {
    auto nice = make<NiceWorker>();
    auto bad = make<BadWorker2>();
    Workers group({nice, bad});
    co_await group.startup();
    try {
      co_await group.wait_for_shutdown();
      ADD_FAILURE() << "the group did not rethrow the child's failure";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "I'm so bad");
    }
    EXPECT_EQ(group.stop_reason(), StopReason::failed);
    EXPECT_EQ(nice->worker_state(), WorkerState::stopped);
    const auto failures = group.failures();
    EXPECT_EQ(failures.size(), 1u);
    if (!failures.empty()) {
      EXPECT_EQ(failures[0].name, "bad_worker2");
    }
    auto status = co_await group.status();
    EXPECT_EQ(status["bad_worker2"]["error"], "I'm so bad");
    EXPECT_EQ(status["nice_worker"]["state"], "stopped");
  }());
}

TEST(Workers, ForcedChildMakesTheGroupReasonForcedWithoutThrowing) {
  class Recorder : public Workers {
   public:
    using Workers::Workers;
    int code = -1;

   protected:
    void after_shutdown(std::string_view, int exit_code) override { code = exit_code; }
  };
  fluid::run([]() -> Task<> {
    auto stubborn = make<BadWorker>(WorkerOptions{.stopping_grace_period = 30ms});
    Recorder group({make<NiceWorker>(), stubborn});
    co_await group.startup();
    co_await group.shutdown();
    co_await group.wait_for_shutdown();  // nothing thrown
    EXPECT_EQ(stubborn->worker_state(), WorkerState::force_stopped);
    EXPECT_EQ(group.stop_reason(), StopReason::forced);
    EXPECT_EQ(group.code, 1);
  }());
}

TEST(Workers, ChildrenAreStoppedConcurrentlyEachWithItsOwnGracePeriod) {
  fluid::run([]() -> Task<> {
    std::vector<std::shared_ptr<Worker>> children;
    for (int i = 0; i < 3; ++i) children.push_back(make<BadWorker>(WorkerOptions{.stopping_grace_period = 150ms}));
    Workers group(children);
    co_await group.startup();
    const auto start = SteadyClock::now();
    co_await group.shutdown();
    const auto took = SteadyClock::now() - start;
    EXPECT_GE(took, 150ms);
    EXPECT_LT(took, 400ms);  // one after another would take 450 ms
    for (auto& child : children) EXPECT_EQ(child->worker_state(), WorkerState::force_stopped);
  }());
}

TEST(Workers, ForcedGroupForceCancelsItsChildren) {
  fluid::run([]() -> Task<> {
    auto stubborn = make<BadWorker>(WorkerOptions{.stopping_grace_period = std::chrono::hours(1)});
    Workers group({stubborn}, {.stopping_grace_period = 30ms});
    co_await group.startup();
    const auto start = SteadyClock::now();
    co_await group.shutdown();
    EXPECT_LT(SteadyClock::now() - start, 2s);
    EXPECT_EQ(stubborn->worker_state(), WorkerState::force_stopped);
    EXPECT_EQ(group.worker_state(), WorkerState::force_stopped);
  }());
}

TEST(Workers, ChildrenAddedWhileRunningAreStartedAndDuplicatesIgnored) {
  fluid::run([]() -> Task<> {
    Workers group;
    co_await group.startup();
    EXPECT_TRUE(group.is_running());  // an empty group waits for work
    auto late = make<NiceWorker>();
    group.add_workers(late);
    group.add_workers(late);
    EXPECT_EQ(group.num_workers(), 1u);
    while (!late->is_running()) co_await sleep(1ms);
    co_await group.shutdown();
    EXPECT_EQ(late->worker_state(), WorkerState::stopped);
    EXPECT_THROW(group.add_workers(make<NiceWorker>()), FluidError);
  }());
}

TEST(Workers, AWorkerHeldByTwoGroupsIsFoundInEachAndNotAddedTwice) {
  auto first = make<NiceWorker>(WorkerOptions{.name = "first"});
  auto shared = make<NiceWorker>(WorkerOptions{.name = "shared"});
  Workers one({first, shared});
  Workers other({shared});  // the worker's slot is now other's, not one's
  one.add_workers(shared);
  other.add_workers(shared);
  EXPECT_EQ(one.num_workers(), 2u);
  EXPECT_EQ(other.num_workers(), 1u);
}

TEST(Workers, BadChildrenAreRejected) {
  Workers group({}, {.name = "crew"});
  EXPECT_THROW(group.add_workers(nullptr), FluidError);
  EXPECT_THROW(Workers({nullptr}), FluidError);
}

TEST(Workers, AChildFailingToStartFailsTheGroupStartupAndStopsTheOthers) {
  fluid::run([]() -> Task<> {
    auto first = make<NiceWorker>();
    auto never = make<NiceWorker>(WorkerOptions{.name = "never"});
    Workers group({first, make<FailsToStart>(), never});
    EXPECT_THROW(co_await group.startup(), std::runtime_error);
    EXPECT_EQ(first->worker_state(), WorkerState::stopped);
    EXPECT_EQ(never->worker_state(), WorkerState::init);
    EXPECT_EQ(group.worker_state(), WorkerState::stopped);
  }());
}

TEST(Workers, GroupsNestAndAnInnerFailureReachesTheOuterGroup) {
  fluid::run([]() -> Task<> {
    auto inner = std::make_shared<Workers>(std::vector<std::shared_ptr<Worker>>{make<NiceWorker>(), make<BadWorker2>()},
                                           WorkersOptions{.name = "inner"});
    auto sibling = make<NiceWorker>(WorkerOptions{.name = "sibling"});
    Workers outer({inner, sibling}, {.name = "outer"});
    co_await outer.startup();
    EXPECT_THROW(co_await outer.wait_for_shutdown(), std::runtime_error);
    EXPECT_EQ(sibling->worker_state(), WorkerState::stopped);
    auto status = co_await outer.status();
    EXPECT_EQ(status["inner"]["bad_worker2"]["error"], "I'm so bad");
  }());
}

TEST(Workers, ChildrenWithTheSameNameStayDistinguishableInStatus) {
  fluid::run([]() -> Task<> {
    Workers group({make<NiceWorker>(), make<NiceWorker>(), make<NiceWorker>()});
    auto status = co_await group.status();
    EXPECT_EQ(status.size(), 3u);
    EXPECT_TRUE(status.contains("nice_worker"));
    EXPECT_TRUE(status.contains("nice_worker_2"));
    EXPECT_TRUE(status.contains("nice_worker_3"));
  }());
}

// ------------------------------------------------- a child that cannot start

TEST(Workers, AChildWithANegativeGracePeriodFailsTheGroupStartupNamingItAndShutdownReturns) {
  fluid::run([]() -> Task<> {
    auto first = make<NiceWorker>(WorkerOptions{.name = "first"});
    auto bad = make<NiceWorker>(WorkerOptions{.name = "impatient", .stopping_grace_period = -1ms});
    auto never = make<NiceWorker>(WorkerOptions{.name = "never"});
    Workers group({first, bad, never}, {.name = "crew"});
    const auto what = co_await error_of(group.startup());
    EXPECT_NE(what.find("impatient"), std::string::npos) << what;
    co_await group.shutdown();
    EXPECT_EQ(group.stop_reason(), StopReason::failed);
    EXPECT_EQ(first->worker_state(), WorkerState::stopped);
    EXPECT_EQ(never->worker_state(), WorkerState::init);
    EXPECT_EQ(group.failures().size(), 1u);
  }());
}

TEST(Workers, AMalformedGracePeriodInTheEnvironmentFailsTheGroupStartupNamingTheChild) {
  ScopedEnv env("FLUID_STOPPING_GRACE_PERIOD", "1.5s");
  fluid::run([]() -> Task<> {
    Workers group({make<NiceWorker>(WorkerOptions{.name = "reader"})}, {.name = "root", .stopping_grace_period = 1s});
    const auto what = co_await error_of(group.startup());
    EXPECT_NE(what.find("reader"), std::string::npos) << what;
    EXPECT_NE(what.find("FLUID_STOPPING_GRACE_PERIOD"), std::string::npos) << what;
    co_await group.shutdown();
    EXPECT_TRUE(group.is_stopped());
  }());
}

TEST(Workers, AChildAddedWhileRunningThatCannotStartFailsTheGroup) {
  fluid::run([]() -> Task<> {
    auto sibling = make<NiceWorker>(WorkerOptions{.name = "sibling"});
    Workers group({sibling}, {.name = "crew"});
    co_await group.startup();
    group.add_workers(make<NiceWorker>(WorkerOptions{.name = "late", .stopping_grace_period = -1ms}));
    const auto what = co_await error_of(group.wait_for_shutdown());
    EXPECT_NE(what.find("late"), std::string::npos) << what;
    EXPECT_EQ(group.stop_reason(), StopReason::failed);
    EXPECT_EQ(sibling->worker_state(), WorkerState::stopped);
  }());
}

// ------------------------------------------------- stopping while starting

TEST(Workers, AStopRequestedWhileStartingStartsNoFurtherChildAndAsksTheStartingOne) {
  fluid::run([]() -> Task<> {
    auto executor = co_await asio::this_coro::executor;
    auto first = make<NiceWorker>(WorkerOptions{.name = "first"});
    auto slow = std::make_shared<SlowToStart>(200ms, WorkerOptions{.name = "slow"});
    auto third = make<NiceWorker>(WorkerOptions{.name = "third"});
    auto fourth = make<NiceWorker>(WorkerOptions{.name = "fourth"});
    Workers group({first, slow, third, fourth});
    asio::co_spawn(
        executor,
        [&]() -> Task<> {
          const bool starting = co_await wait_until_starting(*slow);
          EXPECT_TRUE(starting);
          group.gracefully_stop();
        },
        asio::detached);
    co_await group.startup();  // a requested stop is no startup failure
    co_await group.shutdown();
    EXPECT_TRUE(slow->asked_to_stop_while_starting) << "the starting child was not asked to stop";
    EXPECT_EQ(third->worker_state(), WorkerState::init);
    EXPECT_EQ(fourth->worker_state(), WorkerState::init);
    EXPECT_EQ(first->worker_state(), WorkerState::stopped);
    EXPECT_EQ(group.stop_reason(), StopReason::normal);
  }());
}

// A child whose startup() does not suspend is followed at once by the next,
// without a turn of the group's loop: what it did to the group counts first.
TEST(Workers, AStopRequestedByAChildReadyAtOnceStartsNoFurtherChild) {
  class StopsItsGroup : public NiceWorker {
   public:
    explicit StopsItsGroup(Worker*& group) : NiceWorker({.name = "stopper"}), group_(group) {}

   protected:
    Task<> on_startup() override {
      group_->gracefully_stop();
      co_return;
    }

   private:
    Worker*& group_;
  };
  fluid::run([]() -> Task<> {
    Worker* self = nullptr;
    auto first = make<NiceWorker>(WorkerOptions{.name = "first"});
    auto stopper = std::make_shared<StopsItsGroup>(self);
    auto next = make<NiceWorker>(WorkerOptions{.name = "next"});
    Workers group({first, stopper, next});
    self = &group;
    co_await group.startup();
    co_await group.shutdown();
    EXPECT_EQ(first->worker_state(), WorkerState::stopped);
    EXPECT_EQ(stopper->worker_state(), WorkerState::stopped);
    EXPECT_EQ(next->worker_state(), WorkerState::init) << "a child was started after the stop request";
  }());
}

TEST(Workers, AChildFailingAtOnceInItsStartupStartsNoFurtherChild) {
  class FailsAtOnceToStart : public NiceWorker {
   public:
    using NiceWorker::NiceWorker;

   protected:
    Task<> on_startup() override {
      throw std::runtime_error("no config");
      co_return;
    }
  };
  fluid::run([]() -> Task<> {
    auto next = make<NiceWorker>(WorkerOptions{.name = "next"});
    Workers group({make<FailsAtOnceToStart>(WorkerOptions{.name = "broken"}), next});
    EXPECT_THROW(co_await group.startup(), std::runtime_error);
    EXPECT_EQ(next->worker_state(), WorkerState::init) << "a child was started after a sibling failed";
    EXPECT_EQ(group.worker_state(), WorkerState::stopped);
  }());
}

TEST(Workers, AStopRequestIsSeenAtOnceWhileALateChildStartsAndOnlyThatChildIsForced) {
  fluid::run([]() -> Task<> {
    auto sibling = make<NiceWorker>(WorkerOptions{.name = "sibling", .stopping_grace_period = 5s});
    Workers group({sibling}, {.name = "crew", .stopping_grace_period = 20s});
    co_await group.startup();
    auto late = std::make_shared<SlowToStart>(1h, WorkerOptions{.name = "late", .stopping_grace_period = 50ms});
    group.add_workers(late);
    const bool starting = co_await wait_until_starting(*late);
    EXPECT_TRUE(starting);
    const auto start = SteadyClock::now();
    co_await group.shutdown();
    EXPECT_LT(SteadyClock::now() - start, 5s) << "the group waited out its own grace period";
    EXPECT_EQ(sibling->worker_state(), WorkerState::stopped) << "a well-behaved sibling was forced";
    EXPECT_EQ(late->worker_state(), WorkerState::force_stopped);
    EXPECT_EQ(group.worker_state(), WorkerState::stopped);
    EXPECT_EQ(group.stop_reason(), StopReason::forced);
  }());
}

TEST(Workers, ASiblingFailureIsSeenAtOnceWhileALateChildStarts) {
  class FailsLater : public Worker {
   public:
    using Worker::Worker;

   protected:
    Task<> run() override {
      co_await sleep(100ms);
      throw std::runtime_error("sibling broke");
    }
  };
  fluid::run([]() -> Task<> {
    Workers group({make<FailsLater>(WorkerOptions{.name = "fragile"})}, {.name = "crew", .stopping_grace_period = 20s});
    co_await group.startup();
    auto late = std::make_shared<SlowToStart>(1h, WorkerOptions{.name = "late", .stopping_grace_period = 50ms});
    group.add_workers(late);
    const auto start = SteadyClock::now();
    const auto what = co_await error_of(group.wait_for_shutdown());
    EXPECT_EQ(what, "sibling broke");
    EXPECT_LT(SteadyClock::now() - start, 5s);
    EXPECT_EQ(late->worker_state(), WorkerState::force_stopped);
  }());
}

// ------------------------------------------------- stop order, one-shot children

namespace {

/// Records, in one shared list, when each of its workers was asked to stop
/// and when it had stopped; takes a little while to stop.
class LoggedStop : public Worker {
 public:
  LoggedStop(std::string name, std::vector<std::string>& log) : Worker({.name = std::move(name)}), log_(log) {}

 protected:
  Task<> run() override {
    while (is_running()) co_await sleep_while_running(1h);
    log_.push_back(worker_name() + " asked");
    co_await sleep(5ms);
  }
  Task<> on_shutdown() override {
    log_.push_back(worker_name() + " stopped");
    co_return;
  }

 private:
  std::vector<std::string>& log_;
};

}  // namespace

TEST(Workers, ReverseStopOrderStopsChildrenOneAfterAnotherLastAddedFirst) {
  fluid::run([]() -> Task<> {
    std::vector<std::string> log;
    Workers group({make<LoggedStop>("a", log), make<LoggedStop>("b", log), make<LoggedStop>("c", log)},
                  {.stop_order = StopOrder::reverse});
    co_await group.startup();
    co_await group.shutdown();
    EXPECT_EQ(log, (std::vector<std::string>{"c asked", "c stopped", "b asked", "b stopped", "a asked", "a stopped"}));
    EXPECT_EQ(group.stop_reason(), StopReason::normal);
  }());
}

TEST(Workers, InReverseOrderEachChildIsForcedAfterItsOwnGracePeriodOnly) {
  fluid::run([]() -> Task<> {
    std::vector<std::string> log;
    auto first = make<LoggedStop>("first", log);
    auto stubborn = make<BadWorker>(WorkerOptions{.name = "stubborn", .stopping_grace_period = 50ms});
    auto last = make<LoggedStop>("last", log);
    Workers group({first, stubborn, last}, {.stopping_grace_period = 20s, .stop_order = StopOrder::reverse});
    co_await group.startup();
    const auto start = SteadyClock::now();
    co_await group.shutdown();
    EXPECT_GE(SteadyClock::now() - start, 50ms);
    EXPECT_LT(SteadyClock::now() - start, 5s);
    EXPECT_EQ(stubborn->worker_state(), WorkerState::force_stopped);
    EXPECT_EQ(first->worker_state(), WorkerState::stopped);
    EXPECT_EQ(last->worker_state(), WorkerState::stopped);
    EXPECT_EQ(log, (std::vector<std::string>{"last asked", "last stopped", "first asked", "first stopped"}));
    EXPECT_EQ(group.stop_reason(), StopReason::forced);
  }());
}

TEST(Workers, AForcedGroupStoppingInReverseOrderForcesEveryChildAtOnce) {
  fluid::run([]() -> Task<> {
    auto a = make<BadWorker>(WorkerOptions{.name = "a", .stopping_grace_period = 1h});
    auto b = make<BadWorker>(WorkerOptions{.name = "b", .stopping_grace_period = 1h});
    Workers group({a, b}, {.stopping_grace_period = 50ms, .stop_order = StopOrder::reverse});
    co_await group.startup();
    const auto start = SteadyClock::now();
    co_await group.shutdown();
    EXPECT_LT(SteadyClock::now() - start, 5s);
    EXPECT_EQ(a->worker_state(), WorkerState::force_stopped);
    EXPECT_EQ(b->worker_state(), WorkerState::force_stopped);
  }());
}

TEST(Workers, AOneShotChildThatFinishesLeavesTheGroupRunningAndStandsFinished) {
  fluid::run([]() -> Task<> {
    auto migration = make<ShortLived>(WorkerOptions{.name = "migration"});
    auto server = make<NiceWorker>(WorkerOptions{.name = "server"});
    Workers group({server}, {.name = "crew"});
    group.add_one_shot(migration);
    co_await group.startup();
    const bool done = co_await wait_for_tree(group, [&] { return migration->is_stopped(); });
    EXPECT_TRUE(done);
    EXPECT_EQ(group.children().at(1).standing, ChildStanding::finished) << "at once, for the health checks";
    // The group answers an end before it starts the next child: once this
    // one runs, the one-shot's end has been answered.
    auto probe = make<NiceWorker>(WorkerOptions{.name = "probe"});
    group.add_workers(probe);
    const bool probed = co_await wait_for_tree(group, [&] { return probe->is_running(); });
    EXPECT_TRUE(probed);
    EXPECT_TRUE(group.is_running());
    EXPECT_TRUE(server->is_running());
    EXPECT_EQ(group.children().at(1).standing, ChildStanding::finished);
    auto status = co_await group.status();
    EXPECT_EQ(status["migration"]["standing"], "finished");
    EXPECT_EQ(status["migration"]["one_shot"], true);
    co_await group.shutdown();
    EXPECT_EQ(group.stop_reason(), StopReason::normal);
  }());
}

TEST(Workers, AOneShotChildThatFailsStillStopsTheGroup) {
  fluid::run([]() -> Task<> {
    auto server = make<NiceWorker>(WorkerOptions{.name = "server"});
    Workers group({server}, {.name = "crew"});
    group.add_one_shot(make<BadWorker2>(WorkerOptions{.name = "migration"}));
    co_await group.startup();
    const auto what = co_await error_of(group.wait_for_shutdown());
    EXPECT_EQ(what, "I'm so bad");
    EXPECT_EQ(server->worker_state(), WorkerState::stopped);
  }());
}
