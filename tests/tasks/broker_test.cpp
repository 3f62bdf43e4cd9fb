// make_broker(): strict broker URLs, errors that quote the URL without its
// password. (What brokers do is the conformance suite's: memory_broker_test.)

#include "support/thrown.hpp"

#include <fluid/tasks.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fluid::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

/// make_broker(url)'s error message; fails the test if it does not throw FluidError.
std::string url_error(const std::string& url) {
  return thrown_message([&] { make_broker(url); });
}

const std::vector<TaskPriority> all{TaskPriority::high, TaskPriority::medium, TaskPriority::low};

TEST(MakeBroker, MemoryWithoutANameIsTheDefaultBroker) {
  const auto broker = make_broker("memory://");
  EXPECT_EQ(broker->url(), "memory://default");
  EXPECT_EQ(broker->queues(), all);
}

TEST(MakeBroker, MemoryUrlKeepsItsNameAndQuery) {
  const auto broker = make_broker("memory://orders_2-b?queues=low,high&retention=0.5");
  EXPECT_EQ(broker->url(), "memory://orders_2-b?queues=low,high&retention=0.5");
  const std::vector<TaskPriority> expected{TaskPriority::low, TaskPriority::high};
  EXPECT_EQ(broker->queues(), expected);
}

TEST(MakeBroker, EmptyQueuesClaimNothing) { EXPECT_TRUE(make_broker("memory://x?queues=")->queues().empty()); }

TEST(MakeBroker, BadQueuesAreErrorsQuotingTheUrl) {
  EXPECT_EQ(url_error("memory://x?queues=high,urgent"),
            "invalid broker URL 'memory://x?queues=high,urgent': unknown priority 'urgent' in queues "
            "(expected high, medium or low)");
  EXPECT_THAT(url_error("memory://x?queues=high,high"), HasSubstr("priority 'high' given twice"));
  EXPECT_THAT(url_error("memory://x?queues=high,,low"), HasSubstr("empty priority"));
  EXPECT_THAT(url_error("memory://x?queues=HIGH"), HasSubstr("unknown priority 'HIGH'"));
}

TEST(MakeBroker, RetentionIsDecimalSecondsAboveZero) {
  EXPECT_NO_THROW(make_broker("memory://x?retention=60"));
  EXPECT_NO_THROW(make_broker("memory://x?retention=0.25"));
  for (const char* bad : {"0", "0.0001", "-1", "1e3", "", "abc", " 1", "1.", ".5", "inf", "nan", "99999999999"}) {
    EXPECT_THAT(url_error(std::string("memory://x?retention=") + bad),
                HasSubstr("retention='" + std::string(bad) + "'"))
        << bad;
  }
}

TEST(MakeBroker, QueryKeysAreKnownAndGivenOnce) {
  EXPECT_EQ(
      url_error("memory://x?color=red"),
      "invalid broker URL 'memory://x?color=red': unknown query parameter 'color' (expected queues or retention)");
  EXPECT_THAT(url_error("memory://x?queues=high&queues=low"), HasSubstr("'queues' given twice"));
  EXPECT_THAT(url_error("memory://x?queues"), HasSubstr("'queues' has no value"));
  EXPECT_THAT(url_error("memory://x?=high"), HasSubstr("without a name"));
  EXPECT_THAT(url_error("memory://x?queues=high&&retention=1"), HasSubstr("empty query parameter"));
}

TEST(MakeBroker, MemoryNamesFollowTheTaskNameRule) {
  EXPECT_THAT(url_error("memory://a/b"), HasSubstr("broker name 'a/b' is not 1 to 64 of [A-Za-z0-9_-]"));
  EXPECT_THAT(url_error("memory://-a"), HasSubstr("not starting with '-'"));
  EXPECT_THAT(url_error("memory://a b"), HasSubstr("broker name 'a b'"));
  EXPECT_THAT(url_error("memory://" + std::string(65, 'a')), HasSubstr("is not 1 to 64"));
  EXPECT_NO_THROW(make_broker("memory://" + std::string(64, 'a')));
}

TEST(MakeBroker, UnknownOrMissingSchemesAreErrors) {
  EXPECT_EQ(url_error("mem://x"),
            "invalid broker URL 'mem://x': unknown scheme 'mem' (expected memory, redis, rediss)");
  EXPECT_THAT(url_error("MEMORY://x"), HasSubstr("malformed scheme 'MEMORY'"));
  EXPECT_THAT(url_error("localhost:6379"), HasSubstr("expected <scheme>://"));
  EXPECT_THAT(url_error(""), HasSubstr("invalid broker URL ''"));
}

#if FLUID_WITH_REDIS
TEST(MakeBroker, RedisUrlsMakeARedisBrokerWithoutThePassword) {
  const auto broker = make_broker("redis://app:s3cret@cache.local:6380/2?name=jobs&queues=low");
  EXPECT_EQ(broker->url(), "redis://app@cache.local:6380/2?name=jobs&queues=low");
  EXPECT_EQ(broker->queues(), std::vector<TaskPriority>{TaskPriority::low});
}

TEST(MakeBroker, RedissSaysThisBuildHasNoTlsWithoutThePassword) {
  EXPECT_THAT(url_error("rediss://:s3cret@cache.local"),
              AllOf(HasSubstr("rediss://cache.local"), HasSubstr("needs TLS"), Not(HasSubstr("s3cret"))));
}
#else
TEST(MakeBroker, RedisUrlsSayThisBuildHasNoRedisBrokerNamingTheOption) {
  const auto message = url_error("redis://app:s3cret@cache.local:6380/2?name=jobs");
  EXPECT_EQ(message,
            "broker URL 'redis://app@cache.local:6380/2?name=jobs': this build of fluid has no Redis broker (it was "
            "configured with FLUID_WITH_REDIS=OFF)");
  EXPECT_THAT(url_error("rediss://:s3cret@cache.local"),
              AllOf(HasSubstr("rediss://cache.local"), Not(HasSubstr("s3cret"))));
}
#endif

TEST(MakeBroker, APasswordNeverAppearsInAnError) {
  // A password holding '@', ':' or '?' is still taken whole.
  for (const char* url : {"redis://u:p@ss:w?rd@host/0?colour=red", "memory://u:hunter2@x", "mem://u:hunter2@x?queues=bad"}) {
    const auto message = url_error(url);
    EXPECT_THAT(message, Not(HasSubstr("hunter2"))) << url;
    EXPECT_THAT(message, Not(HasSubstr("ss:w?rd"))) << url;
  }
}

}  // namespace
}  // namespace fluid::test
