#include "brokers/broker_checks.hpp"

#include "fluid/tasks/errors.hpp"

#include <string>

namespace fluid::brokers {

void check_outcome(const Lease& lease, const Outcome& outcome) {
  const auto state = outcome.state;
  const bool ends_attempt = state == TaskState::success || state == TaskState::failure || state == TaskState::aborted ||
                            state == TaskState::interrupted;
  if (!ends_attempt) {
    throw FluidError("finish: run '" + lease.run_id + "' cannot end " + std::string(to_string(state)));
  }
  if (outcome.retry_in && state != TaskState::failure) {
    throw FluidError("finish: run '" + lease.run_id + "' retried after " + std::string(to_string(state)) +
                     " (only a failure is)");
  }
}

void throw_lease_lost(const Lease& lease, std::string_view why) {
  throw LeaseLostError("lease " + std::to_string(lease.token) + " on run '" + lease.run_id + "' lost: " +
                       std::string(why));
}

}  // namespace fluid::brokers
