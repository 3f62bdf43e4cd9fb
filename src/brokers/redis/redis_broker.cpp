// The Redis broker's object: its URL, its session (connections and I/O
// thread), and each call as one script (or one read-only command) against
// the namespace "{name}:". The waits of claim() and read_events() are in
// redis_broker_waits.cpp.

#include "brokers/redis/redis_broker.hpp"

#include "brokers/broker_checks.hpp"
#include "brokers/redis/broker_codec.hpp"
#include "brokers/redis/broker_lua.hpp"
#include "brokers/redis/redis_broker_impl.hpp"
#include "fluid/log.hpp"
#include "fluid/tasks/errors.hpp"

#include <algorithm>

namespace fluid::redis {

namespace {

std::string maxmemory_policy(const std::string& info) {
  constexpr std::string_view key = "maxmemory_policy:";
  const auto at = info.find(key);
  if (at == std::string::npos) return {};
  const auto begin = at + key.size();
  return info.substr(begin, info.find_first_of("\r\n", begin) - begin);
}

}  // namespace

RedisBroker::RedisBroker(RedisUrl redis, std::vector<TaskPriority> queues, std::string url)
    : redis_(std::move(redis)),
      queues_(std::move(queues)),
      url_(std::move(url)),
      prefix_("{" + redis_.name + "}:"),
      enqueues_([this](std::vector<std::string> args) { return script(broker_scripts().enqueue, std::move(args), true); }),
      finishes_([this](std::vector<std::string> args) {
        args.insert(args.begin(), retention_ms());
        return script(broker_scripts().finish, std::move(args), true);
      }) {}

RedisBroker::~RedisBroker() = default;

std::shared_ptr<BrokerSession> RedisBroker::session() const {
  std::lock_guard lock(mutex_);
  if (!session_) throw FluidError("broker " + url_ + " is not open");
  return session_;
}

Task<> RedisBroker::open() {
  {
    std::lock_guard lock(mutex_);
    if (session_) co_return;
  }
  auto session = std::make_shared<BrokerSession>(redis_);
  co_await session->main.open();
  co_await check_data_version(*session);
  co_await warn_unless_noeviction(*session);
  std::lock_guard lock(mutex_);
  if (!session_) session_ = std::move(session);
}

Task<> RedisBroker::close() {
  std::shared_ptr<BrokerSession> session;
  {
    std::lock_guard lock(mutex_);
    session = std::exchange(session_, nullptr);
  }
  if (session) session->close();  // calls still holding it end now; the last one joins its thread
  co_return;
}

Task<> RedisBroker::check_data_version(BrokerSession& session) {
  std::vector<std::string> keys{prefix_};
  std::vector<std::string> args{broker_data_version};
  const CallOptions options{.idempotent = true};
  const auto reply = co_await session.main.eval(broker_scripts().version, std::move(keys), std::move(args), options);
  if (reply.as_string() != broker_data_version) {
    throw BrokerError("broker " + url_ + ": namespace '" + redis_.name + "' holds data of version " +
                      reply.as_string() + "; this build of fluid reads and writes version " + broker_data_version);
  }
}

Task<> RedisBroker::warn_unless_noeviction(BrokerSession& session) {
  std::vector<std::string> command{"INFO", "memory"};
  const CallOptions options{.idempotent = true};
  const auto reply = co_await session.main.call(std::move(command), options);
  const auto policy = maxmemory_policy(reply.as_string());
  if (!policy.empty() && policy != "noeviction") {
    logger()->warn("broker {}: Redis maxmemory-policy is {}, not noeviction: keys it evicts are runs lost", url_,
                   policy);
  }
}

Task<Reply> RedisBroker::script(const RedisScript& script, std::vector<std::string> args, bool idempotent) {
  const auto session = this->session();
  std::vector<std::string> keys{prefix_};
  const CallOptions options{.idempotent = idempotent};
  co_return co_await session->main.eval(script, std::move(keys), std::move(args), options);
}

Task<Reply> RedisBroker::command(std::vector<std::string> args) {
  const auto session = this->session();
  const CallOptions options{.idempotent = true};
  co_return co_await session->main.call(std::move(args), options);
}

std::string RedisBroker::retention_ms() const { return std::to_string(redis_.retention.count()); }

Task<TimePoint> RedisBroker::now() {
  std::vector<std::string> command{"TIME"};
  const auto reply = co_await this->command(std::move(command));
  const auto& parts = reply.as_array();
  const auto micros = std::stoll(parts.at(0).as_string()) * 1'000'000 + std::stoll(parts.at(1).as_string());
  co_return *time_of_micros(std::to_string(micros));
}

// ---------------------------------------------------------------- tasks

Task<> RedisBroker::register_tasks(std::vector<TaskRegistration> tasks) {
  if (tasks.empty()) co_return;
  std::vector<std::string> args;
  for (const auto& registration : tasks) append_registration(args, registration);
  co_await script(broker_scripts().register_tasks, std::move(args), true);
}

Task<std::vector<TaskInfo>> RedisBroker::tasks_info(std::vector<std::string> names) {
  const auto reply = co_await script(broker_scripts().tasks_info, std::move(names), true);
  std::vector<TaskInfo> infos;
  for (const auto& row : reply.as_array()) infos.push_back(info_of_row(row));
  std::sort(infos.begin(), infos.end(), [](const TaskInfo& a, const TaskInfo& b) { return a.name < b.name; });
  infos.erase(std::unique(infos.begin(), infos.end(), [](const auto& a, const auto& b) { return a.name == b.name; }),
              infos.end());
  co_return infos;
}

Task<TaskInfo> RedisBroker::set_enabled(std::string task, bool enabled) {
  std::vector<std::string> args{task, enabled ? "1" : "0"};
  const auto reply = co_await script(broker_scripts().set_enabled, std::move(args), true);
  if (reply.is_nil()) throw UnknownTaskError("unknown task '" + task + "'");
  co_return info_of_row(reply);
}

// ---------------------------------------------------------------- runs

Task<std::pair<TaskRun, bool>> RedisBroker::enqueue(TaskRun run, std::chrono::milliseconds delay) {
  if (run.id.empty()) throw FluidError("enqueue: a run of task '" + run.task + "' without an id");
  if (run.task.empty()) throw FluidError("enqueue: run '" + run.id + "' without a task");
  std::vector<std::string> args{std::to_string(std::max<long long>(delay.count(), 0)), packed_given_run(run)};
  const auto reply = co_await enqueues_.call(std::move(args));
  const auto& answer = reply.as_array();
  co_return std::pair{run_of_packed(answer.at(1).as_string()), answer.at(0).as_integer() == 1};
}

Task<std::vector<LeaseState>> RedisBroker::renew(std::vector<Lease> leases, std::chrono::milliseconds lease) {
  if (leases.empty()) co_return std::vector<LeaseState>{};
  std::vector<std::string> args{std::to_string(lease.count())};
  for (const auto& held : leases) {
    args.push_back(held.run_id);
    args.push_back(std::to_string(held.token));
  }
  const auto reply = co_await script(broker_scripts().renew, std::move(args), true);
  std::vector<LeaseState> states;
  const auto& answers = reply.as_array();
  for (std::size_t i = 0; i < answers.size() && i < leases.size(); ++i) {
    const auto& answer = answers[i].as_array();
    const auto& status = answer.at(0).as_string();
    if (status == "lost") {
      states.push_back(LeaseState{LeaseStatus::lost, leases[i].expires, ""});
      continue;
    }
    const auto expires = *time_of_micros(answer.at(1).as_string());
    const auto kind = status == "held" ? LeaseStatus::held : LeaseStatus::abort_requested;
    states.push_back(LeaseState{kind, expires, answer.at(2).as_string()});
  }
  co_return states;
}

Task<std::vector<TaskRun>> RedisBroker::finish(Lease lease, Outcome outcome) {
  brokers::check_outcome(lease, outcome);
  std::vector<std::string> args{lease.run_id,
                                std::to_string(lease.token),
                                std::string(to_string(outcome.state)),
                                outcome.error,
                                outcome.retry_in ? std::to_string(outcome.retry_in->count()) : "",
                                outcome.requeue ? "1" : "0"};
  const auto reply = co_await finishes_.call(std::move(args));
  const auto& answer = reply.as_array();
  if (answer.at(0).as_string() != "ok") {
    brokers::throw_lease_lost(lease, answer.at(1).as_string());
  }
  co_return runs_of_pack(answer.at(1).as_string());
}

Task<std::vector<TaskRun>> RedisBroker::reap(std::string manager_id) {
  std::vector<std::string> args{std::move(manager_id), retention_ms()};
  const auto reply = co_await script(broker_scripts().reap, std::move(args), true);
  co_return runs_of(reply);
}

Task<std::optional<TaskRun>> RedisBroker::get_run(std::string run_id) {
  std::vector<std::string> command{"GET", prefix_ + "run:" + run_id};
  const auto reply = co_await this->command(std::move(command));
  if (reply.is_nil()) co_return std::nullopt;
  co_return run_of_packed(leading_record(reply.as_string()));
}

Task<std::vector<TaskRun>> RedisBroker::request_abort(std::string run_id, std::string reason,
                                                      std::string manager_id) {
  std::vector<std::string> args{run_id, std::move(reason), std::move(manager_id), retention_ms()};
  const auto reply = co_await script(broker_scripts().abort, std::move(args), true);
  const auto& answer = reply.as_array();
  if (answer.at(0).as_string() == "unknown") throw UnknownRunError("unknown run '" + run_id + "'");
  co_return runs_of(answer.at(1));
}

// ---------------------------------------------------------------- schedules

Task<TimePoint> RedisBroker::schedule_anchor(std::string task, TimePoint proposed) {
  std::vector<std::string> args{std::move(task), micros_text(proposed)};
  const auto reply = co_await script(broker_scripts().anchor, std::move(args), true);
  co_return *time_of_micros(reply.as_string());
}

Task<std::optional<TimePoint>> RedisBroker::last_slot(std::string task) {
  std::vector<std::string> command{"HGET", prefix_ + "task:" + task, "last_slot"};
  const auto reply = co_await this->command(std::move(command));
  if (reply.is_nil()) co_return std::nullopt;
  co_return time_of_micros(reply.as_string());
}

Task<std::optional<TaskRun>> RedisBroker::fire_slot(std::string task, TimePoint slot, TaskRun run) {
  if (run.task != task) throw FluidError("fire_slot: a run of task '" + run.task + "' for task '" + task + "'");
  if (run.id.empty()) throw FluidError("fire_slot: a run of task '" + task + "' without an id");
  std::vector<std::string> args{std::move(task), micros_text(slot), packed_given_run(run)};
  const auto reply = co_await script(broker_scripts().fire_slot, std::move(args), true);
  if (reply.is_nil()) co_return std::nullopt;
  co_return run_of_packed(reply.as_string());
}

// ---------------------------------------------------------------- queues and statuses

Task<std::map<TaskPriority, std::size_t>> RedisBroker::queue_length(std::vector<TaskPriority> queues) {
  std::map<TaskPriority, std::size_t> lengths;
  if (queues.empty()) co_return lengths;
  std::vector<std::string> args;
  for (const auto priority : queues) args.emplace_back(to_string(priority));
  const auto reply = co_await script(broker_scripts().queue_length, std::move(args), true);
  const auto& counts = reply.as_array();
  for (std::size_t i = 0; i < queues.size() && i < counts.size(); ++i) {
    lengths[queues[i]] = static_cast<std::size_t>(counts[i].as_integer());
  }
  co_return lengths;
}

Task<std::map<TaskPriority, std::size_t>> RedisBroker::clear_queue(std::vector<TaskPriority> queues,
                                                                   std::string manager_id) {
  std::map<TaskPriority, std::size_t> cleared;
  if (queues.empty()) co_return cleared;
  std::vector<std::string> args{std::move(manager_id), retention_ms()};
  for (const auto priority : queues) args.emplace_back(to_string(priority));
  const auto reply = co_await script(broker_scripts().clear_queue, std::move(args), false);
  const auto& counts = reply.as_array();
  for (std::size_t i = 0; i < queues.size() && i < counts.size(); ++i) {
    cleared[queues[i]] = static_cast<std::size_t>(counts[i].as_integer());
  }
  co_return cleared;
}

Task<> RedisBroker::set_manager_status(std::string manager_id, nlohmann::json status, std::chrono::milliseconds ttl) {
  std::vector<std::string> args{std::move(manager_id), status.dump(), std::to_string(ttl.count())};
  co_await script(broker_scripts().set_status, std::move(args), true);
}

Task<std::vector<nlohmann::json>> RedisBroker::manager_statuses() {
  std::vector<std::string> args;
  const auto reply = co_await script(broker_scripts().statuses, std::move(args), true);
  const auto& flat = reply.as_array();
  std::vector<std::pair<std::string, nlohmann::json>> by_id;
  for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
    by_id.emplace_back(flat[i].as_string(), nlohmann::json::parse(flat[i + 1].as_string(), nullptr, false));
  }
  std::sort(by_id.begin(), by_id.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<nlohmann::json> statuses;
  for (auto& [id, status] : by_id) statuses.push_back(std::move(status));
  co_return statuses;
}

// ---------------------------------------------------------------- the factory

std::shared_ptr<TaskBroker> make_redis_broker(const brokers::BrokerUrl& url) {
  brokers::check_params(url, {"name", "queues", "retention", "timeout", "connect_timeout"});
  const std::string* queues = brokers::find_param(url, "queues");
  auto priorities = queues != nullptr ? brokers::parse_queues(url, *queues) : brokers::all_queues();
  auto redis = parse_redis_url(url.scheme + "://" + url.authority + (url.query.empty() ? "" : "?" + url.query));
  if (redis.tls) brokers::throw_bad_url(url, "rediss:// needs TLS, which this build of fluid does not have");
  return std::make_shared<RedisBroker>(std::move(redis), std::move(priorities), url.redacted);
}

}  // namespace fluid::redis
