#pragma once
// How the Redis broker's values travel to and from its scripts: times as
// microseconds since the epoch in decimal ("" for none), runs as their
// fields, flat (name, value, ...), task info as rows.

#include "brokers/redis/reply.hpp"
#include "fluid/tasks/broker.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fluid::redis {

/// "1705320000250000" (microseconds, floored), "" for none.
std::string micros_text(std::optional<TimePoint> time);
/// The time of micros_text()'s form; nullopt for "".
/// @throws BrokerError for anything else.
std::optional<TimePoint> time_of_micros(std::string_view text);

/// Appends what enqueue takes of a run (the library's given_run() order).
void append_given_run(std::vector<std::string>& args, const TaskRun& run);

/// A run from its flat fields (a script's answer, an event).
/// @throws BrokerError for a malformed field.
TaskRun run_of_fields(const std::vector<Reply>& flat, std::size_t first = 0);
/// Each element a run's flat fields.
std::vector<TaskRun> runs_of(const Reply& reply);

/// Appends a registration as register_lua takes it.
void append_registration(std::vector<std::string>& args, const TaskRegistration& registration);
/// A task's info from its row (tasks_info_lua's).
TaskInfo info_of_row(const Reply& row);

}  // namespace fluid::redis
