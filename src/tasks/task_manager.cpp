#include "fluid/tasks/task_manager.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/tasks/errors.hpp"
#include "fluid/tasks/task_context.hpp"
#include "tasks/attempt.hpp"
#include "tasks/ids.hpp"
#include "tasks/manager_core.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <utility>

namespace fluid {

using detail::ManagerCore;
using detail::Phase;
using std::chrono::milliseconds;

namespace {

// A wait() on a run of a task this manager does not know (any process may
// wait for any run) gives up after aio-fluid's default task timeout.
constexpr milliseconds unknown_task_wait{60'000};

bool is_valid_run_id(std::string_view id) { return is_valid_task_name(id); }

void check_not_open(const ManagerCore& core, std::string_view what) {
  if (core.current_phase() != Phase::closed) {
    throw FluidError(core.label() + ": cannot " + std::string(what) + " once the manager is open");
  }
}

}  // namespace

std::string TaskDispatcher::event_type(const TaskRun& run) const { return std::string(to_string(run.state)); }

std::size_t TaskDispatcher::dispatch_isolated(const TaskRun& run) const {
  const auto handlers = handlers_for(run);
  if (!handlers) return 0;
  for (const auto& entry : *handlers) {
    try {
      handler_of(entry)(run);
    } catch (...) {
      const auto event = entry.tag.empty() ? event_type(run) : event_type(run) + "." + entry.tag;
      logger()->error("handler of event {} failed on run {}: {}", event, run.name_id(),
                      error_message(std::current_exception()));
    }
  }
  return handlers->size();
}

TaskManager::TaskManager(TaskManagerConfig config)
    : core_(std::make_shared<ManagerCore>(detail::resolve_config(std::move(config)), "task_manager")) {}

TaskManager::~TaskManager() {
  std::lock_guard lock(core_->mutex);
  if (core_->phase == Phase::closed) return;
  logger()->warn("{} destroyed while open: close() it first; it stops following its broker's feed now", core_->label());
  if (core_->feed) core_->feed->cancel();
  if (core_->local_events) core_->local_events->stop();
  if (core_->cluster_events) core_->cluster_events->stop();
}

std::string TaskManager::type() const { return "task_manager"; }
const std::string& TaskManager::manager_id() const noexcept { return core_->manager_id; }
const TaskManagerConfig& TaskManager::config() const noexcept { return core_->config; }
TaskBroker& TaskManager::broker() const noexcept { return *core_->broker; }
const TaskRegistry& TaskManager::registry() const noexcept { return core_->registry; }
std::vector<TaskPriority> TaskManager::queues() const { return core_->broker->queues(); }
bool TaskManager::is_open() const noexcept { return core_->current_phase() == Phase::open; }
TaskDispatcher& TaskManager::dispatcher() noexcept { return core_->dispatcher; }

void TaskManager::register_task(TaskDefinition task, std::vector<std::string> extra_tags) {
  check_not_open(*core_, "register task '" + task.name() + "'");
  if (core_->registry.contains(task.name())) {
    throw FluidError(core_->label() + ": task '" + task.name() + "' is already registered");
  }
  auto name = task.name();
  core_->registry.emplace(std::move(name), extra_tags.empty() ? std::move(task) : task.with_tags(extra_tags));
}

void TaskManager::register_tasks(std::vector<TaskDefinition> tasks, std::vector<std::string> extra_tags) {
  for (auto& task : tasks) register_task(std::move(task), extra_tags);
}

void TaskManager::check_deps(const std::type_info& wanted) const {
  if (!deps_) throw FluidError(core_->label() + ": no deps were set (set_deps() first)");
  if (*deps_type_ != wanted) {
    throw FluidError(core_->label() + ": the deps are a " + deps_type_->name() + ", not a " + wanted.name());
  }
}

void TaskManager::add_resource(std::function<Task<>()> open, std::function<Task<>()> close) {
  check_not_open(*core_, "add a resource");
  if (!open) throw FluidError(core_->label() + ": a resource needs an open function");
  core_->resources.push_back({std::move(open), std::move(close)});
}

TaskRun TaskManager::create_task_run(std::string_view task, const nlohmann::json& params,
                                     const EnqueueOptions& options) const {
  const auto& definition = core_->task(task);
  if (!options.run_id.empty() && !is_valid_run_id(options.run_id)) {
    throw TaskParamsError("invalid run id \"" + options.run_id + "\" for task '" + definition.name() +
                          "': 1 to 64 of [A-Za-z0-9_-], not starting with '-'");
  }
  TaskRun run;
  run.id = options.run_id.empty() ? detail::new_uuid_hex() : options.run_id;
  run.task = definition.name();
  run.priority = options.priority.value_or(definition.options().priority);
  run.params = definition.normalize_params(params);
  run.manager_id = core_->manager_id;
  return run;
}

Task<TaskRun> TaskManager::queue(std::string task, nlohmann::json params, EnqueueOptions options) {
  return queue_from(std::move(task), std::move(params), std::move(options), std::string(), std::string());
}

Task<TaskRun> TaskManager::queue_from(std::string task, nlohmann::json params, EnqueueOptions options,
                                      std::string from_run_id, std::string root_run_id) {
  const auto core = core_;
  core->require_open();
  auto run = create_task_run(task, params, options);
  run.from_run_id = std::move(from_run_id);
  run.root_run_id = std::move(root_run_id);
  core->publish(run);
  auto [stored, created] = co_await core->broker->enqueue(std::move(run), options.delay);
  if (created) core->publish(stored);
  co_return core->shown(std::move(stored));
}

Task<TaskRun> TaskManager::wait(std::string run_id, std::optional<milliseconds> timeout) {
  const auto core = core_;
  core->require_open();
  const auto started = std::chrono::steady_clock::now();
  detail::RunWaiters::Watch watch(core->waiters, run_id);
  std::optional<std::chrono::steady_clock::time_point> deadline;
  for (;;) {
    const auto ticket = watch.changed().ticket();
    const auto run = co_await core->broker->get_run(run_id);
    if (!run) throw UnknownRunError("unknown run '" + run_id + "'");
    if (run->is_final()) co_return core->shown(*run);
    if (!deadline) {
      const auto task = core->registry.find(run->task);
      const auto limit = timeout                        ? *timeout
                         : task != core->registry.end() ? task->second.options().timeout
                                                        : unknown_task_wait;
      deadline = started + limit;
    }
    const bool changed = co_await watch.changed().wait(ticket, *deadline);
    if (!changed) {
      const auto waited = std::chrono::duration_cast<milliseconds>(*deadline - started);
      throw WaitTimeoutError("run " + run->name_id() + " is not final after " + detail::seconds_text(waited) +
                             ": it goes on");
    }
  }
}

Task<TaskRun> TaskManager::queue_and_wait(std::string task, nlohmann::json params, EnqueueOptions options,
                                          std::optional<milliseconds> timeout) {
  const auto queued = co_await queue(std::move(task), std::move(params), std::move(options));
  co_return co_await wait(queued.id, timeout);
}

Task<std::optional<TaskRun>> TaskManager::get_run(std::string run_id) {
  const auto core = core_;
  core->require_open();
  auto run = co_await core->broker->get_run(std::move(run_id));
  if (!run) co_return std::nullopt;
  co_return core->shown(std::move(*run));
}

Task<TaskRun> TaskManager::abort(std::string run_id, std::string reason) {
  const auto core = core_;
  core->require_open();
  auto changed = co_await core->broker->request_abort(run_id, std::move(reason), core->manager_id);
  for (const auto& run : changed) {
    if (run.state == TaskState::aborted) core->publish(run);
  }
  if (!changed.empty()) co_return core->shown(std::move(changed.back()));
  auto now = co_await core->broker->get_run(run_id);
  if (!now) throw UnknownRunError("unknown run '" + run_id + "'");
  co_return core->shown(std::move(*now));
}

Task<TaskInfo> TaskManager::enable_task(std::string task, bool enable) {
  const auto core = core_;
  core->require_open();
  core->task(task);
  co_return co_await core->broker->set_enabled(std::move(task), enable);
}

Task<std::map<TaskPriority, std::size_t>> TaskManager::queue_length() {
  const auto core = core_;
  core->require_open();
  co_return co_await core->broker->queue_length(core->broker->queues());
}

Task<std::map<TaskPriority, std::size_t>> TaskManager::clear_queue(std::vector<TaskPriority> priorities) {
  const auto core = core_;
  core->require_open();
  if (priorities.empty()) priorities = core->broker->queues();
  co_return co_await core->broker->clear_queue(std::move(priorities), core->manager_id);
}

Task<std::vector<TaskInfo>> TaskManager::tasks_info(std::vector<std::string> names) {
  const auto core = core_;
  core->require_open();
  std::vector<std::string> known;
  if (names.empty()) {
    for (const auto& [name, task] : core->registry) known.push_back(name);
  } else {
    for (auto& name : names) {
      if (core->registry.contains(name)) known.push_back(std::move(name));
    }
  }
  if (known.empty()) co_return std::vector<TaskInfo>{};
  auto infos = co_await core->broker->tasks_info(std::move(known));
  std::erase_if(infos, [&core](const TaskInfo& info) { return !core->registry.contains(info.name); });
  std::sort(infos.begin(), infos.end(), [](const TaskInfo& a, const TaskInfo& b) { return a.name < b.name; });
  co_return infos;
}

TaskRunHandler TaskManager::register_async_handler(std::string_view event, TaskRunHandler handler, EventScope scope) {
  auto& handlers = scope == EventScope::local ? core_->local_handlers : core_->cluster_handlers;
  return handlers.add(event, std::move(handler));
}

TaskRunHandler TaskManager::unregister_async_handler(std::string_view event, EventScope scope) {
  auto& handlers = scope == EventScope::local ? core_->local_handlers : core_->cluster_handlers;
  return handlers.remove(event);
}

}  // namespace fluid
