#include "workers_state.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"

#include <algorithm>

namespace fluid {

namespace {

SupervisionEvent event_of(SupervisionEvent::Kind kind, const State& state, const Child& child,
                          std::exception_ptr error) {
  return {kind,
          state.group_name,
          child.key(),
          child.supervision ? child.supervision->restarts : 0,
          std::chrono::milliseconds{0},
          std::move(error)};
}

}  // namespace

bool Workers::answer_exits() {
  ExitPlan plan;
  {
    std::lock_guard lock(state_->mutex);
    const auto exits = std::exchange(state_->exits, {});
    for (const auto& exit : exits) {
      auto* child = state_->find(*exit.worker);
      if (!child || child->worker != exit.worker) continue;  // removed, or an older instance
      answer_exit(*child, exit.at_start, exit.error, plan);
      if (plan.give_up) break;
    }
  }
  for (const auto& line : plan.warnings) logger()->warn("{}", line);
  state_->supervision_listeners.emit(plan.events);
  for (auto& worker : plan.to_stop) detail::launch_stop(std::move(worker), executor());
  if (plan.give_up) std::rethrow_exception(plan.give_up);
  return plan.stop_group;
}

/// Answers the end of `child`'s current instance (under the lock).
void Workers::answer_exit(Child& child, bool at_start, const std::exception_ptr& error, ExitPlan& plan) {
  auto& state = *state_;
  const auto& worker = *child.worker;
  const bool failed = error != nullptr;
  if (child.phase == Phase::removing) return state.mark_answered(&worker);
  if (child.phase == Phase::held) {  // stopped for a restart: it comes with the others
    state.set_phase(child, Phase::backoff);
    return state.mark_answered(&worker);
  }
  const bool fails_startup = at_start && state.starting_up && child.first_instance();
  if (!child.supervision || fails_startup || (child.one_shot && failed)) {
    state.set_phase(child, child.one_shot && !failed ? Phase::finished : Phase::ended);
    plan.stop_group = plan.stop_group || !(child.one_shot && !failed);
    return;
  }
  auto& sup = *child.supervision;
  if (failed) sup.last_error = error_message(error);
  detail::RestartBudget::Decision decision;
  const auto now = supervision_->clock->now();
  switch (sup.on_stop(failed, *supervision_, now, decision)) {
    case detail::StopAnswer::stop_group:
      state.set_phase(child, Phase::ended);
      plan.stop_group = true;
      return;
    case detail::StopAnswer::finish: state.set_phase(child, Phase::finished); return;
    case detail::StopAnswer::give_up: give_up(child, decision.stops_in_window, error, plan); return;
    case detail::StopAnswer::restart:
      schedule_restart(child, decision.delay, decision.stops_in_window, error, plan);
      return;
  }
}

void Workers::give_up(Child& child, std::size_t stops, std::exception_ptr error, ExitPlan& plan) {
  auto& state = *state_;
  state.set_phase(child, Phase::ended);
  state.mark_answered(child.worker.get());  // the give-up error carries it: not reported twice
  plan.events.push_back(event_of(SupervisionEvent::Kind::gave_up, state, child, error));
  plan.give_up = std::make_exception_ptr(
      RestartLimitExceeded(state.group_name, child.key(), stops, supervision_->intensity.period, error));
  plan.stop_group = true;
}

void Workers::schedule_restart(Child& child, std::chrono::milliseconds delay, std::size_t stops,
                               std::exception_ptr error, ExitPlan& plan) {
  auto& state = *state_;
  state.set_phase(child, Phase::backoff);
  state.mark_answered(child.worker.get());  // a restart answers it: not the group's failure
  const auto limit = supervision_->intensity.max_restarts;
  plan.warnings.push_back(state.group_name + ": restarting " + child.key() + " in " + std::to_string(delay.count()) +
                          "ms (" +
                          (limit == RestartIntensity::unlimited
                               ? std::string("no restart limit")
                               : "restart " + std::to_string(stops) + " of at most " + std::to_string(limit) +
                                     " within " + std::to_string(supervision_->intensity.period.count()) + "ms") +
                          ")");
  auto event = event_of(SupervisionEvent::Kind::restart_scheduled, state, child, std::move(error));
  event.delay = delay;
  plan.events.push_back(std::move(event));
  hold_siblings(child, plan);
}

/// The strategy's part: the supervised siblings a restart takes along stop
/// now and restart with `child`, in order, once all have stopped.
void Workers::hold_siblings(Child& child, ExitPlan& plan) {
  const auto strategy = supervision_->strategy;
  if (strategy == RestartStrategy::one_for_one) return;
  auto& state = *state_;
  const auto self = static_cast<std::size_t>(&child - state.children.data());
  const auto restart_at = *child.supervision->restart_at;
  for (std::size_t i = strategy == RestartStrategy::rest_for_one ? self + 1 : 0; i < state.children.size(); ++i) {
    auto& sibling = state.children[i];
    if (i == self || !sibling.supervision) continue;
    auto& at = sibling.supervision->restart_at;
    if (sibling.phase == Phase::backoff || sibling.phase == Phase::held) {
      at = std::max(at.value_or(restart_at), restart_at);
    } else if (sibling.phase == Phase::starting || sibling.phase == Phase::running) {
      at = restart_at;
      state.set_phase(sibling, Phase::held);
      plan.to_stop.push_back(sibling.worker);
    }
  }
}

namespace {

/// A supervised child whose backoff is over, and its fresh instance.
struct DueRestart {
  std::size_t slot;
  WorkerFactory factory;
  std::string key;
  std::shared_ptr<Worker> fresh;
};

std::vector<DueRestart> due_restarts(State& state, SupervisionClock::time_point now) {
  std::vector<DueRestart> due;
  std::lock_guard lock(state.mutex);
  if (state.in_backoff == 0 || state.held > 0) return due;  // held siblings: all restart together
  for (std::size_t i = 0; i < state.children.size(); ++i) {
    auto& child = state.children[i];
    if (child.phase != Phase::backoff || child.supervision->restart_at.value_or(now) > now) continue;
    due.push_back({i, child.supervision->factory, child.key(), nullptr});
  }
  return due;
}

/// Puts `next.fresh` in its slot in place of the stopped instance, queued to
/// start (under the lock); the old instance's subscriptions go to `dropped`.
void replace(State& state, const DueRestart& next, std::vector<Subscription>& dropped,
             std::vector<SupervisionEvent>& events) {
  auto& child = state.children[next.slot];
  if (child.phase != Phase::backoff) return;  // the group stopped meanwhile
  for (auto& subscription : state.detach(child.worker.get())) dropped.push_back(std::move(subscription));
  state.replace(next.slot, next.fresh);
  ++child.supervision->restarts;
  child.supervision->restart_at.reset();
  state.set_phase(child, Phase::queued);
  state.queue.push_back(next.fresh);
  events.push_back(event_of(SupervisionEvent::Kind::restarted, state, child, nullptr));
}

}  // namespace

void Workers::restart_due() {
  auto due = due_restarts(*state_, supervision_->clock->now());
  if (due.empty()) return;
  // The factories are user code: outside the lock, in slot order.
  for (auto& next : due) next.fresh = make_instance(next.factory, next.key);
  std::vector<Subscription> dropped;  // destroyed after the lock is released
  std::vector<SupervisionEvent> events;
  {
    std::lock_guard lock(state_->mutex);
    for (const auto& next : due) replace(*state_, next, dropped, events);
  }
  for (const auto& next : due) subscribe_tree(next.fresh);
  state_->supervision_listeners.emit(events);
}

std::shared_ptr<Worker> Workers::make_instance(const WorkerFactory& factory, const std::string& key) const {
  std::shared_ptr<Worker> fresh;
  try {
    fresh = factory();
  } catch (...) {
    throw FluidError("group " + worker_name() + ": the factory of " + key +
                     " threw: " + error_message(std::current_exception()));
  }
  if (!fresh || fresh->has_started()) {
    throw FluidError("group " + worker_name() + ": the factory of " + key + " made a null or already started worker");
  }
  return fresh;
}

}  // namespace fluid
