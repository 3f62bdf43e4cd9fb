// TaskManager::open() and close(): the broker, the task registrations, the
// resources and the background coroutines, in order and in reverse.

#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/tasks/task_manager.hpp"
#include "tasks/manager_core.hpp"

#include <boost/asio/this_coro.hpp>

#include <map>

namespace fluid {

using detail::ManagerCore;
using detail::Phase;

namespace {

/// Waits until no other open() or close() is under way, then moves `from` to
/// `to`; false when the manager is already in `done`.
Task<bool> enter_phase(ManagerCore& core, Phase from, Phase to, Phase done) {
  for (;;) {
    const auto ticket = core.phase_changed.ticket();
    {
      std::lock_guard lock(core.mutex);
      if (core.phase == done) co_return false;
      if (core.phase == from) {
        core.phase = to;
        co_return true;
      }
    }
    co_await core.phase_changed.wait(ticket);
  }
}

void set_phase(ManagerCore& core, Phase phase) {
  {
    std::lock_guard lock(core.mutex);
    core.phase = phase;
  }
  core.phase_changed.notify_all();
}

/// Tells the broker this manager's tasks; logs a max_concurrency another
/// process had set differently (last writer wins).
Task<> register_tasks(ManagerCore& core) {
  if (core.registry.empty()) co_return;
  std::vector<std::string> names;
  std::vector<TaskRegistration> registrations;
  for (const auto& [name, task] : core.registry) {
    names.push_back(name);
    registrations.push_back({.info = task.info(),
                             .max_concurrency = task.options().max_concurrency,
                             .rate_limit_retry = task.options().rate_limit_retry});
  }
  const auto known = co_await core.broker->tasks_info(names);
  for (const auto& info : known) {
    const auto& task = core.registry.at(info.name);
    if (info.max_concurrency != task.options().max_concurrency) {
      logger()->info("{}: task '{}' max_concurrency changed from {} to {}", core.label(), info.name,
                     info.max_concurrency, task.options().max_concurrency);
    }
  }
  co_await core.broker->register_tasks(std::move(registrations));
}

/// Closes the first `count` resources, last first; returns the first error.
Task<std::exception_ptr> close_resources(ManagerCore& core, std::size_t count) {
  std::exception_ptr first;
  for (std::size_t i = count; i-- > 0;) {
    if (!core.resources[i].close) continue;
    try {
      co_await core.resources[i].close();
    } catch (...) {
      logger()->error("{}: closing a resource failed: {}", core.label(), error_message(std::current_exception()));
      if (!first) first = std::current_exception();
    }
  }
  co_return first;
}

Task<> open_resources(ManagerCore& core) {
  for (std::size_t i = 0; i < core.resources.size(); ++i) {
    std::exception_ptr error;
    try {
      co_await core.resources[i].open();
    } catch (...) {
      error = std::current_exception();
    }
    if (!error) continue;
    co_await close_resources(core, i);
    std::rethrow_exception(error);
  }
}

/// The event queues and the feed follower, on the awaiting executor. The
/// feed's cursor is taken now, so every change after open() is seen.
Task<> start_background(std::shared_ptr<ManagerCore> core) {
  const auto executor = co_await boost::asio::this_coro::executor;
  const auto start = co_await core->broker->read_events("", 1, std::chrono::milliseconds(0));
  auto local = std::make_shared<detail::EventQueue>(core->local_handlers.dispatcher(), core->label() + " local events");
  auto cluster =
      std::make_shared<detail::EventQueue>(core->cluster_handlers.dispatcher(), core->label() + " cluster events");
  local->start(executor);
  cluster->start(executor);
  auto feed =
      detail::Background::spawn(executor, detail::follow_feed(core, start.cursor), core->label() + " event feed");
  std::lock_guard lock(core->mutex);
  core->local_events = std::move(local);
  core->cluster_events = std::move(cluster);
  core->feed = std::move(feed);
}

Task<> open_all(std::shared_ptr<ManagerCore> core) {
  co_await core->broker->open();
  std::exception_ptr error;
  try {
    co_await register_tasks(*core);
    co_await open_resources(*core);
  } catch (...) {
    error = std::current_exception();
  }
  if (!error) {
    try {
      co_await start_background(core);
    } catch (...) {
      error = std::current_exception();
    }
    if (error) co_await close_resources(*core, core->resources.size());
  }
  if (!error) co_return;
  co_await core->broker->close();
  std::rethrow_exception(error);
}

Task<> stop_background(ManagerCore& core) {
  std::shared_ptr<detail::Background> feed;
  std::shared_ptr<detail::EventQueue> local;
  std::shared_ptr<detail::EventQueue> cluster;
  {
    std::lock_guard lock(core.mutex);
    feed = std::exchange(core.feed, nullptr);
    local = std::exchange(core.local_events, nullptr);
    cluster = std::exchange(core.cluster_events, nullptr);
  }
  if (feed) {
    feed->cancel();
    co_await feed->join();
  }
  if (local) co_await local->close();
  if (cluster) co_await cluster->close();
}

}  // namespace

Task<> TaskManager::open() {
  const auto core = core_;
  const bool opening = co_await enter_phase(*core, Phase::closed, Phase::opening, Phase::open);
  if (!opening) co_return;
  std::exception_ptr error;
  try {
    co_await open_all(core);
  } catch (...) {
    error = std::current_exception();
  }
  set_phase(*core, error ? Phase::closed : Phase::open);
  if (error) std::rethrow_exception(error);
}

Task<> TaskManager::close() {
  const auto core = core_;
  const bool closing = co_await enter_phase(*core, Phase::open, Phase::closing, Phase::closed);
  if (!closing) co_return;
  co_await stop_background(*core);
  auto error = co_await close_resources(*core, core->resources.size());
  try {
    co_await core->broker->close();
  } catch (...) {
    logger()->error("{}: closing the broker failed: {}", core->label(), error_message(std::current_exception()));
    if (!error) error = std::current_exception();
  }
  set_phase(*core, Phase::closed);
  if (error) std::rethrow_exception(error);
}

}  // namespace fluid
