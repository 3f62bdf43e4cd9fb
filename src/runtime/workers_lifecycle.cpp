#include "workers_state.hpp"

#include "awaitable_thread.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <functional>

namespace fluid {

namespace asio = boost::asio;

// A child has finished (its finish observer): its exit goes to the loop.
void detail::WorkersState::on_finished(const Finished& finished) {
  std::string failed_key;
  {
    std::lock_guard lock(mutex);
    // Before the count drops: the group may finish as soon as it is zero.
    if (finished.reason == StopReason::forced) group->note_forced_child();
    const auto slot = slot_of(finished.worker, finished.slot);
    auto* child = slot == children.size() ? nullptr : &children[slot];
    if (child) exits.push_back({child->worker, child->phase == Phase::starting, finished.error});
    if (finished.error) {
      failed_key = child ? child->key() : std::string(finished.name);
      failures.push_back({failed_key, finished.error, finished.worker});
    }
  }
  // Last: the group may finish as soon as nothing is in flight.
  in_flight.leave();
  if (finished.error) {
    logger()->error("{}: child {} failed: {}", group_name, failed_key, error_message(finished.error));
  }
  wake();
}

detail::WorkersState::~WorkersState() {
  for (const auto& child : children) WorkerControl::left_group(*child.worker);
}

namespace {

/// Records the end of `worker`'s startup() (`error`: what it threw) and
/// watches for its end. A worker still in init never started: it ends here.
void on_child_started(const std::shared_ptr<State>& state, const std::shared_ptr<Worker>& worker,
                      const std::exception_ptr& error) {
  const bool never_started = !worker->has_started();
  std::string key;
  {
    std::lock_guard lock(state->mutex);
    if (state->starting == worker.get()) state->starting = nullptr;
    auto* child = state->find(*worker);
    if (child && !error && child->phase == Phase::starting) state->set_phase(*child, Phase::running);
    if (never_started) {
      key = child ? child->key() : worker->worker_name();
      state->exits.push_back({worker, true, error});
      state->failures.push_back({key, error, worker.get()});
    }
  }
  if (never_started) {
    state->in_flight.leave();
    logger()->error("{}: child {} failed to start: {}", state->group_name, key, error_message(error));
    state->wake();
    return;
  }
  // A finished child ends its slot's unanswered state; the slot holds it until then.
  detail::WorkerControl(*worker).on_finish(std::weak_ptr<detail::FinishObserver>(state));
  state->wake();
}

detail::EntryPoint start_child(std::shared_ptr<State> state, std::shared_ptr<Worker> worker) {
  std::exception_ptr error;
  try {
    co_await worker->startup();
  } catch (...) {
    error = std::current_exception();
  }
  on_child_started(state, worker, error);
}

detail::EntryPoint stop_child(std::shared_ptr<Worker> worker) {
  try {
    co_await worker->shutdown();
  } catch (...) {  // shutdown() never throws what the worker threw
  }
}

}  // namespace

void detail::launch_start(const std::shared_ptr<WorkersState>& state, std::shared_ptr<Worker> worker,
                          const asio::any_io_executor& executor) {
  detail::launch_thread(start_child(state, std::move(worker)), executor, asio::cancellation_slot());
}

void detail::launch_stop(std::shared_ptr<Worker> worker, const asio::any_io_executor& executor) {
  detail::launch_thread(stop_child(std::move(worker)), executor, asio::cancellation_slot());
}

// ---------------------------------------------------------------- supervising

void Workers::prepare_start() {
  detail::RestartBudget::validate(supervision_->intensity, supervision_->backoff, worker_name());
  auto wake = supervision_->clock->on_moved([weak = std::weak_ptr<State>(state_)] {
    if (auto state = weak.lock()) state->wake();
  });
  std::lock_guard lock(state_->mutex);
  state_->group_name = worker_name();
  state_->starting_up = true;
  state_->clock_wake = std::move(wake);
  for (auto& child : state_->children) {
    if (child.phase != Phase::idle) continue;  // queued by add_child() once the group was running
    child.phase = Phase::queued;
    state_->queue.push_back(child.worker);
  }
}

Task<> Workers::on_startup() {
  prepare_start();
  // 1. Run each: in order, each ready before the next, watching all the while.
  co_await supervise(true);
  {
    std::lock_guard lock(state_->mutex);
    state_->starting_up = false;
  }
  // A child failing to start (or failing while the others started) fails the startup.
  rethrow_first_failure();
}

Task<> Workers::run() {
  // 2. Wait for the first to stop: children added meanwhile start, supervised
  // ones restart, until a stop is requested or a child's stop stops the group.
  co_await supervise(false);
}

Task<> Workers::supervise(bool until_started) {
  auto& changed = detail::WorkerControl(*this).changes();
  for (;;) {
    const auto ticket = changed.ticket();
    if (answer_exits()) gracefully_stop();  // a child's stop stops the group
    if (!is_running()) co_return;           // asked to stop: no further child starts
    restart_due();
    start_next();
    const auto wake_at = next_wake(until_started);
    if (!wake_at) co_return;
    // Child starts and ends, stop requests and clock moves all notify `changed`.
    co_await changed.wait(ticket, *wake_at);
  }
}

void Workers::start_next() {
  const auto on = executor();
  // A child launched here runs inline until its startup() first suspends;
  // one ready by then (most are) is followed at once by the next, without a
  // turn of the loop, unless the loop has something to answer first.
  for (bool first = true;; first = false) {
    std::shared_ptr<Worker> next;
    {
      std::lock_guard lock(state_->mutex);
      if (state_->starting) return;  // one at a time: each ready before the next
      if (!first && (!state_->exits.empty() || !is_running())) return;
      while (!next && !state_->queue.empty()) {
        auto candidate = std::move(state_->queue.front());
        state_->queue.pop_front();
        auto* child = state_->find(*candidate);
        if (!child || child->worker != candidate || child->phase != Phase::queued) continue;  // left meanwhile
        if (!state_->in_flight.try_enter()) return;  // the group is stopping
        state_->set_phase(*child, Phase::starting);
        if (child->supervision) child->supervision->started_at = supervision_->clock->now();
        state_->starting = candidate.get();
        next = std::move(candidate);
      }
    }
    if (!next) return;
    detail::launch_start(state_, std::move(next), on);
  }
}

std::optional<Clock::time_point> Workers::next_wake(bool until_started) const {
  std::lock_guard lock(state_->mutex);
  if (until_started && state_->queue.empty() && !state_->starting && state_->exits.empty()) return std::nullopt;
  if (state_->in_backoff == 0 || state_->held > 0) return Clock::time_point::max();
  auto at = SupervisionClock::time_point::max();
  for (const auto& child : state_->children) {
    if (child.phase == Phase::backoff) at = std::min(at, child.supervision->restart_at.value_or(at));
  }
  return supervision_->clock->steady_deadline(at);
}

void Workers::rethrow_first_failure() const {
  std::exception_ptr first;
  {
    std::lock_guard lock(state_->mutex);
    for (const auto& record : state_->failures) {
      if (!record.answered) {
        first = record.error;
        break;
      }
    }
  }
  if (first) std::rethrow_exception(first);
}

// ---------------------------------------------------------------- stopping

namespace {

/// A child asked to stop gracefully, and when it is to be forced.
struct StopDeadline {
  detail::ForceSchedule schedule;
  std::shared_ptr<Worker> child;
  friend bool operator>(const StopDeadline& a, const StopDeadline& b) { return a.schedule.due() > b.schedule.due(); }
};

}  // namespace

// ---------------------------------------------------------------- stopping

std::vector<std::shared_ptr<Worker>> Workers::stop_supervising() {
  std::vector<std::shared_ptr<Worker>> started;
  Subscription clock_wake;  // destroyed after the lock is released
  std::lock_guard lock(state_->mutex);
  clock_wake = std::move(state_->clock_wake);
  state_->in_flight.close();  // no child starts from now on
  state_->queue.clear();      // never started: nothing to stop
  for (auto& child : state_->children) {
    if (child.phase == Phase::backoff) state_->set_phase(child, Phase::ended);  // no restart once the group stops
    if (child.phase == Phase::queued) child.phase = Phase::idle;
    if (child.worker->has_started() && !child.worker->is_stopped()) started.push_back(child.worker);
  }
  return started;
}

namespace {

/// Asks every one of `children` to stop, or forces it, and returns when each
/// one's grace period runs out (a min-heap by deadline).
std::vector<StopDeadline> ask_to_stop(std::vector<std::shared_ptr<Worker>> children, bool force) {
  std::vector<StopDeadline> stopping;
  const auto now = Clock::now();
  for (auto& child : children) {
    if (child->is_stopped()) continue;
    if (force) {
      detail::WorkerControl(*child).force_stop();
    } else {
      child->gracefully_stop();
      stopping.push_back({detail::ForceSchedule(child->stopping_grace_period(), now), std::move(child)});
    }
  }
  std::make_heap(stopping.begin(), stopping.end(), std::greater<>{});
  return stopping;
}

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

Task<bool> Workers::stop_and_wait(std::vector<std::shared_ptr<Worker>> children, bool force, bool all) {
  auto& changes = detail::WorkerControl(*this).changes();
  const auto these_stopped = [&] {
    return std::all_of(children.begin(), children.end(), [](const auto& c) { return c->is_stopped(); });
  };
  auto stopping = ask_to_stop(children, force);
  bool forced = force;
  for (;;) {
    bool cancelled = false;
    try {
      const auto next = stopping.empty() ? Clock::time_point::max() : stopping.front().schedule.due();
      bool finished = false;
      if (all) {  // every child launched, those still starting included
        finished = co_await state_->in_flight.drained(next);
      } else {
        finished = co_await changes.wait_until(these_stopped, next);
      }
      if (finished) break;
      force_overdue(stopping);
    } catch (const boost::system::system_error&) {
      cancelled = true;  // the group was forced while its children were stopping
    }
    if (!cancelled) continue;
    forced = true;
    stopping = ask_to_stop(children, true);
    co_await asio::this_coro::reset_cancellation_state();
  }
  co_return forced;
}

Task<> Workers::stop_in_reverse(std::vector<std::shared_ptr<Worker>> children) {
  // Arguments named before each co_await: see the README's g++ 12 pitfall.
  for (auto it = children.rbegin(); it != children.rend(); ++it) {
    std::vector<std::shared_ptr<Worker>> one{*it};
    const bool forced = co_await stop_and_wait(std::move(one), false, false);
    if (!forced) continue;
    // The group was forced: the rest are forced at once, together.
    std::vector<std::shared_ptr<Worker>> rest(std::next(it), children.rend());
    co_await stop_and_wait(std::move(rest), true, true);
    co_return;
  }
}

Task<> Workers::on_shutdown() {
  const bool forced = detail::WorkerControl(*this).forced();
  // 3. Signal all to stop: no further start or restart; each child is asked
  // (or forced), all at once or, in reverse order, one after another.
  auto started = stop_supervising();
  const bool one_by_one = stop_order_ == StopOrder::reverse && !forced;
  if (one_by_one) {
    co_await stop_in_reverse(std::move(started));
    started.clear();
  }
  // 4. Wait for all, children still starting included.
  co_await stop_and_wait(std::move(started), forced, true);
  // 5. Return the first error.
  rethrow_first_failure();
}

void Workers::on_worker_stopped() noexcept {
  std::vector<std::shared_ptr<Worker>> children;
  try {
    std::lock_guard lock(state_->mutex);
    for (auto& child : state_->children) children.push_back(child.worker);
  } catch (...) {  // out of memory: nothing retired, the children's destructors still count their messages
  }
  for (auto& child : children) child->retire_unstarted();
  Worker::on_worker_stopped();
}

// ---------------------------------------------------------------- changing

Task<> Workers::remove_child(std::string key) {
  std::shared_ptr<Worker> worker;
  {
    std::lock_guard lock(state_->mutex);
    if (is_stopping() || is_stopped())
      throw FluidError("group " + worker_name() + ": cannot remove " + key + " while " +
                       std::string(to_string(worker_state())));
    auto it =
        std::find_if(state_->children.begin(), state_->children.end(), [&](const Child& c) { return c.key() == key; });
    if (it == state_->children.end()) throw FluidError("group " + worker_name() + ": no child " + key);
    worker = it->worker;
    state_->set_phase(*it, Phase::removing);
  }
  co_await worker->shutdown();
  std::vector<Subscription> dropped;  // destroyed after the lock is released
  {
    std::lock_guard lock(state_->mutex);
    if (const auto* child = state_->find(*worker)) {
      dropped = state_->detach(worker.get());
      state_->mark_answered(worker.get());
      state_->erase(static_cast<std::size_t>(child - state_->children.data()));
    }
  }
  state_->wake();
}

Task<> Workers::restart_child(std::string key) {
  std::shared_ptr<Worker> worker;
  {
    std::lock_guard lock(state_->mutex);
    if (!is_running())
      throw FluidError("group " + worker_name() + ": cannot restart " + key + " while " +
                       std::string(to_string(worker_state())));
    auto it =
        std::find_if(state_->children.begin(), state_->children.end(), [&](const Child& c) { return c.key() == key; });
    if (it == state_->children.end()) throw FluidError("group " + worker_name() + ": no child " + key);
    if (!it->supervision)
      throw FluidError("group " + worker_name() + ": child " + key + " is not supervised: no factory to restart it");
    it->supervision->restart_at = supervision_->clock->now();
    switch (it->phase) {
      case Phase::starting:
      case Phase::running:
        state_->set_phase(*it, Phase::held);
        worker = it->worker;
        break;
      case Phase::finished: state_->set_phase(*it, Phase::backoff); break;
      default:  // not started yet, or already on its way to a restart
        break;
    }
  }
  if (worker) co_await worker->shutdown();
  state_->wake();
}

}  // namespace fluid
