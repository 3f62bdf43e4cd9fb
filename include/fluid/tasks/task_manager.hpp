#pragma once
/// @file
/// TaskManager: registers tasks, queues runs, executes them inline, follows
/// their events. Not a worker: TaskConsumer adds the workers that claim runs.

#include "fluid/dispatcher.hpp"
#include "fluid/task.hpp"
#include "fluid/tasks/broker.hpp"
#include "fluid/tasks/task_definition.hpp"
#include "fluid/tasks/task_run.hpp"
#include "fluid/tasks/task_state.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace fluid {

/// How a manager reaches its broker and how its consumer works. Every field
/// left unset comes from the environment, strictly (a malformed value is a
/// FluidError naming the variable), else from the default given here.
struct TaskManagerConfig {
  /// "": env FLUID_BROKER_URL, else "memory://".
  std::string broker_url;
  /// Whether a TaskScheduler fires schedules; nullopt: !is_in_cpu_process().
  std::optional<bool> schedule_tasks;
  /// Whether a TaskConsumer claims runs (false: a scheduler that only schedules).
  bool consume_tasks = true;
  /// Runs one consumer executes at once (0 claims nothing); nullopt: env
  /// FLUID_MAX_CONCURRENT_TASKS, else 5.
  std::optional<std::size_t> max_concurrent_tasks;
  /// How soon a lost wake-up is recovered (the only use of this setting: an
  /// idle consumer waits for work on an event); nullopt: env
  /// FLUID_SLEEP_MILLIS, else 1000 ms.
  std::optional<std::chrono::milliseconds> sleep;
  /// How long a claim holds a run unless renewed (every lease/3), at least
  /// 100 ms; nullopt: env FLUID_TASK_LEASE (decimal seconds), else 15 s.
  std::optional<std::chrono::milliseconds> lease;
  /// Claims of one run after which an expired lease ends it failure.
  unsigned max_deliveries = 5;
  /// Threads of the pool that runs Execution::thread tasks; 0: the hardware's.
  std::size_t cpu_threads = 0;
};

/// aio-fluid's TaskDispatcher: synchronous handlers of the local events,
/// registered under "state" or "state.tag"; a run's event type is its state.
class TaskDispatcher : public Dispatcher<TaskRun> {
 public:
  /// to_string(run.state).
  std::string event_type(const TaskRun& run) const override;
  /// dispatch(), except that a handler that throws is logged (event, tag,
  /// message) and the handlers after it still run. What the manager uses.
  std::size_t dispatch_isolated(const TaskRun& run) const;
};

/// Which events an async handler receives.
enum class EventScope {
  local,    ///< the changes this process made, as dispatcher() sees them
  cluster,  ///< every change any process made on the broker, from its event feed
};

/// An async handler of run events; the run lives until its coroutine ends.
using TaskRunHandler = std::function<Task<>(const TaskRun&)>;

namespace detail {
struct ManagerCore;
}

/// The entry point of a task queue: a registry of tasks, a broker holding
/// their runs, and the events of those runs.
///
/// Producers queue runs and wait for their outcome from any process;
/// execute() runs one inline, as a consumer would, without the broker.
/// Everything about a run that must hold across processes (leases, limits,
/// retries, aborts) is decided by the broker in one atomic step; the manager
/// validates, dispatches the events of the changes it made, and follows the
/// broker's event feed for the rest.
///
/// Open first: queue(), execute(), wait(), queue_and_wait(), get_run(),
/// abort(), enable_task(), tasks_info(), queue_length() and clear_queue()
/// throw FluidError("task manager not open") before open() (a consumer
/// opens itself in its startup). Registration, set_deps(), add_resource() and
/// create_task_run() do not need it.
///
/// Every member returning Task<...> is a lazily started coroutine and
/// reports its errors when awaited. Its arguments are copied into its frame:
/// with g++ 12, write `auto call = m.queue("add", {{"a", 3}}); co_await
/// std::move(call);` or name the arguments first (docs/tasks.md), never
/// `co_await m.queue("add", params, {.delay = 5s})`. For the same reason the
/// defaults are spelled `EnqueueOptions()`, not `{}`: g++ 12 destroys a
/// braced default argument of a call awaited in a coroutine twice as well.
///
/// @warning Threading: the coroutines may be awaited from any executor and
/// handler registration is safe from any thread; registration, set_deps()
/// and add_resource() happen before open(). Handlers of local events run on
/// the strand that made the change: they must be quick, and thread-safe once
/// serve(threads > 1) is used.
class TaskManager {
 public:
  /// @throws FluidError for a bad setting (naming it and quoting the value)
  ///         or a bad broker URL (quoted without its password).
  explicit TaskManager(TaskManagerConfig config = TaskManagerConfig());
  /// Closing is asynchronous: close() first. A manager destroyed open logs
  /// it and stops following the broker's feed.
  virtual ~TaskManager();
  TaskManager(const TaskManager&) = delete;
  TaskManager& operator=(const TaskManager&) = delete;

  /// "task_manager", "task_consumer", "task_scheduler".
  virtual std::string type() const;
  /// 32 hex digits, new for each manager.
  const std::string& manager_id() const noexcept;
  /// The configuration in force: every optional engaged, the broker URL
  /// normalized and without its password.
  const TaskManagerConfig& config() const noexcept;
  TaskBroker& broker() const noexcept;
  const TaskRegistry& registry() const noexcept;
  /// The broker URL's ?queues=, in claim order; default high, medium, low.
  std::vector<TaskPriority> queues() const;

  /// Registers `task`, with `extra_tags` added to its own.
  /// @throws FluidError if a task of that name is registered, or the manager is open.
  void register_task(TaskDefinition task, std::vector<std::string> extra_tags = {});
  /// register_task() of each, in order.
  void register_tasks(std::vector<TaskDefinition> tasks, std::vector<std::string> extra_tags = {});

  /// What executors reach through ctx.deps<D>() (aio-fluid's deps).
  template <class D>
  void set_deps(std::shared_ptr<D> deps) {
    deps_type_ = &typeid(D);
    deps_ = std::move(deps);
  }
  /// @throws FluidError if no deps were set, or they are not a D.
  template <class D>
  D& deps() const {
    check_deps(typeid(D));
    return *static_cast<D*>(deps_.get());
  }

  /// Opens `open` in open() (after the broker, in the order added) and closes
  /// with `close` in close() (in reverse order): aio-fluid's async contexts.
  void add_resource(std::function<Task<>()> open, std::function<Task<>()> close = {});

  /// Opens the broker, tells it this manager's tasks, opens the resources and
  /// starts following the broker's event feed on the awaiting executor.
  /// Idempotent. If a resource fails to open, what was opened is closed again.
  [[nodiscard]] Task<> open();
  /// Stops following the feed, delivers the events still queued to the async
  /// handlers, closes the resources in reverse order, then the broker. Idempotent.
  [[nodiscard]] Task<> close();
  /// True between open() and close().
  bool is_open() const noexcept;

  /// A validated run in state init, with this manager's id; nothing queued.
  /// @throws UnknownTaskError("unknown task 'x'"), TaskParamsError.
  TaskRun create_task_run(std::string_view task, const nlohmann::json& params = nlohmann::json::object(),
                          const EnqueueOptions& options = EnqueueOptions()) const;
  /// Validates, dispatches init, has the broker store the run (queued), dispatches
  /// queued and returns it. A run id the broker already knows is not queued
  /// again: the run is returned as it is now.
  /// @throws UnknownTaskError, TaskParamsError (nothing queued), BrokerError.
  [[nodiscard]] Task<TaskRun> queue(std::string task, nlohmann::json params = nlohmann::json::object(),
                                    EnqueueOptions options = EnqueueOptions());
  /// Runs the executor inline on the awaiting executor, with the task's
  /// execution mode and timeout but without the broker (no lease, limits,
  /// enabled check, retries or task-info update); dispatches local queued,
  /// running and the terminal event. Returns the run for success and abort.
  /// @throws what the executor threw; TaskTimeoutError for a timeout.
  [[nodiscard]] Task<TaskRun> execute(std::string task, nlohmann::json params = nlohmann::json::object(),
                                      EnqueueOptions options = EnqueueOptions());
  /// Waits until the run is final (after its retries), from any process.
  /// `timeout` counts from the call; default: the run's task's timeout.
  /// @throws UnknownRunError, WaitTimeoutError (the run goes on).
  [[nodiscard]] Task<TaskRun> wait(std::string run_id, std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  /// queue() then wait().
  [[nodiscard]] Task<TaskRun> queue_and_wait(std::string task, nlohmann::json params = nlohmann::json::object(),
                                             EnqueueOptions options = EnqueueOptions(),
                                             std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  /// The run as the broker holds it now; nullopt for an id it does not know.
  [[nodiscard]] Task<std::optional<TaskRun>> get_run(std::string run_id);
  /// Aborts a run, from any process: queued ends aborted at once; running is
  /// cancelled by its consumer; final is returned unchanged.
  /// @throws UnknownRunError.
  [[nodiscard]] Task<TaskRun> abort(std::string run_id, std::string reason = std::string());
  /// Sets the task's enabled flag in the broker, for every process on it.
  /// @throws UnknownTaskError.
  [[nodiscard]] Task<TaskInfo> enable_task(std::string task, bool enable = true);
  /// Claimable runs per queue of queues().
  [[nodiscard]] Task<std::map<TaskPriority, std::size_t>> queue_length();
  /// Every waiting run of those priorities (all of queues() when empty; a
  /// priority this manager does not consume is cleared too) ends aborted,
  /// "queue cleared"; returns the counts per priority.
  [[nodiscard]] Task<std::map<TaskPriority, std::size_t>> clear_queue(
      std::vector<TaskPriority> priorities = std::vector<TaskPriority>());
  /// This manager's registered tasks (all, or those named; unknown names are
  /// skipped) with the broker's dynamic fields, sorted by name.
  [[nodiscard]] Task<std::vector<TaskInfo>> tasks_info(std::vector<std::string> names = std::vector<std::string>());

  /// The synchronous handlers of local events ("state" or "state.tag").
  TaskDispatcher& dispatcher() noexcept;
  /// Registers an async handler of `event` ("state" or "state.tag"): local
  /// events are awaited on the manager's async consumer in order; cluster
  /// events come from the broker's feed, in commit order. A handler that
  /// throws is logged and ignored. Returns the handler it replaced.
  /// @throws FluidError for a malformed event or an empty handler.
  TaskRunHandler register_async_handler(std::string_view event, TaskRunHandler handler,
                                        EventScope scope = EventScope::local);
  /// Removes the handler of `event` and returns it (empty if none).
  TaskRunHandler unregister_async_handler(std::string_view event, EventScope scope = EventScope::local);

 protected:
  /// What TaskConsumer and TaskScheduler build on.
  const std::shared_ptr<detail::ManagerCore>& core() const noexcept { return core_; }

 private:
  friend class TaskContext;
  void check_deps(const std::type_info& wanted) const;
  Task<TaskRun> queue_from(std::string task, nlohmann::json params, EnqueueOptions options, std::string from_run_id,
                           std::string root_run_id);

  std::shared_ptr<detail::ManagerCore> core_;
  std::shared_ptr<void> deps_;
  const std::type_info* deps_type_ = nullptr;
};

}  // namespace fluid
