#include "fluid/config.hpp"

#include "fluid/errors.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace fluid {

namespace {

[[noreturn]] void reject(std::string_view what, std::string_view text, std::string_view why) {
  throw FluidError(std::string(what) + ": \"" + std::string(text) + "\" is not a valid number of seconds (" +
                   std::string(why) + ")");
}

}  // namespace

std::chrono::milliseconds parse_seconds(std::string_view text, std::string_view what) {
  if (text.empty()) reject(what, text, "empty");
  double seconds = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, seconds, std::chars_format::fixed);
  if (ec != std::errc{} || stop != end) reject(what, text, "expected a decimal number such as 0.2");
  if (std::isnan(seconds) || std::isinf(seconds)) reject(what, text, "not finite");
  if (seconds < 0) reject(what, text, "negative");
  constexpr double max_seconds = 1e9;  // ~31 years: anything larger is a typo
  if (seconds > max_seconds) reject(what, text, "too large");
  return std::chrono::milliseconds(static_cast<long long>(std::llround(seconds * 1000.0)));
}

std::size_t parse_thread_count(std::string_view text, std::string_view what) {
  auto fail = [&](std::string_view why) {
    throw FluidError(std::string(what) + ": \"" + std::string(text) + "\" is not a positive whole number of threads (" +
                     std::string(why) + ")");
  };
  std::size_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty()) fail("empty");
  if (ec == std::errc::result_out_of_range) fail("too large");
  if (ec != std::errc{} || stop != end) fail("expected digits such as 4");
  if (value == 0) fail("zero");
  if (value > max_thread_count) fail("at most " + std::to_string(max_thread_count));
  return value;
}

std::uint16_t parse_port(std::string_view text, std::string_view what) {
  std::uint16_t port = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, port);
  if (text.empty() || ec != std::errc{} || stop != end) {
    throw FluidError(std::string(what) + ": \"" + std::string(text) +
                     "\" is not a port number (0-65535, 0: any free port)");
  }
  return port;
}

std::optional<std::string> env(const char* name) {
  if (const char* value = std::getenv(name)) return std::string(value);
  return std::nullopt;
}

std::chrono::milliseconds resolve_stopping_grace_period(std::optional<std::chrono::milliseconds> option,
                                                        std::string_view worker) {
  if (option) {
    if (option->count() < 0) {
      throw FluidError("worker " + std::string(worker) + ": stopping_grace_period must not be negative, got " +
                       std::to_string(option->count()) + "ms");
    }
    return *option;
  }
  const auto text = env("FLUID_STOPPING_GRACE_PERIOD");
  if (!text) return default_stopping_grace_period;
  try {
    return parse_seconds(*text, "FLUID_STOPPING_GRACE_PERIOD");
  } catch (const FluidError& e) {
    throw FluidError("worker " + std::string(worker) + ": " + e.what());
  }
}

}  // namespace fluid
