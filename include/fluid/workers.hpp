#pragma once
/// @file
/// Workers: a group of workers that start together and stop together.

#include "fluid/restart.hpp"
#include "fluid/worker.hpp"

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fluid {

/// Options of a Workers group.
struct WorkersOptions {
  /// The group's name; "" -> "workers" (or the subclass's name).
  std::string name;
  /// Kept for aio-fluid parity only: a child's stop is detected by an event, at once.
  std::chrono::milliseconds heartbeat{100};
  /// The group's own grace period (see Workers); nullopt -> env, else 10 s.
  std::optional<std::chrono::milliseconds> stopping_grace_period;
  /// How many restarts of one supervised child the group tolerates.
  RestartIntensity restart_intensity{};
  /// The pause before each restart of a supervised child.
  Backoff backoff{};
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
/// the group notices at once and stops every child concurrently, each within
/// its own grace period. The group finishes only when every child has.
/// A child's failure is never swallowed: it is logged with the child's name,
/// kept in status(), and becomes the group's failure, which
/// wait_for_shutdown() rethrows (the first child's exception, as thrown). A
/// child that had to be forced makes the group's stop reason `forced` (code 1)
/// without anything being thrown. If the group itself is forced (its own
/// grace period expired), it force-cancels its children.
/// A group is itself a Worker, so groups nest.
///
/// Supervision: a child added with add_supervised() carries a restart policy
/// and a factory; when it stops while the group runs, a fresh instance from the
/// factory replaces it after a backoff, within the restart intensity; past it
/// the group fails with an error naming the child. A stop of the group cuts
/// any backoff short.
class Workers : public Worker {
 public:
  /// A group of `workers` (null entries are an error, duplicates ignored).
  /// @throws FluidError if a worker is null.
  explicit Workers(std::vector<std::shared_ptr<Worker>> workers = {}, WorkersOptions options = {});
  ~Workers() override;

  /// Adds a child; while the group runs it is started at once. Adding the same
  /// worker twice is ignored. Call on the group's executor.
  /// @throws FluidError if `worker` is null, already started, or the group is
  ///         stopping or stopped.
  void add_workers(std::shared_ptr<Worker> worker);

  /// Adds a supervised child made by `factory` (called now for the first
  /// instance, and again for each restart) with restart `policy`.
  /// @throws FluidError as add_workers(), or if `factory` is empty or makes
  ///         a null or already started worker.
  void add_supervised(WorkerFactory factory, RestartPolicy policy = RestartPolicy::on_failure);

  /// Subscribes to the transitions of the group and of every worker in its
  /// tree, including children added or restarted later.
  [[nodiscard]] Subscription subscribe(StateListener listener) override;

  /// The number of children.
  std::size_t num_workers() const override;
  /// The children, in the order they were added.
  std::vector<Worker*> workers() override;
  /// The children, in order, owned, under their keys: a child's name, or
  /// "name_2", "name_3"... for a repeated one (ChildNames), given when it is
  /// added and kept by its slot across restarts.
  std::vector<ChildWorker> children() override;
  /// {"<child key>": <child status>, ...}, keyed as children(), so every
  /// child stays visible. A supervised child's status also has
  /// "restart_policy", "restarts" and, once one failed, "last_error".
  Task<nlohmann::json> status() override;
  /// Every child failure seen so far, in the order they happened (restarted
  /// ones included).
  std::vector<ChildFailure> failures() const;
  /// How many times the child currently at `index` (in workers() order) was restarted.
  std::size_t restarts(std::size_t index) const;

 protected:
  /// Starts the children in order; a child failing to start fails the group's
  /// startup (the children already started are stopped). A subclass that
  /// overrides it (to open what its children use first) must await this one.
  Task<> on_startup() override;
  /// Waits until the group is asked to stop or any child stops; starts
  /// children added meanwhile.
  Task<> run() final;
  /// Stops every child concurrently and waits for all; rethrows the first
  /// failure. A subclass that overrides it (to close what its children used
  /// last) must await this one first.
  Task<> on_shutdown() override;

 private:
  struct State;
  struct Child;
  void add_child(Child child);
  Task<> start_child(std::shared_ptr<Worker> child);
  Task<> start_pending();
  /// Handles children that stopped; false when the group must stop.
  bool supervise_exits();
  Task<> restart_due();
  void validate_options() const;
  void stop_children(bool force);
  static Task<> shutdown_child(std::shared_ptr<Worker> child);

  RestartIntensity intensity_;
  Backoff backoff_;
  std::shared_ptr<State> state_;
};

}  // namespace fluid
