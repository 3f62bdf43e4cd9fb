// TaskManager: its configuration (aio-fluid's test_config.py), registration,
// open/close, queue/execute/wait/abort and the other calls of the "open
// first" rule, the local events and async handlers (test_scheduler.py's
// manager tests, the observable parts of test_db_plugin.py), and the bad
// input that concerns a manager (the tests marked "Bad input").

#include "support/captured_log.hpp"
#include "support/task_events.hpp"
#include "support/thrown.hpp"
#include "support/workers.hpp"
#include "tasks.hpp"

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>

using namespace fluid;
using namespace fluid::test;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using json = nlohmann::json;

namespace {

TaskManagerConfig memory_config(const std::string& query = {}) { return {.broker_url = unique_memory_url(query)}; }

/// A manager with the example tasks registered.
std::unique_ptr<TaskManager> example_manager(TaskManagerConfig config = memory_config()) {
  auto manager = std::make_unique<TaskManager>(std::move(config));
  manager->register_tasks(examples::example_tasks());
  manager->set_deps(std::make_shared<examples::Results>());
  return manager;
}

const EnqueueOptions no_options;

template <class T>
Task<> discard(Task<T> call) {
  (void)co_await std::move(call);
}

}  // namespace

// ---------------------------------------------------------------- configuration (test_config.py)

// Ports test_config.py::test_no_workers (P).
TEST(TaskManagerConfig, AcceptsZeroConcurrentTasks) {
  TaskManager manager({.broker_url = unique_memory_url(), .max_concurrent_tasks = 0});
  EXPECT_EQ(manager.config().max_concurrent_tasks, 0u);
}

// Ports test_config.py::test_no_queues (P): no queues, nothing to connect to.
TEST(TaskManagerConfig, AnEmptyQueuesQueryConsumesNothing) {
  TaskConsumer consumer({.broker_url = unique_memory_url("?queues=")});
  EXPECT_EQ(consumer.type(), "task_consumer");
  EXPECT_EQ(consumer.config().max_concurrent_tasks, 5u);
  EXPECT_TRUE(consumer.queues().empty());
  fluid::run([&]() -> Task<> {
    co_await consumer.open();
    const auto lengths = co_await consumer.queue_length();
    EXPECT_TRUE(lengths.empty());
    co_await consumer.close();
  }());
}

// Ports test_config.py::test_two_queues (P).
TEST(TaskManagerConfig, QueuesFollowTheUrlsOrder) {
  TaskManager manager({.broker_url = unique_memory_url("?queues=medium,high")});
  EXPECT_EQ(manager.queues(), (std::vector<TaskPriority>{TaskPriority::medium, TaskPriority::high}));
}

TEST(TaskManagerConfig, ResolvesEveryOptionalFromTheDefaults) {
  ScopedEnv url("FLUID_BROKER_URL", nullptr);
  ScopedEnv tasks("FLUID_MAX_CONCURRENT_TASKS", nullptr);
  ScopedEnv sleep("FLUID_SLEEP_MILLIS", nullptr);
  ScopedEnv lease("FLUID_TASK_LEASE", nullptr);
  ScopedEnv spawn("TASK_MANAGER_SPAWN", nullptr);
  TaskManager manager;
  const auto& config = manager.config();
  EXPECT_THAT(config.broker_url, ::testing::StartsWith("memory://"));
  EXPECT_EQ(config.schedule_tasks, true);
  EXPECT_EQ(config.max_concurrent_tasks, 5u);
  EXPECT_EQ(config.sleep, 1000ms);
  EXPECT_EQ(config.lease, 15s);
  EXPECT_GE(config.cpu_threads, 1u);
  EXPECT_EQ(manager.queues(), (std::vector<TaskPriority>{TaskPriority::high, TaskPriority::medium, TaskPriority::low}));
}

TEST(TaskManagerConfig, ReadsTheEnvironment) {
  const auto url = unique_memory_url();
  ScopedEnv broker("FLUID_BROKER_URL", url.c_str());
  ScopedEnv tasks("FLUID_MAX_CONCURRENT_TASKS", "7");
  ScopedEnv sleep("FLUID_SLEEP_MILLIS", "250");
  ScopedEnv lease("FLUID_TASK_LEASE", "0.5");
  ScopedEnv heartbeat("FLUID_SCHEDULER_HEARTBEAT_MILLIS", "100");
  TaskManager manager;
  EXPECT_EQ(manager.config().broker_url, url);
  EXPECT_EQ(manager.config().max_concurrent_tasks, 7u);
  EXPECT_EQ(manager.config().sleep, 250ms);
  EXPECT_EQ(manager.config().lease, 500ms);
}

TEST(TaskManagerConfig, OptionsWinOverTheEnvironment) {
  ScopedEnv tasks("FLUID_MAX_CONCURRENT_TASKS", "7");
  ScopedEnv lease("FLUID_TASK_LEASE", "bad");
  TaskManager manager({.broker_url = unique_memory_url(), .max_concurrent_tasks = 2, .lease = 2s});
  EXPECT_EQ(manager.config().max_concurrent_tasks, 2u);
  EXPECT_EQ(manager.config().lease, 2s);
}

TEST(TaskManagerConfig, InsideAProcessModeChildSchedulesNothingByDefault) {
  ScopedEnv spawn("TASK_MANAGER_SPAWN", "true");
  TaskManager manager(memory_config());
  EXPECT_EQ(manager.config().schedule_tasks, false);
}

// Bad input: bad configuration or environment value.
TEST(TaskManagerConfig, RejectsAMalformedEnvironmentValueNamingTheVariable) {
  const std::vector<std::pair<const char*, const char*>> bad = {{"FLUID_MAX_CONCURRENT_TASKS", "five"},
                                                                {"FLUID_MAX_CONCURRENT_TASKS", "-1"},
                                                                {"FLUID_MAX_CONCURRENT_TASKS", "5 "},
                                                                {"FLUID_SLEEP_MILLIS", "0"},
                                                                {"FLUID_SLEEP_MILLIS", "1.5"},
                                                                {"FLUID_TASK_LEASE", "0.05"},
                                                                {"FLUID_TASK_LEASE", "15s"},
                                                                {"FLUID_TASK_LEASE", ""},
                                                                {"FLUID_SCHEDULER_HEARTBEAT_MILLIS", "fast"}};
  for (const auto& [name, value] : bad) {
    ScopedEnv variable(name, value);
    const auto message = thrown_message<FluidError>([] { TaskManager manager(memory_config()); });
    EXPECT_THAT(message, HasSubstr(name)) << value;
    EXPECT_THAT(message, HasSubstr(std::string("\"") + value + "\"")) << name;
  }
}

TEST(TaskManagerConfig, RejectsBadOptions) {
  EXPECT_THAT(thrown_message<FluidError>([] { TaskManager m({.broker_url = unique_memory_url(), .lease = 50ms}); }),
              HasSubstr("lease"));
  EXPECT_THAT(thrown_message<FluidError>([] { TaskManager m({.broker_url = unique_memory_url(), .sleep = 0ms}); }),
              HasSubstr("sleep"));
  EXPECT_THAT(thrown_message<FluidError>([] { TaskManager m({.broker_url = unique_memory_url(), .max_deliveries = 0}); }),
              HasSubstr("max_deliveries"));
}

// Bad input: a bad broker URL, quoted without its password.
TEST(TaskManagerConfig, RejectsABadBrokerUrl) {
  const auto message = thrown_message<FluidError>([] { TaskManager m({.broker_url = "kafka://user:secret@host"}); });
  EXPECT_THAT(message, HasSubstr("kafka://"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("secret")));
  EXPECT_THAT(thrown_message<FluidError>([] { TaskManager m({.broker_url = "memory://x?queues=urgent"}); }),
              HasSubstr("urgent"));
}

// ---------------------------------------------------------------- registration

// Ports test_scheduler.py::test_scheduler_manager (P).
TEST(TaskManager, KnowsItsRegisteredTasksAndRejectsOthers) {
  const auto scheduler = examples::task_scheduler(memory_config());
  EXPECT_FALSE(scheduler->registry().empty());
  EXPECT_EQ(scheduler->type(), "task_scheduler");
  EXPECT_TRUE(scheduler->registry().contains("dummy"));
  EXPECT_TRUE(scheduler->registry().contains("ping"));
  EXPECT_EQ(thrown_message<UnknownTaskError>([&] { (void)scheduler->create_task_run("bbdjchbjch"); }),
            "unknown task 'bbdjchbjch'");
}

// Ports test_config.py::test_register_from_module (A): bulk registration.
TEST(TaskManager, RegistersTasksInBulk) {
  const auto manager = example_manager();
  EXPECT_EQ(manager->registry().size(), examples::example_tasks().size());
  EXPECT_TRUE(manager->registry().contains("dummy"));
}

// Ports test_config.py::test_register_from_module_with_tags (A).
TEST(TaskManager, AddsExtraTagsToEveryTaskRegistered) {
  TaskManager manager(memory_config());
  manager.register_tasks(examples::example_tasks(), {"extra", "test"});
  for (const auto& [name, task] : manager.registry()) {
    const auto& tags = task.options().tags;
    EXPECT_TRUE(std::find(tags.begin(), tags.end(), "extra") != tags.end()) << name;
    EXPECT_TRUE(std::is_sorted(tags.begin(), tags.end())) << name;
    EXPECT_EQ(std::set<std::string>(tags.begin(), tags.end()).size(), tags.size()) << name;
  }
  const auto& dummy_tags = manager.registry().at("dummy").options().tags;
  EXPECT_EQ(dummy_tags, (std::vector<std::string>{"extra", "slow", "test"}));
}

// Ports test_config.py::test_params (A): every example task has params; those
// without required fields are built from their defaults.
TEST(TaskManager, BuildsRunsOfEveryExampleTaskFromDefaultParams) {
  const auto manager = example_manager();
  for (const auto& [name, task] : manager->registry()) {
    if (name == "whisper" || name == "colorize_required") {  // required params
      EXPECT_THROW((void)manager->create_task_run(name), TaskParamsError);
      continue;
    }
    const auto run = manager->create_task_run(name);
    EXPECT_TRUE(run.params.is_object()) << name;
  }
  EXPECT_EQ(manager->create_task_run("dummy").params, json::parse(R"({"sleep":0.1,"error":false,"abort":false})"));
}

// Ports test_config.py::test_cpu_bount_params (A): a process-mode task keeps its params type.
TEST(TaskManager, AProcessModeTaskKeepsItsParamsType) {
  const auto manager = example_manager();
  EXPECT_EQ(manager->create_task_run("cpu_bound", {{"sleep", 0.5}}).params["sleep"], 0.5);
  EXPECT_THROW((void)manager->create_task_run("cpu_bound", {{"sleep", "half"}}), TaskParamsError);
}

// Bad input: duplicate task.
TEST(TaskManager, RejectsATaskNameRegisteredTwice) {
  TaskManager manager(memory_config());
  manager.register_task(examples::add());
  EXPECT_THAT(thrown_message<FluidError>([&] { manager.register_task(examples::add()); }), HasSubstr("'add'"));
}

// Bad input: registration after open().
TEST(TaskManager, RejectsRegistrationOnceOpen) {
  fluid::run([]() -> Task<> {
    TaskManager manager(memory_config());
    co_await manager.open();
    EXPECT_THAT(thrown_message<FluidError>([&] { manager.register_task(examples::add()); }), HasSubstr("open"));
    EXPECT_THROW(manager.add_resource([]() -> Task<> { co_return; }), FluidError);
    co_await manager.close();
  }());
}

TEST(TaskManager, GivesItsDepsAndRejectsAnotherType) {
  TaskManager manager(memory_config());
  EXPECT_THAT(thrown_message<FluidError>([&] { (void)manager.deps<examples::Results>(); }), HasSubstr("no deps"));
  auto results = std::make_shared<examples::Results>();
  manager.set_deps(results);
  EXPECT_EQ(&manager.deps<examples::Results>(), results.get());
  EXPECT_THROW((void)manager.deps<std::string>(), FluidError);
}

TEST(TaskManager, HasAnIdOf32HexDigitsAndItsType) {
  TaskManager a(memory_config());
  TaskManager b(memory_config());
  EXPECT_EQ(a.manager_id().size(), 32u);
  EXPECT_EQ(a.manager_id().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a.manager_id(), b.manager_id());
  EXPECT_EQ(a.type(), "task_manager");
}

// ---------------------------------------------------------------- open and close

TEST(TaskManager, OpensResourcesInOrderAndClosesThemInReverseOnce) {
  fluid::run([]() -> Task<> {
    std::vector<std::string> calls;
    TaskManager manager(memory_config());
    for (const auto* name : {"a", "b"}) {
      const std::string n = name;
      manager.add_resource(
          [&calls, n]() -> Task<> {
            calls.push_back("open " + n);
            co_return;
          },
          [&calls, n]() -> Task<> {
            calls.push_back("close " + n);
            co_return;
          });
    }
    co_await manager.open();
    co_await manager.open();
    EXPECT_TRUE(manager.is_open());
    co_await manager.close();
    co_await manager.close();
    EXPECT_FALSE(manager.is_open());
    EXPECT_EQ(calls, (std::vector<std::string>{"open a", "open b", "close b", "close a"}));
  }());
}

TEST(TaskManager, ClosesWhatItOpenedWhenAResourceFailsToOpen) {
  fluid::run([]() -> Task<> {
    std::vector<std::string> calls;
    TaskManager manager(memory_config());
    manager.add_resource(
        [&]() -> Task<> {
          calls.push_back("open a");
          co_return;
        },
        [&]() -> Task<> {
          calls.push_back("close a");
          co_return;
        });
    manager.add_resource([]() -> Task<> { throw std::runtime_error("no database"); });
    const auto message = co_await thrown_message_of<std::runtime_error>(manager.open());
    EXPECT_EQ(message, "no database");
    EXPECT_FALSE(manager.is_open());
    EXPECT_EQ(calls, (std::vector<std::string>{"open a", "close a"}));
  }());
}

// The "open first" rule.
TEST(TaskManager, CallsNeedingTheBrokerThrowUntilOpen) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    const auto not_open = [&](Task<> call) -> Task<> {
      const auto message = co_await thrown_message_of<FluidError>(std::move(call));
      EXPECT_THAT(message, HasSubstr("task manager not open"));
    };
    co_await not_open(discard(manager->queue("add")));
    co_await not_open(discard(manager->execute("add")));
    co_await not_open(discard(manager->wait("x")));
    co_await not_open(discard(manager->queue_and_wait("add")));
    co_await not_open(discard(manager->get_run("x")));
    co_await not_open(discard(manager->abort("x")));
    co_await not_open(discard(manager->enable_task("add")));
    co_await not_open(discard(manager->tasks_info()));
    co_await not_open(discard(manager->queue_length()));
    co_await not_open(discard(manager->clear_queue()));
    EXPECT_NO_THROW((void)manager->create_task_run("add"));
  }());
}

TEST(TaskManager, ReportsErrorsWhenAwaitedNotAtTheCall) {
  const auto manager = example_manager();
  auto call = manager->queue("no_such_task");  // not open, unknown task: nothing thrown yet
  EXPECT_THROW(fluid::run(discard(std::move(call))), FluidError);
}

// ---------------------------------------------------------------- runs

// Ports test_scheduler.py::test_queue_records_no_chain (P).
TEST(TaskManager, ARunCreatedDirectlyHasNoLineage) {
  const auto manager = example_manager();
  const auto run = manager->create_task_run("dummy");
  EXPECT_EQ(run.from_run_id, "");
  EXPECT_EQ(run.root_run_id, "");
  EXPECT_EQ(run.state, TaskState::init);
  EXPECT_EQ(run.id.size(), 32u);
  EXPECT_EQ(run.manager_id, manager->manager_id());
  EXPECT_EQ(run.priority, TaskPriority::medium);
}

TEST(TaskManager, CreateTaskRunTakesTheGivenIdAndPriority) {
  const auto manager = example_manager();
  const auto run = manager->create_task_run("add", {{"a", 1}}, {.run_id = "my-run_1", .priority = TaskPriority::high});
  EXPECT_EQ(run.id, "my-run_1");
  EXPECT_EQ(run.priority, TaskPriority::high);
  EXPECT_EQ(run.params, json::parse(R"({"a":1.0,"b":0.0})"));
}

// Run ids: the task-name rule, else TaskParamsError naming the id.
TEST(TaskManager, RejectsARunIdOutsideTheNameRule) {
  const auto manager = example_manager();
  for (const std::string& bad : std::vector<std::string>{"has space", "-dash", std::string(65, 'a'), "slash/"}) {
    const auto message =
        thrown_message<TaskParamsError>([&] { (void)manager->create_task_run("add", json::object(), {.run_id = bad}); });
    EXPECT_THAT(message, HasSubstr(bad));
  }
}

// Bad input: unknown task name in queue, execute, create_task_run, enable_task.
TEST(TaskManager, RejectsAnUnknownTaskEverywhere) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    // Awaited into names: a co_await inside a gtest macro lands in an if condition (GCC PR 106188).
    const auto queued = co_await thrown_message_of<UnknownTaskError>(discard(manager->queue("nope")));
    const auto executed = co_await thrown_message_of<UnknownTaskError>(discard(manager->execute("nope")));
    const auto enabled = co_await thrown_message_of<UnknownTaskError>(discard(manager->enable_task("nope")));
    EXPECT_EQ(queued, "unknown task 'nope'");
    EXPECT_EQ(executed, "unknown task 'nope'");
    EXPECT_EQ(enabled, "unknown task 'nope'");
    EXPECT_THROW((void)manager->create_task_run("nope"), UnknownTaskError);
    co_await manager->close();
  }());
}

// Bad input: bad params are rejected naming the task; nothing queued.
TEST(TaskManager, RejectsBadParamsAtQueueAndQueuesNothing) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    RunEvents events(*manager);
    const std::vector<json> bad = {json::array(), json{{"sleep", "5"}}, json{{"sleep", -1.0}},
                                   json{{"sleep", std::string(1 << 20, 'x')}}};
    for (const auto& params : bad) {
      const auto message = co_await thrown_message_of<TaskParamsError>(discard(manager->queue("dummy", params)));
      EXPECT_THAT(message, HasSubstr("invalid params for task 'dummy'")) << params.dump().substr(0, 40);
    }
    const auto missing = co_await thrown_message_of<TaskParamsError>(discard(manager->queue("whisper")));
    EXPECT_THAT(missing, HasSubstr("'whisper'"));
    const auto lengths = co_await manager->queue_length();
    for (const auto& [priority, n] : lengths) EXPECT_EQ(n, 0u);
    EXPECT_TRUE(events.all().empty());
    co_await manager->close();
  }());
}

TEST(TaskManager, QueueDispatchesInitThenQueuedAndTheBrokerHoldsTheRun) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    RunEvents events(*manager);
    const json params = {{"a", 3}, {"b", 4}};
    const auto run = co_await manager->queue("add", params);
    EXPECT_EQ(run.state, TaskState::queued);
    EXPECT_TRUE(run.queued.has_value());
    EXPECT_FALSE(run.execute_after.has_value());
    EXPECT_EQ(events.states_of(run.id), (std::vector<TaskState>{TaskState::init, TaskState::queued}));
    const auto stored = co_await manager->get_run(run.id);
    EXPECT_TRUE(stored.has_value());
    EXPECT_EQ(stored->state, TaskState::queued);
    EXPECT_EQ(stored->params, json::parse(R"({"a":3.0,"b":4.0})"));
    const auto lengths = co_await manager->queue_length();
    EXPECT_EQ(lengths.size(), 3u);
    EXPECT_EQ(lengths.at(TaskPriority::medium), 1u);
    co_await manager->close();
  }());
}

// Ports test_scheduler.py::test_queue_length (P).
TEST(TaskManager, QueueLengthHasOneEntryPerPriority) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    const auto lengths = co_await manager->queue_length();
    EXPECT_EQ(lengths.size(), 3u);
    for (const auto priority : {TaskPriority::high, TaskPriority::medium, TaskPriority::low}) {
      EXPECT_TRUE(lengths.contains(priority));
    }
    co_await manager->close();
  }());
}

// Idempotent by run id.
TEST(TaskManager, QueueingAKnownRunIdReturnsTheRunAndQueuesNothing) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    RunEvents events(*manager);
    const EnqueueOptions options{.run_id = "once"};
    const auto first = co_await manager->queue("add", json::object(), options);
    const json params = {{"a", 9}};
    const auto second = co_await manager->queue("add", params, options);
    EXPECT_EQ(second.id, "once");
    EXPECT_EQ(second.params, first.params);
    EXPECT_EQ(events.count(TaskState::queued), 1u);
    const auto lengths = co_await manager->queue_length();
    EXPECT_EQ(lengths.at(TaskPriority::medium), 1u);
    co_await manager->close();
  }());
}

TEST(TaskManager, ADelayedRunIsQueuedVisibleAndNotClaimableYet) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    const EnqueueOptions options{.delay = 60s};
    const auto run = co_await manager->queue("add", json::object(), options);
    EXPECT_EQ(run.state, TaskState::queued);
    EXPECT_TRUE(run.execute_after.has_value());
    EXPECT_GE(*run.execute_after - *run.queued, 59s);
    const auto lengths = co_await manager->queue_length();
    EXPECT_EQ(lengths.at(TaskPriority::medium), 0u);  // claimable runs only
    const auto aborted = co_await manager->abort(run.id, "not needed");
    EXPECT_EQ(aborted.state, TaskState::aborted);
    co_await manager->close();
  }());
}

// ---------------------------------------------------------------- execute

// Ports test_scheduler.py::test_execute (P).
TEST(TaskManager, ExecuteRunsTheTaskInline) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    const auto run = co_await manager->execute("dummy");
    EXPECT_EQ(run.task, "dummy");
    EXPECT_TRUE(run.end.has_value());
    EXPECT_EQ(run.state, TaskState::success);
    co_await manager->close();
  }());
}

// Ports test_scheduler.py::test_dummy_queue (P).
TEST(TaskManager, ExecuteWaitsForTheExecutor) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    const auto started = std::chrono::steady_clock::now();
    const json params = {{"sleep", 0.2}};
    const auto run = co_await manager->execute("dummy", params);
    EXPECT_TRUE(run.is_done());
    EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
    co_await manager->close();
  }());
}

// Ports test_scheduler.py::test_dummy_error (P).
TEST(TaskManager, ExecuteRethrowsTheExecutorsFailure) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    RunEvents events(*manager);
    const json params = {{"error", true}};
    const auto message = co_await thrown_message_of<std::runtime_error>(discard(manager->execute("dummy", params)));
    EXPECT_EQ(message, "just an error");
    const auto all = events.all();
    EXPECT_EQ(all.size(), 3u);
    if (all.size() == 3) {
      EXPECT_EQ(all[2].state, TaskState::failure);
      EXPECT_EQ(all[2].error, "just an error");
    }
    co_await manager->close();
  }());
}

// Ports test_db_plugin.py::test_task_run_aborted_via_context (A): the aborted event.
TEST(TaskManager, ExecuteReturnsAnAbortedRunAndDispatchesItsEvents) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    RunEvents events(*manager);
    const json params = {{"abort", true}, {"sleep", 0}};
    const auto run = co_await manager->execute("dummy", params);
    EXPECT_EQ(run.state, TaskState::aborted);
    EXPECT_EQ(run.error, "aborted by request");
    EXPECT_EQ(events.states_of(run.id),
              (std::vector<TaskState>{TaskState::queued, TaskState::running, TaskState::aborted}));
    co_await manager->close();
  }());
}

TEST(TaskManager, ExecuteThrowsTaskTimeoutErrorAndCancelsTheExecutor) {
  fluid::run([]() -> Task<> {
    TaskManager manager(memory_config());
    bool cancelled = false;
    bool ended = false;
    detail::Notifier unwound;
    manager.register_task(make_task("slow",
                                    [&](TaskContext& ctx) -> Task<> {
                                      try {
                                        co_await fluid::sleep(1h);
                                      } catch (const boost::system::system_error&) {
                                        cancelled = ctx.is_cancelled();
                                        ended = true;
                                        unwound.notify_all();
                                        throw;
                                      }
                                    },
                                    {.timeout = 100ms}));
    co_await manager.open();
    const auto message = co_await thrown_message_of<TaskTimeoutError>(discard(manager.execute("slow")));
    EXPECT_THAT(message, HasSubstr("timeout after 0.1s"));
    EXPECT_THAT(message, HasSubstr("'slow'"));
    const bool unwinds = co_await unwound.wait_until([&] { return ended; }, detail::deadline_after(10s));
    EXPECT_TRUE(unwinds);
    EXPECT_TRUE(cancelled);
    co_await manager.close();
  }());
}

TEST(TaskManager, ExecuteHasNoLeaseAndLeavesTheTaskInfoAlone) {
  fluid::run([]() -> Task<> {
    TaskManager manager(memory_config());
    std::uint64_t token = 99;
    manager.register_task(make_task("token", [&token](TaskContext& ctx) -> Task<> {
      token = ctx.lease_token();
      co_return;
    }));
    co_await manager.open();
    co_await discard(manager.execute("token"));
    EXPECT_EQ(token, 0u);
    const std::vector<std::string> names{"token"};
    const auto infos = co_await manager.tasks_info(names);
    EXPECT_EQ(infos.size(), 1u);
    if (!infos.empty()) {
      EXPECT_FALSE(infos[0].last_run_end.has_value());
    }
    co_await manager.close();
  }());
}

TEST(TaskManager, ExecuteRunsAThreadModeTaskOffTheLoop) {
  fluid::run([]() -> Task<> {
    TaskManager manager({.broker_url = unique_memory_url(), .cpu_threads = 1});
    std::thread::id ran_on;
    manager.register_task(make_task("blocking",
                                    [&ran_on](TaskContext&) -> Task<> {
                                      ran_on = std::this_thread::get_id();
                                      co_return;
                                    },
                                    {.execution = Execution::thread}));
    co_await manager.open();
    const auto run = co_await manager.execute("blocking");
    EXPECT_EQ(run.state, TaskState::success);
    EXPECT_TRUE(ran_on != std::this_thread::get_id());  // thread::id has no gtest printer here
    co_await manager.close();
  }());
}

// Bad input: process mode without task_cli: the run fails with its message.
TEST(TaskManager, ExecuteOfAProcessModeTaskNeedsAnEntryPoint) {
  fluid::run([]() -> Task<> {
    ScopedEnv spawn("TASK_MANAGER_SPAWN", nullptr);
    const auto manager = example_manager();
    co_await manager->open();
    const auto message = co_await thrown_message_of<CpuBoundEntryPointError>(discard(manager->execute("cpu_bound")));
    EXPECT_THAT(message, HasSubstr("task_cli"));
    co_await manager->close();
  }());
}

// In the child a process-mode task's own executor runs (what `task_cli exec` does).
TEST(TaskManager, InsideAChildAProcessModeTaskRunsItsExecutor) {
  fluid::run([]() -> Task<> {
    ScopedEnv spawn("TASK_MANAGER_SPAWN", "true");
    const auto manager = example_manager();
    co_await manager->open();
    const json params = {{"sleep", 0}};
    const auto run = co_await manager->execute("cpu_bound", params);
    EXPECT_EQ(run.state, TaskState::success);
    co_await manager->close();
  }());
}

// Ports test_db_plugin.py::test_task_run_params_with_datetime (A): params are
// stored as given, a time string included.
TEST(TaskManager, AnUntypedTaskKeepsItsParamsAsGiven) {
  fluid::run([]() -> Task<> {
    TaskManager manager(memory_config());
    json seen;
    manager.register_task(make_task("datetime_task", [&seen](TaskContext& ctx) -> Task<> {
      seen = ctx.params();
      co_return;
    }));
    co_await manager.open();
    const json params = {{"dt", "2024-01-15T12:00:00Z"}};
    const auto run = co_await manager.execute("datetime_task", params);
    EXPECT_EQ(run.params, params);
    EXPECT_EQ(seen, params);
    co_await manager.close();
  }());
}

// ---------------------------------------------------------------- wait, get_run, abort

// Bad input: wait for an unknown run.
TEST(TaskManager, WaitForAnUnknownRunThrowsUnknownRunError) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    const auto message = co_await thrown_message_of<UnknownRunError>(discard(manager->wait("nope")));
    EXPECT_THAT(message, HasSubstr("nope"));
    const auto run = co_await manager->get_run("nope");
    EXPECT_FALSE(run.has_value());
    co_await manager->close();
  }());
}

// Bad input: wait too long; the run goes on.
TEST(TaskManager, WaitGivesUpAfterItsTimeoutAndTheRunGoesOn) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    const auto run = co_await manager->queue("add");
    const auto message = co_await thrown_message_of<WaitTimeoutError>(discard(manager->wait(run.id, 50ms)));
    EXPECT_THAT(message, HasSubstr(run.id));
    const auto still = co_await manager->get_run(run.id);
    EXPECT_EQ(still->state, TaskState::queued);
    co_await manager->close();
  }());
}

TEST(TaskManager, WaitReturnsARunFinalAlready) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    const auto run = co_await manager->queue("add");
    co_await discard(manager->abort(run.id, "stop"));
    const auto waited = co_await manager->wait(run.id, 1s);
    EXPECT_EQ(waited.state, TaskState::aborted);
    EXPECT_EQ(waited.error, "stop");
    co_await manager->close();
  }());
}

// The feed wakes a waiter when another manager (another process) ends the
// run. The feed skips state changes nobody wants: this wait() begins while
// the feed's read is under way (asked when nobody waited), and still hears
// of the change that read brings.
TEST(TaskManager, WaitFollowsAChangeMadeByAnotherManager) {
  fluid::run([]() -> Task<> {
    const auto url = unique_memory_url();
    const auto waiter = example_manager({.broker_url = url});
    const auto other = example_manager({.broker_url = url});
    co_await waiter->open();
    co_await other->open();
    const auto run = co_await waiter->queue("add");
    co_await sleep(20ms);  // the waiter's feed has read the queued event and waits for the next
    auto wait = waiter->wait(run.id, 10s);
    auto abort_later = [&]() -> Task<> {
      co_await sleep(20ms);
      co_await discard(other->abort(run.id, "from elsewhere"));
    };
    const auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(executor, abort_later(), boost::asio::detached);
    const auto waited = co_await std::move(wait);
    EXPECT_EQ(waited.state, TaskState::aborted);
    EXPECT_EQ(waited.manager_id, other->manager_id());
    co_await other->close();
    co_await waiter->close();
  }());
}

TEST(TaskManager, AClusterHandlerRegisteredWhileTheFeedIsIdleSeesTheNextChange) {
  fluid::run([]() -> Task<> {
    const auto url = unique_memory_url();
    const auto watcher = example_manager({.broker_url = url});
    const auto producer = example_manager({.broker_url = url});
    co_await watcher->open();
    co_await producer->open();
    const auto run = co_await producer->queue("add");
    co_await sleep(20ms);  // the watcher's feed has read the queued event and waits for the next
    std::vector<TaskRun> seen;
    detail::Notifier changed;
    watcher->register_async_handler(
        "aborted.watch",
        [&](const TaskRun& aborted) -> Task<> {
          seen.push_back(aborted);
          changed.notify_all();
          co_return;
        },
        EventScope::cluster);
    co_await discard(producer->abort(run.id, "elsewhere"));
    const bool got = co_await changed.wait_until([&] { return !seen.empty(); }, detail::deadline_after(10s));
    EXPECT_TRUE(got);
    if (got) {
      EXPECT_EQ(seen[0].id, run.id);
    }
    co_await producer->close();
    co_await watcher->close();
  }());
}

// Bad input: abort an unknown run / a final run.
TEST(TaskManager, AbortOfAnUnknownRunThrowsAndOfAFinalRunChangesNothing) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    RunEvents events(*manager);
    const auto unknown = co_await thrown_message_of<UnknownRunError>(discard(manager->abort("nope")));
    EXPECT_THAT(unknown, HasSubstr("nope"));
    const auto run = co_await manager->queue("add");
    const auto aborted = co_await manager->abort(run.id, "first");
    EXPECT_EQ(aborted.state, TaskState::aborted);
    EXPECT_TRUE(aborted.end.has_value());
    const auto again = co_await manager->abort(run.id, "second");
    EXPECT_EQ(again.state, TaskState::aborted);
    EXPECT_EQ(again.error, "first");
    EXPECT_EQ(events.count(TaskState::aborted), 1u);
    co_await manager->close();
  }());
}

TEST(TaskManager, ClearQueueAbortsEveryWaitingRun) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    const auto a = co_await manager->queue("add");
    const EnqueueOptions high{.priority = TaskPriority::high};
    const auto b = co_await manager->queue("add", json::object(), high);
    const auto cleared = co_await manager->clear_queue();
    EXPECT_EQ(cleared.at(TaskPriority::medium), 1u);
    EXPECT_EQ(cleared.at(TaskPriority::high), 1u);
    EXPECT_EQ(cleared.at(TaskPriority::low), 0u);
    const auto run = co_await manager->get_run(a.id);
    EXPECT_EQ(run->state, TaskState::aborted);
    EXPECT_EQ(run->error, "queue cleared");
    const std::vector<TaskPriority> high_only{TaskPriority::high};
    const auto only_high = co_await manager->clear_queue(high_only);
    EXPECT_EQ(only_high.size(), 1u);
    (void)b;
    co_await manager->close();
  }());
}

// ---------------------------------------------------------------- task info

// Ports test_scheduler.py::test_task_info (P).
TEST(TaskManager, EnableTaskReturnsTheTasksInfo) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    const auto unknown = co_await thrown_message_of<UnknownTaskError>(discard(manager->enable_task("hfgfhgfhfh")));
    EXPECT_EQ(unknown, "unknown task 'hfgfhgfhfh'");
    const auto info = co_await manager->enable_task("ping");
    EXPECT_TRUE(info.enabled);
    EXPECT_EQ(info.name, "ping");
    EXPECT_EQ(info.schedule, "every(0:00:02)");
    EXPECT_EQ(info.description, "A simple scheduled task that ping the broker");
    const auto disabled = co_await manager->enable_task("ping", false);
    EXPECT_FALSE(disabled.enabled);
    co_await manager->close();
  }());
}

TEST(TaskManager, TasksInfoIsSortedByNameAndSkipsUnknownNames) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    const auto all = co_await manager->tasks_info();
    EXPECT_EQ(all.size(), manager->registry().size());
    EXPECT_TRUE(std::is_sorted(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; }));
    const std::vector<std::string> names{"ping", "nope", "add"};
    const auto some = co_await manager->tasks_info(names);
    EXPECT_EQ(some.size(), 2u);
    if (some.size() == 2) {
      EXPECT_EQ(some[0].name, "add");
      EXPECT_EQ(some[1].name, "ping");
    }
    co_await manager->close();
  }());
}

// ---------------------------------------------------------------- events and handlers

// Bad input: a handler that throws is logged and ignored.
TEST(TaskManager, ASyncHandlerThatThrowsIsLoggedAndTheOthersStillRun) {
  fluid::run([]() -> Task<> {
    CapturedLog log;
    const auto manager = example_manager();
    co_await manager->open();
    manager->dispatcher().register_handler("queued.bad",
                                           [](const TaskRun&) { throw std::runtime_error("bad handler"); });
    RunEvents events(*manager);
    const auto run = co_await manager->queue("add");
    EXPECT_EQ(run.state, TaskState::queued);
    EXPECT_EQ(events.count(TaskState::queued), 1u);
    EXPECT_TRUE(log.contains("queued.bad"));
    EXPECT_TRUE(log.contains("bad handler"));
    co_await manager->close();
  }());
}

TEST(TaskManager, AnAsyncHandlerThatThrowsIsLoggedAndIgnored) {
  fluid::run([]() -> Task<> {
    CapturedLog log;
    const auto manager = example_manager();
    int calls = 0;
    manager->register_async_handler("queued.bad", [](const TaskRun&) -> Task<> {
      throw std::runtime_error("bad async handler");
      co_return;
    });
    manager->register_async_handler("queued.good", [&calls](const TaskRun&) -> Task<> {
      ++calls;
      co_return;
    });
    co_await manager->open();
    co_await discard(manager->queue("add"));
    co_await discard(manager->queue("add"));
    co_await manager->close();  // delivers what is queued first
    EXPECT_EQ(calls, 2);
    EXPECT_TRUE(log.contains("bad async handler"));
  }());
}

TEST(TaskManager, RegisteringAnAsyncHandlerReturnsTheOneItReplaced) {
  const auto manager = example_manager();
  TaskRunHandler first = [](const TaskRun&) -> Task<> { co_return; };
  EXPECT_FALSE(manager->register_async_handler("success.x", first));
  const auto replaced = manager->register_async_handler("success.x", [](const TaskRun&) -> Task<> { co_return; });
  EXPECT_TRUE(replaced);
  EXPECT_TRUE(manager->unregister_async_handler("success.x"));
  EXPECT_FALSE(manager->unregister_async_handler("success.x"));
  EXPECT_THROW(manager->register_async_handler("success.x.y", first), FluidError);
  EXPECT_THROW(manager->register_async_handler("success.x", TaskRunHandler{}), FluidError);
}

TEST(TaskManager, LocalAsyncHandlersReceiveTheEventsInOrder) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    std::vector<std::string> seen;
    for (const auto* state : {"init", "queued", "aborted"}) {
      manager->register_async_handler(std::string(state) + ".log", [&seen](const TaskRun& run) -> Task<> {
        co_await sleep(1ms);  // handlers that wait still come in order
        seen.push_back(run.id + " " + std::string(to_string(run.state)));
      });
    }
    co_await manager->open();
    const auto a = co_await manager->queue("add");
    const auto b = co_await manager->queue("add");
    co_await discard(manager->abort(a.id));
    co_await manager->close();
    EXPECT_EQ(seen, (std::vector<std::string>{a.id + " init", a.id + " queued", b.id + " init", b.id + " queued",
                                              a.id + " aborted"}));
  }());
}

TEST(TaskManager, ClusterHandlersSeeChangesMadeByAnyManager) {
  fluid::run([]() -> Task<> {
    const auto url = unique_memory_url();
    const auto watcher = example_manager({.broker_url = url});
    const auto producer = example_manager({.broker_url = url});
    std::vector<TaskRun> seen;
    detail::Notifier changed;
    watcher->register_async_handler(
        "aborted.watch",
        [&](const TaskRun& run) -> Task<> {
          seen.push_back(run);
          changed.notify_all();
          co_return;
        },
        EventScope::cluster);
    co_await watcher->open();
    co_await producer->open();
    const auto run = co_await producer->queue("add");
    co_await discard(producer->abort(run.id, "elsewhere"));
    const bool got = co_await changed.wait_until([&] { return !seen.empty(); }, detail::deadline_after(10s));
    EXPECT_TRUE(got);
    if (got) {
      EXPECT_EQ(seen[0].id, run.id);
      EXPECT_EQ(seen[0].error, "elsewhere");
    }
    co_await producer->close();
    co_await watcher->close();
  }());
}

// Ports test_scheduler.py::test_secret_params (A): the secret survives the
// broker byte for byte and reaches the executor in clear; everything shown
// outside the executor and the broker has it masked.
TEST(TaskManager, SecretParamsAreMaskedOutsideTheExecutorAndTheBroker) {
  fluid::run([]() -> Task<> {
    const auto manager = example_manager();
    co_await manager->open();
    RunEvents events(*manager);
    const json params = {{"secret", "s3cr\u00e9t \"quoted\""}};
    const auto queued = co_await manager->queue("whisper", params);
    EXPECT_EQ(queued.params["secret"], "**********");
    for (const auto& run : events.all()) EXPECT_EQ(run.params["secret"], "**********");
    const auto shown = co_await manager->get_run(queued.id);
    EXPECT_EQ(shown->params["secret"], "**********");
    const auto raw = co_await manager->broker().get_run(queued.id);
    EXPECT_EQ(raw->params, params);
    const auto executed = co_await manager->execute("whisper", params);
    EXPECT_EQ(executed.params["secret"], "**********");
    EXPECT_EQ(manager->deps<examples::Results>().get(executed.id), json(params["secret"]));
    co_await manager->close();
  }());
}

TEST(TaskManager, DestroyedWhileOpenItLogsAndStopsFollowingTheFeed) {
  fluid::run([]() -> Task<> {
    CapturedLog log;
    {
      auto manager = example_manager();
      co_await manager->open();
    }
    EXPECT_TRUE(log.contains("destroyed while open"));
  }());
}
