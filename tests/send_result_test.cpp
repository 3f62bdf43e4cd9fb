// SendResult: what try_send() came to.

#include <fluid/send_result.hpp>

#include <gtest/gtest.h>

using fluid::SendResult;

TEST(SendResult, OnlyAnAcceptedMessageTestsTrue) {
  EXPECT_TRUE(static_cast<bool>(SendResult(SendResult::accepted)));
  EXPECT_FALSE(static_cast<bool>(SendResult(SendResult::closed)));
  EXPECT_FALSE(static_cast<bool>(SendResult(SendResult::full)));
}

TEST(SendResult, ComparesWithItsKindsAndSwitchesOnThem) {
  const SendResult result = SendResult::full;
  EXPECT_EQ(result, SendResult::full);
  EXPECT_NE(result, SendResult::closed);
  EXPECT_EQ(result.kind(), SendResult::full);
}

TEST(SendResult, NamesEachOutcome) {
  EXPECT_EQ(fluid::to_string(SendResult::accepted), "accepted");
  EXPECT_EQ(fluid::to_string(SendResult::closed), "closed");
  EXPECT_EQ(fluid::to_string(SendResult::full), "full");
}
