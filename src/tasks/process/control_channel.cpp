#include "tasks/process/control_channel.hpp"

#include "fluid/errors.hpp"

#include <nlohmann/json.hpp>

namespace fluid::detail {

std::string encode_record(const ChildRecord& record) {
  const nlohmann::json line = {{"run", record.run}, {"lease_token", record.lease_token}};
  return line.dump() + "\n";
}

ChildRecord decode_record(std::string_view line) {
  const auto parsed = nlohmann::json::parse(line, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("run") || !parsed.value("lease_token", nlohmann::json()).is_number_unsigned()) {
    throw FluidError("the control channel's first line is not a run record");
  }
  ChildRecord record;
  record.run = parsed.at("run").get<TaskRun>();
  record.lease_token = parsed.at("lease_token").get<std::uint64_t>();
  return record;
}

std::string encode_outcome(const ChildOutcome& outcome) {
  const nlohmann::json line = {{"state", to_string(outcome.state)}, {"error", outcome.error}};
  return line.dump() + "\n";
}

std::optional<ChildOutcome> decode_outcome(std::string_view line) noexcept {
  try {
    const auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (!parsed.is_object()) return std::nullopt;
    const auto state = parse_task_state(parsed.value("state", std::string()));
    if (state != TaskState::success && state != TaskState::failure && state != TaskState::aborted) return std::nullopt;
    return ChildOutcome{*state, parsed.value("error", std::string())};
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace fluid::detail
