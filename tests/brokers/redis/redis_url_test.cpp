// redis:// URLs: every part parsed, every mistake a FluidError that never
// shows the password.

#include "brokers/redis/url.hpp"

#include <fluid/errors.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace std::chrono_literals;
using fluid::redis::parse_redis_url;
using fluid::redis::redact_url;
using testing::HasSubstr;
using testing::Not;

namespace {

// The message of the FluidError that parsing `url` throws ("" if none).
std::string rejection(std::string_view url) {
  try {
    parse_redis_url(url);
  } catch (const fluid::FluidError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(RedisUrl, DefaultsAreThoseOfTheContract) {
  const auto url = parse_redis_url("redis://");
  EXPECT_EQ(url.host, "localhost");
  EXPECT_EQ(url.port, 6379);
  EXPECT_EQ(url.db, 0u);
  EXPECT_EQ(url.name, "redis-task-broker");
  EXPECT_FALSE(url.queues);
  EXPECT_EQ(url.retention, 3600s);
  EXPECT_EQ(url.timeout, 5s);
  EXPECT_EQ(url.connect_timeout, 10s);
  EXPECT_TRUE(url.user.empty());
  EXPECT_TRUE(url.password.empty());
  EXPECT_FALSE(url.tls);
}

TEST(RedisUrl, ReadsEveryPart) {
  const auto url = parse_redis_url(
      "redis://alice:s3cret@cache.internal:6380/3?name=orders&queues=high,low&retention=60&timeout=0.5"
      "&connect_timeout=2");
  EXPECT_EQ(url.user, "alice");
  EXPECT_EQ(url.password, "s3cret");
  EXPECT_EQ(url.host, "cache.internal");
  EXPECT_EQ(url.port, 6380);
  EXPECT_EQ(url.db, 3u);
  EXPECT_EQ(url.name, "orders");
  EXPECT_EQ(url.queues, (std::vector<std::string>{"high", "low"}));
  EXPECT_EQ(url.retention, 60s);
  EXPECT_EQ(url.timeout, 500ms);
  EXPECT_EQ(url.connect_timeout, 2s);
  EXPECT_EQ(url.redacted,
            "redis://alice:***@cache.internal:6380/3?name=orders&queues=high,low&retention=60"
            "&timeout=0.5&connect_timeout=2");
}

TEST(RedisUrl, PasswordAloneMeansTheDefaultUser) {
  const auto url = parse_redis_url("redis://:pw@127.0.0.1");
  EXPECT_TRUE(url.user.empty());
  EXPECT_EQ(url.password, "pw");
}

TEST(RedisUrl, PercentEscapesAndUnescapedDelimitersInThePasswordAreDecoded) {
  EXPECT_EQ(parse_redis_url("redis://:p%40ss%2Fword@h").password, "p@ss/word");
  // Everything up to the last '@' is credentials, so a raw '/' or '@' still works.
  EXPECT_EQ(parse_redis_url("redis://:pa/ss@wo@h:1").password, "pa/ss@wo");
  EXPECT_EQ(parse_redis_url("redis://:pa/ss@wo@h:1").host, "h");
}

TEST(RedisUrl, EmptyQueuesClaimNothing) {
  const auto url = parse_redis_url("redis://h?queues=");
  ASSERT_TRUE(url.queues);
  EXPECT_TRUE(url.queues->empty());
}

TEST(RedisUrl, IPv6HostsAreBracketed) {
  const auto url = parse_redis_url("redis://[::1]:7000/2");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 7000);
  EXPECT_EQ(url.db, 2u);
  EXPECT_EQ(fluid::redis::endpoint_text(url), "[::1]:7000");
}

TEST(RedisUrl, UnixSocketsTakeTheirDatabaseFromTheQuery) {
  const auto url = parse_redis_url("unix://:pw@/run/redis/redis.sock?db=4&name=jobs");
  EXPECT_EQ(url.unix_path, "/run/redis/redis.sock");
  EXPECT_TRUE(url.host.empty());
  EXPECT_EQ(url.db, 4u);
  EXPECT_EQ(url.name, "jobs");
  EXPECT_EQ(url.password, "pw");
  EXPECT_EQ(fluid::redis::endpoint_text(url), "/run/redis/redis.sock");
}

TEST(RedisUrl, RedissIsRecognisedAsTls) { EXPECT_TRUE(parse_redis_url("rediss://h").tls); }

TEST(RedisUrl, MistakesAreNamed) {
  EXPECT_THAT(rejection("http://h"), HasSubstr("unknown scheme \"http\""));
  EXPECT_THAT(rejection("localhost:6379"), HasSubstr("expected redis://"));
  EXPECT_THAT(rejection("redis://h:0"), HasSubstr("bad port \":0\""));
  EXPECT_THAT(rejection("redis://h:70000"), HasSubstr("bad port"));
  EXPECT_THAT(rejection("redis://h:-1"), HasSubstr("bad port"));
  EXPECT_THAT(rejection("redis://h/x"), HasSubstr("bad database \"x\""));
  EXPECT_THAT(rejection("redis://h/-1"), HasSubstr("bad database"));
  EXPECT_THAT(rejection("redis://h?colour=red"), HasSubstr("unknown option \"colour\""));
  EXPECT_THAT(rejection("redis://h?timeout=1&timeout=2"), HasSubstr("\"timeout\" given twice"));
  EXPECT_THAT(rejection("redis://h?timeout=soon"), HasSubstr("timeout"));
  EXPECT_THAT(rejection("redis://h?connect_timeout=0"), HasSubstr("connect_timeout must be positive"));
  EXPECT_THAT(rejection("redis://h?retention=-5"), HasSubstr("retention"));
  EXPECT_THAT(rejection("redis://h?name=has space"), HasSubstr("bad name"));
  EXPECT_THAT(rejection("redis://h?name="), HasSubstr("bad name"));
  EXPECT_THAT(rejection("redis://h?db=1"), HasSubstr("unknown option \"db\""));
  EXPECT_THAT(rejection("redis://[::1"), HasSubstr("unclosed '['"));
  EXPECT_THAT(rejection("unix://relative.sock"), HasSubstr("absolute path"));
  EXPECT_THAT(rejection("redis://:%zz@h"), HasSubstr("percent-escape"));
  EXPECT_THAT(rejection("redis://alice@h"), HasSubstr("a user needs a password"));
}

TEST(RedisUrl, ErrorsNeverShowThePassword) {
  for (const auto* url : {"redis://alice:hunter2@h:bad", "redis://:hunter2@h/x", "redis://:hunter2@h?nope=1",
                          "redis://:hun/ter2@h:bad", "redis://hunter2@h"}) {
    const auto message = rejection(url);
    EXPECT_THAT(message, HasSubstr("***")) << url;
    EXPECT_THAT(message, Not(HasSubstr("hunter2"))) << url;
    EXPECT_THAT(message, Not(HasSubstr("ter2"))) << url;
  }
}

TEST(RedisUrl, RedactionMasksOnlyThePassword) {
  EXPECT_EQ(redact_url("redis://u:p@h:1/2?name=n"), "redis://u:***@h:1/2?name=n");
  EXPECT_EQ(redact_url("redis://h:1/2"), "redis://h:1/2");
  EXPECT_EQ(redact_url("redis://secret@h"), "redis://***@h");
  EXPECT_EQ(redact_url("garbage"), "garbage");
}
