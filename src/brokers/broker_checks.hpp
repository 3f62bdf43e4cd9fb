#pragma once
// Checks every broker makes of its arguments before it touches its state.

#include "fluid/tasks/broker.hpp"

#include <string_view>

namespace fluid::brokers {

/// finish()'s outcome: it must end an attempt (success, failure, aborted or
/// interrupted), and only a failure is retried.
/// @throws FluidError naming the run otherwise.
void check_outcome(const Lease& lease, const Outcome& outcome);

/// Throws LeaseLostError("lease <token> on run '<id>' lost: <why>").
[[noreturn]] void throw_lease_lost(const Lease& lease, std::string_view why);

}  // namespace fluid::brokers
