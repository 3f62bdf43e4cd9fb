// The memory broker's object: URL options, joining the process's instance of
// its name, and each call as one locked step of MemoryState, with the waits
// of claim() and read_events() on the state's notifiers.

#include "brokers/memory/memory_broker.hpp"

#include "brokers/memory/memory_state.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/tasks/task_definition.hpp"

#include <map>
#include <type_traits>

namespace fluid::brokers {

namespace {

using namespace std::chrono_literals;

struct MemoryOptions {
  std::string name;
  std::vector<TaskPriority> queues;
  std::chrono::milliseconds retention{1h};
  std::string url;  ///< normalized: memory://<name>[?<query>]
};

MemoryOptions parse_memory_url(const BrokerUrl& url) {
  check_params(url, {"queues", "retention"});
  if (url.authority.find('@') != std::string::npos) throw_bad_url(url, "memory:// takes no user or password");
  MemoryOptions options;
  options.name = url.authority.empty() ? "default" : url.authority;
  if (!is_valid_task_name(options.name)) {  // the task-name rule: the name goes in logs and keys alike
    throw_bad_url(url, "broker name '" + options.name + "' is not 1 to 64 of [A-Za-z0-9_-], not starting with '-'");
  }
  const std::string* queues = find_param(url, "queues");
  options.queues = queues != nullptr ? parse_queues(url, *queues) : all_queues();
  if (const std::string* retention = find_param(url, "retention")) {
    options.retention = parse_seconds(url, "retention", *retention);
  }
  options.url = "memory://" + options.name + (url.query.empty() ? "" : "?" + url.query);
  return options;
}

/// The process's memory brokers by name, each alive while an object has it open.
class NamedStates {
 public:
  std::shared_ptr<MemoryState> attach(const std::string& name) {
    std::lock_guard lock(mutex_);
    Named& named = by_name_[name];
    if (!named.state) named.state = std::make_shared<MemoryState>();
    ++named.holders;
    return named.state;
  }

  /// The last holder of a name drops its state and says what was lost.
  void detach(const std::string& name, const std::string& url) {
    std::lock_guard lock(mutex_);
    const auto found = by_name_.find(name);
    if (found == by_name_.end() || --found->second.holders > 0) return;
    const auto state = std::move(found->second.state);
    by_name_.erase(found);
    std::size_t unfinished = 0;
    {
      std::lock_guard state_lock(state->mutex);
      unfinished = state->unfinished_runs();
    }
    if (unfinished == 0) {
      logger()->info("broker {} closed: every run final", url);
    } else {
      logger()->warn("broker {} closed: {} run(s) not final are lost", url, unfinished);
    }
  }

 private:
  struct Named {
    std::shared_ptr<MemoryState> state;
    std::size_t holders = 0;
  };
  std::mutex mutex_;
  std::map<std::string, Named, std::less<>> by_name_;
};

NamedStates& named_states() {
  static auto* states = new NamedStates;  // never destroyed: brokers may close during static destruction
  return *states;
}

/// One call as one atomic step: lock, read the clocks, drop what expired,
/// operate, then wake whoever waits for what the step changed.
template <class Operation>
auto locked_step(MemoryState& state, std::chrono::milliseconds retention, Operation&& operation) {
  std::unique_lock lock(state.mutex);
  const Call call = Call::at_now(retention);  // under the lock: stamps follow the commit order
  state.forget_expired(call);
  const auto wake = [&] {
    const auto wakeups = state.take_wakeups();
    lock.unlock();
    if (wakeups.work) state.work.notify_all();
    if (wakeups.feed) state.feed.notify_all();
  };
  if constexpr (std::is_void_v<std::invoke_result_t<Operation, MemoryState&, const Call&>>) {
    operation(state, call);
    wake();
  } else {
    auto result = operation(state, call);
    wake();
    return result;
  }
}

class MemoryBroker final : public TaskBroker {
 public:
  explicit MemoryBroker(MemoryOptions options) : options_(std::move(options)) {}
  ~MemoryBroker() override { detach(); }
  MemoryBroker(const MemoryBroker&) = delete;
  MemoryBroker& operator=(const MemoryBroker&) = delete;

  std::string url() const override { return options_.url; }
  std::vector<TaskPriority> queues() const override { return options_.queues; }

  Task<> open() override {
    std::lock_guard lock(mutex_);
    if (!state_) state_ = named_states().attach(options_.name);
    co_return;
  }
  Task<> close() override {
    detach();
    co_return;
  }
  Task<TimePoint> now() override {
    state();
    co_return Clock::now();
  }

  Task<> register_tasks(std::vector<TaskRegistration> tasks) override {
    step([&](MemoryState& s, const Call&) { s.register_tasks(std::move(tasks)); });
    co_return;
  }
  Task<std::vector<TaskInfo>> tasks_info(std::vector<std::string> names) override {
    co_return step([&](MemoryState& s, const Call&) { return s.tasks_info(names); });
  }
  Task<TaskInfo> set_enabled(std::string task, bool enabled) override {
    co_return step([&](MemoryState& s, const Call&) { return s.set_enabled(task, enabled); });
  }

  Task<std::pair<TaskRun, bool>> enqueue(TaskRun run, std::chrono::milliseconds delay) override {
    co_return step([&](MemoryState& s, const Call& call) { return s.enqueue(std::move(run), delay, call); });
  }
  Task<ClaimResult> claim(ClaimRequest request) override;
  Task<std::vector<LeaseState>> renew(std::vector<Lease> leases, std::chrono::milliseconds lease) override {
    co_return step([&](MemoryState& s, const Call& call) { return s.renew(leases, lease, call); });
  }
  Task<std::vector<TaskRun>> finish(Lease lease, Outcome outcome) override {
    co_return step([&](MemoryState& s, const Call& call) { return s.finish(lease, outcome, call); });
  }
  Task<std::vector<TaskRun>> reap(std::string manager_id) override {
    co_return step([&](MemoryState& s, const Call& call) { return s.reap(manager_id, call); });
  }
  Task<std::optional<TaskRun>> get_run(std::string run_id) override {
    co_return step([&](MemoryState& s, const Call&) { return s.get_run(run_id); });
  }
  Task<std::vector<TaskRun>> request_abort(std::string run_id, std::string reason, std::string manager_id) override {
    co_return step([&](MemoryState& s, const Call& call) { return s.request_abort(run_id, reason, manager_id, call); });
  }

  Task<TimePoint> schedule_anchor(std::string task, TimePoint proposed) override {
    co_return step([&](MemoryState& s, const Call&) { return s.schedule_anchor(task, proposed); });
  }
  Task<std::optional<TimePoint>> last_slot(std::string task) override {
    co_return step([&](MemoryState& s, const Call&) { return s.last_slot(task); });
  }
  Task<std::optional<TaskRun>> fire_slot(std::string task, TimePoint slot, TaskRun run) override {
    co_return step([&](MemoryState& s, const Call& call) { return s.fire_slot(task, slot, std::move(run), call); });
  }

  Task<std::map<TaskPriority, std::size_t>> queue_length(std::vector<TaskPriority> queues) override {
    co_return step([&](MemoryState& s, const Call& call) { return s.queue_length(queues, call); });
  }
  Task<std::map<TaskPriority, std::size_t>> clear_queue(std::vector<TaskPriority> queues,
                                                        std::string manager_id) override {
    co_return step([&](MemoryState& s, const Call& call) { return s.clear_queue(queues, manager_id, call); });
  }
  Task<> set_manager_status(std::string manager_id, nlohmann::json status, std::chrono::milliseconds ttl) override {
    step([&](MemoryState& s, const Call& call) { s.set_manager_status(manager_id, std::move(status), ttl, call); });
    co_return;
  }
  Task<std::vector<nlohmann::json>> manager_statuses() override {
    co_return step([&](MemoryState& s, const Call&) { return s.manager_statuses(); });
  }
  Task<EventBatch> read_events(std::string after, std::size_t max, std::chrono::milliseconds wait) override;

 private:
  /// The shared state; held by the caller for the whole call, so a close()
  /// meanwhile (or the last holder going) cannot pull it away.
  std::shared_ptr<MemoryState> state() const {
    std::lock_guard lock(mutex_);
    if (!state_) throw FluidError("broker " + options_.url + " is not open");
    return state_;
  }

  template <class Operation>
  std::invoke_result_t<Operation, MemoryState&, const Call&> step(Operation&& operation) {
    const auto shared = state();
    return locked_step(*shared, options_.retention, std::forward<Operation>(operation));
  }

  void detach() {
    std::shared_ptr<MemoryState> state;
    {
      std::lock_guard lock(mutex_);
      state = std::exchange(state_, nullptr);
    }
    if (state) named_states().detach(options_.name, options_.url);
  }

  const MemoryOptions options_;
  mutable std::mutex mutex_;  // guards state_
  std::shared_ptr<MemoryState> state_;
};

// claim() and read_events() keep what they need in their frames: after a
// wait they touch neither `this` nor anything but the shared state.
Task<ClaimResult> MemoryBroker::claim(ClaimRequest request) {
  const auto shared = state();
  const auto retention = options_.retention;
  const auto deadline = detail::deadline_after(request.wait);
  for (;;) {
    const auto ticket = shared->work.ticket();
    std::optional<SteadyTime> due_at;
    SteadyTime now;
    auto result = locked_step(*shared, retention, [&](MemoryState& s, const Call& call) {
      now = call.mono;
      return s.claim(request, call, due_at);
    });
    const bool done = !result.claimed.empty() || !result.settled.empty() || request.max_runs == 0;
    if (done || now >= deadline) co_return result;
    // Woken by a change or at the next due time: either way, look again.
    const bool notified = co_await shared->work.wait(ticket, due_at ? std::min(*due_at, deadline) : deadline);
    static_cast<void>(notified);
  }
}

Task<EventBatch> MemoryBroker::read_events(std::string after, std::size_t max, std::chrono::milliseconds wait) {
  const auto shared = state();
  const auto retention = options_.retention;
  const auto deadline = detail::deadline_after(wait);
  const auto cursor_of_now = [](MemoryState& s, const Call&) { return s.feed_cursor(); };
  if (after.empty()) after = locked_step(*shared, retention, cursor_of_now);
  for (;;) {
    const auto ticket = shared->feed.ticket();
    auto batch =
        locked_step(*shared, retention, [&](MemoryState& s, const Call&) { return s.read_events(after, max); });
    if (!batch.events.empty() || max == 0 || SteadyClock::now() >= deadline) co_return batch;
    const bool notified = co_await shared->feed.wait(ticket, deadline);
    static_cast<void>(notified);
  }
}

}  // namespace

std::shared_ptr<TaskBroker> make_memory_broker(const BrokerUrl& url) {
  return std::make_shared<MemoryBroker>(parse_memory_url(url));
}

}  // namespace fluid::brokers
