// TaskScheduler: slots fired through the broker exactly once whatever the
// number of schedulers, on a grid from the task's anchor (first writer
// wins), coalesced after downtime, skipped while disabled, each run delayed
// by randomize() and jitter (aio-fluid's scheduler polls and
// fires twice with two schedulers).

#include "support/captured_log.hpp"
#include "support/task_events.hpp"
#include "support/workers.hpp"
#include "tasks.hpp"

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <set>

using namespace fluid;
using namespace fluid::test;
using namespace std::chrono_literals;
using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

const EnqueueOptions no_options;

TaskDefinition ticking(milliseconds delta) {
  return make_task("tick", [](TaskContext&) -> Task<> { co_return; }, {.schedule = every(delta)});
}

std::shared_ptr<TaskScheduler> scheduler_of(const std::string& url, TaskDefinition task, bool consume = false) {
  auto scheduler = std::make_shared<TaskScheduler>(
      TaskManagerConfig{.broker_url = url, .schedule_tasks = true, .consume_tasks = consume},
      WorkerOptions{.stopping_grace_period = 1s});
  scheduler->register_task(std::move(task));
  return scheduler;
}

/// Every run any scheduler on the broker queued, from the broker's feed.
class FiredRuns {
 public:
  explicit FiredRuns(TaskManager& keeper) {
    keeper.register_async_handler(
        "queued.fired",
        [this](const TaskRun& run) -> Task<> {
          {
            std::lock_guard lock(mutex_);
            runs_.push_back(run);
          }
          changed_.notify_all();
          co_return;
        },
        EventScope::cluster);
  }
  std::vector<TaskRun> runs() const {
    std::lock_guard lock(mutex_);
    return runs_;
  }
  std::size_t size() const { return runs().size(); }
  Task<bool> wait_for(std::size_t n, milliseconds timeout = 20s) {
    co_return co_await changed_.wait_until([this, n] { return size() >= n; }, detail::deadline_after(timeout));
  }

 private:
  mutable std::mutex mutex_;
  std::vector<TaskRun> runs_;
  detail::Notifier changed_;
};

/// The slots the runs were fired for (no randomize, no jitter: their execute_after).
std::vector<TimePoint> slots_of(const std::vector<TaskRun>& runs) {
  std::vector<TimePoint> slots;
  for (const auto& run : runs) slots.push_back(run.execute_after.value_or(TimePoint{}));
  return slots;
}

bool on_grid(TimePoint slot, TimePoint origin, milliseconds delta) {
  const auto offset = slot - origin;
  return offset % delta == TimePoint::duration::zero();
}

}  // namespace

TEST(TaskScheduler, IsATaskConsumerWithAScheduleChild) {
  const auto scheduler = examples::task_scheduler({.broker_url = unique_memory_url()});
  EXPECT_EQ(scheduler->type(), "task_scheduler");
  std::vector<std::string> children;
  for (auto* child : scheduler->workers()) children.push_back(child->worker_name());
  EXPECT_THAT(children, ::testing::Contains("schedule_tasks"));
}

TEST(TaskScheduler, FiresAScheduledTaskAtItsFirstStartThenOnItsGrid) {
  const auto url = unique_memory_url();
  TaskManager keeper({.broker_url = url});
  FiredRuns fired(keeper);
  fluid::run([&]() -> Task<> {
    co_await keeper.open();
    const auto scheduler = scheduler_of(url, ticking(200ms), true);
    RunEvents events(*scheduler);
    co_await scheduler->startup();
    const bool three = co_await fired.wait_for(3);
    EXPECT_TRUE(three);
    const auto runs = fired.runs();
    const auto first = runs.at(0);
    const auto done = co_await scheduler->wait(first.id, 10s);  // and the scheduler consumes it
    EXPECT_EQ(done.state, TaskState::success);
    co_await scheduler->shutdown();
    const auto slots = slots_of(runs);
    for (const auto slot : slots) EXPECT_TRUE(on_grid(slot, slots[0], 200ms));
    EXPECT_TRUE(std::is_sorted(slots.begin(), slots.end()));
    EXPECT_EQ(std::set<TimePoint>(slots.begin(), slots.end()).size(), slots.size());
    // Loosely bounded: the goal (50 ms, bench/) is not a test's to assert.
    for (const auto& run : runs) EXPECT_LT(*run.queued - *run.execute_after, 5s);
    EXPECT_EQ(events.states_of(first.id).front(), TaskState::init);  // dispatched by the scheduler that fired it
    co_await keeper.close();
  }());
}

// Any number of schedulers give exactly one run per slot.
TEST(TaskScheduler, SeveralSchedulersOnOneBrokerFireEachSlotOnce) {
  const auto url = unique_memory_url();
  TaskManager keeper({.broker_url = url});
  FiredRuns fired(keeper);
  fluid::run([&]() -> Task<> {
    co_await keeper.open();
    std::vector<std::shared_ptr<TaskScheduler>> schedulers;
    for (int i = 0; i < 3; ++i) schedulers.push_back(scheduler_of(url, ticking(100ms)));
    for (auto& scheduler : schedulers) co_await scheduler->startup();
    const bool enough = co_await fired.wait_for(6);
    EXPECT_TRUE(enough);
    for (auto& scheduler : schedulers) co_await scheduler->shutdown();
    const auto slots = slots_of(fired.runs());
    EXPECT_EQ(std::set<TimePoint>(slots.begin(), slots.end()).size(), slots.size()) << "a slot fired twice";
    for (const auto slot : slots) EXPECT_TRUE(on_grid(slot, slots[0], 100ms));
    co_await keeper.close();
  }());
}

// A restart keeps the grid of the stored anchor and does
// not fire a slot again (aio-fluid fires an `every` task again at each restart).
TEST(TaskScheduler, ARestartKeepsTheGridAndNeverRepeatsASlot) {
  const auto url = unique_memory_url();
  TaskManager keeper({.broker_url = url});
  FiredRuns fired(keeper);
  fluid::run([&]() -> Task<> {
    co_await keeper.open();
    auto first = scheduler_of(url, ticking(300ms));
    co_await first->startup();
    const bool one = co_await fired.wait_for(1);
    EXPECT_TRUE(one);
    co_await first->shutdown();
    const auto before = fired.size();
    auto second = scheduler_of(url, ticking(300ms));
    co_await second->startup();
    const bool next = co_await fired.wait_for(before + 1);
    EXPECT_TRUE(next);
    co_await second->shutdown();
    const auto slots = slots_of(fired.runs());
    EXPECT_EQ(std::set<TimePoint>(slots.begin(), slots.end()).size(), slots.size());
    for (const auto slot : slots) EXPECT_TRUE(on_grid(slot, slots[0], 300ms));
    const auto anchor = co_await keeper.broker().schedule_anchor("tick", Clock::now());
    EXPECT_LE(anchor, slots[0]);  // first writer wins: the anchor stayed the first scheduler's
    co_await keeper.close();
  }());
}

// After downtime across several slots, the most recent
// missed slot fires once, late; the older ones are counted in a warning.
TEST(TaskScheduler, CoalescesTheSlotsMissedWhileNoSchedulerRan) {
  const auto url = unique_memory_url();
  CapturedLog log;
  TaskManager keeper({.broker_url = url});
  FiredRuns fired(keeper);
  fluid::run([&]() -> Task<> {
    co_await keeper.open();
    auto first = scheduler_of(url, ticking(100ms));
    co_await first->startup();
    const bool one = co_await fired.wait_for(1);
    EXPECT_TRUE(one);
    co_await first->shutdown();
    const auto before = fired.size();
    const auto last_before = slots_of(fired.runs()).back();
    co_await fluid::sleep(450ms);  // the downtime itself, not a wait for a condition
    auto second = scheduler_of(url, ticking(100ms));
    const auto restarted = Clock::now();
    co_await second->startup();
    const bool caught_up = co_await fired.wait_for(before + 1);
    EXPECT_TRUE(caught_up);
    co_await second->shutdown();
    const auto late = slots_of(fired.runs()).at(before);
    EXPECT_GE(late - last_before, 400ms);  // the older missed slots did not fire
    EXPECT_LE(late, restarted);            // the latest one did, late
    EXPECT_TRUE(log.contains("missed"));
    co_await keeper.close();
  }());
}

// A disabled task's slots are skipped, not caught up when enabled.
TEST(TaskScheduler, SkipsTheSlotsOfADisabledTask) {
  const auto url = unique_memory_url();
  TaskManager keeper({.broker_url = url});
  keeper.register_task(ticking(100ms));
  FiredRuns fired(keeper);
  fluid::run([&]() -> Task<> {
    co_await keeper.open();
    (void)co_await keeper.enable_task("tick", false);
    auto scheduler = scheduler_of(url, ticking(100ms));
    co_await scheduler->startup();
    co_await fluid::sleep(350ms);  // slots pass while disabled
    EXPECT_EQ(fired.size(), 0u);
    const auto enabled_at = Clock::now();
    (void)co_await keeper.enable_task("tick", true);
    const bool fires = co_await fired.wait_for(1);
    EXPECT_TRUE(fires);
    co_await scheduler->shutdown();
    if (fires) {  // no slot of the disabled time
      EXPECT_GT(slots_of(fired.runs()).front(), enabled_at - 100ms);
    }
    co_await keeper.close();
  }());
}

// Execute_after = slot + randomize() + U[0, jitter).
TEST(TaskScheduler, DelaysEachRunByRandomizeAndJitter) {
  const auto url = unique_memory_url();
  TaskManager keeper({.broker_url = url});
  FiredRuns fired(keeper);
  fluid::run([&]() -> Task<> {
    co_await keeper.open();
    auto task = make_task("tick", [](TaskContext&) -> Task<> { co_return; },
                          {.schedule = every(200ms, 0ms, 30ms), .randomize = [] { return milliseconds(50); }});
    auto scheduler = scheduler_of(url, task);
    co_await scheduler->startup();
    const bool three = co_await fired.wait_for(3);
    EXPECT_TRUE(three);
    co_await scheduler->shutdown();
    const auto anchor = co_await keeper.broker().schedule_anchor("tick", Clock::now());
    for (const auto& run : fired.runs()) {
      const auto offset = (*run.execute_after - anchor) % milliseconds(200);
      EXPECT_GE(offset, 50ms);
      EXPECT_LT(offset, 80ms);
    }
    co_await keeper.close();
  }());
}

TEST(TaskScheduler, WithScheduleTasksOffItOnlyConsumes) {
  const auto url = unique_memory_url();
  TaskManager keeper({.broker_url = url});
  FiredRuns fired(keeper);
  fluid::run([&]() -> Task<> {
    co_await keeper.open();
    TaskScheduler scheduler({.broker_url = url, .schedule_tasks = false});
    scheduler.register_task(ticking(50ms));
    co_await scheduler.startup();
    co_await fluid::sleep(300ms);  // slots pass
    EXPECT_EQ(fired.size(), 0u);
    const auto run = co_await scheduler.queue_and_wait("tick", json::object(), no_options, 10s);
    EXPECT_EQ(run.state, TaskState::success);
    co_await scheduler.shutdown();
    co_await keeper.close();
  }());
}

TEST(TaskScheduler, WithConsumeTasksOffItOnlySchedules) {
  const auto url = unique_memory_url();
  TaskManager keeper({.broker_url = url});
  FiredRuns fired(keeper);
  fluid::run([&]() -> Task<> {
    co_await keeper.open();
    auto scheduler = scheduler_of(url, ticking(100ms), false);
    co_await scheduler->startup();
    const bool one = co_await fired.wait_for(1);
    EXPECT_TRUE(one);
    co_await scheduler->shutdown();
    const auto run = co_await keeper.get_run(fired.runs().at(0).id);
    EXPECT_EQ(run->state, TaskState::queued);
    co_await keeper.close();
  }());
}

// A scheduled run has no params: a task whose defaults do not fit is said to
// never fire, once, rather than failing at every slot.
TEST(TaskScheduler, ReportsAScheduledTaskThatCannotRunWithoutParams) {
  const auto url = unique_memory_url();
  CapturedLog log;
  TaskManager keeper({.broker_url = url});
  FiredRuns fired(keeper);
  fluid::run([&]() -> Task<> {
    co_await keeper.open();
    TaskScheduler scheduler({.broker_url = url, .schedule_tasks = true, .consume_tasks = false});
    scheduler.register_task(make_task<examples::SecretParams>(
        "needs_params", [](TaskContext&, const examples::SecretParams&) -> Task<> { co_return; },
        {.schedule = every(50ms)}));
    co_await scheduler.startup();
    co_await fluid::sleep(200ms);  // slots pass
    co_await scheduler.shutdown();
    EXPECT_EQ(fired.size(), 0u);
    EXPECT_TRUE(log.contains("'needs_params' has a schedule but cannot run without params"));
    co_await keeper.close();
  }());
}
