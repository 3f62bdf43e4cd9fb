#include <fluid/errors.hpp>
#include <fluid/event.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using fluid::Event;

/// The message of the FluidError that parsing `text` throws ("" if none).
std::string parse_error(const std::string& text) {
  try {
    (void)Event::from_string(text);
  } catch (const fluid::FluidError& e) {
    return e.what();
  }
  return "";
}

TEST(Event, ParsesATypeAloneWithAnEmptyTag) {
  EXPECT_EQ(Event::from_string("order"), (Event{"order", ""}));
}

TEST(Event, ParsesTypeAndTagAroundTheDot) {
  EXPECT_EQ(Event::from_string("order.audit"), (Event{"order", "audit"}));
}

TEST(Event, AcceptsTheStarTypeOfCatchAllDispatchers) {
  EXPECT_EQ(Event::from_string("*.count_letters"), (Event{"*", "count_letters"}));
}

TEST(Event, RejectsAnEmptyString) {
  EXPECT_THROW((void)Event::from_string(""), fluid::FluidError);
}

TEST(Event, RejectsAnEmptyTypeBeforeATag) {
  EXPECT_NE(parse_error(".audit").find("\".audit\""), std::string::npos) << parse_error(".audit");
}

TEST(Event, RejectsMoreThanOneDotQuotingTheInput) {
  const auto message = parse_error("order.audit.extra");
  EXPECT_NE(message.find("\"order.audit.extra\""), std::string::npos) << message;
  EXPECT_NE(message.find("more than one '.'"), std::string::npos) << message;
}

TEST(Event, RejectsAnEmptyTagAfterTheDotQuotingTheInput) {
  const auto message = parse_error("order.");
  EXPECT_NE(message.find("\"order.\""), std::string::npos) << message;
  EXPECT_NE(message.find("tag"), std::string::npos) << message;
}

TEST(Event, PrintsTheStringItWasParsedFrom) {
  EXPECT_EQ(Event::from_string("order").to_string(), "order");
  EXPECT_EQ(Event::from_string("order.audit").to_string(), "order.audit");
}

}  // namespace
