#include "fluid/workers.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "worker_core.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <mutex>
#include <unordered_set>

namespace fluid {

namespace asio = boost::asio;

struct Workers::State {
  mutable std::mutex mutex;  // guards everything below
  std::vector<std::shared_ptr<Worker>> children;
  std::vector<std::shared_ptr<Worker>> pending;  // added while running, not started yet
  std::size_t unfinished = 0;                    // started children not finished yet
  bool child_stopped = false;
  std::vector<ChildFailure> failures;
};

namespace {

std::string message_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

Workers::Workers(std::vector<std::shared_ptr<Worker>> workers, WorkersOptions options)
    : Worker(WorkerOptions{std::move(options.name), options.stopping_grace_period}),
      state_(std::make_shared<State>()) {
  for (auto& worker : workers) add_workers(std::move(worker));
}

Workers::~Workers() = default;

void Workers::add_workers(std::shared_ptr<Worker> worker) {
  if (!worker) throw FluidError("group " + worker_name() + ": add_workers() got a null worker");
  const auto state = worker_state();
  if (state == WorkerState::stopping || is_stopped()) {
    throw FluidError("group " + worker_name() + ": cannot add worker " + worker->worker_name() + " while " +
                     std::string(to_string(state)));
  }
  std::lock_guard lock(state_->mutex);
  auto& children = state_->children;
  if (std::find(children.begin(), children.end(), worker) != children.end()) return;
  if (worker->has_started()) {
    throw FluidError("group " + worker_name() + ": worker " + worker->worker_name() +
                     " was already started; a group starts its children itself");
  }
  children.push_back(worker);
  if (state == WorkerState::running) {
    state_->pending.push_back(std::move(worker));
    WorkerAccess::core(*this)->changed.notify_all();  // run() starts it
  }
}

std::size_t Workers::num_workers() const {
  std::lock_guard lock(state_->mutex);
  return state_->children.size();
}

std::vector<Worker*> Workers::workers() {
  std::lock_guard lock(state_->mutex);
  std::vector<Worker*> out;
  out.reserve(state_->children.size());
  for (auto& child : state_->children) out.push_back(child.get());
  return out;
}

std::vector<ChildFailure> Workers::failures() const {
  std::lock_guard lock(state_->mutex);
  return state_->failures;
}

Task<nlohmann::json> Workers::status() {
  std::vector<std::shared_ptr<Worker>> children;
  {
    std::lock_guard lock(state_->mutex);
    children = state_->children;
  }
  nlohmann::json out = nlohmann::json::object();
  for (auto& child : children) {
    std::string key = child->worker_name();
    for (int n = 2; out.contains(key); ++n) key = child->worker_name() + "_" + std::to_string(n);
    out[key] = co_await child->status();
  }
  co_return out;
}

Task<> Workers::start_child(std::shared_ptr<Worker> child) {
  // The child's end wakes the group; weak, so a child never keeps its group alive.
  std::weak_ptr<State> weak = state_;
  std::weak_ptr<detail::WorkerCore> group = WorkerAccess::core(*this);
  const std::string group_name = worker_name();
  Worker* raw = child.get();
  {
    std::lock_guard lock(state_->mutex);
    ++state_->unfinished;
  }
  detail::observe_finish(*WorkerAccess::core(*child), [weak, group, group_name, raw] {
    auto state = weak.lock();
    auto core = group.lock();
    if (!state || !core) return;
    {
      std::lock_guard lock(state->mutex);
      --state->unfinished;
      state->child_stopped = true;
      if (auto error = raw->failure()) {
        logger()->error("{}: child {} failed: {}", group_name, raw->worker_name(), message_of(error));
        state->failures.push_back({raw->worker_name(), error});
      } else if (raw->stop_reason() == StopReason::forced) {
        std::lock_guard core_lock(core->mutex);
        core->forced_child = true;
      }
    }
    core->changed.notify_all();
  });
  co_await child->startup();
}

Task<> Workers::on_startup() {
  std::vector<std::shared_ptr<Worker>> children;
  {
    std::lock_guard lock(state_->mutex);
    children = state_->children;
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

Task<> Workers::run() {
  auto& changed = WorkerAccess::core(*this)->changed;
  for (;;) {
    const auto ticket = changed.ticket();
    co_await start_pending();
    {
      std::lock_guard lock(state_->mutex);
      if (state_->child_stopped) break;
    }
    if (!is_running()) co_return;
    co_await changed.wait(ticket);
  }
  gracefully_stop();  // a child stopped: the whole group stops
}

Task<> Workers::shutdown_child(std::shared_ptr<Worker> child) { co_await child->shutdown(); }

void Workers::stop_children(bool force) {
  std::vector<std::shared_ptr<Worker>> children;
  {
    std::lock_guard lock(state_->mutex);
    children = state_->children;
    state_->pending.clear();  // never started: nothing to stop
  }
  const auto executor = this->executor();
  for (auto& child : children) {
    if (!child->has_started() || child->is_stopped()) continue;
    if (force) {
      detail::force_stop(WorkerAccess::core(*child));
    } else {
      asio::co_spawn(executor, shutdown_child(child), asio::detached);
    }
  }
}

Task<> Workers::on_shutdown() {
  const auto core = WorkerAccess::core(*this);
  bool forced = false;
  {
    std::lock_guard lock(core->mutex);
    forced = core->forced;
  }
  stop_children(forced);
  auto all_finished = [this] {
    std::lock_guard lock(state_->mutex);
    return state_->unfinished == 0;
  };
  for (;;) {
    bool cancelled = false;
    try {
      co_await core->changed.wait_until(all_finished);
    } catch (const boost::system::system_error&) {
      cancelled = true;  // the group was forced while its children were stopping
    }
    if (!cancelled) break;
    stop_children(true);
    co_await asio::this_coro::reset_cancellation_state();
  }
  std::lock_guard lock(state_->mutex);
  if (!state_->failures.empty()) std::rethrow_exception(state_->failures.front().error);
}

}  // namespace fluid
