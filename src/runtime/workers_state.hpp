#pragma once
// The inside of a Workers group, shared by its units: workers.cpp (adding,
// reading, listeners), workers_lifecycle.cpp (starting, watching, stopping)
// and workers_supervision.cpp (answering a child's end: restarts,
// strategies, giving up). Everything in WorkersState is guarded by its mutex,
// which is never held while user code runs.

#include "fluid/workers.hpp"

#include "fluid/detail/gate.hpp"
#include "runtime/worker_control.hpp"
#include "supervision.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace fluid::detail {

/// Where a child is in its life, as its group sees it.
enum class Phase : std::uint8_t {
  idle,      ///< added; the group has not started
  queued,    ///< waiting for its turn to start
  starting,  ///< its startup() is under way
  running,   ///< started (it may have stopped since: see the exits)
  backoff,   ///< supervised and stopped: a fresh instance comes at restart_at
  held,      ///< supervised, asked to stop for a restart (strategy, restart_child())
  finished,  ///< stopped, and that is fine (one-shot, on_failure after a clean stop)
  removing,  ///< remove_child(): leaves once stopped
  ended,     ///< stopped, and its stop stopped the group
};

// Answered failures kept for failures(): a child restarted for ever must not
// grow the list for ever.
constexpr std::size_t answered_failures_kept = 64;

/// A child instance that finished, for the group's loop to answer.
struct Exit {
  std::shared_ptr<Worker> worker;
  bool at_start = false;     // it never became ready
  std::exception_ptr error;  // its failure (also one before it left init)
};

/// One child failure. Unless answered (by a restart, a give-up, a removal),
/// it is the group's failure.
struct FailureRecord {
  std::string name;
  std::exception_ptr error;
  const Worker* worker = nullptr;  // identity only
  bool answered = false;
};

/// A tree listener of the group and its subscription to each current child.
struct TreeListener {
  std::uint64_t id = 0;
  std::shared_ptr<StateListener> listener;
  std::unordered_map<const Worker*, Subscription> children;
};

struct WorkersChild {
  std::shared_ptr<Worker> worker;
  std::unique_ptr<Supervision> supervision;  // null: not supervised
  std::uint32_t ordinal = 1;                 // from ChildNames: the key is name, or name_<ordinal>
  Phase phase = Phase::idle;
  bool one_shot = false;

  std::string key() const { return ChildNames::key(supervision ? supervision->name : worker->worker_name(), ordinal); }
  bool first_instance() const { return !supervision || supervision->restarts == 0; }
  ChildStanding standing() const {
    if (phase == Phase::backoff || phase == Phase::held) return ChildStanding::restarting;
    if (phase == Phase::finished) return ChildStanding::finished;
    const bool unanswered = phase == Phase::running || phase == Phase::starting;
    if (!unanswered || !worker->is_stopped()) return ChildStanding::active;
    // Stopped, its end not answered yet: say now what the answer will be, so
    // that health never sees a blip between the two.
    const bool failed = worker->failure() != nullptr;
    if (one_shot) return failed ? ChildStanding::active : ChildStanding::finished;
    if (!supervision || supervision->policy == RestartPolicy::never) return ChildStanding::active;
    if (supervision->policy == RestartPolicy::on_failure && !failed) return ChildStanding::finished;
    return ChildStanding::restarting;
  }
};

struct WorkersState final : FinishObserver {
  WorkersState() = default;
  WorkersState(const WorkersState&) = delete;
  WorkersState& operator=(const WorkersState&) = delete;
  /// Lets go of the children (WorkerControl::left_group()).
  ~WorkersState();

  /// Records that a child has finished (workers_lifecycle.cpp).
  void on_finished(const Finished& finished) override;

  mutable std::mutex mutex;  // guards everything below; never held while user code runs
  // In order; each child's worker knows its slot (WorkerControl::group_slot()).
  std::vector<WorkersChild> children;
  ChildNames names;
  std::deque<std::shared_ptr<Worker>> queue;  // to start, one at a time, in order
  const Worker* starting = nullptr;           // the child whose startup() is under way
  std::vector<Exit> exits;                    // finished, not yet answered by the loop
  Gate in_flight;                             // children launched and not finished; closed once the group stops
  std::size_t in_backoff = 0;                 // children in Phase::backoff
  std::size_t held = 0;                       // children in Phase::held
  bool starting_up = false;                   // on_startup() runs: a first start failing fails the group's
  std::vector<FailureRecord> failures;
  std::uint64_t next_listener_id = 0;
  std::vector<TreeListener> tree_listeners;
  detail::SupervisionListeners supervision_listeners;
  Subscription clock_wake;             // a manual clock's moves wake the loop
  std::optional<WorkerControl> group;  // the group itself, set once by its constructor
  std::string group_name;

  /// The slot of `worker` in `children` (`hint`: its group slot when it
  /// was alive), or children.size() if it is not a child. Compares pointers
  /// only: the worker may be gone.
  std::size_t slot_of(const Worker* worker, std::uint32_t hint) const {
    if (hint < children.size() && children[hint].worker.get() == worker) return hint;
    // Its hint is another group's (a worker added to two), or it left.
    const auto it = std::find_if(children.begin(), children.end(),
                                 [worker](const WorkersChild& child) { return child.worker.get() == worker; });
    return static_cast<std::size_t>(it - children.begin());
  }

  /// The child whose worker is `worker` (alive), or null.
  WorkersChild* find(const Worker& worker) {
    const auto hint = WorkerControl::group_slot(worker);
    const bool hinted = hint < children.size() && children[hint].worker.get() == &worker;
    if (!hinted && WorkerControl::groups(worker) == 0) return nullptr;  // in no group: the common "not a child"
    const auto slot = hinted ? hint : slot_of(&worker, hint);
    return slot == children.size() ? nullptr : &children[slot];
  }

  /// Appends `child`, telling its worker its slot.
  void append(WorkersChild child) {
    WorkerControl::joined_group(*child.worker, static_cast<std::uint32_t>(children.size()));
    children.push_back(std::move(child));
  }

  /// Takes the child at `slot` out, telling the workers after it their new slots.
  void erase(std::size_t slot) {
    WorkerControl::left_group(*children[slot].worker);
    children.erase(children.begin() + static_cast<std::ptrdiff_t>(slot));
    for (auto i = slot; i < children.size(); ++i) {
      WorkerControl::moved_in_group(*children[i].worker, static_cast<std::uint32_t>(i));
    }
  }

  /// Puts `fresh` in `slot` in place of the worker there (a restart).
  void replace(std::size_t slot, std::shared_ptr<Worker> fresh) {
    WorkerControl::left_group(*children[slot].worker);
    WorkerControl::joined_group(*fresh, static_cast<std::uint32_t>(slot));
    children[slot].worker = std::move(fresh);
  }

  void set_phase(WorkersChild& child, Phase phase) {
    in_backoff += (phase == Phase::backoff) - (child.phase == Phase::backoff);
    held += (phase == Phase::held) - (child.phase == Phase::held);
    child.phase = phase;
  }

  /// Marks `worker`'s failures answered, then forgets the oldest answered
  /// ones past answered_failures_kept.
  void mark_answered(const Worker* worker) {
    for (auto& record : failures) record.answered = record.answered || record.worker == worker;
    auto answered = static_cast<std::size_t>(
        std::count_if(failures.begin(), failures.end(), [](const FailureRecord& r) { return r.answered; }));
    for (auto it = failures.begin(); answered > answered_failures_kept && it != failures.end();) {
      if (!it->answered) {
        ++it;
        continue;
      }
      it = failures.erase(it);
      --answered;
    }
  }

  std::vector<TreeListener>::iterator find_listener(std::uint64_t id) {
    return std::find_if(tree_listeners.begin(), tree_listeners.end(),
                        [id](const TreeListener& l) { return l.id == id; });
  }

  /// Keeps `subscription` (of tree listener `id` to `worker`) if both are
  /// still there; else hands it back, to be destroyed after unlocking.
  Subscription keep(std::uint64_t id, const Worker* worker, Subscription subscription) {
    const auto entry = find_listener(id);
    if (entry == tree_listeners.end() || !find(*worker)) return subscription;
    entry->children.emplace(worker, std::move(subscription));
    return {};
  }

  /// The subscriptions of the tree listeners to `worker`, taken out: the
  /// caller destroys them after unlocking (their reset takes the child's lock).
  std::vector<Subscription> detach(const Worker* worker) {
    std::vector<Subscription> out;
    for (auto& listener : tree_listeners) {
      if (auto node = listener.children.extract(worker)) out.push_back(std::move(node.mapped()));
    }
    return out;
  }

  void wake() const { group->notify_change(); }
};

/// What answering the exits decided, to carry out once the lock is released.
struct ExitPlan {
  bool stop_group = false;
  std::exception_ptr give_up;
  std::vector<SupervisionEvent> events;
  std::vector<std::shared_ptr<Worker>> to_stop;  // siblings held for a restart
  std::vector<std::string> warnings;             // logged after unlocking (a logger's sink is user code)
};

}  // namespace fluid::detail

namespace fluid {

using Clock = std::chrono::steady_clock;
using detail::Phase;
using State = detail::WorkersState;
using Child = detail::WorkersChild;
using detail::ExitPlan;
using detail::Supervision;

namespace detail {

/// Starts one child apart from the group's loop, which goes on watching;
/// runs inline until the child's startup() first suspends.
void launch_start(const std::shared_ptr<WorkersState>& state, std::shared_ptr<Worker> worker,
                  const boost::asio::any_io_executor& executor);
/// Stops `worker` (a restart or a removal) apart from the group's loop.
void launch_stop(std::shared_ptr<Worker> worker, const boost::asio::any_io_executor& executor);

}  // namespace detail

}  // namespace fluid
