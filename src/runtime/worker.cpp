#include "fluid/worker.hpp"

#include "fluid/config.hpp"
#include "fluid/detail/naming.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/worker_tree.hpp"
#include "awaitable_thread.hpp"
#include "runtime/worker_core.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <cassert>
#include <cstdlib>
#include <typeindex>
#include <unordered_map>
#include <utility>

namespace fluid {

namespace asio = boost::asio;
using detail::WorkerCore;

namespace {

// The default name of a worker type, demangled once per type and thread:
// demangling costs thousands of instructions, and a program has few worker
// types but may start a million workers of one. The last type asked is
// checked first: hashing a type_index hashes its mangled name.
const std::string& cached_default_name(const std::type_info& type) {
  thread_local std::unordered_map<std::type_index, std::string> names;
  thread_local const std::type_info* last_type = nullptr;
  thread_local const std::string* last_name = nullptr;
  if (last_type != nullptr && *last_type == type) return *last_name;
  auto it = names.find(type);
  if (it == names.end()) it = names.emplace(type, detail::default_name(type)).first;
  last_type = &type;
  last_name = &it->second;  // stable: unordered_map nodes do not move
  return it->second;
}

}  // namespace

void detail::force_stop(const std::shared_ptr<WorkerCore>& core) {
  bool first = false;
  bool spawned = false;
  asio::any_io_executor executor;
  {
    std::lock_guard lock(core->mutex);
    if (core->outcome.finished) return;
    first = !core->outcome.forced;
    core->outcome.forced = true;  // before emitting, so the coroutine reports force_stopped
    executor = core->executor;
    spawned = core->outcome.spawned;
  }
  if (!executor) return;
  if (first) log_worker(spdlog::level::warn, core->name, "{} forced shutdown", core->name);
  // Until the worker's coroutine has begun, startup() may still be installing
  // its cancellation handler on another thread: the coroutine emits for us
  // when it begins (it sees `forced`).
  if (!spawned) return;
  // cancellation_signal is not thread-safe: emit on the worker's executor.
  asio::dispatch(executor, [core] { core->cancel.emit(asio::cancellation_type::terminal); });
}

detail::WorkerControl::WorkerControl(Worker& worker) : core_(worker.core_), worker_(&worker) {}

void detail::WorkerControl::force_stop() const { detail::force_stop(core_); }

bool detail::WorkerControl::forced() const {
  std::lock_guard lock(core_->mutex);
  return core_->outcome.forced;
}

bool detail::WorkerControl::finished() const { return core_->is_finished(); }
bool detail::WorkerControl::has_been_ready() const noexcept { return core_->has_been_ready(); }
void detail::WorkerControl::notify_change() const { core_->changed.notify_all(); }
detail::Notifier& detail::WorkerControl::changes() const { return core_->changed; }

void detail::WorkerControl::on_finish(std::weak_ptr<FinishObserver> observer) const {
  Finished finished{worker_, no_slot, {}, StopReason::normal, nullptr};
  {
    std::lock_guard lock(core_->mutex);
    if (!core_->outcome.finished) {
      core_->on_finished = std::move(observer);
      return;
    }
    finished = {worker_, core_->group_slot.load(std::memory_order_relaxed), core_->name, core_->outcome.reason,
                core_->outcome.failure()};
  }
  if (const auto alive = observer.lock()) alive->on_finished(finished);
}

std::uint32_t detail::WorkerControl::group_slot(const Worker& worker) noexcept {
  return worker.core_->group_slot.load(std::memory_order_relaxed);
}

std::uint32_t detail::WorkerControl::groups(const Worker& worker) noexcept {
  return worker.core_->groups.load(std::memory_order_relaxed);
}

void detail::WorkerControl::joined_group(const Worker& worker, std::uint32_t slot) noexcept {
  worker.core_->groups.fetch_add(1, std::memory_order_relaxed);
  moved_in_group(worker, slot);
}

void detail::WorkerControl::moved_in_group(const Worker& worker, std::uint32_t slot) noexcept {
  worker.core_->group_slot.store(slot, std::memory_order_relaxed);
}

void detail::WorkerControl::left_group(const Worker& worker) noexcept {
  worker.core_->groups.fetch_sub(1, std::memory_order_relaxed);
}

void detail::WorkerControl::note_forced_child() const {
  std::lock_guard lock(core_->mutex);
  core_->outcome.forced_child = true;
}

detail::ForceSchedule::ForceSchedule(std::chrono::milliseconds grace, Clock::time_point asked) noexcept
    : grace_(grace), due_(asked + std::min<Clock::duration>(grace, Clock::time_point::max() - asked)) {}

void detail::ForceSchedule::force(const WorkerControl& worker, Clock::time_point now) {
  worker.force_stop();
  const auto wait = std::max(grace_, min_reforce_interval);
  due_ = now + std::min<Clock::duration>(wait, Clock::time_point::max() - now);
}

bool detail::enter_state(WorkerCore& core, WorkerState to, std::string_view reason) {
  const auto from = core.state.exchange(to);
  core.entered[static_cast<std::size_t>(to)] = std::chrono::system_clock::now();
  if (!core.listeners) return false;
  core.listeners->queue({core.name, from, to, std::string(reason)});
  return true;
}

void detail::tell_listeners(WorkerCore& core, bool until_told) {
  std::unique_lock lock(core.mutex);
  core.listeners->tell(lock, until_told);
}

Subscription detail::subscribe(const std::shared_ptr<WorkerCore>& core, const std::string& name,
                               StateListener listener) {
  if (!listener) return {};
  std::shared_ptr<Listeners::Entry> entry;
  {
    std::unique_lock lock(core->mutex);
    if (!core->listeners) core->listeners = std::make_unique<Listeners>();
    const auto state = core->state.load();
    entry = core->listeners->add(std::move(listener), {name, state, state, "current state"});
    core->listeners->tell(lock, true);
  }
  return Subscription([weak = std::weak_ptr<WorkerCore>(core), entry] {
    if (const auto alive = weak.lock()) {
      std::unique_lock lock(alive->mutex);
      alive->listeners->remove(entry, lock);
    }
  });
}

namespace {

bool is_cancellation(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const boost::system::system_error& e) {
    return e.code() == asio::error::operation_aborted;
  } catch (...) {
    return false;
  }
}

// Whose a failure is: anything thrown before a forced stop is the worker's
// own; after it, only what on_shutdown() (which runs with the cancellation
// reset) throws, except the re-cancel of a cleanup stuck past the grace
// period. note_cleanup_failure() records it for on_shutdown()'s.
void note_cleanup_failure(WorkerCore& core, const std::exception_ptr& failure) {
  std::lock_guard lock(core.mutex);
  core.outcome.own_failure = !core.outcome.forced || !is_cancellation(failure);
}

// Carries `failure`, just caught from on_startup() or run(), to the worker's
// end in its outcome, not in the lifecycle's frame (which stays allocated
// while the worker runs): its own unless the worker was forced already.
void carry_failure(WorkerCore& core, std::exception_ptr failure, bool at_startup) {
  std::lock_guard lock(core.mutex);
  core.outcome.own_failure = !core.outcome.forced;
  if (at_startup) core.outcome.startup_failed = true;
  core.outcome.error = std::move(failure);
}

std::exception_ptr carried_failure(const WorkerCore& core) {
  std::lock_guard lock(core.mutex);
  return core.outcome.error;
}

// Safety net: the lifecycle coroutine never lets an exception out, but if
// it ever did, waiters must still be released rather than hang.
void abandon(WorkerCore& core, const std::exception_ptr& error) {
  logger()->critical("{}: internal error escaped the worker coroutine: {}", core.name, error_message(error));
  bool tell = false;
  {
    std::lock_guard lock(core.mutex);
    if (core.outcome.finished) return;
    core.outcome.reason = StopReason::failed;
    core.outcome.error = error;
    core.outcome.finished = true;
    tell = detail::enter_state(core, WorkerState::stopped, "internal error");
  }
  core.changed.notify_all();
  if (tell) detail::tell_listeners(core, true);
}

// Where a worker started from `caller` runs, and whether that is somewhere
// else (a strand of its own), so that its coroutine must hop there first.
struct Placement {
  asio::any_io_executor executor;
  bool hop;
};

Placement placed(const asio::any_io_executor& caller) {
  auto executor = detail::worker_executor(caller);
  const bool hop = executor != caller;
  return {std::move(executor), hop};
}

// The worker's executor (a strand, on a multi-threaded loop) and the
// cancellation state left in the signal's slot hold the loop's services:
// drop them while the loop is alive, since the Worker may outlive it.
void release_executor(WorkerCore& core) {
  core.cancel.slot().clear();
  std::lock_guard lock(core.mutex);
  core.executor = {};
}

}  // namespace

Worker::Worker(WorkerOptions options) : core_(std::make_shared<WorkerCore>(std::move(options))) {}

Worker::~Worker() {
  const auto state = core_->state.load();
  if (state == WorkerState::init || core_->is_finished()) return;
  logger()->critical("worker {} destroyed while {}: await shutdown() before destroying a started worker",
                     core_->name, to_string(state));
  logger()->flush();
  assert(false && "fluid::Worker destroyed while started and not stopped");
  std::abort();
}

WorkerState Worker::worker_state() const noexcept { return core_->state.load(); }

std::string Worker::worker_name() const {
  {
    std::lock_guard lock(core_->mutex);
    if (!core_->name.empty()) return core_->name;
  }
  return cached_default_name(typeid(*this));
}

std::size_t Worker::num_workers() const { return 1; }
std::vector<Worker*> Worker::workers() { return {this}; }
std::vector<ChildWorker> Worker::children() { return {}; }

bool Worker::has_started() const noexcept { return worker_state() != WorkerState::init; }
bool Worker::is_running() const noexcept { return worker_state() == WorkerState::running; }
bool Worker::is_stopping() const noexcept { return worker_state() == WorkerState::stopping; }
bool Worker::is_ready() const noexcept { return is_running() && core_->has_been_ready(); }

bool Worker::is_stopped() const noexcept {
  const auto state = worker_state();
  return state == WorkerState::stopped || state == WorkerState::force_stopped;
}

void Worker::gracefully_stop() {
  // A copy: once the state has changed the worker may finish on another
  // thread and its owner destroy it.
  const auto core = core_;
  bool tell = false;
  {
    std::lock_guard lock(core->mutex);
    if (core->state.load() != WorkerState::running) return;
    tell = detail::enter_state(*core, WorkerState::stopping, "stop requested");
  }
  core->changed.notify_all();
  if (tell) detail::tell_listeners(*core, false);
}

Task<> Worker::startup() {
  auto core = core_;
  const auto name = worker_name();
  if (core->state.load() != WorkerState::init) {
    throw WorkerStartError("worker " + name + ": startup() called on a worker already started (state " +
                           std::string(to_string(core->state.load())) + ")");
  }
  std::optional<std::chrono::milliseconds> option;
  {
    std::lock_guard lock(core->mutex);
    option = core->grace;
  }
  const auto grace = resolve_stopping_grace_period(option, name);
  const auto placement = placed(co_await asio::this_coro::executor);
  const auto& executor = placement.executor;
  bool tell = false;
  {
    std::lock_guard lock(core->mutex);
    // Checked again where the state changes: a concurrent startup() that got
    // here first must find the worker untouched by this one.
    if (core->state.load() != WorkerState::init) {
      throw WorkerStartError("worker " + name + ": startup() called concurrently on a worker already started");
    }
    if (core->outcome.retired) {
      throw WorkerStartError("worker " + name + ": startup() on a worker retired unstarted (its group stopped first)");
    }
    core->name = name;
    core->grace = grace;
    // Before the state leaves init: whoever sees "running" may use it.
    // Tracked: while the worker lives its loop's run() does not return, as
    // with co_spawn's work guard (finish() lets go of it).
    core->executor = asio::prefer(executor, asio::execution::outstanding_work.tracked);
    tell = detail::enter_state(*core, WorkerState::running, "startup");
  }
  if (tell) detail::tell_listeners(*core, false);
  // Not co_spawn: its extra frame, completion handler, handler work guard and
  // cancellation forwarder cost a few hundred bytes a worker.
  detail::launch_thread(lifecycle(core, placement.hop), executor, core->cancel.slot());
  const auto started = [&] {
    std::lock_guard lock(core->mutex);
    return core->outcome.ready || core->outcome.finished;
  };
  // Usually started already: launched inline, a worker whose on_startup()
  // does not suspend is ready here, and waiting would cost two frames.
  if (!started()) co_await core->changed.wait_until(started);
  std::lock_guard lock(core->mutex);
  // Never ready: the outcome's failure if it failed (as wait_for_shutdown()
  // reports it; a group's on_shutdown() may carry a child's), else what
  // on_startup() threw (after a forced stop: the cancellation).
  if (core->outcome.startup_failed) std::rethrow_exception(core->outcome.error);
}

// The bottom frame stays alive while the worker runs: what only the start or
// the end needs lives in frames of their own, freed once done, and a failure
// is carried in the outcome. The start is a lambda, for lifecycle()'s access
// to on_startup().
Worker::Lifecycle Worker::lifecycle(std::shared_ptr<WorkerCore> core, bool hop) {
  // True once on_startup() has completed; false if it threw (carried).
  // Static: a local lambda object would take a byte of the frame.
  static constexpr auto begin = [](Worker& self, WorkerCore& core, bool hop) -> Task<bool> {
    // Like co_spawn: begin on the worker's executor, not inside the caller of
    // startup(). Launched inline, we are on the caller's executor already:
    // only a strand of the worker's own needs the hop.
    if (hop) co_await asio::dispatch(asio::use_awaitable);
    bool forced_already = false;
    {
      std::lock_guard lock(core.mutex);
      core.outcome.spawned = true;  // from now on force_stop() emits itself
      forced_already = core.outcome.forced;
    }
    // Forced while startup() was still launching us: cancel now, on our own
    // executor, so the first co_await below ends like any forced stop.
    if (forced_already) core.cancel.emit(asio::cancellation_type::terminal);
    std::exception_ptr failure;
    try {
      co_await self.on_startup();
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      carry_failure(core, std::move(failure), true);
      co_return false;
    }
    {
      std::lock_guard lock(core.mutex);
      core.outcome.ready = true;
    }
    core.changed.notify_all();
    log_worker(spdlog::level::info, core.name, "{} started running", core.name);
    co_return true;
  };
  try {
    const bool started = co_await begin(*this, *core, hop);
    if (started) {
      try {
        co_await run();
      } catch (...) {
        carry_failure(*core, std::current_exception(), false);
      }
    }
    // A forced stop leaves the cancellation set: every co_await, even of
    // on_shutdown(), would throw and nothing would be released. Reset it here,
    // in the coroutine that owns the state, before awaiting anything else;
    // also when not cancelled: asking costs this frame, which stays
    // allocated while the worker runs, a slot of each of its co_awaits.
    co_await asio::this_coro::reset_cancellation_state();
    co_await run_on_shutdown(*core);
  } catch (...) {
    // Out of an awaitable thread, it would escape from the loop's run().
    abandon(*core, std::current_exception());
  }
  release_executor(*core);
}

Task<> Worker::run_on_shutdown(WorkerCore& core) {
  auto failure = carried_failure(core);
  try {
    co_await on_shutdown();
  } catch (...) {
    const auto error = std::current_exception();
    bool replaces = !failure;
    if (failure) {  // a cleanup failure of its own outweighs run()'s reaction to a forced stop
      std::lock_guard lock(core.mutex);
      replaces = !core.outcome.own_failure && core.outcome.forced && !is_cancellation(error);
    }
    if (replaces) {
      failure = error;
      note_cleanup_failure(core, failure);
    } else if (error != failure) {  // a group rethrows the failure that stopped it: not news
      logger()->error("{}: on_shutdown() failed after an earlier error: {}", core.name, error_message(error));
    }
  }
  finish(core, std::move(failure));
}

void Worker::finish(WorkerCore& core, std::exception_ptr failure) {
  on_worker_stopped();
  StopReason reason = StopReason::normal;
  bool forced = false;
  std::weak_ptr<detail::FinishObserver> on_finished;
  {
    std::lock_guard lock(core.mutex);
    auto& outcome = core.outcome;
    forced = outcome.forced;
    // A failure of the worker's own stays the outcome, also when the forced
    // cancel came later (it interrupted the cleanup); what run() threw in
    // reaction to the cancel does not count. A forced child is not a failure.
    if (failure && !outcome.own_failure) failure = nullptr;
    reason = failure ? StopReason::failed
             : (forced || outcome.forced_child) ? StopReason::forced
                                                : StopReason::normal;
    outcome.reason = reason;
    if (reason == StopReason::failed) outcome.error = failure;
  }
  const auto to = forced ? WorkerState::force_stopped : WorkerState::stopped;
  const std::string text = reason == StopReason::normal   ? "normal shutdown"
                           : reason == StopReason::forced ? "forced shutdown"
                                                          : error_message(failure);
  if (reason == StopReason::failed) {
    log_worker(spdlog::level::err, core.name, "{} stopped running: {}", core.name, text);
  } else {
    log_worker(spdlog::level::info, core.name, "{} stopped running: {}", core.name, text);
  }
  bool tell = false;
  {
    std::lock_guard lock(core.mutex);
    tell = detail::enter_state(core, to, text);
  }
  // Until told: once the worker has finished, its listeners have seen it.
  if (tell) detail::tell_listeners(core, true);
  try {
    after_shutdown(text, exit_code(reason));
  } catch (...) {
    logger()->error("{}: after_shutdown() threw: {}", core.name, error_message(std::current_exception()));
  }
  asio::any_io_executor executor;  // dropped here, on the loop, not by a Worker outliving it
  {
    std::lock_guard lock(core.mutex);
    core.outcome.finished = true;  // from here on the Worker object may be destroyed
    // Taken with `finished` set, in one step: a hook set meanwhile by
    // on_finish() is either taken here or sees `finished` and runs at once,
    // never stored after the taking and lost (a group then waits for ever).
    on_finished = std::move(core.on_finished);
    executor = std::exchange(core.executor, {});
  }
  core.changed.notify_all();
  if (const auto observer = on_finished.lock()) {
    observer->on_finished({this, core.group_slot.load(std::memory_order_relaxed), core.name, reason, failure});
  }
}

Task<> Worker::shutdown() {
  auto core = core_;
  if (core->state.load() == WorkerState::init) co_return;
  const detail::WorkerControl control(*this);
  gracefully_stop();
  auto finished = [&] { return core->is_finished(); };
  detail::ForceSchedule schedule(stopping_grace_period());
  // Asked to stop, a worker most often finishes in its next turn of the loop
  // (its wait wakes, run() returns, on_shutdown() has nothing to wait for):
  // one turn first, then the wait with the grace period's timer, which costs
  // two frames, a timer and the reactor's lock twice more.
  if (!finished()) co_await asio::post(asio::use_awaitable);
  while (!finished()) {
    // Named, never awaited inside a condition: g++ 12 miscompiles some of
    // those (GCC PR 106188), crashing when the coroutine resumes.
    const bool done = co_await core->changed.wait_until(finished, schedule.due());
    if (done) break;
    schedule.force(control);
  }
}

Task<> Worker::wait_for_shutdown() {
  auto core = core_;
  if (core->state.load() == WorkerState::init) co_return;
  co_await core->changed.wait_until([&] { return core->is_finished(); });
  std::lock_guard lock(core->mutex);
  if (const auto failure = core->outcome.failure()) std::rethrow_exception(failure);
}

Task<nlohmann::json> Worker::status() {
  const auto state = worker_state();
  nlohmann::json out{{"state", to_string(state)},
                     {"running", state == WorkerState::running},
                     {"stopping", state == WorkerState::stopping},
                     {"stopped", is_stopped()}};
  std::lock_guard lock(core_->mutex);
  nlohmann::json since = nlohmann::json::object();
  for (std::size_t i = 0; i < core_->entered.size(); ++i) {
    const auto at = core_->entered[i];
    if (at.time_since_epoch().count() == 0) continue;
    since[std::string(to_string(static_cast<WorkerState>(i)))] =
        std::chrono::duration<double>(at.time_since_epoch()).count();
  }
  out["state_since"] = std::move(since);
  if (const auto& outcome = core_->outcome; outcome.finished) {
    out["stop_reason"] = to_string(outcome.reason);
    out["exit_code"] = exit_code(outcome.reason);
    if (const auto failure = outcome.failure()) out["error"] = error_message(failure);
  }
  co_return out;
}

Subscription Worker::subscribe(StateListener listener) {
  return detail::subscribe(core_, worker_name(), std::move(listener));
}

Task<bool> Worker::sleep_while_running(std::chrono::steady_clock::duration d) {
  // Notifier::wait directly, not wait_until(): one coroutine frame less per
  // sleeping worker.
  const auto deadline = detail::deadline_after(d);
  for (;;) {
    const auto seen = core_->changed.ticket();
    if (!is_running()) co_return false;
    const bool notified = co_await core_->changed.wait(seen, deadline);
    if (!notified) co_return is_running();
  }
}

void Worker::retire_unstarted() noexcept {
  {
    std::lock_guard lock(core_->mutex);
    if (core_->state.load() != WorkerState::init || core_->outcome.retired) return;
    core_->outcome.retired = true;
  }
  on_worker_stopped();
}

Task<> Worker::stop_requested() {
  // A worker in init has not been asked yet: it waits for its start, then the request.
  const auto requested = [this] { return has_started() && !is_running(); };
  for (;;) {
    const auto seen = core_->changed.ticket();
    if (requested()) co_return;
    co_await core_->changed.wait(seen);
  }
}

std::chrono::milliseconds Worker::stopping_grace_period() const {
  std::optional<std::chrono::milliseconds> option;
  {
    std::lock_guard lock(core_->mutex);
    if (core_->state.load() != WorkerState::init) return *core_->grace;
    option = core_->grace;
  }
  return resolve_stopping_grace_period(option, worker_name());
}

std::optional<StopReason> Worker::stop_reason() const {
  std::lock_guard lock(core_->mutex);
  return core_->outcome.finished ? std::optional(core_->outcome.reason) : std::nullopt;
}

std::exception_ptr Worker::failure() const {
  std::lock_guard lock(core_->mutex);
  return core_->outcome.failure();
}

boost::asio::any_io_executor Worker::executor() const {
  std::lock_guard lock(core_->mutex);
  // Without the work the core holds: a copy kept by the caller must not keep
  // the loop running once the worker is done.
  if (!core_->executor) return {};
  return asio::prefer(core_->executor, asio::execution::outstanding_work.untracked);
}

void Worker::on_worker_stopped() noexcept {}
Task<> Worker::on_startup() { co_return; }
Task<> Worker::on_shutdown() { co_return; }
void Worker::after_shutdown(std::string_view, int) {}

}  // namespace fluid
