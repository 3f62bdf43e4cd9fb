// 09_task_queue: a task queue in one process. Two tasks are defined (one with
// typed params, one that fails once and is retried), a TaskConsumer executes
// them on the embedded memory:// broker, and main queues runs, waits for
// their outcome and aborts one that is still running. See docs/tasks.md.

#include <fluid/fluid.hpp>

#include <cstdio>
#include <stdexcept>

using namespace std::chrono_literals;
using fluid::Task;
using fluid::TaskContext;

struct AddValues {
  double a = 0;
  double b = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AddValues, a, b)

// Typed: the run's JSON params are parsed into AddValues (queue() rejects what does not fit).
fluid::TaskDefinition add_task() {
  return fluid::make_task<AddValues>("add", [](TaskContext& ctx, const AddValues& p) -> Task<> {
    std::printf("%s: %g + %g = %g\n", ctx.id().c_str(), p.a, p.b, p.a + p.b);
    co_return;
  });
}

// Fails its first attempt; its retry policy queues it again in the broker.
fluid::TaskDefinition flaky_task() {
  return fluid::make_task(
      "flaky",
      [](TaskContext& ctx) -> Task<> {
        if (ctx.run().retry_attempt == 0) throw std::runtime_error("first attempt fails");
        co_return;
      },
      {.retry = fluid::RetryPolicy{.max_attempts = 2, .wait = 10ms}});
}

// Sleeps until cancelled: an abort, a timeout or a stop ends its wait.
fluid::TaskDefinition slow_task() {
  return fluid::make_task("slow", [](TaskContext&) -> Task<> { co_await fluid::sleep(1h); });
}

Task<> produce(fluid::TaskConsumer& consumer) {
  const nlohmann::json params = {{"a", 3}, {"b", 4}};  // named: see the README's g++ 12 pitfall
  const auto added = co_await consumer.queue_and_wait("add", params);
  std::printf("add ended %s\n", fluid::to_string(added.state).data());

  const auto flaky = co_await consumer.queue_and_wait("flaky");
  std::printf("flaky ended %s after %u retry\n", fluid::to_string(flaky.state).data(), flaky.retry_attempt);

  const auto slow = co_await consumer.queue("slow");
  co_await fluid::sleep(50ms);
  (void)co_await consumer.abort(slow.id, "not needed any more");
  const auto aborted = co_await consumer.wait(slow.id);
  std::printf("slow ended %s: %s\n", fluid::to_string(aborted.state).data(), aborted.error.c_str());
}

int main() {
  fluid::TaskConsumer consumer({.broker_url = "memory://example", .max_concurrent_tasks = 4},
                               {.stopping_grace_period = 1s});
  consumer.register_tasks({add_task(), flaky_task(), slow_task()});
  fluid::run(fluid::async_with(consumer, produce));
  return 0;
}
