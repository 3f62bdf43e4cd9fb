#pragma once
// How the Redis broker's values travel to and from its scripts: times as
// microseconds since the epoch in decimal ("" for none), runs packed (the
// values of packed_run_fields, each as its length, ':', the value; in
// events and answers) or as their hash's fields, flat (name, value, ...),
// task info as rows.

#include "brokers/redis/reply.hpp"
#include "fluid/tasks/broker.hpp"

#include <array>
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

/// The fields a packed run holds, in order; the scripts' RUN_FIELDS.
inline constexpr std::array<std::string_view, 17> packed_run_fields{
    "id",          "task",          "priority",           "params",      "state",       "queued",
    "start",       "end",           "execute_after",      "retry_attempt", "rate_limit_attempt",
    "from_run_id", "root_run_id",   "deliveries",         "error",       "requeued",    "manager_id"};

/// The values of a packed record ("2:ab0:" is {"ab", ""}), viewing `packed`.
/// @throws BrokerError when it is not one.
std::vector<std::string_view> unpack(std::string_view packed);

/// A run from its hash's flat fields (HGETALL).
/// @throws BrokerError for a malformed field.
TaskRun run_of_fields(const std::vector<Reply>& flat);
/// A run from its packed public fields (an event, a script's answer).
/// @throws BrokerError for a malformed record or field.
TaskRun run_of_packed(std::string_view packed);
/// Each element a packed run.
std::vector<TaskRun> runs_of(const Reply& reply);
/// Runs packed together (a pack of packed runs).
std::vector<TaskRun> runs_of_pack(std::string_view pack);

/// Appends a registration as register_lua takes it.
void append_registration(std::vector<std::string>& args, const TaskRegistration& registration);
/// A task's info from its row (tasks_info_lua's).
TaskInfo info_of_row(const Reply& row);

}  // namespace fluid::redis
