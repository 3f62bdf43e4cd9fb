// What a connection sends before its first call, and how it judges the answers.

#include "brokers/redis/errors.hpp"
#include "brokers/redis/handshake.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace fluid::redis;
using testing::HasSubstr;

namespace {

Reply ok() { return Reply{.type = Reply::Type::status, .text = "OK"}; }
Reply info(std::string version) {
  return Reply{.type = Reply::Type::string,
               .text = "# Server\r\nredis_version:" + version + "\r\nredis_mode:standalone\r\n"};
}
Reply pong() { return Reply{.type = Reply::Type::status, .text = "PONG"}; }

}  // namespace

TEST(RedisHandshake, AuthenticatesSelectsNamesChecksTheVersionThenPings) {
  const auto url = parse_redis_url("redis://alice:pw@h/3?name=jobs");
  const std::vector<Command> expected{
      {"AUTH", "alice", "pw"}, {"SELECT", "3"}, {"CLIENT", "SETNAME", "jobs"}, {"INFO", "server"}, {"PING"}};
  EXPECT_EQ(handshake_commands(url), expected);
}

TEST(RedisHandshake, SendsNoAuthWithoutPasswordAndNoSelectForDatabaseZero) {
  const std::vector<Command> expected{{"CLIENT", "SETNAME", "redis-task-broker"}, {"INFO", "server"}, {"PING"}};
  EXPECT_EQ(handshake_commands(parse_redis_url("redis://h")), expected);
  EXPECT_EQ(handshake_commands(parse_redis_url("redis://:pw@h")).front(), (Command{"AUTH", "pw"}));
}

TEST(RedisHandshake, AcceptsRedis62AndLater) {
  EXPECT_NO_THROW(check_server_version("redis://h", info("6.2.0").text));
  EXPECT_NO_THROW(check_server_version("redis://h", info("7.0.15").text));
  EXPECT_NO_THROW(check_server_version("redis://h", info("10.0.0").text));
}

TEST(RedisHandshake, RejectsServersOlderThan62SayingWhich) {
  EXPECT_THAT([] { check_server_version("redis://h:1", info("6.0.16").text); },
              testing::ThrowsMessage<fluid::BrokerError>(
                  HasSubstr("redis://h:1: Redis 6.0.16 is too old; fluid needs Redis >= 6.2")));
  EXPECT_THROW(check_server_version("redis://h", info("5.0.7").text), fluid::BrokerError);
  EXPECT_THAT([] { check_server_version("redis://h", "# Server\r\n"); },
              testing::ThrowsMessage<fluid::BrokerError>(HasSubstr("cannot read redis_version")));
}

TEST(RedisHandshake, AnErrorReplyNamesTheCommandNeverItsArguments) {
  const auto url = parse_redis_url("redis://:hunter2@h");
  const auto commands = handshake_commands(url);
  const std::vector<Reply> replies{
      {.type = Reply::Type::error, .text = "WRONGPASS invalid username-password pair"}, ok(), info("7.0.0"), pong()};
  try {
    check_handshake(url.redacted, commands, replies);
    FAIL() << "no error";
  } catch (const RedisReplyError& e) {
    EXPECT_STREQ(e.what(), "redis://:***@h: AUTH: WRONGPASS invalid username-password pair");
    EXPECT_EQ(e.code(), "WRONGPASS");
  }
}

TEST(RedisHandshake, AServerStillLoadingIsUnavailableNotRefused) {
  const auto url = parse_redis_url("redis://h");
  const std::vector<Reply> replies{
      ok(), info("7.0.0"), {.type = Reply::Type::error, .text = "LOADING Redis is loading the dataset in memory"}};
  EXPECT_THROW(check_handshake(url.redacted, handshake_commands(url), replies), fluid::BrokerUnavailableError);
}

TEST(RedisHandshake, CommandNamesForMessages) {
  EXPECT_EQ(command_name({"get", "k"}), "GET");
  EXPECT_EQ(command_name({"client", "setname", "x"}), "CLIENT SETNAME");
  EXPECT_EQ(command_name({"SCRIPT", "LOAD", "return 1"}), "SCRIPT LOAD");
  EXPECT_EQ(command_name({"AUTH", "user", "secret"}), "AUTH");
}
