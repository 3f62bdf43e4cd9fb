#pragma once
// aio-fluid's example task set (its examples/tasks), where it applies: the
// tasks fluid's own tests, the docs and the task_cli example run. Each opens
// with what it shows; their params are structs parsed from the run's JSON.

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace fluid::examples {

/// How long to sleep, and whether to fail or abort afterwards (aio-fluid's Sleep).
struct Sleep {
  double sleep = 0.1;  ///< seconds, >= 0
  bool error = false;  ///< throw after sleeping
  bool abort = false;  ///< abort after sleeping
  /// Rejects a negative sleep (pydantic's Field(ge=0)).
  void validate() const;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Sleep, sleep, error, abort)

/// Two numbers to add.
struct AddValues {
  double a = 0;
  double b = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AddValues, a, b)

/// How many attempts fail before one succeeds.
struct FailCount {
  unsigned fail_times = 1;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FailCount, fail_times)

/// A value only the executor may see in clear.
struct SecretParams {
  std::string secret;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SecretParams, secret)  // required: no default

/// A colour of a fixed palette (aio-fluid's StrEnum): "red", "green" or
/// "blue"; any other value is rejected (nlohmann's enum macro would take the
/// first colour instead).
enum class Palette { red, green, blue };
void to_json(nlohmann::json& out, const Palette& color);
/// @throws std::invalid_argument for anything but the three names.
void from_json(const nlohmann::json& in, Palette& color);

/// A colour, red unless given.
struct PaletteParams {
  Palette color = Palette::red;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PaletteParams, color)

/// A colour that may be left out (aio-fluid's `Palette | None = None`).
struct OptionalPalette {
  std::optional<Palette> color;
};
void to_json(nlohmann::json& out, const OptionalPalette& params);
void from_json(const nlohmann::json& in, OptionalPalette& params);

/// A colour that must be given.
struct RequiredPalette {
  Palette color = Palette::red;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RequiredPalette, color)  // required: no default

/// The deps of the example tasks: where they leave what they saw, by run id
/// (aio-fluid's tasks SET a Redis key named after the run). Thread-safe.
/// Each value is logged as well ("<task>.<id> - recorded <json>"), which is
/// how a test sees what a task saw in another process.
class Results {
 public:
  void set(const std::string& run_id, nlohmann::json value);
  std::optional<nlohmann::json> get(const std::string& run_id) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, nlohmann::json> values_;
};

/// Sleeps `sleep` seconds (max_concurrency 1, timeout 2 s; tags test, fast).
TaskDefinition fast();
/// Sleeps, then aborts or fails as asked (max_concurrency 1, timeout 120 s; tags test, slow).
TaskDefinition dummy();
/// Fires every 2 seconds and does nothing else (tag skip_db).
TaskDefinition ping();
/// Logs a + b and records it.
TaskDefinition add();
/// Records the secret it was given (secret_params: secret).
TaskDefinition whisper();
/// Fails its first `fail_times` attempts (retry: 3 attempts, no wait).
TaskDefinition retryable();
/// Sleeps, one run at a time across consumers (rate_limit_retry: 5 attempts, no wait).
TaskDefinition exclusive();
/// Records its colour (default red).
TaskDefinition colorize();
/// Records its colour when it is given one.
TaskDefinition colorize_optional();
/// Records its colour, which must be given.
TaskDefinition colorize_required();
/// Blocks its thread for `sleep` seconds (Execution::thread).
TaskDefinition blocking();
/// Blocks for `sleep` seconds in a child process (Execution::process), then
/// fails or aborts as asked.
TaskDefinition cpu_bound();
/// Records the FLUID_TEST_ENV its child process got (Execution::process, env set).
TaskDefinition cpu_bound_env();
/// Records that it found the deps its child process built (Execution::process).
TaskDefinition cpu_bound_deps();
/// Records its process id, then blocks for 30 s, past its 5 s timeout (Execution::process).
TaskDefinition cpu_bound_timeout();

/// Every task above.
std::vector<TaskDefinition> example_tasks();

/// aio-fluid's task_scheduler(): a TaskScheduler with every example task
/// registered and a Results as its deps.
std::shared_ptr<TaskScheduler> task_scheduler(TaskManagerConfig config = {}, WorkerOptions worker = {});

}  // namespace fluid::examples
