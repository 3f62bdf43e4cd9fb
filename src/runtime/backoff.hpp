#pragma once
// The one computation of a Backoff's pause, shared by supervised restarts and
// by reconnecting clients.

#include "fluid/restart.hpp"

#include <chrono>
#include <cstddef>

namespace fluid::detail {

/// The pause before retry number `attempt` (1-based): initial *
/// multiplier^(attempt - 1), capped at max, then spread by +/- jitter.
std::chrono::milliseconds backoff_delay(const Backoff& backoff, std::size_t attempt);

}  // namespace fluid::detail
