// State listeners: transitions of a worker or a tree, late subscribers.

#include "support/workers.hpp"

#include <fluid/workers.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

using namespace fluid;
using namespace fluid::test;

namespace {

struct Recorder {
  std::mutex mutex;
  std::vector<StateChange> changes;
  StateListener listener() {
    return [this](const StateChange& c) {
      std::lock_guard lock(mutex);
      changes.push_back(c);
    };
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (auto& c : changes) out.push_back(c.worker + ":" + std::string(to_string(c.from)) + "->" + std::string(to_string(c.to)));
    return out;
  }
};

/// The first change out of order ("stopping->stopped after init->running"), or "".
std::string first_out_of_order(const std::vector<StateChange>& changes) {
  for (std::size_t i = 1; i < changes.size(); ++i) {
    if (changes[i].from != changes[i - 1].to) {
      return std::string(to_string(changes[i].from)) + "->" + std::string(to_string(changes[i].to)) + " after " +
             std::string(to_string(changes[i - 1].from)) + "->" + std::string(to_string(changes[i - 1].to));
    }
  }
  return "";
}

}  // namespace

TEST(StateListener, AWorkerReportsEveryTransitionWithItsReason) {
  Recorder recorder;
  fluid::run([&]() -> Task<> {
    BadWorker2 worker;
    auto subscription = worker.subscribe(recorder.listener());
    co_await worker.startup();
    try {
      co_await worker.wait_for_shutdown();
    } catch (...) {
    }
  }());
  EXPECT_EQ(recorder.lines(), (std::vector<std::string>{"bad_worker2:init->init", "bad_worker2:init->running",
                                                        "bad_worker2:running->stopped"}));
  EXPECT_EQ(recorder.changes.front().reason, "current state");
  EXPECT_EQ(recorder.changes.back().reason, "I'm so bad");
}

TEST(StateListener, ALateSubscriberIsToldTheCurrentStateFirst) {
  fluid::run([]() -> Task<> {
    RecordingWorker worker;
    co_await worker.startup();
    Recorder recorder;
    auto subscription = worker.subscribe(recorder.listener());
    worker.gracefully_stop();
    co_await worker.wait_for_shutdown();
    EXPECT_EQ(recorder.lines(), (std::vector<std::string>{"recording_worker:running->running",
                                                          "recording_worker:running->stopping",
                                                          "recording_worker:stopping->stopped"}));
  }());
}

TEST(StateListener, ResettingTheSubscriptionStopsTheReports) {
  fluid::run([]() -> Task<> {
    RecordingWorker worker;
    Recorder recorder;
    auto subscription = worker.subscribe(recorder.listener());
    subscription.reset();
    co_await worker.startup();
    co_await worker.shutdown();
    EXPECT_EQ(recorder.lines().size(), 1u);
  }());
}

TEST(StateListener, AGroupSubscriptionCoversTheWholeTreeIncludingLateChildren) {
  fluid::run([]() -> Task<> {
    auto inner = std::make_shared<Workers>(std::vector<std::shared_ptr<Worker>>{std::make_shared<NiceWorker>()},
                                           WorkersOptions{.name = "inner"});
    Workers outer({inner}, {.name = "outer"});
    Recorder recorder;
    auto subscription = outer.subscribe(recorder.listener());
    co_await outer.startup();
    auto late = std::make_shared<RecordingWorker>(WorkerOptions{.name = "late"});
    outer.add_workers(late);
    while (!late->is_running()) co_await sleep(1ms);
    co_await outer.shutdown();
    const auto lines = recorder.lines();
    auto seen = [&](const std::string& line) { return std::find(lines.begin(), lines.end(), line) != lines.end(); };
    EXPECT_TRUE(seen("outer:init->running"));
    EXPECT_TRUE(seen("inner:running->stopping"));
    EXPECT_TRUE(seen("nice_worker:init->running"));
    EXPECT_TRUE(seen("nice_worker:stopping->stopped"));
    EXPECT_TRUE(seen("late:init->running"));
    EXPECT_TRUE(seen("late:stopping->stopped"));
    EXPECT_TRUE(seen("outer:stopping->stopped"));
  }());
}

TEST(StateListener, AThrowingListenerDoesNotDisturbTheWorker) {
  fluid::run([]() -> Task<> {
    RecordingWorker worker;
    auto subscription = worker.subscribe([](const StateChange&) { throw std::runtime_error("listener broke"); });
    co_await worker.startup();
    co_await worker.shutdown();
    EXPECT_EQ(worker.stop_reason(), StopReason::normal);
  }());
}

TEST(StateListener, StatusTellsWhenEachStateWasEntered) {
  fluid::run([]() -> Task<> {
    RecordingWorker worker;
    co_await worker.startup();
    co_await worker.shutdown();
    auto status = co_await worker.status();
    const auto& since = status["state_since"];
    EXPECT_TRUE(since.contains("init"));
    EXPECT_TRUE(since.contains("running"));
    EXPECT_TRUE(since.contains("stopping"));
    EXPECT_TRUE(since.contains("stopped"));
    EXPECT_LE(since["running"].get<double>(), since["stopped"].get<double>());
  }());
}

TEST(StateListener, TransitionsArriveInOrderWhenTheStopComesFromAnotherThread) {
  // The stopping thread reports running->stopping while the worker, stopping
  // at once on the loop's thread, reports stopping->stopped: a race that went
  // the wrong way about one round in a hundred.
  for (int round = 0; round < 1000; ++round) {
    Recorder recorder;
    fluid::run([&]() -> Task<> {
      RecordingWorker worker({.stopping_grace_period = 10s});
      auto subscription = worker.subscribe(recorder.listener());
      co_await worker.startup();
      std::thread stopper([&worker] { worker.gracefully_stop(); });
      co_await worker.wait_for_shutdown();
      stopper.join();
    }());
    std::lock_guard lock(recorder.mutex);
    ASSERT_EQ(first_out_of_order(recorder.changes), "") << "round " << round;
    ASSERT_EQ(recorder.changes.size(), 4u) << "round " << round;
  }
}

TEST(StateListener, AGroupListenerMayCallBackIntoItsGroup) {
  // It used to run under the group's lock: num_workers() from it deadlocked.
  fluid::run([]() -> Task<> {
    Workers group({std::make_shared<NiceWorker>()}, {.name = "crew"});
    std::atomic<std::size_t> seen_children{0};
    auto subscription = group.subscribe([&](const StateChange&) {
      seen_children = group.num_workers() + group.workers().size() + group.children().size();
    });
    co_await group.startup();
    auto late = std::make_shared<RecordingWorker>(WorkerOptions{.name = "late"});
    group.add_workers(late);
    const bool running = co_await wait_for_tree(group, [&] { return late->is_running(); });
    EXPECT_TRUE(running);
    co_await group.shutdown();
    EXPECT_EQ(seen_children.load(), 6u);
  }());
}

TEST(StateListener, AResetGroupSubscriptionHearsNothingMoreFromChildrenAddedOrRestartedLater) {
  fluid::run([]() -> Task<> {
    Workers group({}, {.name = "crew", .backoff = {.initial = 0ms, .max = 0ms}});
    auto instances = std::make_shared<std::vector<std::shared_ptr<NiceWorker>>>();
    group.add_supervised(
        [instances] {
          instances->push_back(std::make_shared<NiceWorker>(WorkerOptions{.name = "restarted"}));
          return instances->back();
        },
        RestartPolicy::always);
    Recorder recorder;
    auto subscription = group.subscribe(recorder.listener());
    co_await group.startup();
    auto late = std::make_shared<RecordingWorker>(WorkerOptions{.name = "late"});
    group.add_workers(late);
    const bool running = co_await wait_for_tree(group, [&] { return late->is_running(); });
    instances->back()->gracefully_stop();  // "always": a fresh instance follows
    const bool restarted =
        co_await wait_for_tree(group, [&] { return instances->size() >= 2 && instances->back()->is_running(); });
    EXPECT_TRUE(running && restarted);
    subscription.reset();
    const auto heard = recorder.lines().size();
    // After the reset: one more child added, one more restart, then the stop.
    auto later = std::make_shared<RecordingWorker>(WorkerOptions{.name = "later"});
    group.add_workers(later);
    instances->back()->gracefully_stop();
    const bool again = co_await wait_for_tree(
        group, [&] { return later->is_running() && instances->size() >= 3 && instances->back()->is_running(); });
    EXPECT_TRUE(again);
    co_await group.shutdown();
    EXPECT_EQ(recorder.lines().size(), heard) << "a reset subscription was still called";
  }());
}
