// fluid::logger(): the "fluid" spdlog logger, its LOG_LEVEL, and the
// lifecycle lines every worker writes to it.
//
// LOG_LEVEL and a pre-registered logger only matter at the logger's first use
// in a process, so those tests run their body in a fresh child process
// (GoogleTest's "threadsafe" death-test style re-executes the binary), which
// keeps them independent of test order.

#include "support/captured_log.hpp"
#include "support/workers.hpp"

#include <fluid/log.hpp>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <iostream>
#include <memory>
#include <string>

using namespace fluid;
using namespace fluid::test;

namespace {

// Exits the (child) process with 0 if `ok`, 1 otherwise.
[[noreturn]] void exit_with(bool ok) {
  spdlog::shutdown();
  std::exit(ok ? 0 : 1);
}

// Checks, in a fresh child process, that the "fluid" logger gets `expected` at
// first use with LOG_LEVEL=`value` (unset if null) and writes `stderr_regex`.
void expect_first_use_level(const char* value, spdlog::level::level_enum expected,
                            const std::string& stderr_regex = "") {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ScopedEnv level("LOG_LEVEL", value);
        exit_with(logger()->level() == expected);
      },
      ::testing::ExitedWithCode(0), stderr_regex);
}

Task<> start_and_shut_down(Worker& worker) {
  co_await worker.startup();
  co_await sleep(5ms);
  co_await worker.shutdown();
}

}  // namespace

TEST(Logger, IsNamedFluid) { EXPECT_EQ(logger()->name(), "fluid"); }

TEST(Logger, IsTheSameLoggerOnEveryCall) { EXPECT_EQ(logger(), logger()); }

TEST(Logger, IsRegisteredWithSpdlog) { EXPECT_EQ(spdlog::get("fluid"), logger()); }

TEST(Logger, ReusesALoggerRegisteredAsFluidBeforeFirstUseAndKeepsItsLevel) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ScopedEnv level("LOG_LEVEL", "error");  // the application's own configuration wins
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cerr);
        auto own = std::make_shared<spdlog::logger>("fluid", sink);
        own->set_level(spdlog::level::debug);
        spdlog::register_logger(own);
        exit_with(logger() == own && logger()->level() == spdlog::level::debug);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Logger, LogsAtInfoWithoutLogLevel) { expect_first_use_level(nullptr, spdlog::level::info); }

TEST(Logger, TakesItsLevelFromLogLevel) { expect_first_use_level("debug", spdlog::level::debug); }

TEST(Logger, AcceptsLogLevelInUpperCaseAsPythonServicesSpellIt) {
  expect_first_use_level("WARN", spdlog::level::warn);
}

TEST(Logger, IsSilencedByLogLevelOff) { expect_first_use_level("off", spdlog::level::off); }

TEST(Logger, WarnsAboutAnUnknownLogLevelAndLogsAtInfo) {
  expect_first_use_level("loud", spdlog::level::info, "LOG_LEVEL=\"loud\" is not a log level");
}

TEST(Logger, RecordsAWorkerStartingAndStoppingNormally) {
  CapturedLog log;
  NiceWorker worker({.name = "greeter", .stopping_grace_period = std::chrono::seconds(5)});
  run(start_and_shut_down(worker));
  EXPECT_TRUE(log.has_line("info greeter started running")) << log.text();
  EXPECT_TRUE(log.has_line("info greeter stopped running: normal shutdown")) << log.text();
}

TEST(Logger, RecordsAWorkerFailureAsAnErrorWithItsMessage) {
  CapturedLog log;
  BadWorker2 worker({.name = "failing", .stopping_grace_period = std::chrono::seconds(5)});
  run(start_and_shut_down(worker));
  EXPECT_TRUE(log.has_line("error failing stopped running: I'm so bad")) << log.text();
}

TEST(Logger, WarnsAboutAForcedShutdown) {
  CapturedLog log;
  BadWorker worker({.name = "stubborn", .stopping_grace_period = std::chrono::milliseconds(20)});
  run(start_and_shut_down(worker));
  EXPECT_TRUE(log.has_line("warning stubborn forced shutdown")) << log.text();
  EXPECT_TRUE(log.has_line("info stubborn stopped running: forced shutdown")) << log.text();
}

// ---------------------------------------------------------------- formats

TEST(LogFormat, ParsesTextAndJsonInAnyCaseAndNothingElse) {
  EXPECT_EQ(parse_log_format("text", "x"), LogFormat::text);
  EXPECT_EQ(parse_log_format("JSON", "x"), LogFormat::json);
  for (const char* bad : {"", "yaml", "json "}) {
    try {
      parse_log_format(bad, "--log-format");
      ADD_FAILURE() << bad;
    } catch (const FluidError& e) {
      EXPECT_NE(std::string(e.what()).find("--log-format"), std::string::npos) << e.what();
    }
  }
}

TEST(LogLevel, ParsesEveryLevelNameInAnyCaseAndRejectsOthers) {
  EXPECT_EQ(parse_log_level("DEBUG", "x"), spdlog::level::debug);
  EXPECT_EQ(parse_log_level("warning", "x"), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("off", "x"), spdlog::level::off);
  EXPECT_THROW(parse_log_level("loud", "--log-level"), FluidError);
  EXPECT_THROW(parse_log_level("", "--log-level"), FluidError);
}

namespace {

// In a child process: json lines for a worker's start and stop, and a line about no worker.
bool json_lines_name_their_worker() {
  std::ostringstream out;
  logger()->sinks().push_back(std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  set_log_format(LogFormat::json);
  NiceWorker worker({.name = "greeter", .stopping_grace_period = std::chrono::seconds(5)});
  run(start_and_shut_down(worker));
  logger()->info("not about a worker");
  std::istringstream lines(out.str());
  bool started = false;
  bool plain = false;
  for (std::string line; std::getline(lines, line);) {
    const auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded()) return false;
    if (json.value("message", "") == "greeter started running") {
      started = json.value("worker", "") == "greeter" && json.value("level", "") == "info" &&
                json.value("logger", "") == "fluid" && json.contains("time");
    }
    if (json.value("message", "") == "not about a worker") plain = !json.contains("worker");
  }
  return started && plain;
}

}  // namespace

TEST(LogFormat, JsonWritesOneObjectALineWithTheWorkerAsAField) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(exit_with(json_lines_name_their_worker()), ::testing::ExitedWithCode(0), "");
}

TEST(LogFormat, FluidLogFormatJsonAtFirstUseWritesJsonToStderr) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ScopedEnv format("FLUID_LOG_FORMAT", "json");
        logger()->error("boom");
        exit_with(true);
      },
      ::testing::ExitedWithCode(0), R"("level":"error","logger":"fluid","message":"boom")");
}

TEST(LogFormat, UnderJournaldEachLineOpensWithItsSyslogPriorityAndNoTimestamp) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        struct stat info {};
        ::fstat(STDERR_FILENO, &info);
        ScopedEnv stream("JOURNAL_STREAM", (std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino)).c_str());
        logger()->error("disk full");
        logger()->warn("slow disk");
        exit_with(true);
      },
      ::testing::ExitedWithCode(0), R"(^<3>\[fluid\] \[error\] disk full
<4>\[fluid\] \[warning\] slow disk)");
}

TEST(LogFormat, AJournalStreamThatIsNotStderrChangesNothing) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ScopedEnv stream("JOURNAL_STREAM", "1:1");
        logger()->error("disk full");
        exit_with(true);
      },
      ::testing::ExitedWithCode(0), R"(^\[20[0-9-]+ [0-9:.]+\] \[fluid\] \[error\] disk full)");
}
