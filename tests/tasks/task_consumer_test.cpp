// TaskConsumer: claiming, executing and recording runs under leases
// (aio-fluid's test_scheduler.py consumer tests, test_retry.py's end-to-end
// ones, test_interrupted.py, the observable event parts of
// test_db_plugin.py), graceful and forced stops that release what is held,
// and the bad input that concerns a consumer (the tests marked "Bad input").

#include "support/captured_log.hpp"
#include "support/task_events.hpp"
#include "support/workers.hpp"
#include "tasks.hpp"

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

using namespace fluid;
using namespace fluid::test;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

/// aio-fluid's fixture: a scheduler of the example tasks, two concurrent runs.
std::shared_ptr<TaskScheduler> example_consumer(TaskManagerConfig config = {}) {
  if (config.broker_url.empty()) config.broker_url = unique_memory_url();
  if (!config.max_concurrent_tasks) config.max_concurrent_tasks = 2;
  config.schedule_tasks = false;  // ping's every 2 s would add runs to count
  return examples::task_scheduler(std::move(config), {.stopping_grace_period = 1s});
}

/// A manager that keeps a memory broker's runs alive across consumers (the
/// last object open on a memory:// name drops them), as another process would.
std::unique_ptr<TaskManager> keeper_of(const std::string& url) {
  auto keeper = std::make_unique<TaskManager>(TaskManagerConfig{.broker_url = url});
  keeper->register_tasks(examples::example_tasks());
  return keeper;
}

/// A consumer of the example tasks executing one run at a time.
std::shared_ptr<TaskScheduler> one_at_a_time(const std::string& url, milliseconds grace) {
  return examples::task_scheduler({.broker_url = url, .schedule_tasks = false, .max_concurrent_tasks = 1},
                                  {.stopping_grace_period = grace});
}

/// Runs `body` with `consumer` started, and stops it on every exit path.
template <class C, class F>
void with_started(C& consumer, F body) {
  fluid::run(async_with(consumer, std::move(body)));
}

/// A gate the test opens: executors wait on it (cancellable).
class Gate {
 public:
  Task<> pass() {
    co_await changed_.wait_until([this] { return open_.load(); });
  }
  void open() {
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::atomic<bool> open_{false};
  detail::Notifier changed_;
};

/// Counts executors running now and the most at once.
struct Concurrency {
  std::atomic<int> now{0};
  std::atomic<int> peak{0};
  void enter() {
    const int n = ++now;
    int seen = peak.load();
    while (n > seen && !peak.compare_exchange_weak(seen, n)) {
    }
  }
  void leave() { --now; }
};

Task<TaskInfo> info_of(TaskManager& manager, std::string task) {
  std::vector<std::string> names{std::move(task)};  // named: no braced temporary in a coroutine call
  const auto infos = co_await manager.tasks_info(std::move(names));
  co_return infos.at(0);
}

const EnqueueOptions no_options;

}  // namespace

// ---------------------------------------------------------------- outcomes (test_scheduler.py)

// Ports test_scheduler.py::test_dummy_abort (P).
TEST(TaskConsumer, ARunThatAbortsEndsAborted) {
  const auto consumer = example_consumer();
  with_started(*consumer, [](TaskScheduler& c) -> Task<> {
    const json params = {{"abort", true}, {"sleep", 0}};
    const auto run = co_await c.queue_and_wait("dummy", params, no_options, 10s);
    EXPECT_EQ(run.state, TaskState::aborted);
    EXPECT_EQ(run.error, "aborted by request");
  });
}

// Ports test_scheduler.py::test_dummy_rate_limit (P): max_concurrency 1 and no
// rate-limit retry: of two runs at once, one ends rate_limited.
TEST(TaskConsumer, ARunMetAtMaxConcurrencyWithoutRetryEndsRateLimited) {
  const auto consumer = example_consumer();
  with_started(*consumer, [](TaskScheduler& c) -> Task<> {
    const json params = {{"sleep", 1.0}};
    const auto first = co_await c.queue("dummy", params);
    const json other_params = {{"sleep", 0.5}};
    const auto second = co_await c.queue("dummy", other_params);
    const auto a = co_await c.wait(first.id, 10s);
    const auto b = co_await c.wait(second.id, 10s);
    EXPECT_TRUE(a.is_done());
    EXPECT_TRUE(b.is_done());
    const int limited = (a.state == TaskState::rate_limited) + (b.state == TaskState::rate_limited);
    EXPECT_EQ(limited, 1);
    const auto& other = a.state == TaskState::rate_limited ? b : a;
    EXPECT_EQ(other.state, TaskState::success);
    const auto& rejected = a.state == TaskState::rate_limited ? a : b;
    EXPECT_FALSE(rejected.start.has_value());  // never ran (aio-fluid emits a running event)
    EXPECT_EQ(c.running(), 0u);
  });
}

// Ports test_scheduler.py::test_consumer_cannot_start_in_cpu_process (P).
TEST(TaskConsumer, CannotStartInsideAProcessModeChild) {
  ScopedEnv spawn("TASK_MANAGER_SPAWN", "true");
  TaskConsumer consumer({.broker_url = unique_memory_url()});
  bool threw = false;
  fluid::run([&]() -> Task<> {
    try {
      co_await consumer.startup();
    } catch (const CpuBoundEntryPointError&) {
      threw = true;
    }
  }());
  EXPECT_TRUE(threw);
  EXPECT_TRUE(consumer.is_stopped());
  EXPECT_FALSE(consumer.is_open());
}

// Ports test_scheduler.py::test_disabled_execution (P) and
// test_db_plugin.py::test_task_run_aborted (A): a disabled task's run is
// accepted, then ends aborted when a consumer reaches it.
TEST(TaskConsumer, ARunOfADisabledTaskEndsAborted) {
  const auto consumer = example_consumer();
  RunEvents events(*consumer);
  with_started(*consumer, [&](TaskScheduler& c) -> Task<> {
    (void)co_await c.enable_task("add", false);
    const EnqueueOptions high{.priority = TaskPriority::high};
    const json params = {{"a", 3}, {"b", 4}};
    const auto run = co_await c.queue_and_wait("add", params, high, 10s);
    EXPECT_EQ(run.task, "add");
    EXPECT_EQ(run.params, json::parse(R"({"a":3.0,"b":4.0})"));
    EXPECT_TRUE(run.end.has_value());
    EXPECT_EQ(run.state, TaskState::aborted);
    EXPECT_EQ(run.error, "task disabled");
    EXPECT_EQ(events.states_of(run.id),
              (std::vector<TaskState>{TaskState::init, TaskState::queued, TaskState::aborted}));
    const auto info = co_await info_of(c, "add");
    EXPECT_EQ(info.last_run_state, TaskState::aborted);
  });
}

// Ports test_scheduler.py::test_timeout (P): fast's timeout is 2 s.
TEST(TaskConsumer, ARunPastItsTimeoutFailsAndIsNotRetried) {
  const auto consumer = example_consumer();
  with_started(*consumer, [](TaskScheduler& c) -> Task<> {
    const json params = {{"sleep", 5}};
    const auto run = co_await c.queue_and_wait("fast", params, no_options, 10s);
    EXPECT_EQ(run.state, TaskState::failure);
    EXPECT_TRUE(run.end.has_value());
    EXPECT_EQ(run.error, "timeout after 2s");
    EXPECT_EQ(run.retry_attempt, 0u);
  });
}

// Ports test_scheduler.py::test_async_handler (P).
TEST(TaskConsumer, AnAsyncHandlerReceivesTheRunningRun) {
  const auto consumer = example_consumer();
  std::optional<TaskRun> seen;
  TaskRunHandler handler = [&seen](const TaskRun& run) -> Task<> {
    seen = run;
    co_return;
  };
  consumer->register_async_handler("running.test", handler);
  with_started(*consumer, [&](TaskScheduler& c) -> Task<> {
    const auto run = co_await c.queue_and_wait("dummy", json::object(), no_options, 10s);
    EXPECT_EQ(run.state, TaskState::success);
  });
  EXPECT_TRUE(seen.has_value());
  if (seen) {
    EXPECT_EQ(seen->state, TaskState::running);
    EXPECT_EQ(seen->task, "dummy");
  }
  EXPECT_TRUE(consumer->unregister_async_handler("running.test"));
}

// Ports test_scheduler.py::test_invalid_params_failure (P), and bad
// input: params rejected when claimed end the run failure, never retried,
// and the consumer goes on.
TEST(TaskConsumer, ParamsRejectedWhenClaimedFailTheRunAndTheConsumerGoesOn) {
  const auto consumer = example_consumer();
  RunEvents events(*consumer);
  with_started(*consumer, [&](TaskScheduler& c) -> Task<> {
    auto raw = c.create_task_run("fast");
    raw.params = {{"sleep", "not-a-number"}};  // what another program might push
    (void)co_await c.broker().enqueue(raw, milliseconds(0));
    const auto failed = co_await c.wait(raw.id, 5s);
    EXPECT_EQ(failed.state, TaskState::failure);
    EXPECT_THAT(failed.error, HasSubstr("invalid params for task 'fast'"));
    EXPECT_FALSE(failed.requeued);
    // As the broker recorded it: claimed (running), then failed before the executor ran.
    EXPECT_EQ(events.states_of(raw.id), (std::vector<TaskState>{TaskState::running, TaskState::failure}));
    const auto ok = co_await c.queue_and_wait("fast", json::object(), no_options, 10s);
    EXPECT_EQ(ok.state, TaskState::success);
  });
}

// ---------------------------------------------------------------- events (test_db_plugin.py)

// Ports test_db_plugin.py::test_task_run_stored_on_success (A) and
// test_db_plugin.py::test_task_run_transitions_to_running (A).
TEST(TaskConsumer, DispatchesRunningThenSuccessWithTheirTimes) {
  const auto consumer = example_consumer();
  RunEvents events(*consumer);
  with_started(*consumer, [&](TaskScheduler& c) -> Task<> {
    const auto run = co_await c.queue_and_wait("dummy", json::object(), no_options, 10s);
    const auto mine = events.of(run.id);
    EXPECT_EQ(events.states_of(run.id),
              (std::vector<TaskState>{TaskState::init, TaskState::queued, TaskState::running, TaskState::success}));
    if (mine.size() != 4) co_return;
    const auto& running = mine[2];
    EXPECT_TRUE(running.start.has_value());
    EXPECT_FALSE(running.end.has_value());
    const auto& success = mine[3];
    EXPECT_EQ(success.task, "dummy");
    EXPECT_TRUE(success.queued && success.start && success.end);
    EXPECT_EQ(success.params, json::parse(R"({"sleep":0.1,"error":false,"abort":false})"));
    EXPECT_EQ(success.manager_id, c.manager_id());
    EXPECT_TRUE(success.in_queue().has_value());
    EXPECT_TRUE(success.duration().has_value());
  });
}

// Ports test_db_plugin.py::test_task_run_stored_on_failure (A).
TEST(TaskConsumer, DispatchesTheFailureWithItsMessage) {
  const auto consumer = example_consumer();
  RunEvents events(*consumer);
  with_started(*consumer, [&](TaskScheduler& c) -> Task<> {
    const json params = {{"error", true}, {"sleep", 0}};
    const auto run = co_await c.queue_and_wait("dummy", params, no_options, 10s);
    EXPECT_EQ(run.state, TaskState::failure);
    EXPECT_EQ(run.error, "just an error");
    const auto failure = co_await events.wait_for_state(run.id, TaskState::failure, 1s);
    EXPECT_EQ(failure.error, "just an error");
    const auto info = co_await info_of(c, "dummy");
    EXPECT_EQ(info.last_run_state, TaskState::failure);
  });
}

// Ports test_db_plugin.py::test_task_run_params_stored (A).
TEST(TaskConsumer, TheRunsEventsCarryItsNormalizedParams) {
  const auto consumer = example_consumer();
  RunEvents events(*consumer);
  with_started(*consumer, [&](TaskScheduler& c) -> Task<> {
    const json params = {{"a", 3}, {"b", 4}};
    const auto run = co_await c.queue_and_wait("add", params, no_options, 10s);
    const auto success = co_await events.wait_for_state(run.id, TaskState::success, 1s);
    EXPECT_EQ(success.params, json::parse(R"({"a":3.0,"b":4.0})"));
    EXPECT_EQ(c.deps<examples::Results>().get(run.id), json(7.0));
  });
}

// ---------------------------------------------------------------- retries (test_retry.py)

// Ports test_retry.py::test_retry_succeeds_after_failure (P), with the port's
// change: wait() returns the final outcome after the retry (aio-fluid: the
// first failure).
TEST(TaskConsumer, ARetriedRunEndsWithItsFinalSuccess) {
  const auto consumer = example_consumer();
  RunEvents events(*consumer);
  with_started(*consumer, [&](TaskScheduler& c) -> Task<> {
    const json params = {{"fail_times", 1}};
    const auto run = co_await c.queue_and_wait("retryable", params, no_options, 10s);
    EXPECT_EQ(run.state, TaskState::success);
    EXPECT_EQ(run.retry_attempt, 1u);
    const auto info = co_await info_of(c, "retryable");
    EXPECT_EQ(info.last_run_state, TaskState::success);
    EXPECT_TRUE(info.last_run_end.has_value());
    const auto failures = events.of(run.id);
    const auto first_failure =
        std::find_if(failures.begin(), failures.end(), [](const TaskRun& r) { return r.state == TaskState::failure; });
    EXPECT_NE(first_failure, failures.end());
    if (first_failure != failures.end()) {
      EXPECT_TRUE(first_failure->requeued);
    }
  });
}

// Ports test_retry.py::test_retry_exhausted_ends_in_failure (P).
TEST(TaskConsumer, ARunFailingPastItsRetriesEndsInFailure) {
  const auto consumer = example_consumer();
  with_started(*consumer, [](TaskScheduler& c) -> Task<> {
    const json params = {{"fail_times", 4}};
    const auto run = co_await c.queue_and_wait("retryable", params, no_options, 10s);
    EXPECT_EQ(run.state, TaskState::failure);
    EXPECT_EQ(run.retry_attempt, 3u);
    EXPECT_FALSE(run.requeued);
    const auto info = co_await info_of(c, "retryable");
    EXPECT_EQ(info.last_run_state, TaskState::failure);
  });
}

// Ports test_retry.py::test_rate_limit_retry_requeues_and_succeeds (P).
TEST(TaskConsumer, ARateLimitedRunIsRetriedUntilItRuns) {
  const auto consumer = example_consumer();
  with_started(*consumer, [](TaskScheduler& c) -> Task<> {
    const json params = {{"sleep", 0.2}};
    const auto first = co_await c.queue("exclusive", params);
    const json other_params = {{"sleep", 0.0}};
    const auto second = co_await c.queue("exclusive", other_params);
    const auto a = co_await c.wait(first.id, 10s);
    const auto b = co_await c.wait(second.id, 10s);
    EXPECT_TRUE(a.is_final());
    EXPECT_TRUE(b.is_final());
    EXPECT_GE(a.rate_limit_attempt + b.rate_limit_attempt, 1u);  // met the limit, and was retried
    const auto info = co_await info_of(c, "exclusive");
    EXPECT_EQ(info.last_run_state, TaskState::success);
  });
}

// Ports test_retry.py::test_re_queue_no_execute_after (A) and
// test_retry.py::test_re_queue_execute_after_in_past (A): a run not delayed, or due
// already, runs now.
TEST(TaskConsumer, ARunDueAlreadyRunsAtOnce) {
  const auto consumer = example_consumer();
  with_started(*consumer, [](TaskScheduler& c) -> Task<> {
    const auto now = co_await c.queue_and_wait("add", json::object(), no_options, 10s);
    EXPECT_EQ(now.state, TaskState::success);
    auto past = c.create_task_run("add");
    past.execute_after = Clock::now() - 1min;
    (void)co_await c.broker().enqueue(past, milliseconds(0));
    const auto done = co_await c.wait(past.id, 10s);
    EXPECT_EQ(done.state, TaskState::success);
  });
}

// Ports test_retry.py::test_re_queue_execute_after_in_future (A): a delayed
// run does not start before its execute_after (aio-fluid: parked >= 5 s).
TEST(TaskConsumer, ADelayedRunStartsOnlyOnceDue) {
  const auto consumer = example_consumer();
  with_started(*consumer, [](TaskScheduler& c) -> Task<> {
    const EnqueueOptions later{.delay = 300ms};
    const auto queued = co_await c.queue("add", json::object(), later);
    const auto run = co_await c.wait(queued.id, 10s);
    EXPECT_EQ(run.state, TaskState::success);
    EXPECT_TRUE(run.start && run.execute_after);
    if (run.start && run.execute_after) {
      EXPECT_GE(*run.start, *run.execute_after);
    }
  });
}

// Ports test_retry.py::test_in_process_queue_drains_on_stop (A): delayed
// runs are in the broker, never lost when a consumer stops.
TEST(TaskConsumer, DelayedRunsStayQueuedAcrossAStop) {
  const auto url = unique_memory_url();
  const auto keeper = keeper_of(url);
  fluid::run([&]() -> Task<> {
    co_await keeper->open();
    const auto consumer = example_consumer({.broker_url = url});
    co_await consumer->startup();
    const EnqueueOptions later{.delay = 60s};
    const auto run = co_await consumer->queue("add", json::object(), later);
    co_await consumer->shutdown();
    const auto still = co_await keeper->get_run(run.id);
    EXPECT_TRUE(still.has_value());
    if (still) {
      EXPECT_EQ(still->state, TaskState::queued);
    }
    co_await keeper->close();
  }());
}

// ---------------------------------------------------------------- stopping (test_interrupted.py)

// Ports test_interrupted.py::test_task_run_interrupted (A): a run still
// executing when the grace period ends is recorded interrupted, with its
// end; here it is then released to the queue (aio-fluid: never run again).
TEST(TaskConsumer, ARunPastTheGracePeriodIsInterruptedAndReleased) {
  const auto url = unique_memory_url();
  const auto keeper = keeper_of(url);
  fluid::run([&]() -> Task<> {
    co_await keeper->open();
    const auto consumer = one_at_a_time(url, 200ms);
    RunEvents events(*consumer);
    co_await consumer->startup();
    const json params = {{"sleep", 100}};
    const auto run = co_await consumer->queue("dummy", params);
    (void)co_await events.wait_for_state(run.id, TaskState::running);
    EXPECT_EQ(consumer->running(), 1u);
    co_await consumer->shutdown();  // the release happens before it returns
    const auto interrupted = co_await events.wait_for_state(run.id, TaskState::interrupted, 0ms);
    EXPECT_TRUE(interrupted.end.has_value());
    EXPECT_TRUE(interrupted.requeued);
    const auto now = co_await keeper->get_run(run.id);
    EXPECT_EQ(now->state, TaskState::queued);
    EXPECT_EQ(now->deliveries, 0u);  // a release refunds the delivery
    const auto lengths = co_await keeper->queue_length();
    EXPECT_EQ(lengths.at(TaskPriority::medium), 1u);  // claimable elsewhere at once
    co_await keeper->close();
  }());
}

TEST(TaskConsumer, AGracefulStopLetsHeldRunsFinishAndStopsClaiming) {
  const auto url = unique_memory_url();
  const auto keeper = keeper_of(url);
  fluid::run([&]() -> Task<> {
    co_await keeper->open();
    const auto consumer = one_at_a_time(url, 10s);
    RunEvents events(*consumer);
    co_await consumer->startup();
    const json params = {{"sleep", 0.3}};
    const auto held = co_await consumer->queue("dummy", params);
    const auto waiting = co_await consumer->queue("add");
    (void)co_await events.wait_for_state(held.id, TaskState::running);
    co_await consumer->shutdown();
    const auto finished = co_await keeper->get_run(held.id);
    EXPECT_EQ(finished->state, TaskState::success);
    const auto left = co_await keeper->get_run(waiting.id);
    EXPECT_EQ(left->state, TaskState::queued);  // not claimed once stopping
    co_await keeper->close();
  }());
}

TEST(TaskConsumer, AnIdleConsumerStopsAtOnce) {
  const auto consumer = example_consumer({.sleep = 60s});
  fluid::run([&]() -> Task<> {
    co_await consumer->startup();
    const auto started = std::chrono::steady_clock::now();
    co_await consumer->shutdown();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);  // not the minute of `sleep`
    EXPECT_EQ(consumer->stop_reason(), StopReason::normal);
  }());
}

TEST(TaskConsumer, AReleasedRunIsClaimedByAnotherConsumerAtOnce) {
  const auto url = unique_memory_url();
  fluid::run([&]() -> Task<> {
    const auto first = one_at_a_time(url, 100ms);
    const auto second = examples::task_scheduler({.broker_url = url, .schedule_tasks = false, .consume_tasks = false});
    RunEvents events(*first);
    co_await second->startup();  // keeps the broker; consumes nothing yet
    co_await first->startup();
    const json params = {{"sleep", 0.5}};
    const auto run = co_await first->queue("dummy", params);
    (void)co_await events.wait_for_state(run.id, TaskState::running);
    co_await first->shutdown();
    const auto third = examples::task_scheduler({.broker_url = url, .schedule_tasks = false});
    co_await third->startup();
    const auto done = co_await third->wait(run.id, 10s);
    EXPECT_EQ(done.state, TaskState::success);
    EXPECT_EQ(done.manager_id, third->manager_id());
    co_await third->shutdown();
    co_await second->shutdown();
  }());
}

// ---------------------------------------------------------------- aborts, leases

// abort() of a running run cancels its executor at once (memory broker).
TEST(TaskConsumer, AbortingARunningRunCancelsItsExecutor) {
  const auto consumer = example_consumer();
  RunEvents events(*consumer);
  with_started(*consumer, [&](TaskScheduler& c) -> Task<> {
    const json params = {{"sleep", 100}};
    const auto run = co_await c.queue("dummy", params);
    (void)co_await events.wait_for_state(run.id, TaskState::running);
    (void)co_await c.abort(run.id, "enough");
    const auto aborted = co_await c.wait(run.id, 10s);
    EXPECT_EQ(aborted.state, TaskState::aborted);
    EXPECT_EQ(aborted.error, "enough");
  });
}

// A run longer than its lease keeps it (renewed every lease/3).
TEST(TaskConsumer, RenewsTheLeaseOfALongRun) {
  const auto consumer = example_consumer({.lease = 150ms});
  with_started(*consumer, [](TaskScheduler& c) -> Task<> {
    const json params = {{"sleep", 0.6}};
    const auto run = co_await c.queue_and_wait("dummy", params, no_options, 10s);
    EXPECT_EQ(run.state, TaskState::success);
    EXPECT_EQ(run.deliveries, 1u);
  });
}

// A consumer that died holding a run: its lease expires and a
// live consumer reaps it; the run is executed again.
TEST(TaskConsumer, ReapsARunWhoseConsumerDiedAndRunsItAgain) {
  const auto url = unique_memory_url();
  fluid::run([&]() -> Task<> {
    TaskManager dead({.broker_url = url, .lease = 100ms});
    dead.register_tasks(examples::example_tasks());
    co_await dead.open();
    const auto run = co_await dead.queue("add");
    // The dead consumer's claim: it never renews nor finishes.
    const ClaimRequest request{
        .manager_id = dead.manager_id(), .queues = dead.queues(), .tasks = {"add"}, .lease = 100ms};
    const auto claim = co_await dead.broker().claim(request);
    EXPECT_EQ(claim.claimed.size(), 1u);
    const auto consumer = example_consumer({.broker_url = url, .lease = 150ms});
    co_await consumer->startup();
    const auto done = co_await consumer->wait(run.id, 10s);
    EXPECT_EQ(done.state, TaskState::success);
    EXPECT_EQ(done.deliveries, 2u);
    co_await consumer->shutdown();
    co_await dead.close();
  }());
}

// Bad input, a lease expired during an outage: renew reports the lease
// lost, the executor is cancelled and this consumer records nothing; the run
// is reaped and executed again. The outage: the consumer's only thread is
// blocked by another run for longer than the lease, while another process
// reaps.
TEST(TaskConsumer, ALostLeaseCancelsTheExecutorAndRecordsNothing) {
  const auto url = unique_memory_url();
  CapturedLog log;
  std::atomic<int> long_runs{0};
  fluid::run([&]() -> Task<> {
    TaskManager keeper({.broker_url = url});
    co_await keeper.open();
    TaskConsumer consumer({.broker_url = url, .max_concurrent_tasks = 2, .lease = 200ms});
    bool stale_cancelled = false;
    detail::Notifier cancelled;
    consumer.register_task(make_task("waits", [&](TaskContext& ctx) -> Task<> {
      if (++long_runs != 1) co_return;
      try {
        co_await fluid::sleep(1h);  // cancelled when its lease is lost
      } catch (const boost::system::system_error&) {
        stale_cancelled = ctx.is_cancelled();
        cancelled.notify_all();
        throw;
      }
    }));
    consumer.register_task(make_task("blocks", [&](TaskContext& ctx) -> Task<> {
      if (ctx.run().deliveries == 1) {
        std::thread reaper([&url] {
          fluid::run([&url]() -> Task<> {
            TaskManager other({.broker_url = url});
            co_await other.open();
            co_await fluid::sleep(600ms);  // past the lease of everything the consumer holds
            (void)co_await other.broker().reap(other.manager_id());
            co_await other.close();
          }());
        });
        reaper.join();  // blocks the consumer's thread: no renewal meanwhile
      }
      co_return;
    }));
    RunEvents events(consumer);
    co_await consumer.startup();
    const auto waits = co_await consumer.queue("waits");
    (void)co_await events.wait_for_state(waits.id, TaskState::running);
    const auto blocks = co_await consumer.queue("blocks");
    const auto waits_done = co_await consumer.wait(waits.id, 20s);
    const auto blocks_done = co_await consumer.wait(blocks.id, 20s);
    EXPECT_EQ(waits_done.state, TaskState::success);
    EXPECT_EQ(waits_done.deliveries, 2u);
    EXPECT_EQ(blocks_done.state, TaskState::success);
    EXPECT_EQ(long_runs.load(), 2);
    // The stale attempt is cancelled by the renewal that finds its lease lost,
    // not held until the consumer stops.
    const bool stale_ended = co_await cancelled.wait_until([&] { return stale_cancelled; }, detail::deadline_after(5s));
    EXPECT_TRUE(stale_ended);
    EXPECT_TRUE(log.contains("lease lost"));
    co_await consumer.shutdown();
    EXPECT_EQ(consumer.stop_reason(), StopReason::normal);
    co_await keeper.close();
  }());
}

// ---------------------------------------------------------------- limits and modes

TEST(TaskConsumer, NeverRunsMoreThanMaxConcurrentTasksAtOnce) {
  Concurrency concurrency;
  Gate full;  // opens once three run at once: the most there may be
  TaskConsumer consumer({.broker_url = unique_memory_url(), .max_concurrent_tasks = 3});
  consumer.register_task(make_task("counted",
                                   [&](TaskContext&) -> Task<> {
                                     concurrency.enter();
                                     if (concurrency.now.load() == 3) full.open();
                                     co_await full.pass();
                                     co_await fluid::sleep(1ms);
                                     concurrency.leave();
                                   },
                                   {.timeout = 20s}));
  with_started(consumer, [&](TaskConsumer& c) -> Task<> {
    std::vector<std::string> ids;
    for (int i = 0; i < 12; ++i) ids.push_back((co_await c.queue("counted")).id);
    for (const auto& id : ids) (void)co_await c.wait(id, 10s);
  });
  EXPECT_EQ(concurrency.peak.load(), 3);
}

TEST(TaskConsumer, ZeroConcurrentTasksClaimsNothing) {
  const auto consumer = example_consumer({.max_concurrent_tasks = 0});
  with_started(*consumer, [](TaskScheduler& c) -> Task<> {
    const auto run = co_await c.queue("add");
    bool timed_out = false;
    try {
      (void)co_await c.wait(run.id, 200ms);
    } catch (const WaitTimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(c.running(), 0u);
  });
}

// With serve(threads > 1) loop-mode runs execute in parallel,
// each on a strand of its own.
TEST(TaskConsumer, LoopModeRunsExecuteInParallelOnSeveralThreads) {
  std::atomic<int> inside{0};
  std::atomic<int> saw_both{0};
  TaskConsumer consumer({.broker_url = unique_memory_url(), .max_concurrent_tasks = 2});
  consumer.register_task(make_task("spins", [&](TaskContext&) -> Task<> {
    // Blocks its thread on purpose: only a run on another thread can join it.
    ++inside;
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (inside.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    if (inside.load() == 2) ++saw_both;
    co_return;
  }));
  fluid::run(async_with(consumer,
                        [](TaskConsumer& c) -> Task<> {
                          const auto a = co_await c.queue("spins");
                          const auto b = co_await c.queue("spins");
                          (void)co_await c.wait(a.id, 20s);
                          (void)co_await c.wait(b.id, 20s);
                        }),
             {.threads = 2});
  EXPECT_EQ(saw_both.load(), 2);
}

// A thread-mode run blocks a pool thread, not the loop.
TEST(TaskConsumer, AThreadModeRunDoesNotStallTheLoop) {
  std::atomic<bool> release{false};
  const auto consumer = example_consumer({.max_concurrent_tasks = 3, .cpu_threads = 2});
  consumer->register_task(make_task("blocks_until_released",
                                    [&release](TaskContext&) -> Task<> {
                                      while (!release.load()) std::this_thread::sleep_for(1ms);  // blocks a pool thread
                                      co_return;
                                    },
                                    {.execution = Execution::thread}));
  with_started(*consumer, [&](TaskScheduler& c) -> Task<> {
    const auto blocking = co_await c.queue("blocks_until_released");
    const auto quick = co_await c.queue_and_wait("add", json::object(), no_options, 10s);
    EXPECT_EQ(quick.state, TaskState::success);
    const auto still = co_await c.get_run(blocking.id);
    EXPECT_EQ(still->state, TaskState::running);  // the quick one did not wait for it
    release = true;
    const auto done = co_await c.wait(blocking.id, 10s);
    EXPECT_EQ(done.state, TaskState::success);
  });
}

// A thread-mode run that ignores its cancellation keeps its
// thread until it returns; its timeout is recorded at once and its late
// result discarded.
TEST(TaskConsumer, AThreadModeRunIgnoringItsTimeoutHasItsLateResultDiscarded) {
  std::atomic<bool> release{false};
  std::atomic<bool> returned{false};
  TaskConsumer consumer({.broker_url = unique_memory_url(), .cpu_threads = 1});
  consumer.register_task(make_task("stubborn",
                                   [&](TaskContext&) -> Task<> {
                                     while (!release.load()) std::this_thread::sleep_for(1ms);
                                     returned = true;
                                     co_return;
                                   },
                                   {.timeout = 100ms, .execution = Execution::thread}));
  with_started(consumer, [&](TaskConsumer& c) -> Task<> {
    const auto run = co_await c.queue_and_wait("stubborn", json::object(), no_options, 10s);
    EXPECT_EQ(run.state, TaskState::failure);
    EXPECT_EQ(run.error, "timeout after 0.1s");
    EXPECT_EQ(c.running(), 1u);  // its slot is busy until it returns
    release = true;
  });
  EXPECT_TRUE(returned.load());
}

// Bad input: an executor that ignores its cancellation is logged with
// its task and run; its slot stays busy until it returns; a stop then forces
// the consumer.
TEST(TaskConsumer, AnExecutorIgnoringItsCancellationIsLoggedAndForcesTheStop) {
  CapturedLog log;
  Gate finish;
  bool ended = false;
  detail::Notifier returned;
  TaskConsumer consumer({.broker_url = unique_memory_url()}, {.stopping_grace_period = 100ms});
  consumer.register_task(make_task("swallows",
                                   [&](TaskContext&) -> Task<> {
                                     try {
                                       co_await fluid::sleep(1h);
                                     } catch (const boost::system::system_error&) {
                                     }
                                     // Swallows its cancellation and goes on: a programming error.
                                     co_await boost::asio::this_coro::reset_cancellation_state();
                                     co_await finish.pass();
                                     ended = true;
                                     returned.notify_all();
                                   },
                                   {.timeout = 100ms}));
  std::string run_id;
  fluid::run([&]() -> Task<> {
    co_await consumer.startup();
    const auto run = co_await consumer.queue_and_wait("swallows", json::object(), no_options, 10s);
    run_id = run.id;
    EXPECT_EQ(run.state, TaskState::failure);
    EXPECT_EQ(consumer.running(), 1u);
    co_await consumer.shutdown();
    finish.open();
    const bool done = co_await returned.wait_until([&] { return ended; }, detail::deadline_after(10s));
    EXPECT_TRUE(done);
  }());
  EXPECT_TRUE(log.contains(run_id));
  EXPECT_TRUE(log.contains("ignores its cancellation"));
  EXPECT_EQ(consumer.stop_reason(), StopReason::forced);
}

// Bad input: an executor throwing something that is no std::exception.
TEST(TaskConsumer, AnExecutorThrowingANonStdExceptionFailsWithUnknownException) {
  TaskConsumer consumer({.broker_url = unique_memory_url()});
  consumer.register_task(make_task("throws_int", [](TaskContext&) -> Task<> {
    throw 42;
    co_return;
  }));
  with_started(consumer, [](TaskConsumer& c) -> Task<> {
    const auto run = co_await c.queue_and_wait("throws_int", json::object(), no_options, 10s);
    EXPECT_EQ(run.state, TaskState::failure);
    EXPECT_EQ(run.error, "unknown exception");
  });
}

// Bad input: without task_cli, process-mode runs fail
// with CpuBoundEntryPointError's message, and startup warns about them.
TEST(TaskConsumer, AProcessModeRunWithoutAnEntryPointFailsWithItsMessage) {
  ScopedEnv spawn("TASK_MANAGER_SPAWN", nullptr);
  CapturedLog log;
  const auto consumer = example_consumer();
  with_started(*consumer, [](TaskScheduler& c) -> Task<> {
    const auto run = co_await c.queue_and_wait("cpu_bound", json::object(), no_options, 10s);
    EXPECT_EQ(run.state, TaskState::failure);
    EXPECT_THAT(run.error, HasSubstr("task_cli"));
  });
  EXPECT_TRUE(log.contains("'cpu_bound' runs in a child process"));
}

// Bad input: a run of a task this consumer does not know
// stays queued, and the consumer says so once per task.
TEST(TaskConsumer, ARunOfATaskItDoesNotKnowStaysQueuedAndIsLoggedOnce) {
  CapturedLog log;
  const auto url = unique_memory_url();
  TaskManager producer({.broker_url = url});
  producer.register_task(make_task("elsewhere", [](TaskContext&) -> Task<> { co_return; }));
  producer.register_tasks(examples::example_tasks());
  const auto consumer = example_consumer({.broker_url = url});
  with_started(*consumer, [&](TaskScheduler& c) -> Task<> {
    co_await producer.open();
    const auto a = co_await producer.queue("elsewhere");
    const auto b = co_await producer.queue("elsewhere");
    const auto mine = co_await producer.queue("add");
    const auto done = co_await c.wait(mine.id, 10s);  // claimed past the unknown ones
    EXPECT_EQ(done.state, TaskState::success);
    const auto still_a = co_await c.get_run(a.id);
    const auto still_b = co_await c.get_run(b.id);
    EXPECT_EQ(still_a->state, TaskState::queued);
    EXPECT_EQ(still_b->state, TaskState::queued);
    co_await producer.close();
  });
  const auto text = log.text();
  std::size_t mentions = 0;
  for (auto at = text.find("'elsewhere'"); at != std::string::npos; at = text.find("'elsewhere'", at + 1)) ++mentions;
  EXPECT_EQ(mentions, 1u);
}

// abort() from another process (here another manager on the
// broker) cancels a running run; its consumer hears of it on the feed.
TEST(TaskConsumer, AnAbortFromAnotherManagerCancelsTheRunningRun) {
  const auto url = unique_memory_url();
  const auto producer = keeper_of(url);
  const auto consumer = example_consumer({.broker_url = url});
  RunEvents events(*consumer);
  with_started(*consumer, [&](TaskScheduler&) -> Task<> {
    co_await producer->open();
    const json params = {{"sleep", 100}};
    const auto run = co_await producer->queue("dummy", params);
    (void)co_await events.wait_for_state(run.id, TaskState::running);
    (void)co_await producer->abort(run.id, "from the producer");
    const auto aborted = co_await producer->wait(run.id, 10s);
    EXPECT_EQ(aborted.state, TaskState::aborted);
    EXPECT_EQ(aborted.error, "from the producer");
    co_await producer->close();
  });
}

// A handler that throws never changes a run's outcome nor stops the consumer.
TEST(TaskConsumer, AHandlerThatThrowsChangesNoOutcomeAndTheConsumerGoesOn) {
  CapturedLog log;
  const auto consumer = example_consumer();
  consumer->dispatcher().register_handler("running.bad", [](const TaskRun&) { throw std::runtime_error("no"); });
  consumer->register_async_handler("success.bad", [](const TaskRun&) -> Task<> {
    throw std::runtime_error("no either");
    co_return;
  });
  with_started(*consumer, [](TaskScheduler& c) -> Task<> {
    const auto first = co_await c.queue_and_wait("add", json::object(), no_options, 10s);
    const auto second = co_await c.queue_and_wait("add", json::object(), no_options, 10s);
    EXPECT_EQ(first.state, TaskState::success);
    EXPECT_EQ(second.state, TaskState::success);
    EXPECT_TRUE(c.is_running());
  });
  EXPECT_TRUE(log.contains("running.bad"));
  EXPECT_TRUE(log.contains("no either"));
}

// Every second each consumer publishes {"kind", "status"} (5 s TTL).
TEST(TaskConsumer, PublishesItsStatusToTheBroker) {
  const auto consumer = example_consumer();
  with_started(*consumer, [](TaskScheduler& c) -> Task<> {
    const auto status = co_await c.status();
    EXPECT_TRUE(status.contains("tasks"));
    EXPECT_EQ(status["tasks"]["capacity"], 2);
    EXPECT_EQ(status["tasks"]["running"], 0);
    EXPECT_TRUE(status.contains("task_runner"));
    EXPECT_TRUE(status.contains("manager_status"));
    const auto published = co_await c.broker().manager_statuses();
    EXPECT_EQ(published.size(), 1u);
    if (published.size() == 1) {
      EXPECT_EQ(published[0]["kind"], "task_scheduler");
      EXPECT_TRUE(published[0]["status"].contains("tasks"));
    }
  });
}

TEST(TaskConsumer, GivesEachRunTheGraceOfItsOptionAndTheGroupTwice) {
  TaskConsumer consumer({.broker_url = unique_memory_url()}, {.name = "consumer", .stopping_grace_period = 3s});
  EXPECT_EQ(consumer.worker_name(), "consumer");
  EXPECT_EQ(consumer.stopping_grace_period(), 6s);
}
