#pragma once
// Records the run events a TaskManager dispatches, so that tests wait for a
// run's state on an event instead of sleeping.

#include <fluid/detail/notifier.hpp>
#include <fluid/tasks.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace fluid::test {

using namespace std::chrono_literals;

/// A sync handler under "<state>.<tag>" for every state, for as long as it lives.
class RunEvents {
 public:
  explicit RunEvents(TaskManager& manager, std::string tag = "test_events");
  ~RunEvents();
  RunEvents(const RunEvents&) = delete;
  RunEvents& operator=(const RunEvents&) = delete;

  /// Every event so far, in dispatch order.
  std::vector<TaskRun> all() const;
  /// The events of one run, in dispatch order.
  std::vector<TaskRun> of(const std::string& run_id) const;
  /// The states of one run's events, in dispatch order.
  std::vector<TaskState> states_of(const std::string& run_id) const;
  /// How many events of `state` were dispatched (any run).
  std::size_t count(TaskState state) const;

  /// Waits until `condition()` holds (checked at each event), at most `timeout`.
  Task<bool> wait_for(std::function<bool()> condition, std::chrono::milliseconds timeout = 10s);
  /// Waits for an event of `run_id` in `state`; throws if none comes in time.
  Task<TaskRun> wait_for_state(std::string run_id, TaskState state, std::chrono::milliseconds timeout = 10s);

 private:
  TaskManager& manager_;
  std::string tag_;
  mutable std::mutex mutex_;
  std::vector<TaskRun> events_;
  detail::Notifier changed_;
};

/// A fresh memory:// URL, so tests in one process never share runs.
std::string unique_memory_url(const std::string& query = {});

}  // namespace fluid::test
