#include "tasks/manager_core.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/tasks/errors.hpp"
#include "tasks/attempt.hpp"
#include "tasks/ids.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/system_error.hpp>

#include <optional>

namespace fluid::detail {

namespace asio = boost::asio;

ManagerCore::ManagerCore(ResolvedConfig resolved, std::string type_name)
    : config(std::move(resolved.config)),
      broker(std::move(resolved.broker)),
      manager_id(new_uuid_hex()),
      type(std::move(type_name)) {}

ManagerCore::~ManagerCore() {
  // Joins the pool: a thread-mode executor still running keeps it until it returns.
  pool.reset();
}

Phase ManagerCore::current_phase() const {
  std::lock_guard lock(mutex);
  return phase;
}

void ManagerCore::require_open() const {
  if (current_phase() != Phase::open) throw FluidError("task manager not open: " + label() + " needs open() first");
}

const TaskDefinition& ManagerCore::task(std::string_view name) const {
  const auto it = registry.find(name);
  if (it == registry.end()) throw UnknownTaskError("unknown task '" + std::string(name) + "'");
  return it->second;
}

TaskRun ManagerCore::shown(TaskRun run) const {
  const auto it = registry.find(run.task);
  if (it == registry.end() || it->second.options().secret_params.empty()) return run;
  return mask_secret_params(std::move(run), it->second);
}

void ManagerCore::publish(const TaskRun& run) {
  const auto it = registry.find(run.task);
  std::optional<TaskRun> masked;
  if (it != registry.end() && !it->second.options().secret_params.empty()) masked = mask_secret_params(run, it->second);
  const TaskRun& event = masked ? *masked : run;
  dispatcher.dispatch_isolated(event);
  if (!local_handlers.wants(event.state)) return;
  std::shared_ptr<EventQueue> queue;
  {
    std::lock_guard lock(mutex);
    queue = local_events;
  }
  if (queue) queue->push(event);
}

asio::any_io_executor ManagerCore::thread_executor() {
  std::lock_guard lock(mutex);
  if (!pool) pool = std::make_unique<asio::thread_pool>(config.cpu_threads);
  return asio::make_strand(pool->get_executor());
}

std::string ManagerCore::label() const { return type + " " + manager_id.substr(0, 8); }

namespace {

void on_event(ManagerCore& core, const TaskEvent& event) {
  if (event.kind != "state") {
    if (core.on_feed_event) core.on_feed_event(event);
    return;
  }
  core.waiters.notify(event.run.id);
  if (!core.cluster_handlers.wants(event.run.state)) return;
  std::shared_ptr<EventQueue> queue;
  {
    std::lock_guard lock(core.mutex);
    queue = core.cluster_events;
  }
  if (queue) queue->push(core.shown(event.run));
}

/// Every abort; a state change only while a wait() or a cluster handler may
/// want it. Asked as the events arrive: a wait() registers before it reads
/// its run, so the changes after that read reach it.
EventWanted wanted_by(const ManagerCore& core) {
  return [&core](std::string_view kind) {
    return kind != "state" || !core.waiters.empty() || core.cluster_handlers.wants_any();
  };
}

}  // namespace

Task<> follow_feed(std::shared_ptr<ManagerCore> core, std::string cursor) {
  constexpr std::size_t batch_size = 512;
  bool failing = false;
  for (;;) {
    EventBatch batch;
    std::exception_ptr error;
    try {
      batch = co_await core->broker->read_events_if(cursor, batch_size, core->config.sleep.value(), wanted_by(*core));
    } catch (...) {
      error = std::current_exception();
    }
    if (error && is_cancellation(error)) std::rethrow_exception(error);
    if (error) {
      if (!failing) logger()->error("{}: reading the event feed failed: {}", core->label(), error_message(error));
      failing = true;
      co_await sleep(core->config.sleep.value());
      continue;
    }
    if (failing) logger()->info("{}: reading the event feed again", core->label());
    failing = false;
    if (batch.gap) {
      logger()->warn("{}: events of the broker's feed were dropped before this manager read them (a gap)",
                     core->label());
      core->waiters.notify_all();
    }
    cursor = std::move(batch.cursor);
    for (const auto& event : batch.events) on_event(*core, event);
  }
}

}  // namespace fluid::detail
