#include "brokers/redis/broker_codec.hpp"

#include "fluid/tasks/errors.hpp"

#include <charconv>
#include <cstdio>

namespace fluid::redis {

namespace {

using Micros = std::chrono::microseconds;

[[noreturn]] void malformed(std::string_view what, std::string_view value) {
  throw BrokerError("Redis broker: malformed " + std::string(what) + " '" + std::string(value) + "'");
}

long long integer_of(std::string_view what, std::string_view text) {
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) malformed(what, text);
  return value;
}

unsigned count_of(std::string_view what, std::string_view text) {
  const long long value = integer_of(what, text);
  if (value < 0) malformed(what, text);
  return static_cast<unsigned>(value);
}

void set_field(TaskRun& run, std::string_view name, std::string_view value) {
  if (name == "id") {
    run.id = value;
  } else if (name == "task") {
    run.task = value;
  } else if (name == "priority") {
    const auto priority = parse_task_priority(value);
    if (!priority) malformed("priority", value);
    run.priority = *priority;
  } else if (name == "params") {
    run.params = nlohmann::json::parse(value.begin(), value.end(), nullptr, false);
    if (run.params.is_discarded()) malformed("params", value);
  } else if (name == "state") {
    const auto state = parse_task_state(value);
    if (!state) malformed("state", value);
    run.state = *state;
  } else if (name == "queued") {
    run.queued = time_of_micros(value);
  } else if (name == "start") {
    run.start = time_of_micros(value);
  } else if (name == "end") {
    run.end = time_of_micros(value);
  } else if (name == "execute_after") {
    run.execute_after = time_of_micros(value);
  } else if (name == "retry_attempt") {
    run.retry_attempt = count_of(name, value);
  } else if (name == "rate_limit_attempt") {
    run.rate_limit_attempt = count_of(name, value);
  } else if (name == "from_run_id") {
    run.from_run_id = value;
  } else if (name == "root_run_id") {
    run.root_run_id = value;
  } else if (name == "deliveries") {
    run.deliveries = count_of(name, value);
  } else if (name == "error") {
    run.error = value;
  } else if (name == "requeued") {
    run.requeued = value == "1";
  } else if (name == "manager_id") {
    run.manager_id = value;
  }  // other fields are the broker's own (token, place, ...)
}

}  // namespace

std::string micros_text(std::optional<TimePoint> time) {
  if (!time) return {};
  return std::to_string(std::chrono::floor<Micros>(time->time_since_epoch()).count());
}

std::optional<TimePoint> time_of_micros(std::string_view text) {
  if (text.empty()) return std::nullopt;
  return TimePoint(std::chrono::duration_cast<Clock::duration>(Micros(integer_of("time", text))));
}

void append_given_run(std::vector<std::string>& args, const TaskRun& run) {
  args.push_back(run.id);
  args.push_back(run.task);
  args.emplace_back(to_string(run.priority));
  args.push_back(run.params.dump());
  args.push_back(micros_text(run.execute_after));
  args.push_back(std::to_string(run.retry_attempt));
  args.push_back(std::to_string(run.rate_limit_attempt));
  args.push_back(run.from_run_id);
  args.push_back(run.root_run_id);
  args.push_back(run.manager_id);
}

std::vector<std::string_view> unpack(std::string_view packed) {
  std::vector<std::string_view> values;
  std::size_t at = 0;
  while (at < packed.size()) {
    const auto colon = packed.find(':', at);
    if (colon == std::string_view::npos) malformed("packed record", packed);
    std::size_t length = 0;
    const auto [end, error] = std::from_chars(packed.data() + at, packed.data() + colon, length);
    if (colon == at || error != std::errc{} || end != packed.data() + colon || length > packed.size() - colon - 1) {
      malformed("packed record", packed);
    }
    values.push_back(packed.substr(colon + 1, length));
    at = colon + 1 + length;
  }
  return values;
}

TaskRun run_of_fields(const std::vector<Reply>& flat) {
  TaskRun run;
  for (std::size_t i = 0; i + 1 < flat.size(); i += 2) set_field(run, flat[i].as_string(), flat[i + 1].as_string());
  return run;
}

TaskRun run_of_packed(std::string_view packed) {
  const auto values = unpack(packed);
  if (values.size() != packed_run_fields.size()) {
    throw BrokerError("Redis broker: a packed run of " + std::to_string(values.size()) + " fields, not " +
                      std::to_string(packed_run_fields.size()));
  }
  TaskRun run;
  for (std::size_t i = 0; i < values.size(); ++i) set_field(run, packed_run_fields[i], values[i]);
  return run;
}

std::vector<TaskRun> runs_of(const Reply& reply) {
  std::vector<TaskRun> runs;
  for (const auto& packed : reply.as_array()) runs.push_back(run_of_packed(packed.as_string()));
  return runs;
}

std::vector<TaskRun> runs_of_pack(std::string_view pack) {
  std::vector<TaskRun> runs;
  for (const auto packed : unpack(pack)) runs.push_back(run_of_packed(packed));
  return runs;
}

void append_registration(std::vector<std::string>& args, const TaskRegistration& registration) {
  args.push_back(registration.info.name);
  args.push_back(nlohmann::json(registration.info).dump());
  args.push_back(std::to_string(registration.max_concurrency));
  const auto& policy = registration.rate_limit_retry;
  args.emplace_back(policy ? "1" : "0");
  args.push_back(policy && policy->max_attempts ? std::to_string(*policy->max_attempts) : "");
  args.push_back(policy ? std::to_string(policy->wait.count()) : "0");
  char backoff[32];
  std::snprintf(backoff, sizeof backoff, "%.17g", policy ? policy->backoff : 1.0);
  args.emplace_back(backoff);
  args.push_back(policy ? std::to_string(policy->max_wait.count()) : "0");
}

TaskInfo info_of_row(const Reply& row) {
  const auto& fields = row.as_array();
  if (fields.size() != 7) throw BrokerError("Redis broker: a task row of " + std::to_string(fields.size()) + " fields");
  TaskInfo info;
  const auto parsed = nlohmann::json::parse(fields[1].as_string(), nullptr, false);
  if (parsed.is_discarded()) malformed("task info", fields[1].as_string());
  from_json(parsed, info);
  info.name = fields[0].as_string();
  info.enabled = fields[2].as_string() != "0";
  info.max_concurrency = count_of("max_concurrency", fields[3].as_string());
  info.last_run_end = time_of_micros(fields[4].as_string());
  const auto& duration = fields[5].as_string();
  info.last_run_duration =
      duration.empty() ? std::nullopt : std::optional<Micros>(Micros(integer_of("last_run_duration", duration)));
  const auto& state = fields[6].as_string();
  info.last_run_state = state.empty() ? std::nullopt : parse_task_state(state);
  return info;
}

}  // namespace fluid::redis
