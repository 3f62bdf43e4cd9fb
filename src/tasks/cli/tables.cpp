#include "tasks/cli/tables.hpp"

#include "tasks/attempt.hpp"

#include <algorithm>

namespace fluid::detail {

namespace {

using Row = std::vector<std::string>;

std::string yes_no(bool value) { return value ? "yes" : "no"; }

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : ",") + part;
  return out;
}

/// Rows with their columns padded to the widest cell (the last left ragged).
std::string aligned(const std::vector<Row>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string time_or_dash(const std::optional<TimePoint>& time) { return time ? format_time(*time) : "-"; }

}  // namespace

std::string tasks_table(const std::vector<TaskInfo>& tasks) {
  std::vector<Row> rows{{"name", "enabled", "schedule", "cpu bound", "timeout secs", "priority", "tags", "description"}};
  for (const auto& task : tasks) {
    rows.push_back({task.name, yes_no(task.enabled), task.schedule.value_or("-"), yes_no(task.cpu_bound),
                    decimal_text(task.timeout_seconds), std::string(to_string(task.priority)),
                    task.tags.empty() ? "-" : joined(task.tags), task.short_description});
  }
  return aligned(rows);
}

std::string run_table(const TaskRun& run, const std::string& description) {
  const auto duration = run.duration_ms();
  std::vector<Row> rows{{"name", run.task},
                        {"description", description},
                        {"run_id", run.id},
                        {"state", std::string(to_string(run.state))},
                        {"started", time_or_dash(run.start)},
                        {"completed", time_or_dash(run.end)},
                        {"duration ms", duration ? decimal_text(*duration) : "-"}};
  if (!run.error.empty()) rows.push_back({"error", run.error});
  return aligned(rows);
}

}  // namespace fluid::detail
