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

// MessagePack headers: an array of fewer than 16 values or a string of
// fewer than 32 bytes has its count in the type byte; a larger count
// follows it big-endian, in the smallest form that holds it (arrays: 16 or
// 32 bits; strings: 8, 16 or 32).
enum class Header { array, string };

void append_big_endian(std::string& out, std::size_t value, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

void append_header(std::string& out, Header header, std::size_t count) {
  const bool string = header == Header::string;
  if (count < (string ? 32u : 16u)) {
    out.push_back(static_cast<char>((string ? 0xa0 : 0x90) | count));
  } else if (string && count <= 0xff) {
    out.push_back(static_cast<char>(0xd9));
    append_big_endian(out, count, 1);
  } else if (count <= 0xffff) {
    out.push_back(static_cast<char>(string ? 0xda : 0xdc));
    append_big_endian(out, count, 2);
  } else {
    out.push_back(static_cast<char>(string ? 0xdb : 0xdd));
    append_big_endian(out, count, 4);
  }
}

// Reads a packed record front to back, never past its end.
struct Reader {
  std::string_view whole;
  std::string_view rest = whole;

  // Where, not the bytes: a packed record is binary.
  [[noreturn]] void fail() const {
    throw BrokerError("Redis broker: a malformed packed record (" + std::to_string(whole.size()) +
                      " bytes, unreadable from byte " + std::to_string(whole.size() - rest.size()) + ")");
  }

  unsigned char byte() {
    if (rest.empty()) fail();
    const auto value = static_cast<unsigned char>(rest.front());
    rest.remove_prefix(1);
    return value;
  }
  std::size_t big_endian(int bytes) {
    std::size_t value = 0;
    for (int i = 0; i < bytes; ++i) value = (value << 8) | byte();
    return value;
  }
  std::size_t array_size() {
    const auto type = byte();
    if ((type & 0xf0) == 0x90) return type & 0x0f;
    if (type == 0xdc) return big_endian(2);
    if (type == 0xdd) return big_endian(4);
    fail();
  }
  std::vector<std::string_view> record() {
    const auto count = array_size();
    if (count > rest.size()) fail();  // every value takes a byte at least
    std::vector<std::string_view> values;
    values.reserve(count);
    for (std::size_t i = 0; i < count; ++i) values.push_back(string());
    return values;
  }
  // A string or a binary (cmsgpack packs Lua strings as strings; both are bytes).
  std::string_view string() {
    const auto type = byte();
    std::size_t length = 0;
    if ((type & 0xe0) == 0xa0) {
      length = type & 0x1f;
    } else if (type == 0xd9 || type == 0xc4) {
      length = big_endian(1);
    } else if (type == 0xda || type == 0xc5) {
      length = big_endian(2);
    } else if (type == 0xdb || type == 0xc6) {
      length = big_endian(4);
    } else {
      fail();
    }
    if (length > rest.size()) fail();
    const auto value = rest.substr(0, length);
    rest.remove_prefix(length);
    return value;
  }
};

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
  }
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

std::string packed_given_run(const TaskRun& run) {
  const std::string priority(to_string(run.priority)), params = run.params.dump(),
      execute_after = micros_text(run.execute_after), retry = std::to_string(run.retry_attempt),
      rate_limit = std::to_string(run.rate_limit_attempt);
  std::vector<std::string_view> values(packed_run_fields.size());
  for (std::size_t i = 0; i < packed_run_fields.size(); ++i) {
    const auto field = packed_run_fields[i];
    if (field == "id") values[i] = run.id;
    if (field == "task") values[i] = run.task;
    if (field == "priority") values[i] = priority;
    if (field == "params") values[i] = params;
    if (field == "execute_after") values[i] = execute_after;
    if (field == "retry_attempt") values[i] = retry;
    if (field == "rate_limit_attempt") values[i] = rate_limit;
    if (field == "from_run_id") values[i] = run.from_run_id;
    if (field == "root_run_id") values[i] = run.root_run_id;
    if (field == "manager_id") values[i] = run.manager_id;
  }
  return pack(values);
}

std::string pack(const std::vector<std::string_view>& values) {
  std::size_t size = 5;
  for (const auto value : values) size += value.size() + 5;
  std::string packed;
  packed.reserve(size);
  append_header(packed, Header::array, values.size());
  for (const auto value : values) {
    append_header(packed, Header::string, value.size());
    packed.append(value);
  }
  return packed;
}

std::vector<std::string_view> unpack(std::string_view packed) {
  Reader reader{packed};
  auto values = reader.record();
  if (!reader.rest.empty()) reader.fail();
  return values;
}

std::string_view leading_record(std::string_view stored) {
  Reader reader{stored};
  (void)reader.record();
  return stored.substr(0, stored.size() - reader.rest.size());
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
