#include "tasks/schedule_worker.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "tasks/attempt.hpp"
#include "tasks/cancellation.hpp"

#include <algorithm>
#include <random>

namespace fluid::detail {

using std::chrono::milliseconds;

namespace {

// The longest sleep between two looks at the clock, so that a step of the
// wall clock (the slots' clock; sleeps are on the steady one) is noticed.
constexpr milliseconds max_sleep{60'000};
// Missed slots counted for the coalescing warning at most (every(1ms) after a day down...).
constexpr std::size_t max_counted = 1'000'000;

milliseconds draw_jitter(milliseconds jitter) {
  if (jitter.count() <= 0) return milliseconds(0);
  thread_local std::mt19937_64 random{std::random_device{}()};
  return milliseconds(std::uniform_int_distribution<long long>(0, jitter.count() - 1)(random));
}

/// The slots strictly between `last` and `due`: skipped by coalescing.
std::size_t count_missed(const Schedule& schedule, TimePoint last, TimePoint due, TimePoint anchor) {
  std::size_t missed = 0;
  for (auto slot = schedule.next_after(last, anchor); slot < due && missed < max_counted;
       slot = schedule.next_after(slot, anchor)) {
    ++missed;
  }
  return missed;
}

}  // namespace

ScheduleWorker::ScheduleWorker(TaskManager& manager, std::shared_ptr<ManagerCore> core, WorkerOptions options)
    : Worker(std::move(options)), manager_(manager), core_(std::move(core)) {}

Task<> ScheduleWorker::run() {
  for (const auto& [name, task] : core_->registry) {
    if (task.options().schedule && can_schedule(task)) plans_.emplace(name, Plan{&task, {}, {}});
  }
  if (plans_.empty() || !core_->config.schedule_tasks.value()) {
    co_await stop_requested();
    co_return;
  }
  co_await anchor_all();
  while (is_running()) {
    const auto now = Clock::now();
    auto next = now + max_sleep;
    for (auto& [name, plan] : plans_) {
      if (plan.next <= now) co_await fire_due(plan, now);
      next = std::min(next, plan.next);
    }
    const auto pause = std::max(next - Clock::now(), Clock::duration::zero());
    co_await sleep_while_running(pause);
  }
}

Task<> ScheduleWorker::anchor_all() {
  for (auto& [name, plan] : plans_) {
    // First writer wins: the anchor is when any scheduler first saw the task.
    plan.anchor = co_await core_->broker->schedule_anchor(name, Clock::now());
    plan.next = Clock::time_point::min();
  }
}

Task<> ScheduleWorker::fire_due(Plan& plan, TimePoint now) {
  const auto& task = *plan.task;
  const auto& schedule = *task.options().schedule;
  std::exception_ptr error;
  try {
    const auto last = co_await core_->broker->last_slot(task.name());
    if (const auto due = schedule.due(now, last, plan.anchor)) {
      if (last) {
        if (const auto missed = count_missed(schedule, *last, *due, plan.anchor); missed != 0) {
          logger()->warn("{}: task '{}' missed {} slots while no scheduler ran: only the latest fires", core_->label(),
                         task.name(), missed);
        }
      }
      const auto run = scheduled_run(task, *due);
      const auto fired = co_await core_->broker->fire_slot(task.name(), *due, run);  // not in the if: GCC PR 106188
      if (fired) {
        core_->publish(run);
        core_->publish(*fired);
        logger()->info("{} - scheduled for its slot of {}", fired->name_id(), format_time(*due));
      }
    }
  } catch (...) {
    error = std::current_exception();
  }
  if (error && is_cancellation(error)) std::rethrow_exception(error);
  if (error) {
    logger()->error("{}: firing the schedule of task '{}' failed: {}", core_->label(), task.name(),
                    error_message(error));
    plan.next = now + core_->config.sleep.value();
    co_return;
  }
  plan.next = schedule.next_after(now, plan.anchor);
}

bool ScheduleWorker::can_schedule(const TaskDefinition& task) const {
  // A scheduled run has no params: the task's defaults must do.
  try {
    (void)manager_.create_task_run(task.name());
    return true;
  } catch (const FluidError& e) {
    logger()->error("{}: task '{}' has a schedule but cannot run without params, its slots never fire: {}",
                    core_->label(), task.name(), e.what());
    return false;
  }
}

TaskRun ScheduleWorker::scheduled_run(const TaskDefinition& task, TimePoint slot) const {
  auto run = manager_.create_task_run(task.name());
  const auto& options = task.options();
  const auto extra =
      (options.randomize ? options.randomize() : milliseconds(0)) + draw_jitter(options.schedule->jitter());
  run.execute_after = slot + extra;
  return run;
}

}  // namespace fluid::detail
