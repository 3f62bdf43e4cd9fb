// TaskContext: what an executor sees of its run (params in clear, the
// manager, its deps, the fencing token, the stop flag), abort(), and the
// lineage ctx.queue() records (aio-fluid's test_task_run_queue_records_chain).

#include "support/captured_log.hpp"
#include "support/task_events.hpp"
#include "support/workers.hpp"
#include "tasks.hpp"

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace fluid;
using namespace fluid::test;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using json = nlohmann::json;

namespace {

const EnqueueOptions no_options;

/// What an executor saw of its context.
struct Seen {
  std::string id;
  json params;
  std::string task;
  TaskManager* manager = nullptr;
  examples::Results* deps = nullptr;
  std::uint64_t token = 0;
  bool cancelled = true;
  unsigned deliveries = 0;
  spdlog::logger* logger = nullptr;
};

TaskDefinition observer(Seen& seen) {
  return make_task("observer",
                   [&seen](TaskContext& ctx) -> Task<> {
                     seen.id = ctx.id();
                     seen.params = ctx.params();
                     seen.task = ctx.task().name();
                     seen.manager = &ctx.manager();
                     seen.deps = &ctx.deps<examples::Results>();
                     seen.token = ctx.lease_token();
                     seen.cancelled = ctx.is_cancelled();
                     seen.deliveries = ctx.run().deliveries;
                     seen.logger = &ctx.logger();
                     co_return;
                   },
                   {.secret_params = {"password"}});
}

}  // namespace

TEST(TaskContext, GivesTheExecutorItsRunInClear) {
  fluid::run([]() -> Task<> {
    Seen seen;
    TaskConsumer consumer({.broker_url = unique_memory_url()});
    consumer.register_task(observer(seen));
    auto results = std::make_shared<examples::Results>();
    consumer.set_deps(results);
    co_await async_with(consumer, [&](TaskConsumer& c) -> Task<> {
      const json params = {{"password", "hunter2"}, {"user", "ann"}};
      const auto run = co_await c.queue_and_wait("observer", params, no_options, 10s);
      EXPECT_EQ(run.state, TaskState::success);
      EXPECT_EQ(run.params["password"], "**********");
      EXPECT_EQ(seen.id, run.id);
      EXPECT_EQ(seen.params, params);
      EXPECT_EQ(seen.task, "observer");
      EXPECT_EQ(seen.manager, static_cast<TaskManager*>(&c));
      EXPECT_EQ(seen.deps, results.get());
      EXPECT_GT(seen.token, 0u);
      EXPECT_FALSE(seen.cancelled);
      EXPECT_EQ(seen.deliveries, 1u);
      EXPECT_EQ(seen.logger, fluid::logger().get());
    });
  }());
}

// Every claim carries a token greater than every token given before.
TEST(TaskContext, FencingTokensGrowFromClaimToClaim) {
  fluid::run([]() -> Task<> {
    Seen seen;
    TaskConsumer consumer({.broker_url = unique_memory_url(), .max_concurrent_tasks = 1});
    consumer.register_task(observer(seen));
    consumer.set_deps(std::make_shared<examples::Results>());
    co_await async_with(consumer, [&](TaskConsumer& c) -> Task<> {
      (void)co_await c.queue_and_wait("observer", json::object(), no_options, 10s);
      const auto first = seen.token;
      (void)co_await c.queue_and_wait("observer", json::object(), no_options, 10s);
      EXPECT_GT(seen.token, first);
    });
  }());
}

TEST(TaskContext, AbortThrowsTaskAbortedErrorWithTheReason) {
  fluid::run([]() -> Task<> {
    TaskManager manager({.broker_url = unique_memory_url()});
    std::string caught;
    manager.register_task(make_task("aborts", [&caught](TaskContext& ctx) -> Task<> {
      try {
        ctx.abort("no more");
      } catch (const TaskAbortedError& e) {
        caught = e.what();
        throw;
      }
      co_return;
    }));
    co_await manager.open();
    const auto run = co_await manager.execute("aborts");
    EXPECT_EQ(caught, "no more");
    EXPECT_EQ(run.state, TaskState::aborted);
    EXPECT_EQ(run.error, "no more");
    co_await manager.close();
  }());
}

// Ports test_scheduler.py::test_task_run_queue_records_chain (P) and, end to
// end, test_scheduler.py::test_chain_survives_the_broker (A): a child queued
// from a run records it as from and root; a grandchild records the child as
// from and the first run as root; read back from the broker.
TEST(TaskContext, QueueRecordsTheRunsLineage) {
  fluid::run([]() -> Task<> {
    TaskConsumer consumer({.broker_url = unique_memory_url()});
    std::string child_id;
    std::string grandchild_id;
    consumer.register_task(
        make_task("parent", [&](TaskContext& ctx) -> Task<> { child_id = (co_await ctx.queue("child")).id; }));
    consumer.register_task(
        make_task("child", [&](TaskContext& ctx) -> Task<> { grandchild_id = (co_await ctx.queue("leaf")).id; }));
    consumer.register_task(make_task("leaf", [](TaskContext&) -> Task<> { co_return; }));
    RunEvents events(consumer);
    co_await async_with(consumer, [&](TaskConsumer& c) -> Task<> {
      const auto parent = co_await c.queue_and_wait("parent", json::object(), no_options, 10s);
      const bool leaf_done = co_await events.wait_for([&] {
        if (grandchild_id.empty()) return false;
        for (const auto& run : events.of(grandchild_id)) {
          if (run.state == TaskState::success) return true;
        }
        return false;
      });
      EXPECT_TRUE(leaf_done);
      const auto child = co_await c.get_run(child_id);
      const auto leaf = co_await c.get_run(grandchild_id);
      EXPECT_TRUE(child && leaf);
      if (!child || !leaf) co_return;
      EXPECT_EQ(child->from_run_id, parent.id);
      EXPECT_EQ(child->root_run_id, parent.id);
      EXPECT_EQ(leaf->from_run_id, child->id);
      EXPECT_EQ(leaf->root_run_id, parent.id);
    });
  }());
}

// Bad input: unknown task name in ctx.queue().
TEST(TaskContext, QueueOfAnUnknownTaskThrowsUnknownTaskError) {
  fluid::run([]() -> Task<> {
    TaskManager manager({.broker_url = unique_memory_url()});
    std::string caught;
    manager.register_task(make_task("queues_nothing", [&caught](TaskContext& ctx) -> Task<> {
      try {
        (void)co_await ctx.queue("no_such_task");
      } catch (const UnknownTaskError& e) {
        caught = e.what();
      }
    }));
    co_await manager.open();
    (void)co_await manager.execute("queues_nothing");
    EXPECT_EQ(caught, "unknown task 'no_such_task'");
    co_await manager.close();
  }());
}

// Bad input: ctx.queue() in a child on the memory broker.
TEST(TaskContext, QueueInsideAProcessModeChildNeedsASharedBroker) {
  fluid::run([]() -> Task<> {
    ScopedEnv spawn("TASK_MANAGER_SPAWN", "true");
    TaskManager manager({.broker_url = unique_memory_url()});
    std::string caught;
    manager.register_task(make_task("child_queues",
                                    [&caught](TaskContext& ctx) -> Task<> {
                                      try {
                                        (void)co_await ctx.queue("child_queues");
                                      } catch (const FluidError& e) {
                                        caught = e.what();
                                      }
                                    },
                                    {.execution = Execution::process}));
    co_await manager.open();
    (void)co_await manager.execute("child_queues");
    EXPECT_THAT(caught, HasSubstr("memory"));
    co_await manager.close();
  }());
}
