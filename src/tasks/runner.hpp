#pragma once
// The consumer's runner: the child worker that claims runs, executes each on
// a strand of its own, keeps their leases, and releases what it holds when
// it stops.

#include "fluid/detail/notifier.hpp"
#include "fluid/tasks/broker.hpp"
#include "fluid/tasks/task_manager.hpp"
#include "fluid/worker.hpp"
#include "tasks/attempt.hpp"
#include "tasks/manager_core.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

namespace fluid::detail {

/// A run this consumer holds: claimed, its executor not yet returned.
struct RunSlot {
  Lease lease;
  std::shared_ptr<Attempt> attempt;  // its context holds the run as claimed, params in clear
  bool settled = false;              // its end is recorded (or its lease lost); guarded by RunnerState::mutex

  const TaskRun& run() const noexcept { return attempt->context->run(); }
};

/// What the runner and the coroutines of the runs it holds share.
struct RunnerState {
  RunnerState(TaskManager& manager, std::shared_ptr<ManagerCore> core) : manager(manager), core(std::move(core)) {}

  TaskManager& manager;
  std::shared_ptr<ManagerCore> core;
  std::atomic<std::size_t> running{0};
  Notifier freed;   // a slot was freed or settled, or the runner is asked to stop
  Notifier keeper;  // the keeper's wake-up: its loop is over

  std::mutex mutex;  // guards what follows
  // By fencing token, not run id: a run reaped from this very consumer and
  // claimed again is held twice, its stale attempt until that one's
  // executor returns.
  std::unordered_map<std::uint64_t, std::shared_ptr<RunSlot>> slots;
  std::size_t unsettled = 0;
  std::uint64_t claimed = 0;
  std::uint64_t finished = 0;
  std::set<std::string> skipped_logged;  // tasks of runs it cannot take, logged once each
  bool keeper_done = false;

  std::size_t count_unsettled();
};

class RunnerWorker : public Worker {
 public:
  /// `run_grace`: how long held runs may finish on a graceful stop.
  RunnerWorker(TaskManager& manager, std::shared_ptr<ManagerCore> core, std::chrono::milliseconds run_grace,
               WorkerOptions options);

  std::size_t running() const noexcept { return state_->running.load(std::memory_order_relaxed); }
  /// "running", "capacity", "consuming", "queues", "claimed", "finished".
  nlohmann::json tasks_status() const;
  /// Told the feed's events other than state changes (from the feed's executor).
  void on_feed_event(const TaskEvent& event);
  void gracefully_stop() override;

 protected:
  Task<> run() override;
  /// Releases what the runner still holds (after a forced stop: at once).
  Task<> on_shutdown() override;

 private:
  Task<> claim_and_drain();
  ClaimRequest claim_request() const;
  Task<> claim_loop();
  /// A claim, or nullopt after a broker error (logged once per outage, then a pause).
  Task<std::optional<ClaimResult>> claim_or_pause(ClaimRequest request);
  Task<ClaimResult> claim(ClaimRequest request);
  Task<ClaimResult> claim_or_stop(ClaimRequest request);
  Task<> take(ClaimResult result);
  Task<> start(TaskRun run, Lease lease);
  Task<> drain();
  Task<> keep_leases();
  Task<> renew();
  Task<> reap();
  void release_all();
  void log_skipped(const std::vector<std::string>& tasks);

  std::shared_ptr<RunnerState> state_;
  std::chrono::milliseconds run_grace_;
  bool broker_failing_ = false;  // touched by the claim loop only
};

}  // namespace fluid::detail
