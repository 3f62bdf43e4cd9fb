#pragma once
// One held run, from its start to its freed slot: the attempt, its record in
// the broker (finish), the events of the changes and the log lines of 2.18.

#include "fluid/tasks/broker.hpp"
#include "tasks/runner.hpp"
#include "tasks/verdict.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <vector>

namespace fluid::detail {

/// Starts the held run on `executor`: at once until it first suspends when
/// `start_inline` (the caller runs on that executor), else posted there.
void launch_run(std::shared_ptr<RunnerState> state, std::shared_ptr<RunSlot> slot,
                boost::asio::any_io_executor executor, bool start_inline);

/// Records `outcome` for `lease` and publishes the changes; a lost lease or a
/// broker failure is logged (the run is then reaped, one lease late).
Task<> record_end(RunnerState& state, const TaskRun& run, Lease lease, Outcome outcome);

/// The line "<task>.<id> - <what>" at `level`, with the run's error when it has one.
void log_run(spdlog::level::level_enum level, const TaskRun& run, std::string_view what);

}  // namespace fluid::detail
