#pragma once
// The narrow face fluid's own layers (a group, serve()) use on a worker
// beyond its public API. The worker's core stays private to worker.cpp.

#include "fluid/detail/notifier.hpp"
#include "fluid/worker.hpp"

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string_view>

namespace fluid::detail {

struct WorkerCore;

/// What a finished worker came to, as its finish observer is told.
struct Finished {
  const Worker* worker;   // identity only: the object may be going away
  std::uint32_t slot;     // the worker's group slot (WorkerControl::group_slot()) when it finished
  std::string_view name;  // the name fixed at startup()
  StopReason reason;
  std::exception_ptr error;  // null unless reason is failed
};

/// Told once when a worker has finished, on the thread that finished it: its
/// group's bookkeeping. One per worker (a worker has at most one group), kept
/// in the worker's core as a weak pointer (no allocation; a group gone first
/// is not told).
class FinishObserver {
 public:
  virtual void on_finished(const Finished& finished) = 0;

 protected:
  ~FinishObserver() = default;
};

/// A handle on one worker for fluid's own layers. It owns the worker's core,
/// not the Worker: whatever a hook or a late wake-up touches through it stays
/// valid after the Worker object is gone. Cheap to copy.
class WorkerControl {
 public:
  explicit WorkerControl(Worker& worker);

  /// Forces the stop now (its grace period is over): the worker ends
  /// force_stopped. Idempotent in effect; a repeat re-cancels a stuck cleanup.
  void force_stop() const;
  /// True once a forced stop was requested.
  bool forced() const;
  /// True once the worker has finished: after_shutdown() returned, and
  /// nothing touches the Worker object any more.
  bool finished() const;
  /// True once on_startup() has completed, and from then on, through the
  /// stop: whether its startup ever returned (a startup probe's question).
  bool has_been_ready() const noexcept;
  /// Wakes whatever waits on the worker's changes (its run(), its stop).
  void notify_change() const;
  /// The notifier of the worker's changes: a stop request, readiness, the end.
  Notifier& changes() const;
  /// Installs the worker's finish observer (replacing any); tells it at once
  /// if the worker has already finished.
  void on_finish(std::weak_ptr<FinishObserver> observer) const;
  /// Makes the worker's stop reason `forced` although it was not itself
  /// forced: a group some of whose children were. Call before it finishes.
  void note_forced_child() const;

  // A group finds a child by its worker without a map entry per child: the
  // worker keeps where its group holds it, a hint the group checks against
  // that slot (a worker added to two groups has one hint), and how many
  // groups hold it, so that "not a child" is known at once for a worker
  // in none. Called under the group's lock.

  /// The slot of a worker in no group yet.
  static constexpr std::uint32_t no_slot = UINT32_MAX;
  /// The slot the worker's group last gave it.
  static std::uint32_t group_slot(const Worker& worker) noexcept;
  /// How many groups hold the worker (each at most once).
  static std::uint32_t groups(const Worker& worker) noexcept;
  /// A group now holds the worker, at `slot`.
  static void joined_group(const Worker& worker, std::uint32_t slot) noexcept;
  /// The worker's group moved it to `slot`.
  static void moved_in_group(const Worker& worker, std::uint32_t slot) noexcept;
  /// A group no longer holds the worker.
  static void left_group(const Worker& worker) noexcept;

 private:
  std::shared_ptr<WorkerCore> core_;
  const Worker* worker_;  // identity only, for Finished
};

/// The grace-then-force policy, one for every worker: asked to stop, a
/// worker is forced once its grace period has run out, and forced again
/// while it has still not finished (an on_shutdown() stuck on an operation),
/// a grace period apart but never closer than min_reforce_interval.
class ForceSchedule {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds min_reforce_interval{100};

  /// For a worker asked to stop at `asked` with grace period `grace`.
  explicit ForceSchedule(std::chrono::milliseconds grace, Clock::time_point asked = Clock::now()) noexcept;
  /// When the worker is to be forced if it has not finished by then.
  Clock::time_point due() const noexcept { return due_; }
  /// Forces `worker` (due and not finished) and schedules the next force.
  void force(const WorkerControl& worker, Clock::time_point now = Clock::now());

 private:
  std::chrono::milliseconds grace_;
  Clock::time_point due_;
};

}  // namespace fluid::detail
