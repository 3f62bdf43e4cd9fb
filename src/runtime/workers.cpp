#include "fluid/workers.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/worker_tree.hpp"
#include "runtime/backoff.hpp"
#include "runtime/worker_control.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <functional>
#include <cmath>
#include <mutex>
#include <unordered_map>

namespace fluid {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::string_view to_string(RestartPolicy policy) noexcept {
  switch (policy) {
    case RestartPolicy::never: return "never";
    case RestartPolicy::on_failure: return "on_failure";
    case RestartPolicy::always: return "always";
  }
  return "unknown";
}

namespace {

/// What a supervised child carries: how to make it again and its restarts.
/// Kept apart so that a plain child costs a group two pointers, not this.
struct Supervision {
  WorkerFactory factory;
  RestartPolicy policy = RestartPolicy::never;
  std::string name;  // the first instance's: the slot's key stays, whatever later ones are called
  std::size_t restarts = 0;
  // Restarts within the intensity period, oldest first. A vector: an empty
  // std::deque allocates ~600 bytes.
  std::vector<Clock::time_point> recent;
  std::string last_error;
  std::optional<Clock::time_point> restart_at;
};

/// A child asked to stop gracefully, and when it is to be forced.
struct StopDeadline {
  detail::ForceSchedule schedule;
  std::shared_ptr<Worker> child;
  friend bool operator>(const StopDeadline& a, const StopDeadline& b) { return a.schedule.due() > b.schedule.due(); }
};

}  // namespace

struct Workers::Child {
  std::shared_ptr<Worker> worker;
  std::unique_ptr<Supervision> supervision;  // null: not supervised
  std::uint32_t ordinal = 1;                 // from ChildNames: the key is name, or name_<ordinal>

  std::string key() const { return ChildNames::key(supervision ? supervision->name : worker->worker_name(), ordinal); }
};

struct Workers::State {
  mutable std::mutex mutex;  // guards everything below
  std::vector<Child> children;
  std::unordered_map<const Worker*, std::size_t> index;  // worker -> its slot in children
  ChildNames names;
  std::vector<std::shared_ptr<Worker>> pending;          // added while running, not started yet
  std::vector<const Worker*> exited;                     // finished, not yet handled by run()
  std::size_t unfinished = 0;                            // started children not finished yet
  std::vector<ChildFailure> failures;
  std::vector<const Worker*> failed;                     // failures[i] came from failed[i]
  std::vector<bool> handled;                             // failures[i] answered by a restart or a give-up
  std::vector<std::shared_ptr<StateListener>> tree_listeners;
  std::vector<Subscription> tree_subscriptions;
  std::vector<StopDeadline> stopping;  // children asked to stop by stop_children(false)
  std::optional<detail::WorkerControl> group;  // the group itself, for the children's finish hooks
  std::string group_name;
};

Workers::Workers(std::vector<std::shared_ptr<Worker>> workers, WorkersOptions options)
    : Worker(WorkerOptions{std::move(options.name), options.stopping_grace_period}),
      intensity_(options.restart_intensity),
      backoff_(options.backoff),
      state_(std::make_shared<State>()) {
  for (auto& worker : workers) add_workers(std::move(worker));
}

Workers::~Workers() = default;

void Workers::add_workers(std::shared_ptr<Worker> worker) { add_child({.worker = std::move(worker)}); }

void Workers::add_supervised(WorkerFactory factory, RestartPolicy policy) {
  if (!factory) throw FluidError("group " + worker_name() + ": add_supervised() got an empty factory");
  auto first = factory();
  auto name = first ? first->worker_name() : std::string();  // null: add_child() rejects it
  add_child({.worker = std::move(first),
             .supervision = std::make_unique<Supervision>(
                 Supervision{.factory = std::move(factory), .policy = policy, .name = std::move(name)})});
}

void Workers::add_child(Child child) {
  auto& worker = child.worker;
  if (!worker) throw FluidError("group " + worker_name() + ": a child worker is null");
  std::lock_guard lock(state_->mutex);
  // The state is read under the lock on_startup() takes its list of children
  // under, so a child added while the group starts is in that list or
  // pending for run(): never both (started twice), never neither.
  const auto state = worker_state();
  if (state == WorkerState::stopping || is_stopped()) {
    throw FluidError("group " + worker_name() + ": cannot add worker " + worker->worker_name() + " while " +
                     std::string(to_string(state)));
  }
  if (state_->index.contains(worker.get())) return;
  if (worker->has_started()) {
    throw FluidError("group " + worker_name() + ": worker " + worker->worker_name() +
                     " was already started; a group starts its children itself");
  }
  state_->index[worker.get()] = state_->children.size();
  child.ordinal = state_->names.add(child.supervision ? child.supervision->name : worker->worker_name());
  for (auto& listener : state_->tree_listeners) {
    state_->tree_subscriptions.push_back(worker->subscribe([listener](const StateChange& c) { (*listener)(c); }));
  }
  if (state == WorkerState::running) {
    state_->pending.push_back(worker);
    detail::WorkerControl(*this).notify_change();  // run() starts it
  }
  state_->children.push_back(std::move(child));
}

std::size_t Workers::num_workers() const {
  std::lock_guard lock(state_->mutex);
  return state_->children.size();
}

std::vector<Worker*> Workers::workers() {
  std::lock_guard lock(state_->mutex);
  std::vector<Worker*> out;
  out.reserve(state_->children.size());
  for (auto& child : state_->children) out.push_back(child.worker.get());
  return out;
}

std::vector<ChildWorker> Workers::children() {
  std::lock_guard lock(state_->mutex);
  std::vector<ChildWorker> out;
  out.reserve(state_->children.size());
  for (auto& child : state_->children) out.push_back({child.key(), child.worker});
  return out;
}

std::vector<ChildFailure> Workers::failures() const {
  std::lock_guard lock(state_->mutex);
  return state_->failures;
}

std::size_t Workers::restarts(std::size_t index) const {
  std::lock_guard lock(state_->mutex);
  if (index >= state_->children.size() || !state_->children[index].supervision) return 0;
  return state_->children[index].supervision->restarts;
}

Subscription Workers::subscribe(StateListener listener) {
  if (!listener) return {};
  auto shared = std::make_shared<StateListener>(std::move(listener));
  auto own = Worker::subscribe([shared](const StateChange& c) { (*shared)(c); });
  std::vector<std::shared_ptr<Worker>> children;
  {
    std::lock_guard lock(state_->mutex);
    state_->tree_listeners.push_back(shared);
    for (auto& child : state_->children) children.push_back(child.worker);
  }
  std::vector<Subscription> subscriptions;
  for (auto& child : children) subscriptions.push_back(child->subscribe([shared](const StateChange& c) { (*shared)(c); }));
  std::weak_ptr<State> weak = state_;
  return Subscription([weak, shared, own = std::make_shared<Subscription>(std::move(own)),
                       subscriptions = std::make_shared<std::vector<Subscription>>(std::move(subscriptions))] {
    own->reset();
    subscriptions->clear();
    if (auto state = weak.lock()) {
      std::lock_guard lock(state->mutex);
      std::erase(state->tree_listeners, shared);
    }
  });
}

Task<nlohmann::json> Workers::status() {
  struct Shown {
    std::string key;
    std::shared_ptr<Worker> worker;
    nlohmann::json supervision;  // null: not supervised
  };
  std::vector<Shown> children;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& child : state_->children) {
      Shown shown{child.key(), child.worker, nullptr};
      if (const auto* sup = child.supervision.get()) {
        shown.supervision = {{"restart_policy", to_string(sup->policy)}, {"restarts", sup->restarts}};
        if (!sup->last_error.empty()) shown.supervision["last_error"] = sup->last_error;
      }
      children.push_back(std::move(shown));
    }
  }
  nlohmann::json out = nlohmann::json::object();
  for (auto& child : children) {
    auto status = co_await child.worker->status();
    if (!child.supervision.is_null()) status.update(child.supervision);
    out[child.key] = std::move(status);
  }
  co_return out;
}

Task<> Workers::start_child(std::shared_ptr<Worker> child) {
  // The child's end wakes the group; weak, so a child never keeps its group
  // alive. Small (one closure per child): the rest is in the shared state.
  {
    std::lock_guard lock(state_->mutex);
    ++state_->unfinished;
    if (!state_->group) {
      state_->group.emplace(*this);
      state_->group_name = worker_name();
    }
  }
  const auto child_finished = [](const std::shared_ptr<void>& context, const detail::Finished& finished) {
    auto& state = *static_cast<State*>(context.get());
    std::optional<detail::WorkerControl> group;
    {
      std::lock_guard lock(state.mutex);
      group = state.group;
      --state.unfinished;
      state.exited.push_back(finished.worker);
      if (finished.error) {
        const auto slot = state.index.find(finished.worker);
        auto key = slot != state.index.end() ? state.children[slot->second].key() : std::string(finished.name);
        logger()->error("{}: child {} failed: {}", state.group_name, key, error_message(finished.error));
        state.failures.push_back({std::move(key), finished.error});
        state.failed.push_back(finished.worker);
        state.handled.push_back(false);
      } else if (finished.reason == StopReason::forced) {
        group->note_forced_child();
      }
    }
    group->notify_change();
  };
  detail::WorkerControl(*child).on_finish({child_finished, std::weak_ptr<void>(state_)});
  // A child forced while starting (its on_startup() cancelled) is a forced
  // stop, not a failure: the observer above has recorded its exit and run()
  // deals with it like any other. Anything else startup() throws fails us.
  std::exception_ptr error;
  try {
    co_await child->startup();
  } catch (...) {
    error = std::current_exception();
  }
  if (error && child->stop_reason() != StopReason::forced) std::rethrow_exception(error);
}

void Workers::validate_options() const {
  const auto fail = [this](const std::string& what) { throw FluidError("group " + worker_name() + ": " + what); };
  if (intensity_.period.count() <= 0) fail("restart_intensity.period must be positive");
  if (backoff_.initial.count() < 0) fail("backoff.initial must not be negative");
  if (backoff_.max < backoff_.initial) fail("backoff.max must not be below backoff.initial");
  if (!(backoff_.multiplier >= 1.0) || !std::isfinite(backoff_.multiplier)) fail("backoff.multiplier must be >= 1");
  if (!(backoff_.jitter >= 0.0 && backoff_.jitter <= 1.0)) fail("backoff.jitter must be within [0, 1]");
}

Task<> Workers::on_startup() {
  validate_options();
  std::vector<std::shared_ptr<Worker>> children;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& child : state_->children) children.push_back(child.worker);
    // Added after startup() made the group running: in this list already.
    state_->pending.clear();
  }
  for (auto& child : children) co_await start_child(child);
}

Task<> Workers::start_pending() {
  for (;;) {
    std::shared_ptr<Worker> next;
    {
      std::lock_guard lock(state_->mutex);
      if (state_->pending.empty()) co_return;
      next = std::move(state_->pending.front());
      state_->pending.erase(state_->pending.begin());
    }
    co_await start_child(std::move(next));
  }
}

bool Workers::supervise_exits() {
  std::lock_guard lock(state_->mutex);
  const auto exited = std::exchange(state_->exited, {});
  for (const Worker* worker : exited) {
    const auto slot = state_->index.find(worker);
    if (slot == state_->index.end()) continue;
    if (!state_->children[slot->second].supervision) return false;  // aio-fluid: any child's stop stops the group
    auto& child = *state_->children[slot->second].supervision;
    const bool failed = worker->stop_reason() == StopReason::failed;
    if (failed) child.last_error = error_message(worker->failure());
    if (child.policy == RestartPolicy::on_failure && !failed) continue;  // done, and that is fine
    const auto now = Clock::now();
    std::erase_if(child.recent, [&](Clock::time_point at) { return now - at > intensity_.period; });
    if (child.recent.size() >= intensity_.max_restarts) {
      // The give-up error carries the child's last failure: not reported twice.
      for (std::size_t i = 0; i < state_->failed.size(); ++i) {
        if (state_->failed[i] == worker) state_->handled[i] = true;
      }
      throw FluidError("group " + worker_name() + ": child " + worker->worker_name() + " stopped " +
                       std::to_string(child.recent.size() + 1) + " times within " +
                       std::to_string(intensity_.period.count()) + "ms, more than its restart intensity allows" +
                       (child.last_error.empty() ? std::string() : "; last error: " + child.last_error));
    }
    child.recent.push_back(now);
    const auto delay = detail::backoff_delay(backoff_, child.recent.size());
    child.restart_at = now + delay;
    logger()->warn("{}: restarting {} in {}ms (restart {} of at most {} within {}ms)", worker_name(),
                   worker->worker_name(), delay.count(), child.recent.size(), intensity_.max_restarts,
                   intensity_.period.count());
  }
  // Failures answered by a restart are not the group's failure.
  for (std::size_t i = 0; i < state_->failed.size(); ++i) {
    const auto slot = state_->index.find(state_->failed[i]);
    if (slot == state_->index.end()) continue;
    const auto& sup = state_->children[slot->second].supervision;
    if (sup && sup->restart_at) state_->handled[i] = true;
  }
  return true;
}

Task<> Workers::restart_due() {
  const auto now = Clock::now();
  std::vector<std::shared_ptr<Worker>> fresh;
  {
    std::lock_guard lock(state_->mutex);
    for (std::size_t i = 0; i < state_->children.size(); ++i) {
      auto& child = state_->children[i];
      auto* sup = child.supervision.get();
      if (!sup || !sup->restart_at || *sup->restart_at > now) continue;
      sup->restart_at.reset();
      auto next = sup->factory();
      if (!next || next->has_started()) {
        throw FluidError("group " + worker_name() + ": the factory of " + child.worker->worker_name() +
                         " made a null or already started worker");
      }
      state_->index.erase(child.worker.get());
      state_->index[next.get()] = i;
      child.worker = next;
      ++sup->restarts;
      for (auto& listener : state_->tree_listeners) {
        state_->tree_subscriptions.push_back(next->subscribe([listener](const StateChange& c) { (*listener)(c); }));
      }
      fresh.push_back(std::move(next));
    }
  }
  for (auto& worker : fresh) {
    try {
      co_await start_child(worker);
    } catch (...) {  // a restart failing to start is one more exit, supervised like any
    }
  }
}

Task<> Workers::run() {
  auto& changed = detail::WorkerControl(*this).changes();
  for (;;) {
    const auto ticket = changed.ticket();
    co_await start_pending();
    if (!supervise_exits()) break;
    if (!is_running()) co_return;
    co_await restart_due();
    std::optional<Clock::time_point> next_restart;
    {
      std::lock_guard lock(state_->mutex);
      for (auto& child : state_->children) {
        const auto* sup = child.supervision.get();
        if (sup && sup->restart_at && (!next_restart || *sup->restart_at < *next_restart)) next_restart = sup->restart_at;
      }
    }
    // A stop request notifies `changed`, so a pending backoff never delays it.
    co_await changed.wait(ticket, next_restart.value_or(Clock::time_point::max()));
  }
  gracefully_stop();  // a child stopped: the whole group stops
}

Task<> Workers::shutdown_child(std::shared_ptr<Worker> child) { co_await child->shutdown(); }

void Workers::stop_children(bool force) {
  std::vector<std::shared_ptr<Worker>> children;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& child : state_->children) {
      if (child.supervision) child.supervision->restart_at.reset();  // no restart once the group stops
      children.push_back(child.worker);
    }
    state_->pending.clear();  // never started: nothing to stop
  }
  // Graceful: ask every child now and note when its own grace period runs
  // out; on_shutdown() forces those still running then. No coroutine per child.
  std::vector<StopDeadline> stopping;
  const auto now = Clock::now();
  for (auto& child : children) {
    if (!child->has_started() || child->is_stopped()) continue;
    if (force) {
      detail::WorkerControl(*child).force_stop();
    } else {
      child->gracefully_stop();
      stopping.push_back({detail::ForceSchedule(child->stopping_grace_period(), now), std::move(child)});
    }
  }
  std::make_heap(stopping.begin(), stopping.end(), std::greater<>{});
  std::lock_guard lock(state_->mutex);
  state_->stopping = std::move(stopping);
}

namespace {

/// Forces the children of `stopping` (a min-heap by deadline) whose grace
/// period has run out and that have not finished, by the policy of
/// Worker::shutdown() (ForceSchedule).
void force_overdue(std::vector<StopDeadline>& stopping) {
  const auto now = Clock::now();
  while (!stopping.empty() && stopping.front().schedule.due() <= now) {
    std::pop_heap(stopping.begin(), stopping.end(), std::greater<>{});
    auto due = std::move(stopping.back());
    stopping.pop_back();
    const detail::WorkerControl child(*due.child);
    if (child.finished()) continue;
    due.schedule.force(child, now);
    stopping.push_back(std::move(due));
    std::push_heap(stopping.begin(), stopping.end(), std::greater<>{});
  }
}

}  // namespace

Task<> Workers::on_shutdown() {
  const detail::WorkerControl self(*this);
  stop_children(self.forced());
  std::vector<StopDeadline> stopping;
  {
    std::lock_guard lock(state_->mutex);
    stopping.swap(state_->stopping);
  }
  auto all_finished = [this] {
    std::lock_guard lock(state_->mutex);
    return state_->unfinished == 0;
  };
  for (;;) {
    bool cancelled = false;
    try {
      const auto next = stopping.empty() ? Clock::time_point::max() : stopping.front().schedule.due();
      const bool finished = co_await self.changes().wait_until(all_finished, next);
      if (finished) break;
      force_overdue(stopping);
    } catch (const boost::system::system_error&) {
      cancelled = true;  // the group was forced while its children were stopping
    }
    if (!cancelled) continue;
    stop_children(true);
    stopping.clear();
    co_await asio::this_coro::reset_cancellation_state();
  }
  std::lock_guard lock(state_->mutex);
  for (std::size_t i = 0; i < state_->failures.size(); ++i) {
    if (!state_->handled[i]) std::rethrow_exception(state_->failures[i].error);
  }
}

}  // namespace fluid
