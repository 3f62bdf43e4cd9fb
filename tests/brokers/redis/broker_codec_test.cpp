// Runs as the Redis broker's scripts pack them: a MessagePack array of
// strings, in the forms Redis's cmsgpack writes. A record that is not one is
// refused, never read past its end.

#include "brokers/redis/broker_codec.hpp"

#include "fluid/tasks/errors.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

using namespace std::string_literals;
using fluid::BrokerError;
using fluid::TaskPriority;
using fluid::TaskRun;
using fluid::TaskState;
using fluid::redis::leading_record;
using fluid::redis::pack;
using fluid::redis::packed_given_run;
using fluid::redis::packed_run_fields;
using fluid::redis::run_of_packed;
using fluid::redis::runs_of_pack;
using fluid::redis::unpack;

namespace {

std::string packed(const std::vector<std::string>& values) {
  return pack(std::vector<std::string_view>(values.begin(), values.end()));
}

/// A run's values in packed_run_fields order, with `error` as its error.
std::vector<std::string> run_values(const std::string& id, const std::string& error) {
  return {id,  "send_email", "high", R"({"to":"a@b.c"})", "failure", "1705320000250000", "1705320000300000",
          "1705320000400000", "", "2", "0", "", id, "3", error, "1", "consumer-7"};
}

std::string message_of(const std::string& record) {
  try {
    (void)run_of_packed(record);
  } catch (const BrokerError& error) {
    return error.what();
  }
  return "";
}

std::size_t index_of(std::string_view field) {
  return static_cast<std::size_t>(std::find(packed_run_fields.begin(), packed_run_fields.end(), field) -
                                  packed_run_fields.begin());
}

TEST(BrokerCodec, ValuesOfEveryLengthFormComeBackWhole) {
  std::vector<std::string> values{"", "a\0b"s, std::string(31, 'x'), std::string(32, 'y'), std::string(255, 'z'),
                                  std::string(256, 'w'), std::string(65535, 'v'), std::string(65536, 'u')};
  for (int i = 0; i < 12; ++i) values.push_back(std::to_string(i));  // 20 values: a 16-bit array count
  const auto record = packed(values);
  const auto unpacked = unpack(record);
  ASSERT_EQ(unpacked.size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(std::string(unpacked[i]), values[i]) << i;
}

TEST(BrokerCodec, PacksInTheFormsRedisLuaWrites) {
  // cmsgpack.pack({'aaaaa', string.rep('b', 40), string.rep('c', 300)}) as Redis 7.0 answers it.
  const auto expected = "\x93\xa5"s + "aaaaa" + "\xd9\x28"s + std::string(40, 'b') + "\xda\x01\x2c"s +
                        std::string(300, 'c');
  EXPECT_EQ(packed({"aaaaa", std::string(40, 'b'), std::string(300, 'c')}), expected);
  EXPECT_EQ(packed(std::vector<std::string>(20, "")).substr(0, 4), "\xdc\x00\x14\xa0"s);
  EXPECT_EQ(packed({}), "\x90"s);
}

TEST(BrokerCodec, BinaryValuesReadAsStrings) {
  const auto record = "\x92\xc4\x02" "ab\xa1z"s;  // unpack() views it
  const auto unpacked = unpack(record);
  ASSERT_EQ(unpacked.size(), 2u);
  EXPECT_EQ(unpacked[0], "ab");
  EXPECT_EQ(unpacked[1], "z");
}

TEST(BrokerCodec, APackedRunDecodesIntoEveryPublicField) {
  const auto run = run_of_packed(packed(run_values("r1", "boom: 3 retries")));
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
  const auto runs = runs_of_pack(packed({packed(run_values("r1", "")), packed(run_values("r2", "x:y"))}));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].id, "r1");
  EXPECT_EQ(runs[1].id, "r2");
  EXPECT_EQ(runs[1].error, "x:y");
  EXPECT_TRUE(runs_of_pack(packed({})).empty());
}

TEST(BrokerCodec, ATruncatedOrForeignRecordIsMalformedAndNotEchoed) {
  for (const auto& bad : {""s, "\x92\xa1z"s, "\x91\xa5" "abc"s, "\xa3" "abc"s, "\x91\x01"s, "\x91\xa1z!"s,
                          "\xdd\xff\xff\xff\xff\xa0"s, "\x91\xdb\xff\xff\xff\xff"s, "\x91\xd9"s}) {
    EXPECT_THROW((void)unpack(bad), BrokerError) << testing::PrintToString(bad);
  }
  const auto message = message_of("\x91\xa5secr"s);
  EXPECT_THAT(message, testing::HasSubstr("malformed packed record (6 bytes, unreadable from byte 2)"));
  EXPECT_THAT(message, testing::Not(testing::HasSubstr("secr")));  // params may hold secrets
}

TEST(BrokerCodec, AStoredRunIsReadUpToTheEndOfItsFirstRecord) {
  const auto run = packed(run_values("r1", ""));
  const auto stored = run + packed({"7", "", "0"});
  EXPECT_EQ(leading_record(stored), run);
  EXPECT_EQ(run_of_packed(leading_record(stored)).id, "r1");
  EXPECT_THROW((void)unpack(stored), BrokerError);  // one record, not two
  EXPECT_THROW((void)leading_record(run.substr(0, run.size() - 1)), BrokerError);
}

TEST(BrokerCodec, ARunOfAnotherFieldCountIsRefusedNamingBoth) {
  auto values = run_values("r1", "");
  values.pop_back();
  EXPECT_THAT(message_of(packed(values)),
              testing::HasSubstr("16 fields, not " + std::to_string(packed_run_fields.size())));
  values = run_values("r1", "");
  values[4] = "exploded";
  EXPECT_THAT(message_of(packed(values)), testing::HasSubstr("malformed state 'exploded'"));
}

TEST(BrokerCodec, AGivenRunCarriesWhatTheCallerSetsAndLeavesTheRestToTheScripts) {
  TaskRun run;
  run.id = "r9";
  run.task = "send_email";
  run.priority = TaskPriority::low;
  run.params = {{"to", "a@b.c"}};
  run.retry_attempt = 2;
  run.root_run_id = "r1";
  run.manager_id = "producer-1";
  run.state = TaskState::success;  // not the caller's to set
  run.deliveries = 4;
  const auto record = packed_given_run(run);
  const auto values = unpack(record);
  ASSERT_EQ(values.size(), packed_run_fields.size());
  EXPECT_EQ(values[index_of("id")], "r9");
  EXPECT_EQ(values[index_of("task")], "send_email");
  EXPECT_EQ(values[index_of("priority")], "low");
  EXPECT_EQ(values[index_of("params")], R"({"to":"a@b.c"})");
  EXPECT_EQ(values[index_of("retry_attempt")], "2");
  EXPECT_EQ(values[index_of("rate_limit_attempt")], "0");
  EXPECT_EQ(values[index_of("root_run_id")], "r1");
  EXPECT_EQ(values[index_of("manager_id")], "producer-1");
  for (const auto field : {"state", "queued", "start", "end", "deliveries", "error", "requeued", "execute_after"}) {
    EXPECT_EQ(values[index_of(field)], "") << field;
  }
}

}  // namespace
