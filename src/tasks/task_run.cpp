#include "fluid/tasks/task_run.hpp"

#include "fluid/errors.hpp"

#include <cmath>
#include <limits>
#include <utility>

namespace fluid {

namespace {

using nlohmann::json;
using std::chrono::microseconds;

std::optional<microseconds> between(const std::optional<TimePoint>& from, const std::optional<TimePoint>& to) {
  if (!from || !to) return std::nullopt;
  return std::chrono::duration_cast<microseconds>(*to - *from);
}

json time_json(const std::optional<TimePoint>& time) { return time ? json(format_time(*time)) : json(nullptr); }

// Reads the fields of one JSON object strictly: a field that is present must
// have its type and a well-formed value, or the error names it.
class FieldReader {
 public:
  FieldReader(const json& in, const char* type) : in_(in), type_(type) {
    if (!in.is_object()) throw FluidError(std::string(type) + ": expected a JSON object, got " + quote(in));
  }

  void read(const char* key, std::string& out) const {
    if (const json* value = find(key)) {
      if (!value->is_string()) fail(key, "a string", *value);
      out = value->get<std::string>();
    }
  }

  void read(const char* key, bool& out) const {
    if (const json* value = find(key)) {
      if (!value->is_boolean()) fail(key, "true or false", *value);
      out = value->get<bool>();
    }
  }

  void read(const char* key, double& out) const {
    if (const json* value = find(key)) {
      if (!value->is_number()) fail(key, "a number", *value);
      out = value->get<double>();
    }
  }

  template <class Unsigned>
  void read_count(const char* key, Unsigned& out) const {
    if (const json* value = find(key)) {
      const bool fits =
          value->is_number_unsigned()
              ? value->get<std::uint64_t>() <= std::numeric_limits<Unsigned>::max()
              : value->is_number_integer() && value->get<std::int64_t>() >= 0 &&
                    static_cast<std::uint64_t>(value->get<std::int64_t>()) <= std::numeric_limits<Unsigned>::max();
      if (!fits) fail(key, "a non-negative integer in range", *value);
      out = static_cast<Unsigned>(value->get<std::uint64_t>());
    }
  }

  void read_object(const char* key, json& out) const {
    if (const json* value = find(key)) {
      if (!value->is_object()) fail(key, "a JSON object", *value);
      out = *value;
    }
  }

  void read(const char* key, std::vector<std::string>& out) const {
    if (const json* value = find(key)) {
      if (!value->is_array()) fail(key, "an array of strings", *value);
      std::vector<std::string> strings;
      for (const auto& item : *value) {
        if (!item.is_string()) fail(key, "an array of strings", *value);
        strings.push_back(item.get<std::string>());
      }
      out = std::move(strings);
    }
  }

  void read(const char* key, std::optional<std::string>& out) const {
    if (const json* value = find(key)) {
      if (value->is_null()) {
        out.reset();
      } else {
        if (!value->is_string()) fail(key, "a string or null", *value);
        out = value->get<std::string>();
      }
    }
  }

  void read(const char* key, std::optional<TimePoint>& out) const {
    read_nullable(key, out, "an RFC 3339 time or null", [](const std::string& s) { return parse_time(s); });
  }

  void read(const char* key, std::optional<microseconds>& out) const {
    read_nullable(key, out, "an ISO 8601 duration in seconds (\"PT0.2S\") or null",
                  [](const std::string& s) { return parse_duration(s); });
  }

  void read(const char* key, std::optional<TaskState>& out) const {
    read_nullable(key, out, "a task state or null", [](const std::string& s) { return parse_task_state(s); });
  }

  void read(const char* key, TaskState& out) const {
    read_parsed(key, out, "a task state", [](const std::string& s) { return parse_task_state(s); });
  }

  void read(const char* key, TaskPriority& out) const {
    read_parsed(key, out, "high, medium or low", [](const std::string& s) { return parse_task_priority(s); });
  }

 private:
  // A value parsed from a string by `parse` (nullopt: malformed).
  template <class T, class Parse>
  void read_parsed(const char* key, T& out, const char* expected, Parse parse) const {
    if (const json* value = find(key)) {
      const std::optional<T> parsed =
          value->is_string() ? parse(value->get_ref<const std::string&>()) : std::optional<T>();
      if (!parsed) fail(key, expected, *value);
      out = *parsed;
    }
  }

  template <class T, class Parse>
  void read_nullable(const char* key, std::optional<T>& out, const char* expected, Parse parse) const {
    if (const json* value = find(key); value && value->is_null()) {
      out.reset();
    } else if (value) {
      T parsed{};
      read_parsed(key, parsed, expected, parse);
      out = parsed;
    }
  }

  const json* find(const char* key) const {
    const auto it = in_.find(key);
    return it == in_.end() ? nullptr : &*it;
  }

  static std::string quote(const json& value) {
    constexpr std::size_t longest = 80;
    auto text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > longest) text = text.substr(0, longest) + "...";
    return text;
  }

  [[noreturn]] void fail(const char* key, const char* expected, const json& value) const {
    throw FluidError(std::string(type_) + " field '" + key + "': expected " + expected + ", got " + quote(value));
  }

  const json& in_;
  const char* type_;
};

}  // namespace

bool TaskRun::is_done() const noexcept { return fluid::is_done(state); }

bool TaskRun::is_final() const noexcept { return is_done() && !requeued; }

bool TaskRun::is_failure() const noexcept { return state == TaskState::failure; }

std::string TaskRun::name_id() const { return task + "." + id; }

std::optional<microseconds> TaskRun::in_queue() const { return between(queued, start); }

std::optional<microseconds> TaskRun::duration() const { return between(start, end); }

std::optional<microseconds> TaskRun::total() const { return between(queued, end); }

std::optional<double> TaskRun::duration_ms() const {
  const auto micros = duration();
  if (!micros) return std::nullopt;
  return std::round(static_cast<double>(micros->count()) / 10.0) / 100.0;
}

void to_json(json& out, const TaskRun& run) {
  out = json{
      {"id", run.id},
      {"task", run.task},
      {"priority", to_string(run.priority)},
      {"params", run.params},
      {"state", to_string(run.state)},
      {"queued", time_json(run.queued)},
      {"start", time_json(run.start)},
      {"end", time_json(run.end)},
      {"execute_after", time_json(run.execute_after)},
      {"retry_attempt", run.retry_attempt},
      {"rate_limit_attempt", run.rate_limit_attempt},
      {"from_run_id", run.from_run_id},
      {"root_run_id", run.root_run_id},
      {"deliveries", run.deliveries},
      {"error", run.error},
      {"requeued", run.requeued},
      {"manager_id", run.manager_id},
  };
}

void from_json(const json& in, TaskRun& run) {
  const FieldReader fields(in, "TaskRun");
  TaskRun parsed;
  fields.read("id", parsed.id);
  fields.read("task", parsed.task);
  fields.read("priority", parsed.priority);
  fields.read_object("params", parsed.params);
  fields.read("state", parsed.state);
  fields.read("queued", parsed.queued);
  fields.read("start", parsed.start);
  fields.read("end", parsed.end);
  fields.read("execute_after", parsed.execute_after);
  fields.read_count("retry_attempt", parsed.retry_attempt);
  fields.read_count("rate_limit_attempt", parsed.rate_limit_attempt);
  fields.read("from_run_id", parsed.from_run_id);
  fields.read("root_run_id", parsed.root_run_id);
  fields.read_count("deliveries", parsed.deliveries);
  fields.read("error", parsed.error);
  fields.read("requeued", parsed.requeued);
  fields.read("manager_id", parsed.manager_id);
  run = std::move(parsed);
}

void to_json(json& out, const TaskInfo& info) {
  out = json{
      {"name", info.name},
      {"description", info.description},
      {"short_description", info.short_description},
      {"module", info.module},
      {"priority", to_string(info.priority)},
      {"schedule", info.schedule ? json(*info.schedule) : json(nullptr)},
      {"tags", info.tags},
      {"enabled", info.enabled},
      {"last_run_end", time_json(info.last_run_end)},
      {"last_run_duration", info.last_run_duration ? json(format_duration(*info.last_run_duration)) : json(nullptr)},
      {"last_run_state", info.last_run_state ? json(to_string(*info.last_run_state)) : json(nullptr)},
      {"max_concurrency", info.max_concurrency},
      {"timeout_seconds", info.timeout_seconds},
      {"cpu_bound", info.cpu_bound},
  };
}

void from_json(const json& in, TaskInfo& info) {
  const FieldReader fields(in, "TaskInfo");
  TaskInfo parsed;
  fields.read("name", parsed.name);
  fields.read("description", parsed.description);
  fields.read("short_description", parsed.short_description);
  fields.read("module", parsed.module);
  fields.read("priority", parsed.priority);
  fields.read("schedule", parsed.schedule);
  fields.read("tags", parsed.tags);
  fields.read("enabled", parsed.enabled);
  fields.read("last_run_end", parsed.last_run_end);
  fields.read("last_run_duration", parsed.last_run_duration);
  fields.read("last_run_state", parsed.last_run_state);
  fields.read_count("max_concurrency", parsed.max_concurrency);
  fields.read("timeout_seconds", parsed.timeout_seconds);
  fields.read("cpu_bound", parsed.cpu_bound);
  info = std::move(parsed);
}

}  // namespace fluid
