#pragma once
/// @file
/// TaskConsumer: a TaskManager that is also a Workers group claiming and
/// executing runs.

#include "fluid/task.hpp"
#include "fluid/tasks/task_manager.hpp"
#include "fluid/worker.hpp"
#include "fluid/workers.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <string>

namespace fluid {

namespace detail {
class RunnerWorker;
}

/// Executes the runs of its registered tasks, under leases, as aio-fluid's
/// TaskConsumer (a TaskManager and a Workers).
///
/// Starting it opens the manager, then its children: the runner, which
/// claims up to max_concurrent_tasks - running() runs in one broker call
/// (waiting for work on an event, never polling), executes each on a strand
/// of its own (Execution::loop), on a shared pool (Execution::thread) or in a
/// child process (Execution::process), renews their leases every lease/3 and
/// records how each attempt ended; and the status publisher, which tells the
/// broker the consumer's status every second (with a 5 s time to live).
///
/// A graceful stop (first SIGTERM under serve(), or gracefully_stop()) stops
/// claiming at once, lets the runs it holds finish within the
/// stopping_grace_period with their leases still renewed, then cancels the
/// rest and releases them (interrupted and requeued, claimable by another
/// consumer at once), all before shutdown() returns. A forced stop releases
/// without waiting.
class TaskConsumer : public TaskManager, public Workers {
 public:
  /// `worker.name` is the group's name; `worker.stopping_grace_period` (else
  /// env FLUID_STOPPING_GRACE_PERIOD, else 10 s) is what each run gets to
  /// finish on a stop, and the group's own grace is twice that (aio-fluid).
  /// @throws FluidError for bad configuration (see TaskManager).
  explicit TaskConsumer(TaskManagerConfig config = {}, WorkerOptions worker = {});
  ~TaskConsumer() override;

  /// "task_consumer".
  std::string type() const override;
  /// Runs executing now (an attempt's slot is busy until its executor has returned).
  std::size_t running() const noexcept;
  /// The children's statuses plus "tasks": {"running", "capacity",
  /// "consuming", "queues", "claimed", "finished"}.
  Task<nlohmann::json> status() override;

 protected:
  /// Opens the manager, then starts the children.
  /// @throws CpuBoundEntryPointError inside a process-mode child.
  Task<> on_startup() override;
  /// Stops the children (the runner releases what it holds), then closes the manager.
  Task<> on_shutdown() override;

 private:
  std::shared_ptr<detail::RunnerWorker> runner_;
};

}  // namespace fluid
