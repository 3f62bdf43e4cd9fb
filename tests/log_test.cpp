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

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
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
