#pragma once
/// @file
/// Workers: a group of workers that start together and stop together.

#include "fluid/restart.hpp"
#include "fluid/supervision_clock.hpp"
#include "fluid/worker.hpp"
#include "fluid/worker_tree.hpp"

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fluid {

namespace detail {
struct SupervisionOptions;
struct WorkersState;
struct WorkersChild;
struct ExitPlan;
}  // namespace detail

/// How a group stops its children.
enum class StopOrder {
  concurrent,  ///< all at once, each within its own grace period (the default)
  reverse,     ///< one after another, the last added first, each within its own grace period
};

/// Options of a Workers group.
struct WorkersOptions {
  /// The group's name; "" -> "workers" (or the subclass's name).
  std::string name;
  /// Accepted and ignored, for aio-fluid parity: a child's stop is seen at once, by an event.
  std::chrono::milliseconds heartbeat{100};
  /// The group's own grace period (see Workers); nullopt -> env, else 10 s.
  std::optional<std::chrono::milliseconds> stopping_grace_period;
  /// How many restarts of one supervised child the group tolerates.
  RestartIntensity restart_intensity{};
  /// The pause before each restart of a supervised child.
  Backoff backoff{};
  /// Which supervised children a restart takes along.
  RestartStrategy strategy = RestartStrategy::one_for_one;
  /// How the children are stopped when the group stops.
  StopOrder stop_order = StopOrder::concurrent;
  /// The clock of intensity windows, backoffs and healthy uptimes; null ->
  /// steady time. A ManualClock runs supervision on virtual time.
  std::shared_ptr<SupervisionClock> clock;
  /// The spread of backoff pauses; empty -> random_jitter().
  JitterSource jitter;
};

/// A child that failed: its key (as in status() and the tree's paths) and what it threw.
struct ChildFailure {
  std::string name;
  std::exception_ptr error;
};

/// Runs several workers as one: the first to stop, for any reason, stops all.
///
/// A service is rarely one loop. Workers starts its children in order, each
/// ready before the next; when any child stops (returns, fails or is forced)
/// the group notices at once and stops every child, each within its own
/// grace period (concurrently, or in reverse order: StopOrder). The group
/// finishes only when every child has. A stop request, or any child's stop,
/// is seen at once, also while a child is starting: no further child is
/// started, and the starting one is asked to stop like the others.
/// A child's failure is never swallowed: it is logged with the child's key,
/// kept in status() and failures(), and becomes the group's failure, which
/// wait_for_shutdown() rethrows (the first child's exception, as thrown). A
/// child that had to be forced makes the group's stop reason `forced` (code 1)
/// without anything being thrown. If the group itself is forced (its own
/// grace period expired), it force-cancels its children.
/// A group is itself a Worker, so groups nest.
///
/// Supervision: a child added with add_supervised() carries a restart policy
/// and a factory; when it stops while the group runs, a fresh instance from the
/// factory replaces it after a backoff, within the restart intensity (taking
/// its siblings along as the RestartStrategy says); past it the group fails
/// with RestartLimitExceeded. A stop of the group cuts any backoff short.
/// A child added with add_one_shot() may finish: its clean return ends it
/// alone. No user code (listeners, factories, status()) runs under the
/// group's lock: each may call back into the group.
class Workers : public Worker {
 public:
  /// A group of `workers` (null entries are an error, duplicates ignored).
  /// @throws FluidError if a worker is null.
  explicit Workers(std::vector<std::shared_ptr<Worker>> workers = {}, WorkersOptions options = {});
  ~Workers() override;

  /// Adds a child whose stop stops the group; while the group runs it is
  /// started at once (after any child starting). Adding the same worker twice
  /// is ignored. Call on the group's executor.
  /// @throws FluidError if `worker` is null, already started, or the group is
  ///         stopping or stopped.
  void add_workers(std::shared_ptr<Worker> worker);

  /// Adds a child allowed to finish (a migration, a cache warm-up): its clean
  /// return, or a forced stop, ends it and nothing else (its standing becomes
  /// `finished`); its failure still stops the group. Otherwise as add_workers().
  void add_one_shot(std::shared_ptr<Worker> worker);

  /// Adds a supervised child made by `factory` (called now for the first
  /// instance, and again for each restart) with restart `policy`.
  /// @throws FluidError as add_workers(), or if `factory` is empty or makes
  ///         a null or already started worker.
  void add_supervised(WorkerFactory factory, RestartPolicy policy = RestartPolicy::on_failure);

  /// Stops the child under `key` (within its own grace period) and takes it
  /// out of the group; its stop does not stop the group. Returns once it has
  /// stopped. Call on the group's executor.
  /// @throws FluidError if there is no such child, or the group is stopping or stopped.
  [[nodiscard]] Task<> remove_child(std::string key);

  /// Stops the supervised child under `key` (within its own grace period)
  /// and starts a fresh instance without backoff, not counted against its
  /// intensity (a finished one is started again). Returns once the old
  /// instance has stopped. Call on the group's executor.
  /// @throws FluidError if there is no such child, it is not supervised, or
  ///         the group is not running.
  [[nodiscard]] Task<> restart_child(std::string key);

  /// Subscribes to the transitions of the group and of every worker in its
  /// tree, including children added or restarted later. Reset, it is called
  /// no more, by any worker of the tree.
  [[nodiscard]] Subscription subscribe(StateListener listener) override;

  /// Subscribes to this group's supervision events (restart scheduled,
  /// restarted, gave up), told as values on the group's executor.
  [[nodiscard]] Subscription subscribe_supervision(SupervisionListener listener);

  /// The number of children.
  std::size_t num_workers() const override;
  /// The children, in the order they were added. Raw: a restart frees the
  /// instance replaced; prefer children() in code that keeps them.
  std::vector<Worker*> workers() override;
  /// The children, in order, owned, under their keys: a child's name, or
  /// "name_2", "name_3"... for a repeated one (ChildNames), given when it is
  /// added and kept by its slot across restarts; with their standing.
  std::vector<ChildWorker> children() override;
  /// {"<child key>": <child status>, ...}, keyed as children(), so every
  /// child stays visible. A supervised child's status also has
  /// "restart_policy", "restarts", "standing" and, once one failed,
  /// "last_error"; a one-shot child's has "one_shot" and "standing".
  Task<nlohmann::json> status() override;
  /// The child failures seen so far, in the order they happened: every one
  /// still unanswered, and the last 64 answered by a restart, a give-up or a
  /// removal (so a child restarted for ever keeps the list short).
  std::vector<ChildFailure> failures() const;
  /// How many times the child currently at `index` (in workers() order) was restarted.
  std::size_t restarts(std::size_t index) const;

 protected:
  /// Starts the children in order, each ready before the next. A child
  /// failing to start fails the group's startup; a stop request (or a
  /// child's stop that stops the group) ends it early, no further child started.
  /// A subclass that overrides it (to open what its children use first) must
  /// await this one.
  Task<> on_startup() override;
  /// Supervises until the group is asked to stop or a child's stop stops it:
  /// starts children added meanwhile, restarts supervised ones.
  Task<> run() final;
  /// Stops every child and waits for all; rethrows the first failure. A
  /// subclass that overrides it (to close what its children used last) must
  /// await this one first.
  Task<> on_shutdown() override;
  /// Retires the children never started (retire_unstarted()): they never will be.
  void on_worker_stopped() noexcept override;

 private:
  using Child = detail::WorkersChild;
  void add_child(Child child);
  void subscribe_tree(const std::shared_ptr<Worker>& worker);
  Task<> supervise(bool until_started);
  bool answer_exits();
  void answer_exit(Child& child, bool at_start, const std::exception_ptr& error, detail::ExitPlan& plan);
  void give_up(Child& child, std::size_t stops, std::exception_ptr error, detail::ExitPlan& plan);
  void schedule_restart(Child& child, std::chrono::milliseconds delay, std::size_t stops, std::exception_ptr error,
                        detail::ExitPlan& plan);
  void hold_siblings(Child& child, detail::ExitPlan& plan);
  void restart_due();
  std::shared_ptr<Worker> make_instance(const WorkerFactory& factory, const std::string& key) const;
  void start_next();
  std::optional<std::chrono::steady_clock::time_point> next_wake(bool until_started) const;
  void prepare_start();
  std::vector<std::shared_ptr<Worker>> stop_supervising();
  Task<bool> stop_and_wait(std::vector<std::shared_ptr<Worker>> children, bool force, bool all);
  Task<> stop_in_reverse(std::vector<std::shared_ptr<Worker>> children);
  void rethrow_first_failure() const;

  std::unique_ptr<detail::SupervisionOptions> supervision_;
  StopOrder stop_order_;
  std::shared_ptr<detail::WorkersState> state_;
};

}  // namespace fluid
