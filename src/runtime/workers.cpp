#include "workers_state.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"

#include <algorithm>

namespace fluid {

namespace {

StateListener forward_to(std::shared_ptr<StateListener> listener) {
  return [listener = std::move(listener)](const StateChange& change) { (*listener)(change); };
}

}  // namespace

// ---------------------------------------------------------------- building

Workers::Workers(std::vector<std::shared_ptr<Worker>> workers, WorkersOptions options)
    : Worker(WorkerOptions{std::move(options.name), options.stopping_grace_period}),
      supervision_(std::make_unique<detail::SupervisionOptions>(
          detail::SupervisionOptions{options.restart_intensity, options.backoff, options.strategy,
                                     options.clock ? std::move(options.clock) : steady_supervision_clock(),
                                     options.jitter ? std::move(options.jitter) : random_jitter()})),
      stop_order_(options.stop_order),
      state_(std::make_shared<State>()) {
  state_->group.emplace(*this);
  for (auto& worker : workers) add_workers(std::move(worker));
}

Workers::~Workers() = default;

void Workers::add_workers(std::shared_ptr<Worker> worker) { add_child({.worker = std::move(worker)}); }

void Workers::add_one_shot(std::shared_ptr<Worker> worker) {
  add_child({.worker = std::move(worker), .one_shot = true});
}

void Workers::add_supervised(WorkerFactory factory, RestartPolicy policy) {
  if (!factory) throw FluidError("group " + worker_name() + ": add_supervised() got an empty factory");
  auto first = factory();
  auto name = first ? first->worker_name() : std::string();  // null: add_child() rejects it
  add_child({.worker = std::move(first),
             .supervision = std::make_unique<Supervision>(
                 Supervision{.factory = std::move(factory), .policy = policy, .name = std::move(name)})});
}

void Workers::add_child(Child child) {
  auto worker = child.worker;
  if (!worker) throw FluidError("group " + worker_name() + ": a child worker is null");
  bool queued = false;
  {
    std::lock_guard lock(state_->mutex);
    // The state is read under the lock prepare_start() queues the children
    // under, so a child added while the group starts is queued once.
    const auto state = worker_state();
    if (state == WorkerState::stopping || is_stopped()) {
      throw FluidError("group " + worker_name() + ": cannot add worker " + worker->worker_name() + " while " +
                       std::string(to_string(state)));
    }
    if (state_->find(*worker)) return;
    if (worker->has_started()) {
      throw FluidError("group " + worker_name() + ": worker " + worker->worker_name() +
                       " was already started; a group starts its children itself");
    }
    child.ordinal = state_->names.add(child.supervision ? child.supervision->name : worker->worker_name());
    queued = state == WorkerState::running;
    if (queued) {
      child.phase = Phase::queued;
      state_->queue.push_back(worker);
    }
    state_->append(std::move(child));
  }
  subscribe_tree(worker);
  if (queued) state_->wake();
}

/// Subscribes the group's tree listeners to a new child (or instance), outside
/// the lock: a subscription tells the listener the current state at once.
void Workers::subscribe_tree(const std::shared_ptr<Worker>& worker) {
  std::vector<std::pair<std::uint64_t, std::shared_ptr<StateListener>>> listeners;
  {
    std::lock_guard lock(state_->mutex);
    for (const auto& entry : state_->tree_listeners) listeners.emplace_back(entry.id, entry.listener);
  }
  for (auto& [id, listener] : listeners) {
    auto subscription = worker->subscribe(forward_to(listener));
    Subscription unused;  // reset meanwhile, or the child left: destroyed after unlocking
    std::lock_guard lock(state_->mutex);
    unused = state_->keep(id, worker.get(), std::move(subscription));
  }
}

// ---------------------------------------------------------------- reading

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
  for (auto& child : state_->children) out.push_back({child.key(), child.worker, child.standing()});
  return out;
}

std::vector<ChildFailure> Workers::failures() const {
  std::lock_guard lock(state_->mutex);
  std::vector<ChildFailure> out;
  out.reserve(state_->failures.size());
  for (const auto& record : state_->failures) out.push_back({record.name, record.error});
  return out;
}

std::size_t Workers::restarts(std::size_t index) const {
  std::lock_guard lock(state_->mutex);
  if (index >= state_->children.size() || !state_->children[index].supervision) return 0;
  return state_->children[index].supervision->restarts;
}

Task<nlohmann::json> Workers::status() {
  struct Shown {
    std::string key;
    std::shared_ptr<Worker> worker;
    nlohmann::json extra;  // null: a plain child
  };
  std::vector<Shown> children;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& child : state_->children) {
      Shown shown{child.key(), child.worker, nullptr};
      if (const auto* sup = child.supervision.get()) {
        shown.extra = {{"restart_policy", to_string(sup->policy)}, {"restarts", sup->restarts}};
        if (!sup->last_error.empty()) shown.extra["last_error"] = sup->last_error;
      }
      if (child.one_shot) shown.extra["one_shot"] = true;
      if (!shown.extra.is_null()) shown.extra["standing"] = to_string(child.standing());
      children.push_back(std::move(shown));
    }
  }
  // Outside the lock: a child's status() is user code, and may suspend.
  nlohmann::json out = nlohmann::json::object();
  for (auto& child : children) {
    auto status = co_await child.worker->status();
    if (!child.extra.is_null()) status.update(child.extra);
    out[child.key] = std::move(status);
  }
  co_return out;
}

// ---------------------------------------------------------------- listeners

Subscription Workers::subscribe(StateListener listener) {
  if (!listener) return {};
  auto shared = std::make_shared<StateListener>(std::move(listener));
  auto own = Worker::subscribe(forward_to(shared));
  std::uint64_t id = 0;
  std::vector<std::shared_ptr<Worker>> children;
  {
    std::lock_guard lock(state_->mutex);
    id = state_->next_listener_id++;
    state_->tree_listeners.push_back({id, shared, {}});
    for (auto& child : state_->children) children.push_back(child.worker);
  }
  // A child added from now on is subscribed by add_child(); these, here.
  for (auto& child : children) {
    auto subscription = child->subscribe(forward_to(shared));
    Subscription unused;  // destroyed after unlocking
    std::lock_guard lock(state_->mutex);
    unused = state_->keep(id, child.get(), std::move(subscription));
  }
  std::weak_ptr<State> weak = state_;
  return Subscription([weak, id, own = std::make_shared<Subscription>(std::move(own))] {
    own->reset();
    std::unordered_map<const Worker*, Subscription> dropped;  // destroyed after the lock is released
    if (auto state = weak.lock()) {
      std::lock_guard lock(state->mutex);
      const auto entry = state->find_listener(id);
      if (entry == state->tree_listeners.end()) return;
      dropped = std::move(entry->children);
      state->tree_listeners.erase(entry);
    }
  });
}

Subscription Workers::subscribe_supervision(SupervisionListener listener) {
  return state_->supervision_listeners.add(std::move(listener));
}

}  // namespace fluid
