// The pinned API, sketched here as code outside this repository uses it: the
// workers' and the task queue's (task_cli's command line itself is driven as
// a process by tests/tasks/task_cli_test.cpp). That code compiles against
// these names and signatures, all reachable from <fluid/fluid.hpp> alone. A
// change that breaks one fails this file's build.

#include <fluid/fluid.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using fluid::Task;
using ms = std::chrono::milliseconds;

// Task, run, sleep.
static_assert(std::is_same_v<Task<int>, boost::asio::awaitable<int>>);
static_assert(std::is_same_v<Task<>, boost::asio::awaitable<void>>);
static_assert(std::is_same_v<decltype(fluid::run(std::declval<Task<int>>())), int>);
static_assert(std::is_same_v<decltype(fluid::run(std::declval<Task<>>())), void>);
static_assert(std::is_same_v<decltype(fluid::sleep(std::chrono::steady_clock::duration{})), Task<>>);

// WorkerState and WorkerOptions.
static_assert(std::is_enum_v<fluid::WorkerState>);
static_assert(std::is_same_v<decltype(fluid::to_string(fluid::WorkerState::force_stopped)), std::string_view>);
static_assert(std::is_same_v<decltype(fluid::WorkerOptions::name), std::string>);
static_assert(std::is_same_v<decltype(fluid::WorkerOptions::stopping_grace_period), std::optional<ms>>);

// Worker: public members, by exact member-function type.
using fluid::Worker;
static_assert(std::is_abstract_v<Worker> && std::has_virtual_destructor_v<Worker>);
static_assert(std::is_same_v<decltype(&Worker::worker_state), fluid::WorkerState (Worker::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&Worker::worker_name), std::string (Worker::*)() const>);
static_assert(std::is_same_v<decltype(&Worker::num_workers), std::size_t (Worker::*)() const>);
static_assert(std::is_same_v<decltype(&Worker::workers), std::vector<Worker*> (Worker::*)()>);
static_assert(std::is_same_v<decltype(&Worker::has_started), bool (Worker::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&Worker::is_running), bool (Worker::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&Worker::is_stopping), bool (Worker::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&Worker::is_stopped), bool (Worker::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&Worker::gracefully_stop), void (Worker::*)()>);
static_assert(std::is_same_v<decltype(&Worker::startup), Task<> (Worker::*)()>);
static_assert(std::is_same_v<decltype(&Worker::shutdown), Task<> (Worker::*)()>);
static_assert(std::is_same_v<decltype(&Worker::wait_for_shutdown), Task<> (Worker::*)()>);
static_assert(std::is_same_v<decltype(&Worker::status), Task<nlohmann::json> (Worker::*)()>);

// The protected hooks, overridden as the sketch declares them.
class SketchWorker final : public Worker {
 public:
  SketchWorker() : Worker(fluid::WorkerOptions{.name = "sketch", .stopping_grace_period = 200ms}) {}
  // A function body: the class is complete there, its overrides declared.
  static constexpr bool hooks_as_sketched() {
    return std::is_same_v<decltype(&SketchWorker::run), Task<> (SketchWorker::*)()> &&
           std::is_same_v<decltype(&SketchWorker::on_startup), Task<> (SketchWorker::*)()> &&
           std::is_same_v<decltype(&SketchWorker::on_shutdown), Task<> (SketchWorker::*)()> &&
           std::is_same_v<decltype(&SketchWorker::after_shutdown), void (SketchWorker::*)(std::string_view, int)>;
  }
  std::string reason;
  int code = -1;

 protected:
  Task<> run() override {
    while (is_running()) co_await fluid::sleep(1ms);
  }
  Task<> on_startup() override { co_return; }
  Task<> on_shutdown() override { co_return; }
  void after_shutdown(std::string_view why, int exit_code) override {
    reason = why;
    code = exit_code;
  }
};
static_assert(SketchWorker::hooks_as_sketched());

// async_with and WorkerFunction.
static_assert(std::is_same_v<decltype(fluid::async_with(std::declval<SketchWorker&>(),
                                                        [](SketchWorker&) -> Task<> { co_return; })),
                             Task<>>);
static_assert(std::is_base_of_v<Worker, fluid::WorkerFunction>);
static_assert(std::is_constructible_v<fluid::WorkerFunction, std::function<Task<>()>>);
static_assert(std::is_constructible_v<fluid::WorkerFunction, std::function<Task<>()>, ms, fluid::WorkerOptions>);

// Queue consumers.
using Consumer = fluid::QueueConsumer<std::string>;
static_assert(std::is_base_of_v<Worker, Consumer> && std::is_abstract_v<Consumer>);
static_assert(std::is_same_v<decltype(&Consumer::send), void (Consumer::*)(std::string)>);
static_assert(std::is_same_v<decltype(std::declval<const Consumer&>().queue_size()), std::size_t>);
static_assert(std::is_same_v<decltype(std::declval<Consumer&>().get_message()), Task<std::optional<std::string>>>);
static_assert(std::is_same_v<decltype(std::declval<Consumer&>().get_message(10ms)), Task<std::optional<std::string>>>);
static_assert(std::is_base_of_v<Consumer, fluid::QueueConsumerWorker<std::string>>);
static_assert(std::is_constructible_v<fluid::QueueConsumerWorker<std::string>, std::function<Task<>(std::string)>,
                                      fluid::WorkerOptions>);
static_assert(std::is_base_of_v<Consumer, fluid::AsyncConsumer<std::string>>);
static_assert(std::is_constructible_v<fluid::AsyncConsumer<std::string>,
                                      std::shared_ptr<fluid::AsyncDispatcher<std::string>>, fluid::WorkerOptions>);

// Groups.
static_assert(std::is_same_v<decltype(fluid::WorkersOptions::name), std::string>);
static_assert(std::is_same_v<decltype(fluid::WorkersOptions::heartbeat), ms>);
static_assert(std::is_same_v<decltype(fluid::WorkersOptions::stopping_grace_period), std::optional<ms>>);
static_assert(std::is_base_of_v<Worker, fluid::Workers> && std::is_default_constructible_v<fluid::Workers>);
static_assert(std::is_constructible_v<fluid::Workers, std::vector<std::shared_ptr<Worker>>, fluid::WorkersOptions>);
static_assert(std::is_same_v<decltype(&fluid::Workers::add_workers), void (fluid::Workers::*)(std::shared_ptr<Worker>)>);

// Events and dispatchers.
static_assert(std::is_same_v<decltype(fluid::Event::type), std::string>);
static_assert(std::is_same_v<decltype(fluid::Event::tag), std::string>);
static_assert(std::is_same_v<decltype(fluid::Event::from_string(std::string_view{})), fluid::Event>);
using SyncHandler = std::function<void(const std::string&)>;
using AsyncHandler = std::function<Task<>(const std::string&)>;
using Sync = fluid::Dispatcher<std::string>;
using Async = fluid::AsyncDispatcher<std::string>;
static_assert(std::is_abstract_v<Sync> && std::has_virtual_destructor_v<Sync>);
static_assert(std::is_same_v<decltype(std::declval<Sync&>().register_handler(std::string_view{}, SyncHandler{})),
                             SyncHandler>);
static_assert(std::is_same_v<decltype(std::declval<Sync&>().unregister_handler(std::string_view{})), SyncHandler>);
static_assert(std::is_same_v<decltype(std::declval<Sync&>().dispatch(std::string{})), std::size_t>);
static_assert(std::is_abstract_v<Async> && std::has_virtual_destructor_v<Async>);
static_assert(std::is_same_v<decltype(std::declval<Async&>().register_handler(std::string_view{}, AsyncHandler{})),
                             AsyncHandler>);
static_assert(std::is_same_v<decltype(std::declval<Async&>().unregister_handler(std::string_view{})), AsyncHandler>);
static_assert(std::is_same_v<decltype(std::declval<Async&>().dispatch(std::string{})), Task<std::size_t>>);

// Errors.
static_assert(std::is_base_of_v<std::runtime_error, fluid::FluidError>);
static_assert(std::is_base_of_v<fluid::FluidError, fluid::WorkerStartError>);
static_assert(std::is_constructible_v<fluid::WorkerStartError, std::string>);

// ---------------------------------------------------------------- the task queue
using fluid::Execution;
using fluid::TaskPriority;
using fluid::TaskState;
using json = nlohmann::json;
static_assert(std::is_same_v<fluid::Clock, std::chrono::system_clock>);
static_assert(std::is_same_v<fluid::TimePoint, std::chrono::system_clock::time_point>);
static_assert(static_cast<int>(TaskState::interrupted) == 7 && static_cast<int>(TaskState::rate_limited) == 6);
static_assert(static_cast<int>(TaskPriority::low) == 2 && static_cast<int>(Execution::process) == 2);
static_assert(std::is_same_v<decltype(fluid::to_string(TaskState::init)), std::string_view>);
static_assert(std::is_same_v<decltype(fluid::to_string(TaskPriority::high)), std::string_view>);
static_assert(std::is_same_v<decltype(fluid::parse_task_state(std::string_view{})), std::optional<TaskState>>);
static_assert(std::is_same_v<decltype(fluid::parse_task_priority(std::string_view{})), std::optional<TaskPriority>>);
static_assert(std::is_same_v<decltype(fluid::is_done(TaskState::init)), bool>);
static_assert(std::is_same_v<decltype(fluid::is_valid_transition(TaskState::init, TaskState::queued)), bool>);
static_assert(std::is_same_v<decltype(fluid::is_in_cpu_process()), bool>);

using fluid::RetryPolicy;
static_assert(std::is_same_v<decltype(RetryPolicy::max_attempts), std::optional<unsigned>>);
static_assert(std::is_same_v<decltype(RetryPolicy::wait), ms> && std::is_same_v<decltype(RetryPolicy::max_wait), ms>);
static_assert(std::is_same_v<decltype(RetryPolicy::backoff), double>);
static_assert(std::is_same_v<decltype(RetryPolicy::retry_if), std::function<bool(const std::exception_ptr&)>>);
static_assert(std::is_same_v<decltype(std::declval<const RetryPolicy&>().delay(1u)), ms>);
static_assert(std::is_same_v<decltype(std::declval<const RetryPolicy&>().matches(std::exception_ptr{})), bool>);
static_assert(
    std::is_same_v<decltype(fluid::retry_on<std::runtime_error>()), std::function<bool(const std::exception_ptr&)>>);

using fluid::Schedule;
static_assert(!std::is_default_constructible_v<Schedule> && std::is_copy_constructible_v<Schedule>);
static_assert(std::is_same_v<decltype(std::declval<const Schedule&>().to_string()), std::string>);
static_assert(
    std::is_same_v<decltype(std::declval<const Schedule&>().due(fluid::TimePoint{}, std::nullopt, fluid::TimePoint{})),
                   std::optional<fluid::TimePoint>>);
static_assert(
    std::is_same_v<decltype(std::declval<const Schedule&>().next_after(fluid::TimePoint{}, fluid::TimePoint{})),
                   fluid::TimePoint>);
static_assert(std::is_same_v<decltype(fluid::every(ms{})), Schedule>);
static_assert(std::is_same_v<decltype(fluid::every(ms{}, ms{}, ms{})), Schedule>);
static_assert(std::is_same_v<decltype(fluid::CrontabFields::day_of_week), std::string>);
static_assert(std::is_same_v<decltype(fluid::CrontabFields::tz), std::string>);
static_assert(std::is_same_v<decltype(fluid::crontab(fluid::CrontabFields{})), Schedule>);
static_assert(std::is_same_v<decltype(fluid::crontab(std::string_view{}, std::string_view{})), Schedule>);

using fluid::TaskOptions;
static_assert(std::is_same_v<decltype(TaskOptions::priority), TaskPriority>);
static_assert(std::is_same_v<decltype(TaskOptions::schedule), std::optional<Schedule>>);
static_assert(std::is_same_v<decltype(TaskOptions::randomize), std::function<ms()>>);
static_assert(std::is_same_v<decltype(TaskOptions::max_concurrency), std::size_t>);
static_assert(std::is_same_v<decltype(TaskOptions::timeout), ms>);
static_assert(std::is_same_v<decltype(TaskOptions::execution), Execution>);
static_assert(std::is_same_v<decltype(TaskOptions::tags), std::vector<std::string>>);
static_assert(std::is_same_v<decltype(TaskOptions::retry), std::optional<RetryPolicy>>);
static_assert(std::is_same_v<decltype(TaskOptions::rate_limit_retry), std::optional<RetryPolicy>>);
static_assert(std::is_same_v<decltype(TaskOptions::env), std::map<std::string, std::string>>);
static_assert(std::is_same_v<decltype(TaskOptions::secret_params), std::vector<std::string>>);

using fluid::TaskContext;
using fluid::TaskDefinition;
static_assert(!std::is_default_constructible_v<TaskDefinition> && std::is_copy_constructible_v<TaskDefinition>);
static_assert(std::is_same_v<decltype(&TaskDefinition::name), const std::string& (TaskDefinition::*)() const noexcept>);
static_assert(
    std::is_same_v<decltype(&TaskDefinition::options), const TaskOptions& (TaskDefinition::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&TaskDefinition::short_description), std::string (TaskDefinition::*)() const>);
static_assert(std::is_same_v<decltype(&TaskDefinition::cpu_bound), bool (TaskDefinition::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&TaskDefinition::normalize_params), json (TaskDefinition::*)(const json&) const>);
struct SketchParams {
  int n = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SketchParams, n)
using TypedExecutor = Task<> (*)(TaskContext&, const SketchParams&);
using UntypedExecutor = Task<> (*)(TaskContext&);
static_assert(std::is_same_v<decltype(fluid::make_task<SketchParams>(std::string{}, TypedExecutor{}, TaskOptions{})),
                             TaskDefinition>);
static_assert(
    std::is_same_v<decltype(fluid::make_task(std::string{}, UntypedExecutor{}, TaskOptions{})), TaskDefinition>);
static_assert(std::is_same_v<fluid::TaskRegistry, std::map<std::string, TaskDefinition, std::less<>>>);

using fluid::TaskRun;
static_assert(std::is_same_v<decltype(TaskRun::id), std::string> &&
              std::is_same_v<decltype(TaskRun::task), std::string>);
static_assert(std::is_same_v<decltype(TaskRun::params), json> && std::is_same_v<decltype(TaskRun::state), TaskState>);
static_assert(std::is_same_v<decltype(TaskRun::execute_after), std::optional<fluid::TimePoint>>);
static_assert(std::is_same_v<decltype(TaskRun::retry_attempt), unsigned>);
static_assert(std::is_same_v<decltype(TaskRun::rate_limit_attempt), unsigned>);
static_assert(std::is_same_v<decltype(TaskRun::root_run_id), std::string>);
static_assert(std::is_same_v<decltype(TaskRun::deliveries), unsigned> &&
              std::is_same_v<decltype(TaskRun::requeued), bool>);
static_assert(std::is_same_v<decltype(TaskRun::manager_id), std::string>);
static_assert(std::is_same_v<decltype(&TaskRun::is_final), bool (TaskRun::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&TaskRun::name_id), std::string (TaskRun::*)() const>);
static_assert(
    std::is_same_v<decltype(&TaskRun::duration), std::optional<std::chrono::microseconds> (TaskRun::*)() const>);
static_assert(std::is_same_v<decltype(&TaskRun::duration_ms), std::optional<double> (TaskRun::*)() const>);
static_assert(std::is_same_v<decltype(fluid::TaskInfo::last_run_duration), std::optional<std::chrono::microseconds>>);
static_assert(std::is_same_v<decltype(fluid::TaskInfo::schedule), std::optional<std::string>>);
static_assert(std::is_same_v<decltype(fluid::TaskInfo::timeout_seconds), double>);
static_assert(std::is_same_v<decltype(fluid::EnqueueOptions::priority), std::optional<TaskPriority>>);
static_assert(std::is_same_v<decltype(fluid::EnqueueOptions::delay), ms>);

using fluid::TaskManagerConfig;
static_assert(std::is_same_v<decltype(TaskManagerConfig::broker_url), std::string>);
static_assert(std::is_same_v<decltype(TaskManagerConfig::schedule_tasks), std::optional<bool>>);
static_assert(std::is_same_v<decltype(TaskManagerConfig::consume_tasks), bool>);
static_assert(std::is_same_v<decltype(TaskManagerConfig::max_concurrent_tasks), std::optional<std::size_t>>);
static_assert(std::is_same_v<decltype(TaskManagerConfig::sleep), std::optional<ms>>);
static_assert(std::is_same_v<decltype(TaskManagerConfig::lease), std::optional<ms>>);
static_assert(std::is_same_v<decltype(TaskManagerConfig::max_deliveries), unsigned>);
static_assert(std::is_same_v<decltype(TaskManagerConfig::cpu_threads), std::size_t>);
static_assert(std::is_base_of_v<fluid::Dispatcher<TaskRun>, fluid::TaskDispatcher>);
static_assert(static_cast<int>(fluid::EventScope::cluster) == 1);
static_assert(std::is_same_v<fluid::TaskRunHandler, std::function<Task<>(const TaskRun&)>>);
static_assert(std::is_same_v<decltype(&fluid::TaskBroker::url), std::string (fluid::TaskBroker::*)() const>);
static_assert(
    std::is_same_v<decltype(&fluid::TaskBroker::queues), std::vector<TaskPriority> (fluid::TaskBroker::*)() const>);
static_assert(std::is_same_v<decltype(fluid::make_broker(std::string_view{})), std::shared_ptr<fluid::TaskBroker>>);

using fluid::TaskManager;
using Lengths = std::map<TaskPriority, std::size_t>;
static_assert(std::is_constructible_v<TaskManager> && std::is_constructible_v<TaskManager, TaskManagerConfig>);
static_assert(!std::is_copy_constructible_v<TaskManager> && std::has_virtual_destructor_v<TaskManager>);
static_assert(std::is_same_v<decltype(&TaskManager::type), std::string (TaskManager::*)() const>);
static_assert(std::is_same_v<decltype(&TaskManager::manager_id), const std::string& (TaskManager::*)() const noexcept>);
static_assert(
    std::is_same_v<decltype(&TaskManager::config), const TaskManagerConfig& (TaskManager::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&TaskManager::broker), fluid::TaskBroker& (TaskManager::*)() const noexcept>);
static_assert(
    std::is_same_v<decltype(&TaskManager::registry), const fluid::TaskRegistry& (TaskManager::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&TaskManager::queues), std::vector<TaskPriority> (TaskManager::*)() const>);
static_assert(std::is_same_v<decltype(&TaskManager::register_task),
                             void (TaskManager::*)(TaskDefinition, std::vector<std::string>)>);
static_assert(std::is_same_v<decltype(&TaskManager::register_tasks),
                             void (TaskManager::*)(std::vector<TaskDefinition>, std::vector<std::string>)>);
static_assert(std::is_same_v<decltype(&TaskManager::add_resource),
                             void (TaskManager::*)(std::function<Task<>()>, std::function<Task<>()>)>);
static_assert(std::is_same_v<decltype(std::declval<TaskManager&>().set_deps(std::shared_ptr<std::string>{})), void>);
static_assert(std::is_same_v<decltype(std::declval<const TaskManager&>().deps<std::string>()), std::string&>);
static_assert(std::is_same_v<decltype(&TaskManager::open), Task<> (TaskManager::*)()>);
static_assert(std::is_same_v<decltype(&TaskManager::close), Task<> (TaskManager::*)()>);
static_assert(
    std::is_same_v<decltype(&TaskManager::create_task_run),
                   TaskRun (TaskManager::*)(std::string_view, const json&, const fluid::EnqueueOptions&) const>);
using Enqueue = Task<TaskRun> (TaskManager::*)(std::string, json, fluid::EnqueueOptions);
static_assert(std::is_same_v<decltype(&TaskManager::queue), Enqueue>);
static_assert(std::is_same_v<decltype(&TaskManager::execute), Enqueue>);
static_assert(
    std::is_same_v<decltype(&TaskManager::wait), Task<TaskRun> (TaskManager::*)(std::string, std::optional<ms>)>);
static_assert(
    std::is_same_v<decltype(&TaskManager::queue_and_wait),
                   Task<TaskRun> (TaskManager::*)(std::string, json, fluid::EnqueueOptions, std::optional<ms>)>);
static_assert(
    std::is_same_v<decltype(&TaskManager::get_run), Task<std::optional<TaskRun>> (TaskManager::*)(std::string)>);
static_assert(std::is_same_v<decltype(&TaskManager::abort), Task<TaskRun> (TaskManager::*)(std::string, std::string)>);
static_assert(
    std::is_same_v<decltype(&TaskManager::enable_task), Task<fluid::TaskInfo> (TaskManager::*)(std::string, bool)>);
static_assert(std::is_same_v<decltype(&TaskManager::queue_length), Task<Lengths> (TaskManager::*)()>);
static_assert(
    std::is_same_v<decltype(&TaskManager::clear_queue), Task<Lengths> (TaskManager::*)(std::vector<TaskPriority>)>);
static_assert(std::is_same_v<decltype(&TaskManager::tasks_info),
                             Task<std::vector<fluid::TaskInfo>> (TaskManager::*)(std::vector<std::string>)>);
static_assert(std::is_same_v<decltype(&TaskManager::dispatcher), fluid::TaskDispatcher& (TaskManager::*)() noexcept>);
static_assert(
    std::is_same_v<decltype(&TaskManager::register_async_handler),
                   fluid::TaskRunHandler (TaskManager::*)(std::string_view, fluid::TaskRunHandler, fluid::EventScope)>);
static_assert(std::is_same_v<decltype(&TaskManager::unregister_async_handler),
                             fluid::TaskRunHandler (TaskManager::*)(std::string_view, fluid::EventScope)>);

static_assert(!std::is_copy_constructible_v<TaskContext>);
static_assert(std::is_same_v<decltype(&TaskContext::run), const TaskRun& (TaskContext::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&TaskContext::id), const std::string& (TaskContext::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&TaskContext::params), const json& (TaskContext::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&TaskContext::task), const TaskDefinition& (TaskContext::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&TaskContext::manager), TaskManager& (TaskContext::*)() const noexcept>);
static_assert(std::is_same_v<decltype(std::declval<const TaskContext&>().deps<std::string>()), std::string&>);
static_assert(std::is_same_v<decltype(&TaskContext::lease_token), std::uint64_t (TaskContext::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&TaskContext::is_cancelled), bool (TaskContext::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&TaskContext::abort), void (TaskContext::*)(std::string) const>);
static_assert(std::is_same_v<decltype(&TaskContext::queue),
                             Task<TaskRun> (TaskContext::*)(std::string, json, fluid::EnqueueOptions) const>);
static_assert(std::is_same_v<decltype(&TaskContext::logger), spdlog::logger& (TaskContext::*)() const>);

using fluid::TaskConsumer;
using fluid::TaskScheduler;
static_assert(std::is_base_of_v<TaskManager, TaskConsumer> && std::is_base_of_v<fluid::Workers, TaskConsumer>);
static_assert(std::is_base_of_v<TaskConsumer, TaskScheduler>);
static_assert(std::is_constructible_v<TaskConsumer, TaskManagerConfig, fluid::WorkerOptions>);
static_assert(std::is_constructible_v<TaskScheduler, TaskManagerConfig, fluid::WorkerOptions>);
static_assert(std::is_same_v<decltype(&TaskConsumer::running), std::size_t (TaskConsumer::*)() const noexcept>);
static_assert(std::is_same_v<decltype(std::declval<TaskConsumer&>().status()), Task<json>>);

// TaskApiServer.
using fluid::TaskApiOptions;
using fluid::TaskApiServer;
static_assert(std::is_same_v<decltype(TaskApiOptions::prefix), std::string>);
static_assert(std::is_same_v<decltype(TaskApiOptions::http), fluid::StatusServerOptions>);
static_assert(std::is_base_of_v<fluid::Worker, TaskApiServer>);
static_assert(std::is_constructible_v<TaskApiServer, TaskManager&, TaskApiOptions, fluid::WorkerOptions>);
static_assert(std::is_constructible_v<TaskApiServer, TaskManager&>);
static_assert(std::is_same_v<decltype(std::declval<const TaskApiServer&>().port()), std::uint16_t>);
static_assert(noexcept(std::declval<const TaskApiServer&>().port()));

// task_cli.
static_assert(std::is_same_v<decltype(&fluid::task_cli),
                             int (*)(int, char**, std::function<std::shared_ptr<TaskManager>()>)>);

static_assert(std::is_base_of_v<fluid::FluidError, fluid::TaskError>);
static_assert(std::is_base_of_v<fluid::TaskError, fluid::UnknownTaskError> &&
              std::is_base_of_v<fluid::TaskError, fluid::UnknownRunError> &&
              std::is_base_of_v<fluid::TaskError, fluid::TaskParamsError> &&
              std::is_base_of_v<fluid::TaskError, fluid::TaskAbortedError> &&
              std::is_base_of_v<fluid::TaskError, fluid::TaskTimeoutError> &&
              std::is_base_of_v<fluid::TaskError, fluid::WaitTimeoutError> &&
              std::is_base_of_v<fluid::TaskError, fluid::TaskProcessError> &&
              std::is_base_of_v<fluid::TaskError, fluid::CpuBoundEntryPointError>);
static_assert(std::is_base_of_v<fluid::FluidError, fluid::CrontabError> &&
              std::is_base_of_v<fluid::FluidError, fluid::BrokerError> &&
              std::is_base_of_v<fluid::BrokerError, fluid::BrokerUnavailableError> &&
              std::is_base_of_v<fluid::BrokerError, fluid::LeaseLostError>);

}  // namespace

// The sketch's names, used together as a newcomer would from fluid.hpp alone.
TEST(PinnedApi, AWorkerWrittenAgainstTheSketchRunsAndStopsNormally) {
  SketchWorker worker;
  fluid::run([&]() -> Task<> {
    co_await fluid::async_with(worker, [](SketchWorker& w) -> Task<> {
      EXPECT_TRUE(w.is_running());
      co_await fluid::sleep(5ms);
    });
  }());
  EXPECT_EQ(worker.worker_state(), fluid::WorkerState::stopped);
  EXPECT_EQ(worker.worker_name(), "sketch");
  EXPECT_EQ(worker.reason, "normal shutdown");
  EXPECT_EQ(worker.code, 0);
}

// The task queue's sketch names, used together from fluid.hpp alone: a task
// defined, consumed, queued and awaited.
TEST(PinnedApi, ATaskWrittenAgainstTheSketchIsQueuedAndRun) {
  fluid::TaskConsumer consumer({.broker_url = "memory://pinned_api", .max_concurrent_tasks = 1});
  consumer.register_task(
      fluid::make_task<SketchParams>("double_it", [](fluid::TaskContext& ctx, const SketchParams& params) -> Task<> {
        ctx.deps<std::string>() = std::to_string(params.n * 2);
        co_return;
      }));
  auto answer = std::make_shared<std::string>();
  consumer.set_deps(answer);
  fluid::run(fluid::async_with(consumer, [](fluid::TaskConsumer& c) -> Task<> {
    const json params = {{"n", 21}};
    const auto run = co_await c.queue_and_wait("double_it", params);
    EXPECT_EQ(run.state, fluid::TaskState::success);
  }));
  EXPECT_EQ(*answer, "42");
}
