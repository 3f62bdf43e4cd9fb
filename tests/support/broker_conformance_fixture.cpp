// The conformance suite's fixture and helpers (the tests are in
// broker_conformance/*.hpp, compiled by each instantiating test file).

#include "support/broker_conformance_fixture.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>
#include <atomic>
#include <stdexcept>

namespace fluid::test {

namespace {

std::atomic<unsigned> last_id{0};

std::string next_id(const char* prefix) { return prefix + std::to_string(++last_id); }

}  // namespace

void PrintTo(const BrokerTarget& target, std::ostream* out) { *out << target.name; }

std::string target_name(const ::testing::TestParamInfo<BrokerTarget>& info) { return info.param.name; }

// ------------------------------------------------------------------ fixture

void BrokerConformance::SetUp() {
  const std::string why = GetParam().unavailable();
  if (!why.empty()) GTEST_SKIP() << GetParam().name << " broker unavailable: " << why;
  // Fresh per test and per process, so a shared server sees no leftovers.
  namespace_ = "conformance-" + std::to_string(::getpid()) + "-" + std::to_string(++last_id);
}

std::string BrokerConformance::url(const std::string& query) const { return GetParam().url(namespace_, query); }

Task<std::shared_ptr<TaskBroker>> BrokerConformance::open_broker(std::string query) {
  auto broker = make_broker(url(query));
  opened_.push_back(broker);
  co_await broker->open();
  co_return broker;
}

void BrokerConformance::run(const std::function<Task<>()>& body) {
  fluid::run([&]() -> Task<> {
    std::exception_ptr failure;
    try {
      co_await body();
    } catch (...) {
      failure = std::current_exception();
    }
    for (const auto& broker : opened_) co_await broker->close();
    opened_.clear();
    if (failure) std::rethrow_exception(failure);
  }());
}

// ------------------------------------------------------------------ runs and requests

TaskRun make_run(const std::string& task, TaskPriority priority) {
  return make_run_with_id(task, next_id("run-"), priority);
}

TaskRun make_run_with_id(const std::string& task, const std::string& id, TaskPriority priority) {
  TaskRun run;
  run.id = id;
  run.task = task;
  run.priority = priority;
  run.params = {{"n", 1}};
  return run;
}

TaskRegistration registration(const std::string& task, std::size_t max_concurrency,
                              std::optional<RetryPolicy> rate_limit_retry) {
  TaskRegistration registration;
  registration.info.name = task;
  registration.info.description = "The " + task + " task.\nMore about it.";
  registration.info.short_description = "The " + task + " task.";
  registration.info.tags = {"conformance"};
  registration.info.max_concurrency = max_concurrency;
  registration.max_concurrency = max_concurrency;
  registration.rate_limit_retry = std::move(rate_limit_retry);
  return registration;
}

ClaimRequest claim_of(std::vector<std::string> tasks, std::size_t max_runs) {
  ClaimRequest request;
  request.manager_id = "consumer-1";
  request.queues = all_priorities();
  request.tasks = std::move(tasks);
  request.max_runs = max_runs;
  request.lease = long_lease;
  return request;
}

ClaimRequest waiting_claim_of(std::vector<std::string> tasks, std::size_t max_runs) {
  ClaimRequest request = claim_of(std::move(tasks), max_runs);
  request.wait = generous;
  return request;
}

Task<std::pair<TaskRun, Lease>> claim_one(TaskBroker& broker, ClaimRequest request) {
  const auto result = co_await broker.claim(std::move(request));
  if (result.claimed.size() != 1) {
    throw std::runtime_error("expected to claim one run, claimed " + std::to_string(result.claimed.size()));
  }
  co_return result.claimed.front();
}

Task<std::pair<TaskRun, Lease>> claim_one(TaskBroker& broker, std::string task) {
  co_return co_await claim_one(broker, waiting_claim_of(names(std::move(task))));
}

std::vector<TaskPriority> all_priorities() { return {TaskPriority::high, TaskPriority::medium, TaskPriority::low}; }

Task<> enqueue_each(TaskBroker& broker, std::vector<std::string> ids, std::string task, TaskPriority priority) {
  for (const auto& id : ids) co_await broker.enqueue(make_run_with_id(task, id, priority), 0ms);
}

RetryPolicy fixed_policy(std::optional<unsigned> max_attempts, std::chrono::milliseconds wait) {
  RetryPolicy policy;
  policy.max_attempts = max_attempts;
  policy.wait = wait;
  policy.max_wait = wait;
  return policy;
}

Outcome outcome(TaskState state, std::string error) {
  Outcome outcome;
  outcome.state = state;
  outcome.error = std::move(error);
  return outcome;
}

Outcome retry_after(std::chrono::milliseconds delay, std::string error) {
  Outcome retried = outcome(TaskState::failure, std::move(error));
  retried.retry_in = delay;
  return retried;
}

Outcome released() {
  Outcome release = outcome(TaskState::interrupted, "consumer stopping");
  release.requeue = true;
  return release;
}

// ------------------------------------------------------------------ time and events

Task<> let_others_run() {
  co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
}

Task<> wait_past(TaskBroker& broker, TimePoint t) {
  for (;;) {
    const TimePoint now = co_await broker.now();
    if (now > t) co_return;
    co_await fluid::sleep(t - now + 1ms);
  }
}

Task<std::vector<TaskEvent>> read_events(TaskBroker& broker, std::string& cursor, std::size_t n) {
  std::vector<TaskEvent> events;
  while (events.size() < n) {
    auto batch = co_await broker.read_events(cursor, n - events.size(), generous);
    if (batch.events.empty()) {
      throw std::runtime_error("expected " + std::to_string(n) + " events, got " + std::to_string(events.size()));
    }
    cursor = batch.cursor;
    for (auto& event : batch.events) events.push_back(std::move(event));
  }
  co_return events;
}

Task<std::string> feed_now(TaskBroker& broker) {
  const auto batch = co_await broker.read_events("", 1, 0ms);
  co_return batch.cursor;
}

Task<std::vector<TaskEvent>> drain_events(TaskBroker& broker, std::string& cursor) {
  std::vector<TaskEvent> events;
  for (;;) {
    auto batch = co_await broker.read_events(cursor, 1000, 0ms);
    if (batch.events.empty()) co_return events;
    cursor = batch.cursor;
    for (auto& event : batch.events) events.push_back(std::move(event));
  }
}

// ------------------------------------------------------------------ reading results

std::vector<std::string> ids_of(const std::vector<TaskRun>& runs) {
  std::vector<std::string> ids;
  for (const auto& run : runs) ids.push_back(run.id);
  return ids;
}

std::vector<std::string> ids_of(const std::vector<std::pair<TaskRun, Lease>>& claimed) {
  std::vector<std::string> ids;
  for (const auto& [run, lease] : claimed) ids.push_back(run.id);
  return ids;
}

std::vector<TaskState> states_of(const std::vector<TaskRun>& runs) {
  std::vector<TaskState> states;
  for (const auto& run : runs) states.push_back(run.state);
  return states;
}

std::vector<std::string> describe(const std::vector<TaskEvent>& events) {
  std::vector<std::string> described;
  for (const auto& event : events) {
    std::string what = event.kind == "state" ? std::string(to_string(event.run.state)) : event.kind;
    if (event.run.requeued) what += "+requeued";
    described.push_back(what + ":" + event.run.id);
  }
  return described;
}

TaskRun present(const std::optional<TaskRun>& run) {
  if (!run) throw std::runtime_error("expected a run, got none");
  return *run;
}

}  // namespace fluid::test
