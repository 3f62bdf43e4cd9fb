// Runs as the Redis broker's scripts pack them: every value its length, ':',
// the value. A record that is not one is refused, never read past its end.

#include "brokers/redis/broker_codec.hpp"

#include "fluid/tasks/errors.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace std::string_literals;
using fluid::BrokerError;
using fluid::TaskPriority;
using fluid::TaskState;
using fluid::redis::packed_run_fields;
using fluid::redis::run_of_packed;
using fluid::redis::runs_of_pack;
using fluid::redis::unpack;

namespace {

std::string pack(const std::vector<std::string>& values) {
  std::string packed;
  for (const auto& value : values) packed += std::to_string(value.size()) + ":" + value;
  return packed;
}

/// A run's values in packed_run_fields order, with `error` as its error.
std::vector<std::string> run_values(const std::string& id, const std::string& error) {
  return {id,  "send_email", "high", R"({"to":"a@b.c"})", "failure", "1705320000250000", "1705320000300000",
          "1705320000400000", "", "2", "0", "", id, "3", error, "1", "consumer-7"};
}

std::string message_of(const std::string& packed) {
  try {
    (void)run_of_packed(packed);
  } catch (const BrokerError& error) {
    return error.what();
  }
  return "";
}

TEST(BrokerCodec, ValuesHoldingColonsDigitsAndZeroBytesComeBackWhole) {
  const std::vector<std::string> values{"", "12:34", "a\0b"s, "9", ":", ""};
  const auto packed = pack(values);  // unpack() views it
  const auto unpacked = unpack(packed);
  ASSERT_EQ(unpacked.size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(std::string(unpacked[i]), values[i]) << i;
}

TEST(BrokerCodec, APackedRunDecodesIntoEveryPublicField) {
  const auto run = run_of_packed(pack(run_values("r1", "boom: 3 retries")));
  EXPECT_EQ(run.id, "r1");
  EXPECT_EQ(run.task, "send_email");
  EXPECT_EQ(run.priority, TaskPriority::high);
  EXPECT_EQ(run.params.at("to"), "a@b.c");
  EXPECT_EQ(run.state, TaskState::failure);
  EXPECT_TRUE(run.queued && run.start && run.end);
  EXPECT_FALSE(run.execute_after);
  EXPECT_EQ(run.retry_attempt, 2u);
  EXPECT_EQ(run.root_run_id, "r1");
  EXPECT_EQ(run.deliveries, 3u);
  EXPECT_EQ(run.error, "boom: 3 retries");
  EXPECT_TRUE(run.requeued);
  EXPECT_EQ(run.manager_id, "consumer-7");
}

TEST(BrokerCodec, RunsPackedTogetherComeBackInOrder) {
  const auto runs = runs_of_pack(pack({pack(run_values("r1", "")), pack(run_values("r2", "x:y"))}));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].id, "r1");
  EXPECT_EQ(runs[1].id, "r2");
  EXPECT_EQ(runs[1].error, "x:y");
  EXPECT_TRUE(runs_of_pack("").empty());
}

TEST(BrokerCodec, ALengthPastTheEndOrNotANumberIsAMalformedRecord) {
  for (const auto& bad : {"5:abc"s, "abc"s, "x:abc"s, ":abc"s, "-1:a"s, "2:ab3"s, "99999999999999999999999:a"s}) {
    EXPECT_THROW((void)unpack(bad), BrokerError) << bad;
  }
  EXPECT_THAT(message_of("3:ab"), testing::HasSubstr("malformed packed record"));
}

TEST(BrokerCodec, ARunOfAnotherFieldCountIsRefusedNamingBoth) {
  auto values = run_values("r1", "");
  values.pop_back();
  EXPECT_THAT(message_of(pack(values)),
              testing::HasSubstr("16 fields, not " + std::to_string(packed_run_fields.size())));
  values = run_values("r1", "");
  values[4] = "exploded";
  EXPECT_THAT(message_of(pack(values)), testing::HasSubstr("malformed state 'exploded'"));
}

}  // namespace
