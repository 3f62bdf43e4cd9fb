// TaskManagerConfig resolved: options, then the environment (strictly), then
// the defaults.

#include "fluid/config.hpp"
#include "fluid/errors.hpp"
#include "fluid/tasks/task_state.hpp"
#include "tasks/manager_core.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <thread>

namespace fluid::detail {

namespace {

using std::chrono::milliseconds;

constexpr std::size_t default_max_concurrent_tasks = 5;
constexpr milliseconds default_sleep{1000};
constexpr milliseconds default_lease{15'000};
constexpr milliseconds min_lease{100};
// Beyond these a value is a typo or a unit mix-up, not a setting to honour.
constexpr unsigned long long max_count = 1'000'000;
constexpr unsigned long long max_millis = 86'400'000;  // a day

[[noreturn]] void reject(std::string_view setting, std::string_view value, std::string_view why) {
  throw FluidError(std::string(setting) + ": \"" + std::string(value) + "\" is not valid (" + std::string(why) + ")");
}

/// Decimal digits only, within [min, max].
unsigned long long parse_whole(std::string_view text, std::string_view setting, unsigned long long min,
                               unsigned long long max) {
  unsigned long long value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || stop != end) reject(setting, text, "expected a whole number such as 5");
  if (value < min) reject(setting, text, "at least " + std::to_string(min));
  if (value > max) reject(setting, text, "at most " + std::to_string(max));
  return value;
}

std::size_t resolve_max_concurrent(std::optional<std::size_t> option) {
  if (option) {
    if (*option > max_count) reject("max_concurrent_tasks", std::to_string(*option), "at most 1000000");
    return *option;
  }
  const auto text = env("FLUID_MAX_CONCURRENT_TASKS");
  return text ? parse_whole(*text, "FLUID_MAX_CONCURRENT_TASKS", 0, max_count) : default_max_concurrent_tasks;
}

milliseconds resolve_sleep(std::optional<milliseconds> option) {
  if (option) {
    if (option->count() <= 0) reject("sleep", std::to_string(option->count()) + "ms", "must be positive");
    return *option;
  }
  const auto text = env("FLUID_SLEEP_MILLIS");
  return text ? milliseconds(parse_whole(*text, "FLUID_SLEEP_MILLIS", 1, max_millis)) : default_sleep;
}

milliseconds resolve_lease(std::optional<milliseconds> option) {
  if (option) {
    if (*option < min_lease) reject("lease", std::to_string(option->count()) + "ms", "at least 100ms");
    return *option;
  }
  const auto text = env("FLUID_TASK_LEASE");
  if (!text) return default_lease;
  const auto lease = parse_seconds(*text, "FLUID_TASK_LEASE");
  if (lease < min_lease) reject("FLUID_TASK_LEASE", *text, "at least 0.1 seconds");
  return lease;
}

/// Read for parity with aio-fluid (its scheduler's tick) and checked, but
/// unused: a scheduler here sleeps until the next slot.
void check_scheduler_heartbeat() {
  if (const auto text = env("FLUID_SCHEDULER_HEARTBEAT_MILLIS")) {
    parse_whole(*text, "FLUID_SCHEDULER_HEARTBEAT_MILLIS", 1, max_millis);
  }
}

std::size_t resolve_cpu_threads(std::size_t option) {
  if (option > max_thread_count) {
    reject("cpu_threads", std::to_string(option), "at most " + std::to_string(max_thread_count));
  }
  if (option != 0) return option;
  return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

}  // namespace

ResolvedConfig resolve_config(TaskManagerConfig config) {
  if (config.broker_url.empty()) config.broker_url = env("FLUID_BROKER_URL").value_or("memory://");
  if (!config.schedule_tasks) config.schedule_tasks = !is_in_cpu_process();
  config.max_concurrent_tasks = resolve_max_concurrent(config.max_concurrent_tasks);
  config.sleep = resolve_sleep(config.sleep);
  config.lease = resolve_lease(config.lease);
  if (config.max_deliveries == 0) reject("max_deliveries", "0", "at least 1");
  config.cpu_threads = resolve_cpu_threads(config.cpu_threads);
  check_scheduler_heartbeat();
  auto broker = make_broker(config.broker_url);
  config.broker_url = broker->url();
  return {std::move(config), std::move(broker)};
}

}  // namespace fluid::detail
