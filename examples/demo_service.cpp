// demo_service: a small service made of fluid workers and run by fluid::serve().
// A producer makes business events ("order.created", "order.paid",
// "user.signup"); an event log (QueueConsumerWorker) records each one; an
// event dispatcher (AsyncConsumer) hands each to the handlers of its domain
// through an AsyncDispatcher; a reporter logs a one-line status every second.
// A TaskScheduler runs the demo's task queue on the embedded memory://
// broker: "report" is scheduled every 2 s (its first slot at start), and
// three "send_receipt" runs are queued at start; the log shows each run's
// start and end ("send_receipt.<id> - end - success").
// They form one Workers group on 2 threads (--threads to change it). SIGINT
// (Ctrl-C) or SIGTERM stops it gracefully and a second signal forces it;
// SIGHUP is logged and ignored, SIGQUIT logs the status tree; the exit code is
// serve()'s.
//
//   $ ./demo_service --help
//   $ DURATION=5 ./demo_service     # or: make demo DURATION=5
//
// Environment: DURATION=<seconds> stops the service after that long (by a
// worker that returns: a child that stops stops its group). DEMO_STUBBORN=1
// adds a worker that ignores stop requests, so only a second signal (or the
// root's grace period, --grace-period) ends it, with exit code 1.
// DEMO_ACTIONS=1 (`make demo` sets it) turns on the dashboard's queue, enable,
// abort and clear buttons. The flags
// of --help and their variables (LOG_LEVEL, FLUID_*, STATUS_ADDRESS,
// STATUS_PORT) are docs/serving.md's. A TaskApiServer serves the dashboard
// (workers and tasks, where a run can be queued) at /, the task routes under
// /tasks, and /status, /health, /ready, /startupz and /metrics (with the
// demo's own demo_events_produced_total) on STATUS_ADDRESS:STATUS_PORT
// (default 127.0.0.1:8089; STATUS_PORT=0 picks a free port); its address is
// among the first lines logged: see docs/observability.md.
//
//   $ ./demo_service --status-port 8089 &  curl -s 127.0.0.1:8089/metrics

#include <fluid/fluid.hpp>

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

using namespace std::chrono_literals;

namespace {

/// The demo's own log lines: the "fluid" logger's sinks, level and format.
const std::shared_ptr<spdlog::logger>& demo_log() {
  static const auto instance = fluid::logger()->clone("demo");
  return instance;
}

/// What the service is about: "order.created" is action "created" of domain "order".
struct BusinessEvent {
  std::string type;
  int id = 0;
};

/// Routes an event by its domain, the part of its type before the dot, so
/// "order" and "order.audit" name two handlers of every order event.
class EventHandlers : public fluid::AsyncDispatcher<BusinessEvent> {
 public:
  std::string event_type(const BusinessEvent& event) const override {
    return event.type.substr(0, event.type.find('.'));
  }
};

std::shared_ptr<EventHandlers> make_handlers() {
  auto handlers = std::make_shared<EventHandlers>();
  handlers->register_handler("order", [](const BusinessEvent& event) -> fluid::Task<> {
    co_await fluid::sleep(5ms);  // stands for updating the order in a database
    demo_log()->debug("order #{}: {}", event.id, event.type);
  });
  handlers->register_handler("order.audit", [](const BusinessEvent& event) -> fluid::Task<> {
    co_await fluid::sleep(2ms);  // runs concurrently with the "order" handler
    demo_log()->debug("audit: {} #{}", event.type, event.id);
  });
  handlers->register_handler("user", [](const BusinessEvent& event) -> fluid::Task<> {
    co_await fluid::sleep(10ms);  // stands for sending a welcome email
    demo_log()->debug("welcome email for user #{}", event.id);
  });
  return handlers;
}

using EventLog = fluid::QueueConsumerWorker<BusinessEvent>;
using EventDispatcher = fluid::AsyncConsumer<BusinessEvent>;

/// One event every 50 ms, sent to both consumers and counted by type at
/// /metrics. try_send(): a consumer that has closed its queue (the service is
/// stopping) is not an error here.
std::shared_ptr<fluid::Worker> make_producer(std::shared_ptr<EventLog> event_log,
                                             std::shared_ptr<EventDispatcher> dispatcher) {
  static constexpr const char* types[] = {"order.created", "order.paid", "user.signup"};
  auto produce = [event_log, dispatcher, next_id = 0]() mutable -> fluid::Task<> {
    const int id = ++next_id;
    const BusinessEvent event{types[(id - 1) % 3], id};
    // Registered once per type, then a lock-free increment.
    fluid::metrics().counter("demo_events_produced_total", "Business events the producer made.", {{"type", event.type}})
        .increment();
    if (!event_log->try_send(event) || !dispatcher->try_send(event)) {
      demo_log()->info("producer: event #{} not delivered, the consumers are closing", event.id);
    }
    co_return;
  };
  return std::make_shared<fluid::WorkerFunction>(produce, 50ms, fluid::WorkerOptions{.name = "producer"});
}

/// Every second, one line with each consumer's counts, read from the root's status().
std::shared_ptr<fluid::Worker> make_reporter(fluid::Worker& root) {
  auto report = [&root]() -> fluid::Task<> {
    const auto status = co_await root.status();
    std::string line;
    for (const auto& [name, child] : status.items()) {
      if (!child.contains("processed")) continue;
      line += (line.empty() ? "" : " | ") + name + " processed=" + child["processed"].dump() +
              " queued=" + child["queue_size"].dump();
    }
    demo_log()->info("counts: {}", line);
  };
  return std::make_shared<fluid::WorkerFunction>(report, 1s, fluid::WorkerOptions{.name = "reporter"});
}

/// What a receipt is sent for.
struct Receipt {
  int order = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Receipt, order)

/// The demo's task queue: a scheduled report and the receipts queued by
/// ReceiptsAtStart, consumed two at a time.
std::shared_ptr<fluid::TaskScheduler> make_tasks() {
  auto tasks = std::make_shared<fluid::TaskScheduler>(fluid::TaskManagerConfig{.max_concurrent_tasks = 2},
                                                      fluid::WorkerOptions{.name = "tasks"});
  tasks->register_task(fluid::make_task(
      "report",
      [](fluid::TaskContext& ctx) -> fluid::Task<> {
        demo_log()->info("report: run {} fired by the schedule", ctx.id());
        co_return;
      },
      {.description = "A report, every 2 seconds", .schedule = fluid::every(2s)}));
  tasks->register_task(fluid::make_task<Receipt>(
      "send_receipt",
      [](fluid::TaskContext&, const Receipt& receipt) -> fluid::Task<> {
        co_await fluid::sleep(20ms);  // stands for sending an email
        demo_log()->info("receipt sent for order #{}", receipt.order);
      },
      {.description = "Send the receipt of an order"}));
  return tasks;
}

/// Queues three receipts once the task queue is up (it starts before this
/// worker), then waits: a child that returns would stop the service.
class ReceiptsAtStart : public fluid::Worker {
 public:
  explicit ReceiptsAtStart(std::shared_ptr<fluid::TaskScheduler> tasks)
      : Worker({.name = "receipts"}), tasks_(std::move(tasks)) {}

 protected:
  fluid::Task<> run() override {
    for (int order = 1; order <= 3; ++order) {
      const nlohmann::json params = {{"order", order}};
      const auto run = co_await tasks_->queue("send_receipt", params);
      demo_log()->info("queued {} for order #{}", run.name_id(), order);
    }
    co_await stop_requested();
  }

 private:
  std::shared_ptr<fluid::TaskScheduler> tasks_;
};

/// Returns after `duration`, which stops the whole group (DURATION).
class StopAfter : public fluid::Worker {
 public:
  explicit StopAfter(std::chrono::milliseconds duration) : Worker({.name = "stop_after"}), duration_(duration) {}

 protected:
  fluid::Task<> run() override {
    // Not `if (co_await ...)`: g++ 12.2 miscompiles a coroutine whose body is
    // just an if with co_await in its condition (it crashes on resume).
    const bool elapsed = co_await sleep_while_running(duration_);
    if (elapsed) demo_log()->info("DURATION of {} ms elapsed: stopping the service", duration_.count());
  }

 private:
  std::chrono::milliseconds duration_;
};

/// Ignores stop requests (DEMO_STUBBORN=1): only a forced stop ends it.
class Stubborn : public fluid::Worker {
 public:
  Stubborn() : Worker({.name = "stubborn", .stopping_grace_period = 1h}) {}

 protected:
  fluid::Task<> run() override {
    co_await stop_requested();  // ends on the stop request...
    demo_log()->warn("stubborn: asked to stop, ignoring it");
    for (;;) co_await fluid::sleep(1h);  // ...which it ignores; a forced stop cancels this sleep
  }
};

/// The status endpoint's port when neither --status-port nor STATUS_PORT says.
constexpr std::uint16_t default_status_port = 8089;

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::chrono::milliseconds> duration;
  try {
    if (auto text = fluid::env("DURATION")) duration = fluid::parse_seconds(*text, "DURATION");
  } catch (const fluid::FluidError& e) {
    demo_log()->error("demo_service: {}", e.what());
    return fluid::exit_failed;
  }
  auto event_log = std::make_shared<EventLog>(
      [](BusinessEvent event) -> fluid::Task<> {
        demo_log()->debug("event #{} {}", event.id, event.type);
        co_return;
      },
      fluid::WorkerOptions{.name = "event_log"});
  auto dispatcher = std::make_shared<EventDispatcher>(make_handlers(), fluid::WorkerOptions{.name = "event_dispatcher"});

  // Children start in this order, each ready before the next: the status
  // endpoint first (it answers /startupz while the rest starts, and its line
  // "status: http://..." is among the first logged), then the consumers
  // before the producer that feeds them.
  fluid::Workers root({}, {.name = "demo_service"});
  // It reports on the group it belongs to (itself included), on
  // STATUS_ADDRESS:STATUS_PORT unless the flags say otherwise.
  // A TaskApiServer is a StatusServer with the task routes and the dashboard
  // at "/". Its actions (queue, enable, abort, clear) are for whoever reaches
  // the port, so they are on only when asked (DEMO_ACTIONS=1, as `make demo`
  // does on 127.0.0.1), not in a container bound to 0.0.0.0.
  auto tasks = make_tasks();
  const bool actions = fluid::env("DEMO_ACTIONS").value_or("") == "1";
  auto status = std::make_shared<fluid::TaskApiServer>(
      *tasks, fluid::TaskApiOptions{.http = {.default_port = default_status_port}, .actions = actions, .target = &root},
      fluid::WorkerOptions{.name = "status_server"});
  root.add_workers(status);
  root.add_workers(event_log);
  root.add_workers(dispatcher);
  root.add_workers(make_producer(event_log, dispatcher));
  root.add_workers(tasks);
  root.add_workers(std::make_shared<ReceiptsAtStart>(tasks));
  if (duration) root.add_workers(std::make_shared<StopAfter>(*duration));
  if (fluid::env("DEMO_STUBBORN").value_or("") == "1") root.add_workers(std::make_shared<Stubborn>());
  root.add_workers(make_reporter(root));

  demo_log()->info("demo_service: starting {} workers; Ctrl-C or SIGTERM stops it", root.num_workers());
  return fluid::serve(argc, argv, root,
                      {.threads = 2,
                       .version = "1.0.0",
                       .description = "demo_service: business events produced, logged and dispatched by fluid workers."});
}
