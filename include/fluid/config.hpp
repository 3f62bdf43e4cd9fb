#pragma once
/// @file
/// Reading configuration from options and the environment, strictly: a value
/// that cannot be understood is an error, never silently replaced by a default.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fluid {

/// The grace period used when neither the option nor the environment sets one.
inline constexpr std::chrono::milliseconds default_stopping_grace_period{10'000};

/// Parses a non-negative decimal number of seconds ("0.2", "10") to milliseconds.
/// @param what names the setting in the error message (e.g. the variable name).
/// @throws FluidError quoting `text` if it is empty, malformed, negative, NaN,
///         infinite or too large.
std::chrono::milliseconds parse_seconds(std::string_view text, std::string_view what);

/// The most threads a setting such as FLUID_SERVE_THREADS may ask for: more
/// is a typo (or a unit mix-up), not a loop fluid should try to start.
inline constexpr std::size_t max_thread_count = 1024;

/// Parses a positive whole number of threads ("4"), at most max_thread_count.
/// Decimal digits only: no sign, no spaces, no fraction.
/// @param what names the setting in the error message (e.g. the variable name).
/// @throws FluidError quoting `text` if it is empty, malformed, zero or too large.
std::size_t parse_thread_count(std::string_view text, std::string_view what);

/// Parses a TCP port number ("8089", "0" for any free port): 0 to 65535,
/// decimal digits only.
/// @param what names the setting in the error message (e.g. "STATUS_PORT").
/// @throws FluidError quoting `text` otherwise.
std::uint16_t parse_port(std::string_view text, std::string_view what);

/// The value of environment variable `name`, if set.
std::optional<std::string> env(const char* name);

/// A worker's grace period: `option`, else env FLUID_STOPPING_GRACE_PERIOD,
/// else 10 s.
/// @throws FluidError naming `worker` if the option is negative or the
///         environment value is malformed.
std::chrono::milliseconds resolve_stopping_grace_period(std::optional<std::chrono::milliseconds> option,
                                                        std::string_view worker);

}  // namespace fluid
