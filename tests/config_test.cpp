// Configuration from options and the environment: strict parsing, clear
// errors, and the option > FLUID_STOPPING_GRACE_PERIOD > 10 s precedence.

#include "support/thrown.hpp"
#include "support/workers.hpp"

#include <fluid/config.hpp>
#include <fluid/errors.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace std::chrono_literals;
using fluid::test::ScopedEnv;
using fluid::test::thrown_message;

namespace {

constexpr const char* grace_variable = "FLUID_STOPPING_GRACE_PERIOD";

}  // namespace

TEST(ParseThreadCount, AcceptsAPositiveWholeNumberUpToTheMaximum) {
  EXPECT_EQ(fluid::parse_thread_count("4", "X"), 4u);
  EXPECT_EQ(fluid::parse_thread_count("1", "X"), 1u);
  EXPECT_EQ(fluid::parse_thread_count("1024", "X"), fluid::max_thread_count);
}

TEST(ParseThreadCount, RejectsAnythingElseQuotingTheTextAndNamingTheSetting) {
  // "18446744073709551616" overflows size_t; "1025" would start a loop per typo.
  for (const char* bad : {"", "0", "-2", "+2", " 4", "4 ", "2.5", "two", "1025", "18446744073709551616"}) {
    SCOPED_TRACE(std::string("input \"") + bad + "\"");
    const auto message = thrown_message([&] { (void)fluid::parse_thread_count(bad, "FLUID_SERVE_THREADS"); });
    EXPECT_NE(message.find("FLUID_SERVE_THREADS"), std::string::npos) << message;
    EXPECT_NE(message.find(std::string("\"") + bad + "\""), std::string::npos) << message;
  }
}

TEST(ParseSeconds, AcceptsADecimalFraction) { EXPECT_EQ(fluid::parse_seconds("0.2", "X"), 200ms); }

TEST(ParseSeconds, AcceptsAWholeNumber) { EXPECT_EQ(fluid::parse_seconds("10", "X"), 10s); }

TEST(ParseSeconds, AcceptsZero) { EXPECT_EQ(fluid::parse_seconds("0", "X"), 0ms); }

TEST(ParseSeconds, RoundsToTheNearestMillisecond) {
  EXPECT_EQ(fluid::parse_seconds("1.2346", "X"), 1235ms);
}

TEST(ParseSeconds, RejectsMalformedValuesWithAFluidErrorQuotingTheInput) {
  for (const std::string bad : {"", "abc", "1.5s", "-1", "nan", "inf", "1e999", " 1", "0x10", "1e3", "2000000000"}) {
    SCOPED_TRACE("input: \"" + bad + "\"");
    const auto message = thrown_message([&] { (void)fluid::parse_seconds(bad, "MY_SETTING"); });
    EXPECT_NE(message.find("\"" + bad + "\""), std::string::npos) << message;
    EXPECT_NE(message.find("MY_SETTING"), std::string::npos) << message;
  }
}

TEST(Env, ReturnsTheValueOfASetVariable) {
  ScopedEnv set("FLUID_CONFIG_TEST_VARIABLE", "some value");
  EXPECT_EQ(fluid::env("FLUID_CONFIG_TEST_VARIABLE"), "some value");
}

TEST(Env, ReturnsAnEmptyStringForAVariableSetToNothing) {
  ScopedEnv set("FLUID_CONFIG_TEST_VARIABLE", "");
  EXPECT_EQ(fluid::env("FLUID_CONFIG_TEST_VARIABLE"), "");
}

TEST(Env, ReturnsNulloptForAnUnsetVariable) {
  ScopedEnv unset("FLUID_CONFIG_TEST_VARIABLE", nullptr);
  EXPECT_EQ(fluid::env("FLUID_CONFIG_TEST_VARIABLE"), std::nullopt);
}

TEST(ResolveStoppingGracePeriod, PrefersTheOptionOverTheEnvironment) {
  ScopedEnv set(grace_variable, "3");
  EXPECT_EQ(fluid::resolve_stopping_grace_period(250ms, "w"), 250ms);
}

TEST(ResolveStoppingGracePeriod, AcceptsAZeroOption) {
  ScopedEnv unset(grace_variable, nullptr);
  EXPECT_EQ(fluid::resolve_stopping_grace_period(0ms, "w"), 0ms);
}

TEST(ResolveStoppingGracePeriod, ReadsTheEnvironmentWhenThereIsNoOption) {
  ScopedEnv set(grace_variable, "0.2");
  EXPECT_EQ(fluid::resolve_stopping_grace_period(std::nullopt, "w"), 200ms);
}

TEST(ResolveStoppingGracePeriod, DefaultsToTenSeconds) {
  ScopedEnv unset(grace_variable, nullptr);
  EXPECT_EQ(fluid::resolve_stopping_grace_period(std::nullopt, "w"), 10s);
  EXPECT_EQ(fluid::default_stopping_grace_period, 10s);
}

TEST(ResolveStoppingGracePeriod, ThrowsAFluidErrorNamingTheWorkerAndTheVariableForAMalformedEnvironment) {
  for (const char* bad : {"", "fast", "-1", "nan", "inf"}) {
    SCOPED_TRACE(std::string("FLUID_STOPPING_GRACE_PERIOD=") + bad);
    ScopedEnv set(grace_variable, bad);
    const auto message = thrown_message([] { (void)fluid::resolve_stopping_grace_period(std::nullopt, "my_worker"); });
    EXPECT_NE(message.find("my_worker"), std::string::npos) << message;
    EXPECT_NE(message.find(grace_variable), std::string::npos) << message;
    EXPECT_NE(message.find(std::string("\"") + bad + "\""), std::string::npos) << message;
  }
}

TEST(ResolveStoppingGracePeriod, ThrowsAFluidErrorNamingTheWorkerForANegativeOption) {
  ScopedEnv unset(grace_variable, nullptr);
  const auto message = thrown_message([] { (void)fluid::resolve_stopping_grace_period(-1ms, "my_worker"); });
  EXPECT_NE(message.find("my_worker"), std::string::npos) << message;
  EXPECT_NE(message.find("negative"), std::string::npos) << message;
}

TEST(ParsePort, AcceptsZeroToTheLargestPort) {
  EXPECT_EQ(fluid::parse_port("0", "X"), 0);
  EXPECT_EQ(fluid::parse_port("8089", "X"), 8089);
  EXPECT_EQ(fluid::parse_port("65535", "X"), 65535);
}

TEST(ParsePort, RejectsAnythingElseQuotingTheTextAndNamingTheSetting) {
  for (const char* bad : {"", "65536", "-1", "80 ", "http", "8e3"}) {
    try {
      fluid::parse_port(bad, "STATUS_PORT");
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const fluid::FluidError& e) {
      EXPECT_NE(std::string(e.what()).find("STATUS_PORT: \"" + std::string(bad) + "\""), std::string::npos) << e.what();
    }
  }
}
