#pragma once
// The control channel between a consumer and a process-mode child (TASKS.md
// 2.13.3): one JSON line each way on an inherited socket pair. The parent
// sends the run as it holds it (attempt counters, lineage, params in clear)
// and its fencing token; the child sends back how the attempt ended.

#include "fluid/tasks/task_run.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fluid::detail {

/// The most a line of the channel may take (the params' limit, and room for the rest).
inline constexpr std::size_t max_control_line = 2 << 20;

/// What the parent tells its child.
struct ChildRecord {
  TaskRun run;
  std::uint64_t lease_token = 0;
};

/// How the child's attempt ended: success, failure (with its message) or
/// aborted (with the reason).
struct ChildOutcome {
  TaskState state = TaskState::success;
  std::string error;
};

/// One line, '\n' included.
std::string encode_record(const ChildRecord& record);
/// @throws FluidError for a line that is not a record.
ChildRecord decode_record(std::string_view line);

/// One line, '\n' included.
std::string encode_outcome(const ChildOutcome& outcome);
/// nullopt for a line that is not an outcome.
std::optional<ChildOutcome> decode_outcome(std::string_view line) noexcept;

}  // namespace fluid::detail
