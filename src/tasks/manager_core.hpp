#pragma once
// What a TaskManager is made of, shared with the coroutines it starts (the
// feed follower, the event queues) and with its consumer's runner, which may
// outlive a call.

#include "fluid/detail/notifier.hpp"
#include "fluid/tasks/broker.hpp"
#include "fluid/tasks/task_manager.hpp"
#include "tasks/background.hpp"
#include "tasks/event_queue.hpp"
#include "tasks/run_waiters.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace fluid::detail {

/// The configuration in force and the broker it names.
struct ResolvedConfig {
  TaskManagerConfig config;
  std::shared_ptr<TaskBroker> broker;
};
/// Fills every unset field of `config` from the environment or the
/// defaults, checks them, and makes the broker.
/// @throws FluidError naming the setting and quoting the value, or the URL.
ResolvedConfig resolve_config(TaskManagerConfig config);

struct Resource {
  std::function<Task<>()> open;
  std::function<Task<>()> close;
};

enum class Phase { closed, opening, open, closing };

struct ManagerCore {
  ManagerCore(ResolvedConfig resolved, std::string type);
  ~ManagerCore();

  TaskManagerConfig config;
  std::shared_ptr<TaskBroker> broker;
  std::string manager_id;
  std::string type;
  TaskRegistry registry;
  std::vector<Resource> resources;

  TaskDispatcher dispatcher;
  AsyncHandlers local_handlers;
  AsyncHandlers cluster_handlers;
  RunWaiters waiters;
  /// Set by a consumer before open(): told every event of the feed other
  /// than a state change (an abort).
  std::function<void(const TaskEvent&)> on_feed_event;

  mutable std::mutex mutex;  // guards what follows
  Phase phase = Phase::closed;
  Notifier phase_changed;
  std::shared_ptr<EventQueue> local_events;
  std::shared_ptr<EventQueue> cluster_events;
  std::shared_ptr<Background> feed;
  std::unique_ptr<boost::asio::thread_pool> pool;  // Execution::thread, made on first use

  /// The phase now.
  Phase current_phase() const;
  /// @throws FluidError("task manager not open") unless open.
  void require_open() const;
  /// The task named `name`. @throws UnknownTaskError("unknown task 'x'").
  const TaskDefinition& task(std::string_view name) const;
  /// `run` as shown outside the executor and the broker: its task's secret params masked.
  TaskRun shown(TaskRun run) const;
  /// Dispatches a change this process made: sync handlers now, async ones queued.
  void publish(const TaskRun& run);
  /// The executor Execution::thread runs on: a strand of the shared pool.
  boost::asio::any_io_executor thread_executor();
  /// "task_consumer 1a2b3c4d" for log lines.
  std::string label() const;
};

/// Follows the broker's event feed from `cursor` until cancelled: wakes
/// waiters, feeds cluster handlers, tells the consumer; decodes only the
/// events one of them wants.
Task<> follow_feed(std::shared_ptr<ManagerCore> core, std::string cursor);

}  // namespace fluid::detail
