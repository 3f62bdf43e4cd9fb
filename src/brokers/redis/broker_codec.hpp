#pragma once
// How the Redis broker's values travel to and from its scripts: times as
// microseconds since the epoch in decimal ("" for none), runs packed (a
// MessagePack array of strings, the values of packed_run_fields: what a run's
// key starts with, its events carry and the scripts answer), task info as rows.
// MessagePack because Redis's Lua packs and unpacks it in C (cmsgpack): a
// script then handles a run as one string, not a field at a time.

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

/// A run as enqueue takes it: packed, the fields the scripts set ("state",
/// "queued", ...) left empty (the library's given_run()).
std::string packed_given_run(const TaskRun& run);

/// The fields a packed run holds, in order; the scripts' RUN_FIELDS.
inline constexpr std::array<std::string_view, 17> packed_run_fields{
    "id",          "task",          "priority",           "params",      "state",       "queued",
    "start",       "end",           "execute_after",      "retry_attempt", "rate_limit_attempt",
    "from_run_id", "root_run_id",   "deliveries",         "error",       "requeued",    "manager_id"};

/// `values` packed: a MessagePack array of strings.
std::string pack(const std::vector<std::string_view>& values);
/// The values of a packed record (a MessagePack array of strings or
/// binaries), viewing `packed`.
/// @throws BrokerError when it is not one.
std::vector<std::string_view> unpack(std::string_view packed);
/// The packed record `stored` starts with (a run's key holds the run
/// packed, then the broker's own values packed), viewing it.
/// @throws BrokerError when it does not start with one.
std::string_view leading_record(std::string_view stored);
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
