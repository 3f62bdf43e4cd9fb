// Workers groups: aio-fluid's test_workers, then fluid's guarantees: event
// driven reaction to a child's stop, concurrent stop, failures never lost.

#include "support/workers.hpp"

#include <fluid/workers.hpp>

#include <gtest/gtest.h>

using namespace fluid;
using namespace fluid::test;
using Clock = std::chrono::steady_clock;

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

template <class W, class... Args>
std::shared_ptr<Worker> make(Args&&... args) {
  return std::make_shared<W>(std::forward<Args>(args)...);
}

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
    const auto start = Clock::now();
    co_await group.wait_for_shutdown();
    EXPECT_LT(Clock::now() - start, 1s);  // not a heartbeat later
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
    if (!failures.empty()) EXPECT_EQ(failures[0].name, "bad_worker2");
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
    const auto start = Clock::now();
    co_await group.shutdown();
    const auto took = Clock::now() - start;
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
    const auto start = Clock::now();
    co_await group.shutdown();
    EXPECT_LT(Clock::now() - start, 2s);
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
