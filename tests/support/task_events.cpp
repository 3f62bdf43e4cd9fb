#include "support/task_events.hpp"

#include <atomic>
#include <stdexcept>

namespace fluid::test {

namespace {

constexpr TaskState all_states[] = {TaskState::init,         TaskState::queued,     TaskState::running,
                                    TaskState::success,      TaskState::failure,    TaskState::aborted,
                                    TaskState::rate_limited, TaskState::interrupted};

}  // namespace

RunEvents::RunEvents(TaskManager& manager, std::string tag) : manager_(manager), tag_(std::move(tag)) {
  for (const auto state : all_states) {
    manager_.dispatcher().register_handler(std::string(to_string(state)) + "." + tag_, [this](const TaskRun& run) {
      {
        std::lock_guard lock(mutex_);
        events_.push_back(run);
      }
      changed_.notify_all();
    });
  }
}

RunEvents::~RunEvents() {
  for (const auto state : all_states)
    manager_.dispatcher().unregister_handler(std::string(to_string(state)) + "." + tag_);
}

std::vector<TaskRun> RunEvents::all() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<TaskRun> RunEvents::of(const std::string& run_id) const {
  std::lock_guard lock(mutex_);
  std::vector<TaskRun> out;
  for (const auto& run : events_) {
    if (run.id == run_id) out.push_back(run);
  }
  return out;
}

std::vector<TaskState> RunEvents::states_of(const std::string& run_id) const {
  std::vector<TaskState> out;
  for (const auto& run : of(run_id)) out.push_back(run.state);
  return out;
}

std::size_t RunEvents::count(TaskState state) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& run : events_) n += run.state == state ? 1 : 0;
  return n;
}

Task<bool> RunEvents::wait_for(std::function<bool()> condition, std::chrono::milliseconds timeout) {
  co_return co_await changed_.wait_until(condition, detail::deadline_after(timeout));
}

Task<TaskRun> RunEvents::wait_for_state(std::string run_id, TaskState state, std::chrono::milliseconds timeout) {
  const auto seen = [&] {
    for (const auto& run : of(run_id)) {
      if (run.state == state) return true;
    }
    return false;
  };
  const bool found = co_await wait_for(seen, timeout);
  if (!found) {
    throw std::runtime_error("no " + std::string(to_string(state)) + " event of run " + run_id + " within " +
                             std::to_string(timeout.count()) + "ms");
  }
  for (const auto& run : of(run_id)) {
    if (run.state == state) co_return run;
  }
  throw std::logic_error("unreachable");
}

std::string unique_memory_url(const std::string& query) {
  static std::atomic<int> next{0};
  return "memory://test_" + std::to_string(next++) + query;
}

}  // namespace fluid::test
