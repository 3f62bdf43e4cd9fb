// task_cli as a program: the example tasks' tasks_cli run as a process and
// judged by its exit code, stdout and stderr (aio-fluid's test_cli.py, and
// TASKS.md's CLI rows of bad input); field options parsed in process; the
// commands that need a shared broker (queue, show, abort across processes)
// on a redis-server of the test's own.

#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "tasks.hpp"
#include "tasks/cli/field_options.hpp"

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include <signal.h>
#include <sys/wait.h>

using namespace fluid;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
using fluid::test::ProcessResult;

namespace {

std::string cli_path() { return TASKS_CLI_BIN; }

/// tasks_cli with `args`, its own memory:// broker unless `env` says otherwise.
ProcessResult cli(std::vector<std::string> args, std::vector<std::string> env = {}) {
  return fluid::test::run_process(cli_path(), std::move(args), std::move(env));
}

/// What a run recorded, as its task logs it ("colorize.<id> - recorded \"blue\"").
std::string recorded(const std::string& value) { return " - recorded " + json(value).dump(); }

// ---------------------------------------------------------------- aio-fluid's test_cli.py

// Ports test_cli.py::test_cli (P).
TEST(TaskCli, HelpExitsZeroListingTheCommands) {
  const auto r = cli({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* command : {"ls", "exec", "serve", "enable", "queue", "abort", "show"}) {
    EXPECT_THAT(r.out, HasSubstr(command));
  }
}

// Ports test_cli.py::test_cli_ls (P).
TEST(TaskCli, LsListsTheRegisteredTasksByName) {
  const auto r = cli({"ls"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ping"));
  EXPECT_THAT(r.out, HasSubstr("dummy"));
  EXPECT_THAT(r.out, HasSubstr("every(0:00:02)"));
  EXPECT_THAT(r.out, HasSubstr("A simple scheduled task that ping the broker"));
  EXPECT_LT(r.out.find("\nadd "), r.out.find("\nping ")) << r.out;  // sorted by name
}

// Ports test_cli.py::test_cli_ls_tags (P).
TEST(TaskCli, LsTagsListsTheTasksWithAnyOfThem) {
  const auto skip_db = cli({"ls", "--tags", "skip_db"});
  ASSERT_EQ(skip_db.exit_code, 0) << skip_db.err;
  EXPECT_THAT(skip_db.out, HasSubstr("ping"));
  EXPECT_THAT(skip_db.out, Not(HasSubstr("dummy")));
  const auto slow_or_fast = cli({"ls", "-t", "slow", "-t", "fast"});
  ASSERT_EQ(slow_or_fast.exit_code, 0) << slow_or_fast.err;
  EXPECT_THAT(slow_or_fast.out, HasSubstr("dummy"));
  EXPECT_THAT(slow_or_fast.out, HasSubstr("fast"));
  EXPECT_THAT(slow_or_fast.out, Not(HasSubstr("ping")));
}

// Ports test_cli.py::test_cli_exec_empty (A): exec's help, which lists the tasks.
TEST(TaskCli, ExecHelpExitsZeroListingTheTasks) {
  const auto r = cli({"exec", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("--params"));
  EXPECT_THAT(r.out, HasSubstr("colorize_required"));
}

// Ports test_cli.py::test_cli_exec_ping (P).
TEST(TaskCli, ExecRunsTheTaskAndPrintsTheRun) {
  const auto r = cli({"exec", "ping"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* field : {"name", "description", "run_id", "state", "started", "completed", "duration ms"}) {
    EXPECT_THAT(r.out, HasSubstr(field));
  }
  EXPECT_THAT(r.out, HasSubstr("success"));
}

// Ports test_cli.py::test_cli_exec_aborted (P).
TEST(TaskCli, ExecOfARunThatAbortsExitsZeroSayingAborted) {
  const auto r = cli({"exec", "dummy", "--abort", "--sleep", "0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("aborted"));
  EXPECT_THAT(r.out, HasSubstr("aborted by request"));
}

// Ports test_cli.py::test_cli_exec_params_json_overrides_model_defaults (P).
TEST(TaskCli, ExecOfAFailingRunExitsOneWithItsError) {
  const auto r = cli({"exec", "fast", "--params", R"({"error": true})"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: just an error"));
}

// Ports test_cli.py::test_cli_enable (P).
TEST(TaskCli, EnableAndDisablePrintNothing) {
  const auto disabled = cli({"enable", "ping", "--disable"});
  EXPECT_EQ(disabled.exit_code, 0) << disabled.err;
  EXPECT_EQ(disabled.out, "");
  const auto enabled = cli({"enable", "ping"});
  EXPECT_EQ(enabled.exit_code, 0) << enabled.err;
  EXPECT_EQ(enabled.out, "");
}

// Ports test_cli.py::test_cli_enable_failure (P); bad input: unknown task.
TEST(TaskCli, EnableOfAnUnknownTaskExitsOneWithTheErrorLine) {
  const auto r = cli({"enable", "vdvdfvsdvdf"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: Task vdvdfvsdvdf not found\n");
  EXPECT_EQ(r.out, "");
}

// Ports test_cli.py::test_cli_exec_colorize_with_default (P).
TEST(TaskCli, ExecTakesTheParamsDefaults) {
  const auto r = cli({"exec", "colorize", "--log"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(recorded("red")));
}

// Ports test_cli.py::test_cli_exec_colorize_with_str_enum (P).
TEST(TaskCli, AFieldOptionSetsAParam) {
  const auto r = cli({"exec", "colorize", "--color", "green", "--log"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(recorded("green")));
}

// Ports test_cli.py::test_cli_exec_colorize_params_from_model_dump_json (P).
TEST(TaskCli, ExecRunsUnderTheRunIdGivenWithTheParamsGiven) {
  const auto r = cli({"exec", "colorize", "--run-id", "colour-run-1", "--params", R"({"color":"blue"})", "--log"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("colorize.colour-run-1" + recorded("blue")));
  EXPECT_THAT(r.out, HasSubstr("colour-run-1"));
}

// Ports test_cli.py::test_cli_exec_colorize_invalid_choice (P): exit 2, the
// params' own message (aio-fluid: click's "Invalid value for '--color'").
TEST(TaskCli, AnInvalidParamValueExitsTwoNamingIt) {
  const auto r = cli({"exec", "colorize", "--color", "purple"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "Error: invalid params for task 'colorize': color must be red, green or blue, got \"purple\"\n");
}

// Ports test_cli.py::test_cli_exec_colorize_params_overrides_color_flag (P).
TEST(TaskCli, ParamsJsonWinsOverFieldOptions) {
  const auto r = cli({"exec", "colorize", "--color", "red", "--params", R"({"color":"blue"})", "--log"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(recorded("blue")));
  EXPECT_THAT(r.err, Not(HasSubstr(recorded("red"))));
}

// Ports test_cli.py::test_cli_exec_colorize_optional_no_color (P).
TEST(TaskCli, AnOptionalParamMayBeLeftOut) {
  const auto r = cli({"exec", "colorize_optional", "--log"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr(" - recorded ")));
}

// Ports test_cli.py::test_cli_exec_colorize_optional_with_color (P).
TEST(TaskCli, AnOptionalParamIsTakenWhenGiven) {
  const auto r = cli({"exec", "colorize_optional", "--color", "green", "--log"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(recorded("green")));
}

// Ports test_cli.py::test_cli_exec_colorize_required_missing_color (P): exit 2
// (aio-fluid: click's "Missing option '--color'").
TEST(TaskCli, AMissingRequiredParamExitsTwoNamingIt) {
  const auto r = cli({"exec", "colorize_required"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("Error: invalid params for task 'colorize_required': "));
  EXPECT_THAT(r.err, HasSubstr("color"));
}

// Ports test_cli.py::test_cli_exec_colorize_required_with_color (P).
TEST(TaskCli, ARequiredParamGivenAsAFieldOption) {
  const auto r = cli({"exec", "colorize_required", "--color", "red", "--log"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(recorded("red")));
}

// Ports test_cli.py::test_cli_app_and_task_manager (A): the command line
// builds its manager from the factory, once per command, and not for --help.
TEST(TaskCli, BuildsItsManagerFromTheFactoryOncePerCommand) {
  int made = 0;
  auto factory = [&made] {
    ++made;
    auto manager = std::make_shared<TaskManager>();
    manager->register_task(examples::add());
    return manager;
  };
  std::vector<std::string> help_args{"tasks", "--help"};
  std::vector<std::string> ls_args{"tasks", "ls"};
  const auto argv_of = [](std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    return argv;
  };
  testing::internal::CaptureStdout();
  EXPECT_EQ(task_cli(2, argv_of(help_args).data(), factory), 0);
  EXPECT_EQ(made, 0);
  EXPECT_EQ(task_cli(2, argv_of(ls_args).data(), factory), 0);
  const auto out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(made, 1);
  EXPECT_THAT(out, HasSubstr("Log the addition of two numbers"));
}

// serve: the consumer and its status routes on -h/-p, port 0 a free one,
// logged; SIGTERM stops it cleanly (serve()'s exit code 0).
TEST(TaskCli, ServeListensOnTheAddressGivenAndStopsOnSigterm) {
  test::Process serving(cli_path(), {"LOG_LEVEL=info"}, {"serve", "-h", "127.0.0.1", "-p", "0"});
  ASSERT_TRUE(serving.wait_for_output("listening on 127.0.0.1:", 30s)) << serving.output();
  ASSERT_TRUE(serving.wait_for_output("task_runner started running", 30s)) << serving.output();
  EXPECT_THAT(serving.output(), Not(HasSubstr("listening on 127.0.0.1:0 ")));
  serving.send_signal(SIGTERM);
  const auto status = serving.wait_exit(30s);
  ASSERT_TRUE(status) << serving.output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << serving.output();
}

// ---------------------------------------------------------------- field options (ours)

TEST(TaskCliFieldOptions, DashesAndEqualsSignsNameTheSameField) {
  using detail::parse_field_options;
  EXPECT_EQ(parse_field_options({"--fail-times", "3"}), (json{{"fail_times", 3}}));
  EXPECT_EQ(parse_field_options({"--fail_times=3"}), (json{{"fail_times", 3}}));
}

TEST(TaskCliFieldOptions, ValuesAreJsonWhenTheyParseElseStrings) {
  using detail::parse_field_options;
  EXPECT_EQ(parse_field_options({"--color", "green", "--sleep", "0.5", "--tags", R"(["a"])"}),
            (json{{"color", "green"}, {"sleep", 0.5}, {"tags", {"a"}}}));
  EXPECT_EQ(parse_field_options({"--quoted", R"("3")"}), (json{{"quoted", "3"}}));
}

TEST(TaskCliFieldOptions, ABareOptionIsTrueAtTheEndOrBeforeAnotherOption) {
  using detail::parse_field_options;
  EXPECT_EQ(parse_field_options({"--abort"}), (json{{"abort", true}}));
  EXPECT_EQ(parse_field_options({"--abort", "--sleep", "0"}), (json{{"abort", true}, {"sleep", 0}}));
}

TEST(TaskCliFieldOptions, KeysOfParamsWinOverFieldOptions) {
  EXPECT_EQ(detail::exec_params({"--color", "red", "--sleep", "1"}, R"({"color": "blue"})"),
            (json{{"color", "blue"}, {"sleep", 1}}));
}

TEST(TaskCliFieldOptions, AnythingElseIsRejectedQuotingIt) {
  EXPECT_THROW((void)detail::parse_field_options({"stray"}), FluidError);
  EXPECT_THROW((void)detail::parse_field_options({"--bad name", "1"}), FluidError);
  EXPECT_THROW((void)detail::exec_params({}, "[1, 2]"), FluidError);
  EXPECT_THROW((void)detail::exec_params({}, "{not json"), FluidError);
}

TEST(TaskCli, FieldOptionsReachTheTaskThroughTheCommandLine) {
  const auto succeeded = cli({"exec", "retryable", "--fail_times=0"});
  EXPECT_EQ(succeeded.exit_code, 0) << succeeded.err;
  // exec never retries (aio-fluid's execute): one failing attempt fails it.
  const auto failed = cli({"exec", "retryable", "--fail-times", "1"});
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  EXPECT_THAT(failed.err, HasSubstr("Error: failing attempt 1 of 1"));
}

// ---------------------------------------------------------------- bad input (TASKS.md section 4)

TEST(TaskCli, ExecOfAnUnknownTaskExitsOneWithTheErrorLine) {
  const auto r = cli({"exec", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: Task nope not found\n");
  EXPECT_EQ(r.out, "");
}

TEST(TaskCli, QueueOfAnUnknownTaskExitsOneWithTheErrorLine) {
  const auto r = cli({"queue", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: Task nope not found\n");
}

TEST(TaskCli, ParamsOfTheWrongTypeExitTwoAndRunNothing) {
  const auto exec = cli({"exec", "fast", "--sleep", R"("not-a-number")", "--log"});
  EXPECT_EQ(exec.exit_code, 2);
  EXPECT_THAT(exec.err, HasSubstr("Error: invalid params for task 'fast': "));
  EXPECT_THAT(exec.err, Not(HasSubstr("running")));
  const auto queue = cli({"queue", "fast", "--params", R"({"sleep": -1})"});
  EXPECT_EQ(queue.exit_code, 2);
  EXPECT_THAT(queue.err, HasSubstr("Error: invalid params for task 'fast': sleep must be >= 0"));
  EXPECT_EQ(queue.out, "");
}

TEST(TaskCli, ParamsThatAreNotAJsonObjectExitTwo) {
  for (const char* params : {"[1, 2]", "{oops", "3"}) {
    const auto r = cli({"exec", "add", "--params", params});
    EXPECT_EQ(r.exit_code, 2) << params;
    EXPECT_THAT(r.err, HasSubstr("Error: --params: expected a JSON object")) << params;
  }
}

TEST(TaskCli, AStrayArgumentOfExecExitsTwoQuotingIt) {
  const auto r = cli({"exec", "add", "3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("Error: unexpected argument '3'"));
}

TEST(TaskCli, AnUnknownCommandOrOptionExitsTwo) {
  const auto command = cli({"explode"});
  EXPECT_EQ(command.exit_code, 2);
  EXPECT_THAT(command.err, HasSubstr("Error: "));
  EXPECT_THAT(command.err, HasSubstr("explode"));
  const auto option = cli({"ls", "--colour"});
  EXPECT_EQ(option.exit_code, 2);
  EXPECT_THAT(option.err, HasSubstr("--colour"));
  const auto none = cli({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, HasSubstr("Error: "));
}

TEST(TaskCli, AMalformedQueueOptionExitsTwo) {
  const auto priority = cli({"queue", "add", "--priority", "urgent"});
  EXPECT_EQ(priority.exit_code, 2);
  EXPECT_THAT(priority.err, HasSubstr("urgent"));
  const auto delay = cli({"queue", "add", "--delay", "soon"});
  EXPECT_EQ(delay.exit_code, 2);
  EXPECT_THAT(delay.err, HasSubstr("--delay"));
  const auto run_id = cli({"queue", "add", "--run-id", "not a valid id"});
  EXPECT_EQ(run_id.exit_code, 2);
  EXPECT_THAT(run_id.err, HasSubstr("not a valid id"));
}

TEST(TaskCli, ABadBrokerUrlExitsTwoQuotingIt) {
  const auto r = cli({"ls"}, {"FLUID_BROKER_URL=carrier-pigeon://coop"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("Error: "));
  EXPECT_THAT(r.err, HasSubstr("carrier-pigeon://coop"));
}

TEST(TaskCli, ABadEnvironmentValueExitsTwoNamingTheVariable) {
  const auto r = cli({"ls"}, {"FLUID_MAX_CONCURRENT_TASKS=many"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("FLUID_MAX_CONCURRENT_TASKS"));
}

TEST(TaskCli, ShowAndAbortOfAnUnknownRunExitOne) {
  const auto show = cli({"show", "no-such-run"});
  EXPECT_EQ(show.exit_code, 1);
  EXPECT_EQ(show.err, "Error: Run no-such-run not found\n");
  const auto abort = cli({"abort", "no-such-run"});
  EXPECT_EQ(abort.exit_code, 1);
  EXPECT_EQ(abort.err, "Error: Run no-such-run not found\n");
}

TEST(TaskCli, QueuePrintsTheRunIdItWasGivenOrANewOne) {
  const auto given = cli({"queue", "add", "--run-id", "sum-1", "--params", R"({"a": 1})"});
  EXPECT_EQ(given.exit_code, 0) << given.err;
  EXPECT_EQ(given.out, "sum-1\n");
  const auto fresh = cli({"queue", "add", "--priority", "high", "--delay", "0.5"});
  EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_TRUE(std::regex_match(fresh.out, std::regex("[0-9a-f]{32}\n"))) << fresh.out;
}

// ---------------------------------------------------------------- one broker, several commands

class TaskCliOnRedis : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FLUID_WITH_REDIS) GTEST_SKIP() << "built without Redis (FLUID_WITH_REDIS=OFF)";
    if (!test::RedisServer::binary()) GTEST_SKIP() << "redis-server is not installed";
    server_ = std::make_unique<test::RedisServer>();
    env_ = {"FLUID_BROKER_URL=" + server_->url("?name=cli")};
  }
  ProcessResult on_redis(std::vector<std::string> args) { return cli(std::move(args), env_); }

  std::unique_ptr<test::RedisServer> server_;
  std::vector<std::string> env_;
};

TEST_F(TaskCliOnRedis, ARunQueuedByOneCommandIsShownAndAbortedByOthers) {
  const auto queued = on_redis({"queue", "add", "--run-id", "later", "--delay", "60", "--params", R"({"a": 2})"});
  ASSERT_EQ(queued.exit_code, 0) << queued.err;
  const auto shown = on_redis({"show", "later"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const auto run = json::parse(shown.out);
  EXPECT_EQ(run["id"], "later");
  EXPECT_EQ(run["state"], "queued");
  EXPECT_EQ(run["params"], (json{{"a", 2.0}, {"b", 0.0}}));
  const auto aborted = on_redis({"abort", "later", "--reason", "changed my mind"});
  ASSERT_EQ(aborted.exit_code, 0) << aborted.err;
  EXPECT_THAT(aborted.out, HasSubstr("aborted"));
  EXPECT_THAT(aborted.out, HasSubstr("changed my mind"));
  EXPECT_EQ(json::parse(on_redis({"show", "later"}).out)["state"], "aborted");
}

TEST_F(TaskCliOnRedis, EnableSetsTheFlagEveryProcessSees) {
  ASSERT_EQ(on_redis({"enable", "add", "--disable"}).exit_code, 0);
  const auto disabled = on_redis({"ls"});
  EXPECT_TRUE(std::regex_search(disabled.out, std::regex("\nadd +no "))) << disabled.out;
  ASSERT_EQ(on_redis({"enable", "add"}).exit_code, 0);
  const auto enabled = on_redis({"ls"});
  EXPECT_TRUE(std::regex_search(enabled.out, std::regex("\nadd +yes "))) << enabled.out;
}

TEST(TaskCli, ABrokerThatCannotBeReachedExitsOne) {
  if (!FLUID_WITH_REDIS) GTEST_SKIP() << "built without Redis (FLUID_WITH_REDIS=OFF)";
  // Port 1 on the loopback refuses at once; connect_timeout bounds the retries.
  const auto r = cli({"show", "any"}, {"FLUID_BROKER_URL=redis://127.0.0.1:1?connect_timeout=0.5"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: "));
}

}  // namespace
