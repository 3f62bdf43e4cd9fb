// make_task() and TaskDefinition: the checks of a task's name and options,
// params normalized (or rejected) the way runs store them, an attempt that
// keeps its executor alive, and secrets masked in the runs shown outside.

#include "support/thrown.hpp"

#include <fluid/errors.hpp>
#include <fluid/tasks/errors.hpp>
#include <fluid/tasks/task_definition.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using fluid::TaskContext;
using fluid::TaskDefinition;
using fluid::TaskOptions;
using fluid::test::thrown_message;
using nlohmann::json;

namespace {

// aio-fluid's example params: every field has a default, sleep must be >= 0.
struct Sleep {
  double sleep = 0.1;
  bool error = false;
  bool abort = false;
  void validate() const {
    if (sleep < 0) throw std::invalid_argument("sleep must be >= 0, got " + std::to_string(sleep));
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Sleep, sleep, error, abort)

// Both fields required (the plain macro).
struct Pair {
  double a = 0;
  double b = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Pair, a, b)

// aio-fluid's colorize params: a choice, checked by a hand-written from_json.
struct Palette {
  std::string color = "red";
};
void to_json(json& out, const Palette& p) { out = {{"color", p.color}}; }
void from_json(const json& in, Palette& p) {
  const auto color = in.value("color", std::string("red"));
  if (color != "red" && color != "green" && color != "blue") {
    throw std::invalid_argument("color must be red, green or blue, got " + color);
  }
  p.color = color;
}

fluid::Task<> nothing(TaskContext&) { co_return; }
fluid::Task<> sleep_nothing(TaskContext&, const Sleep&) { co_return; }

TaskDefinition untyped(std::string name, TaskOptions options = {}) {
  return fluid::make_task(std::move(name), &nothing, std::move(options));
}

TaskDefinition fast(TaskOptions options = {}) {
  return fluid::make_task<Sleep>("fast", &sleep_nothing, std::move(options));
}

// TaskContext belongs to the managers' layer; the executors of these tests
// never touch it, so an attempt only needs a reference to hand over.
TaskContext& unused_context() {
  alignas(std::max_align_t) static std::byte storage[1024];
  return *reinterpret_cast<TaskContext*>(storage);
}

void run_attempt(const TaskDefinition& task, const json& params) { fluid::run(task.execute(unused_context(), params)); }

}  // namespace

TEST(TaskName, IsOneToSixtyFourLettersDigitsUnderscoresOrDashes) {
  for (const std::string& good :
       std::vector<std::string>{"add", "a", "A_b-9", "_private", "9lives", std::string(64, 'x')}) {
    EXPECT_TRUE(fluid::is_valid_task_name(good)) << good;
  }
  for (const std::string& bad : std::vector<std::string>{"", "-x", std::string(65, 'x'), "a b", "a.b", "a/b", "a:b",
                                                         "caf\xc3\xa9", "a\n", std::string("a\0b", 3)}) {
    EXPECT_FALSE(fluid::is_valid_task_name(bad)) << bad;
  }
}

TEST(MakeTask, RejectsABadNameQuotingIt) {
  const auto message = thrown_message([] { (void)untyped("my task"); });
  EXPECT_NE(message.find("invalid task name \"my task\""), std::string::npos) << message;
}

TEST(MakeTask, RejectsATimeoutThatIsNotPositive) {
  for (const auto timeout : {0ms, -1ms}) {
    const auto message = thrown_message([&] { (void)untyped("slow", {.timeout = timeout}); });
    EXPECT_NE(message.find("task 'slow': timeout must be positive"), std::string::npos) << message;
  }
}

TEST(MakeTask, RejectsABadRetryPolicyNamingTheTaskAndThePolicy) {
  fluid::RetryPolicy negative_wait;
  negative_wait.wait = -1ms;
  fluid::RetryPolicy zero_backoff;
  zero_backoff.backoff = 0;
  fluid::RetryPolicy short_max;
  short_max.wait = 2s;
  short_max.max_wait = 1s;
  for (const auto& policy : {negative_wait, zero_backoff, short_max}) {
    auto message = thrown_message([&] { (void)untyped("retryable", {.retry = policy}); });
    EXPECT_NE(message.find("task 'retryable' retry:"), std::string::npos) << message;
    message = thrown_message([&] { (void)untyped("exclusive", {.rate_limit_retry = policy}); });
    EXPECT_NE(message.find("task 'exclusive' rate_limit_retry:"), std::string::npos) << message;
  }
}

TEST(MakeTask, AcceptsEnvOnlyForAProcessTask) {
  const std::map<std::string, std::string> env{{"FLUID_TEST_ENV", "hello_from_env"}};
  const auto message = thrown_message([&] { (void)untyped("cpu_bound_env", {.env = env}); });
  EXPECT_NE(message.find("task 'cpu_bound_env': env is only for Execution::process"), std::string::npos) << message;
  const auto task = untyped("cpu_bound_env", {.execution = fluid::Execution::process, .env = env});
  EXPECT_EQ(task.options().env, env);
  EXPECT_TRUE(task.cpu_bound());
}

TEST(MakeTask, RejectsAnEnvKeyThatIsNoVariableName) {
  for (const std::string key : {"", "A=B"}) {
    const std::map<std::string, std::string> env{{key, "x"}};
    const auto message =
        thrown_message([&] { (void)untyped("child", {.execution = fluid::Execution::process, .env = env}); });
    EXPECT_NE(message.find("env key \"" + key + "\""), std::string::npos) << message;
  }
}

TEST(MakeTask, RejectsAnEmptySecretParamsKey) {
  const auto message = thrown_message([] { (void)untyped("whisper", {.secret_params = {"secret", ""}}); });
  EXPECT_NE(message.find("task 'whisper': secret_params has an empty key"), std::string::npos) << message;
}

TEST(MakeTask, KeepsTheOptionsWithTagsSortedAndUnique) {
  const auto task = untyped("dummy", {.description = "Dummy", .max_concurrency = 1, .tags = {"test", "slow", "test"}});
  EXPECT_EQ(task.name(), "dummy");
  EXPECT_EQ(task.options().max_concurrency, 1u);
  EXPECT_EQ(task.options().tags, (std::vector<std::string>{"slow", "test"}));
  EXPECT_FALSE(task.cpu_bound());
}

TEST(TaskDefinition, WithTagsAddsTagsToACopy) {
  const auto task = untyped("dummy", {.tags = {"test", "slow"}});
  const auto tagged = task.with_tags({"module", "extra", "test"});
  EXPECT_EQ(tagged.options().tags, (std::vector<std::string>{"extra", "module", "slow", "test"}));
  EXPECT_EQ(task.options().tags, (std::vector<std::string>{"slow", "test"}));
  EXPECT_EQ(tagged.name(), "dummy");
}

// Ports the value part of test_scheduler.py::test_task_info (P): the info of
// the scheduled ping task (enabled and last_run_* are the broker's).
TEST(TaskDefinition, InfoIsTheStaticPartOfTaskInfo) {
  const auto ping = untyped("ping", {.description = "A simple scheduled task that ping the broker\n\nDetails.",
                                     .module = "examples.tasks",
                                     .priority = fluid::TaskPriority::high,
                                     .schedule = fluid::every(2s),
                                     .timeout = 2500ms,
                                     .execution = fluid::Execution::process,
                                     .tags = {"skip_db", "a"}});
  const auto info = ping.info();
  EXPECT_EQ(info.name, "ping");
  EXPECT_EQ(info.description, "A simple scheduled task that ping the broker\n\nDetails.");
  EXPECT_EQ(info.short_description, "A simple scheduled task that ping the broker");
  EXPECT_EQ(info.module, "examples.tasks");
  EXPECT_EQ(info.priority, fluid::TaskPriority::high);
  EXPECT_EQ(info.schedule, "every(0:00:02)");
  EXPECT_EQ(info.tags, (std::vector<std::string>{"a", "skip_db"}));
  EXPECT_TRUE(info.enabled);
  EXPECT_EQ(info.last_run_end, std::nullopt);
  EXPECT_EQ(info.timeout_seconds, 2.5);
  EXPECT_TRUE(info.cpu_bound);
  EXPECT_EQ(untyped("dummy", {.max_concurrency = 1}).info().max_concurrency, 1u);
  EXPECT_EQ(untyped("dummy").info().schedule, std::nullopt);
}

TEST(TaskDefinition, ShortDescriptionIsTheFirstLineThatIsNotBlankTrimmed) {
  EXPECT_EQ(untyped("a", {.description = "Adds two numbers\nand logs them"}).short_description(), "Adds two numbers");
  EXPECT_EQ(untyped("a", {.description = "\n  \n   Adds.\t \r\n  More."}).short_description(), "Adds.");
  EXPECT_EQ(untyped("a", {.description = "One line"}).short_description(), "One line");
  EXPECT_EQ(untyped("a").short_description(), "");
  EXPECT_EQ(untyped("a", {.description = " \n\t\n"}).short_description(), "");
}

// Ports test_config.py::test_params (A): a typed task whose fields all have
// defaults stores them for a run queued with none.
TEST(NormalizeParams, ATypedTaskStoresItsDefaultsForMissingFields) {
  EXPECT_EQ(fast().normalize_params(json::object()), (json{{"sleep", 0.1}, {"error", false}, {"abort", false}}));
  EXPECT_EQ(fast().normalize_params({{"sleep", 0.2}}), (json{{"sleep", 0.2}, {"error", false}, {"abort", false}}));
}

TEST(NormalizeParams, ATypedTaskDropsKeysItDoesNotKnow) {
  EXPECT_EQ(fast().normalize_params({{"sleep", 0}, {"colour", "red"}}),
            (json{{"sleep", 0}, {"error", false}, {"abort", false}}));
}

TEST(NormalizeParams, AWrongJsonTypeNamesTheTaskAndTheField) {
  const auto message = thrown_message<fluid::TaskParamsError>([] {
    (void)fast().normalize_params({{"sleep", "0.5"}});
  });
  EXPECT_EQ(message, "invalid params for task 'fast': field 'sleep': type must be number, but is string");
}

TEST(NormalizeParams, AMissingRequiredKeyIsNamed) {
  const auto add = fluid::make_task<Pair>("add", [](TaskContext&, const Pair&) -> fluid::Task<> { co_return; });
  EXPECT_EQ(add.normalize_params({{"a", 3}, {"b", 4}}), (json{{"a", 3.0}, {"b", 4.0}}));
  const auto message = thrown_message<fluid::TaskParamsError>([&] { (void)add.normalize_params({{"a", 3}}); });
  EXPECT_EQ(message, "invalid params for task 'add': key 'b' not found");
}

TEST(NormalizeParams, AThrowingValidateRejectsTheParamsWithItsMessage) {
  const auto message = thrown_message<fluid::TaskParamsError>([] { (void)fast().normalize_params({{"sleep", -1}}); });
  EXPECT_EQ(message, "invalid params for task 'fast': sleep must be >= 0, got -1.000000");
}

TEST(NormalizeParams, AHandWrittenFromJsonsOwnErrorRejectsTheParams) {
  const auto colorize =
      fluid::make_task<Palette>("colorize", [](TaskContext&, const Palette&) -> fluid::Task<> { co_return; });
  EXPECT_EQ(colorize.normalize_params(json::object()), (json{{"color", "red"}}));
  EXPECT_EQ(colorize.normalize_params({{"color", "blue"}}), (json{{"color", "blue"}}));
  const auto message = thrown_message<fluid::TaskParamsError>([&] {
    (void)colorize.normalize_params({{"color", "purple"}});
  });
  EXPECT_EQ(message, "invalid params for task 'colorize': color must be red, green or blue, got purple");
}

TEST(NormalizeParams, AnythingButAnObjectIsRejected) {
  for (const json& bad : {json(nullptr), json::array({1}), json("sleep"), json(5)}) {
    SCOPED_TRACE(bad.dump());
    for (const auto& task : {fast(), untyped("dummy")}) {
      const auto message = thrown_message<fluid::TaskParamsError>([&] { (void)task.normalize_params(bad); });
      EXPECT_NE(
          message.find("invalid params for task '" + task.name() + "': expected a JSON object, got " + bad.type_name()),
          std::string::npos)
          << message;
    }
  }
}

TEST(NormalizeParams, AnUntypedTaskStoresTheObjectAsGiven) {
  const json params{{"anything", json::array({1, "two"})}, {"nested", {{"x", nullptr}}}};
  EXPECT_EQ(untyped("dummy").normalize_params(params), params);
}

TEST(NormalizeParams, AcceptsUpToOneMebibyteEncodedAndNoMore) {
  // {"s":"..."} is 8 bytes around the string.
  const json at_limit{{"s", std::string(fluid::max_params_bytes - 8, 'x')}};
  ASSERT_EQ(at_limit.dump().size(), fluid::max_params_bytes);
  EXPECT_NO_THROW((void)untyped("big").normalize_params(at_limit));
  const json over{{"s", std::string(fluid::max_params_bytes - 7, 'x')}};
  const auto message = thrown_message<fluid::TaskParamsError>([&] { (void)untyped("big").normalize_params(over); });
  EXPECT_EQ(message, "invalid params for task 'big': 1048577 bytes encoded, more than the 1048576 allowed");
}

TEST(NormalizeParams, RejectsAStringThatIsNotUtf8) {
  const json params{{"name", "caf\xe9"}};
  const auto message = thrown_message<fluid::TaskParamsError>([&] { (void)untyped("dummy").normalize_params(params); });
  EXPECT_EQ(message, "invalid params for task 'dummy': a string is not valid UTF-8");
}

// Ports test_config.py::test_cpu_bount_params (A): a process-mode task keeps
// its params type.
TEST(NormalizeParams, AProcessTaskKeepsItsParamsType) {
  const auto cpu_bound = fast({.execution = fluid::Execution::process});
  EXPECT_EQ(cpu_bound.normalize_params({{"sleep", 1.0}}), (json{{"sleep", 1.0}, {"error", false}, {"abort", false}}));
  EXPECT_THROW((void)cpu_bound.normalize_params({{"sleep", "1"}}), fluid::TaskParamsError);
}

TEST(Execute, HandsATypedExecutorItsParsedParams) {
  auto seen = std::make_shared<Sleep>();
  const auto task = fluid::make_task<Sleep>("fast", [seen](TaskContext&, const Sleep& params) -> fluid::Task<> {
    *seen = params;
    co_return;
  });
  run_attempt(task, {{"sleep", 0.5}, {"abort", true}});
  EXPECT_EQ(seen->sleep, 0.5);
  EXPECT_TRUE(seen->abort);
}

TEST(Execute, RejectsParamsATypedTaskCannotTakeWithoutRunningIt) {
  auto ran = std::make_shared<bool>(false);
  const auto task = fluid::make_task<Sleep>("fast", [ran](TaskContext&, const Sleep&) -> fluid::Task<> {
    *ran = true;
    co_return;
  });
  const auto message = thrown_message<fluid::TaskParamsError>([&] { run_attempt(task, {{"sleep", "not-a-number"}}); });
  EXPECT_EQ(message, "invalid params for task 'fast': field 'sleep': type must be number, but is string");
  EXPECT_FALSE(*ran);
}

TEST(Execute, RethrowsTheExecutorsFailure) {
  const auto task = fluid::make_task("dummy", [](TaskContext&) -> fluid::Task<> {
    throw std::runtime_error("I'm so bad");
    co_return;
  });
  EXPECT_EQ(thrown_message<std::runtime_error>([&] { run_attempt(task, json::object()); }), "I'm so bad");
}

TEST(Execute, ThrowsWhatTheExecutorThrowsOnlyWhenAwaitedEvenANonStdException) {
  // Not a coroutine: it throws when called, and not a std::exception.
  const auto task = fluid::make_task("eager", [](TaskContext&) -> fluid::Task<> { throw 42; });
  fluid::Task<> attempt;
  ASSERT_NO_THROW(attempt = task.execute(unused_context(), json::object()));
  int caught = 0;
  try {
    fluid::run(std::move(attempt));
  } catch (int value) {
    caught = value;
  }
  EXPECT_EQ(caught, 42);
}

TEST(Execute, KeepsTheExecutorAliveAfterEveryCopyOfTheTaskIsGone) {
  auto state = std::make_shared<std::string>("captured");
  const std::weak_ptr<std::string> watch = state;
  std::string seen;
  fluid::Task<> attempt = [&] {
    auto task = fluid::make_task<Sleep>("fast", [state, out = &seen](TaskContext&, const Sleep&) -> fluid::Task<> {
      co_await fluid::sleep(1ms);
      *out = *state + " and used";  // the lambda's capture, read after a suspension
    });
    state.reset();
    return task.execute(unused_context(), json::object());
  }();  // the last TaskDefinition is destroyed here, before the attempt starts
  EXPECT_FALSE(watch.expired());
  fluid::run(std::move(attempt));
  EXPECT_EQ(seen, "captured and used");
  EXPECT_TRUE(watch.expired());  // released with the attempt
}

TEST(MaskSecretParams, MasksTheSecretKeysPresentInACopy) {
  const auto whisper = untyped("whisper", {.secret_params = {"secret", "token"}});
  fluid::TaskRun run;
  run.task = "whisper";
  run.params = {{"secret", "s3cr3t"}, {"user", "ann"}};
  const auto shown = fluid::mask_secret_params(run, whisper);
  EXPECT_EQ(shown.params, (json{{"secret", "**********"}, {"user", "ann"}}));
  EXPECT_EQ(run.params["secret"], "s3cr3t");
}

TEST(MaskSecretParams, LeavesARunOfATaskWithoutSecretsAlone) {
  fluid::TaskRun run;
  run.params = {{"secret", "visible"}};
  EXPECT_EQ(fluid::mask_secret_params(run, untyped("dummy")).params, run.params);
}
