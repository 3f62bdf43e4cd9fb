#include "tasks.hpp"

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <unistd.h>

namespace fluid::examples {

using namespace std::chrono_literals;

namespace {

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}

/// Sleeps (a cancellable wait), then fails or aborts as the params say.
Task<> sleep_then(TaskContext& ctx, const Sleep& params) {
  co_await fluid::sleep(millis(params.sleep));
  if (params.abort) ctx.abort("aborted by request");
  if (params.error) throw std::runtime_error("just an error");
}

/// Records `value` for the run when the deps are the examples' Results
/// (a process-mode child's entry point may give it other deps, or none).
void record(TaskContext& ctx, nlohmann::json value) {
  ctx.logger().info("{} - recorded {}", ctx.run().name_id(), value.dump());
  try {
    ctx.deps<Results>().set(ctx.id(), std::move(value));
  } catch (const FluidError&) {
  }
}

}  // namespace

void to_json(nlohmann::json& out, const Palette& color) {
  static constexpr const char* names[] = {"red", "green", "blue"};
  out = names[static_cast<int>(color)];
}

void from_json(const nlohmann::json& in, Palette& color) {
  const auto* name = in.get_ptr<const std::string*>();
  if (name && *name == "red") {
    color = Palette::red;
  } else if (name && *name == "green") {
    color = Palette::green;
  } else if (name && *name == "blue") {
    color = Palette::blue;
  } else {
    throw std::invalid_argument("color must be red, green or blue, got " + in.dump());
  }
}

void to_json(nlohmann::json& out, const OptionalPalette& params) {
  out = {{"color", params.color ? nlohmann::json(*params.color) : nlohmann::json()}};
}

void from_json(const nlohmann::json& in, OptionalPalette& params) {
  const auto color = in.find("color");
  if (color == in.end() || color->is_null()) {
    params.color.reset();
  } else {
    params.color = color->get<Palette>();
  }
}

void Sleep::validate() const {
  if (!(sleep >= 0)) throw std::invalid_argument("sleep must be >= 0, got " + std::to_string(sleep));
}

void Results::set(const std::string& run_id, nlohmann::json value) {
  std::lock_guard lock(mutex_);
  values_[run_id] = std::move(value);
}

std::optional<nlohmann::json> Results::get(const std::string& run_id) const {
  std::lock_guard lock(mutex_);
  const auto it = values_.find(run_id);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

TaskDefinition fast() {
  return make_task<Sleep>("fast", sleep_then,
                          {.description = "A fast task that sleeps briefly, or errors",
                           .max_concurrency = 1,
                           .timeout = 2s,
                           .tags = {"test", "fast"}});
}

TaskDefinition dummy() {
  return make_task<Sleep>("dummy", sleep_then,
                          {.description = "A task that sleeps for a while, then errors or aborts if asked",
                           .max_concurrency = 1,
                           .timeout = 120s,
                           .tags = {"test", "slow"}});
}

TaskDefinition ping() {
  return make_task(
      "ping", [](TaskContext&) -> Task<> { co_return; },
      {.description = "A simple scheduled task that ping the broker", .schedule = every(2s), .tags = {"skip_db"}});
}

TaskDefinition add() {
  return make_task<AddValues>("add",
                              [](TaskContext& ctx, const AddValues& params) -> Task<> {
                                const double sum = params.a + params.b;
                                ctx.logger().info("{} - adding {} + {} = {}", ctx.run().name_id(), params.a, params.b,
                                                  sum);
                                record(ctx, sum);
                                co_return;
                              },
                              {.description = "Log the addition of two numbers"});
}

TaskDefinition whisper() {
  return make_task<SecretParams>(
      "whisper",
      [](TaskContext& ctx, const SecretParams& params) -> Task<> {
        record(ctx, params.secret);
        co_return;
      },
      {.description = "Keep a secret: its params are masked everywhere but here", .secret_params = {"secret"}});
}

TaskDefinition retryable() {
  return make_task<FailCount>(
      "retryable",
      [](TaskContext& ctx, const FailCount& params) -> Task<> {
        if (ctx.run().retry_attempt < params.fail_times) {
          throw std::runtime_error("failing attempt " + std::to_string(ctx.run().retry_attempt + 1) + " of " +
                                   std::to_string(params.fail_times));
        }
        co_return;
      },
      {.description = "Fails its first attempts, then succeeds", .retry = RetryPolicy{.max_attempts = 3, .wait = 0ms}});
}

TaskDefinition exclusive() {
  return make_task<Sleep>("exclusive", sleep_then,
                          {.description = "One run at a time across every consumer",
                           .max_concurrency = 1,
                           .timeout = 10s,
                           .rate_limit_retry = RetryPolicy{.max_attempts = 5, .wait = 0ms}});
}

TaskDefinition colorize() {
  return make_task<PaletteParams>("colorize",
                                  [](TaskContext& ctx, const PaletteParams& params) -> Task<> {
                                    record(ctx, params.color);
                                    co_return;
                                  },
                                  {.description = "Record a colour of the palette"});
}

TaskDefinition colorize_optional() {
  return make_task<OptionalPalette>("colorize_optional",
                                    [](TaskContext& ctx, const OptionalPalette& params) -> Task<> {
                                      if (params.color) record(ctx, *params.color);
                                      co_return;
                                    },
                                    {.description = "Record a colour of the palette, if given one"});
}

TaskDefinition colorize_required() {
  return make_task<RequiredPalette>("colorize_required",
                                    [](TaskContext& ctx, const RequiredPalette& params) -> Task<> {
                                      record(ctx, params.color);
                                      co_return;
                                    },
                                    {.description = "Record a colour of the palette, which must be given"});
}

TaskDefinition blocking() {
  return make_task<Sleep>("blocking",
                          [](TaskContext& ctx, const Sleep& params) -> Task<> {
                            // Blocks its pool thread, not the event loop.
                            std::this_thread::sleep_for(millis(params.sleep));
                            record(ctx, "slept");
                            co_return;
                          },
                          {.description = "Block a thread of the pool for a while", .execution = Execution::thread});
}

TaskDefinition cpu_bound() {
  return make_task<Sleep>(
      "cpu_bound",
      [](TaskContext& ctx, const Sleep& params) -> Task<> {
        std::this_thread::sleep_for(millis(params.sleep));
        if (params.error) throw std::runtime_error("just an error");
        if (params.abort) ctx.abort("aborted by request");
        record(ctx, {{"sleep", params.sleep}});
        co_return;
      },
      {.description = "A CPU bound task running in a child process", .execution = Execution::process});
}

TaskDefinition cpu_bound_env() {
  return make_task("cpu_bound_env",
                   [](TaskContext& ctx) -> Task<> {
                     const char* value = std::getenv("FLUID_TEST_ENV");
                     record(ctx, value ? value : "");
                     co_return;
                   },
                   {.description = "Record the environment its child process got",
                    .execution = Execution::process,
                    .env = {{"FLUID_TEST_ENV", "hello_from_env"}}});
}

TaskDefinition cpu_bound_deps() {
  return make_task("cpu_bound_deps",
                   [](TaskContext& ctx) -> Task<> {
                     (void)ctx.deps<Results>();  // FluidError when its entry point built none
                     record(ctx, "Results");
                     co_return;
                   },
                   {.description = "Use the deps its child process built", .execution = Execution::process});
}

TaskDefinition cpu_bound_timeout() {
  return make_task(
      "cpu_bound_timeout",
      [](TaskContext& ctx) -> Task<> {
        record(ctx, ::getpid());
        // Ignores cancellation on purpose: only its parent's SIGTERM ends it.
        std::this_thread::sleep_for(30s);
        co_return;
      },
      {.description = "Block a child process past its timeout", .timeout = 5s, .execution = Execution::process});
}

std::vector<TaskDefinition> example_tasks() {
  return {fast(),
          dummy(),
          ping(),
          add(),
          whisper(),
          retryable(),
          exclusive(),
          colorize(),
          colorize_optional(),
          colorize_required(),
          blocking(),
          cpu_bound(),
          cpu_bound_env(),
          cpu_bound_deps(),
          cpu_bound_timeout()};
}

std::shared_ptr<TaskScheduler> task_scheduler(TaskManagerConfig config, WorkerOptions worker) {
  auto scheduler = std::make_shared<TaskScheduler>(std::move(config), std::move(worker));
  scheduler->register_tasks(example_tasks());
  scheduler->set_deps(std::make_shared<Results>());
  return scheduler;
}

}  // namespace fluid::examples
