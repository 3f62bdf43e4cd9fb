// RESP2 through hiredis: commands encoded binary safe, replies decoded into
// fluid's Reply whatever pieces they arrive in.

#include "brokers/redis/codec.hpp"
#include "brokers/redis/errors.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace std::string_literals;
using fluid::redis::encode_command;
using fluid::redis::Reply;
using fluid::redis::ReplyDecoder;

namespace {

std::vector<Reply> decode_all(ReplyDecoder& decoder) {
  std::vector<Reply> replies;
  for (;;) {
    auto reply = decoder.next();
    if (!reply) return replies;
    replies.push_back(std::move(*reply));
  }
}

Reply text(Reply::Type type, std::string value) { return Reply{.type = type, .text = std::move(value)}; }

}  // namespace

TEST(RedisCodec, EncodesCommandsAsRespArrays) {
  EXPECT_EQ(encode_command({"SET", "k", "v"}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  EXPECT_EQ(encode_command({"PING"}), "*1\r\n$4\r\nPING\r\n");
}

TEST(RedisCodec, EncodingIsBinarySafe) {
  const std::string value("a\0b\r\nc\xff", 7);
  EXPECT_EQ(encode_command({"SET", value}), std::string("*2\r\n$3\r\nSET\r\n$7\r\n") + value + "\r\n");
  EXPECT_EQ(encode_command({"SET", ""}), "*2\r\n$3\r\nSET\r\n$0\r\n\r\n");
}

TEST(RedisCodec, DecodesEveryReplyType) {
  ReplyDecoder decoder;
  const auto stream = "+OK\r\n-ERR wrong\r\n:42\r\n$5\r\nhe\0lo\r\n$-1\r\n*-1\r\n*0\r\n"s;
  decoder.feed(stream.data(), stream.size());
  const auto replies = decode_all(decoder);
  ASSERT_EQ(replies.size(), 7u);
  EXPECT_EQ(replies[0], text(Reply::Type::status, "OK"));
  EXPECT_EQ(replies[1], text(Reply::Type::error, "ERR wrong"));
  EXPECT_TRUE(replies[1].is_error());
  EXPECT_EQ(replies[2].as_integer(), 42);
  EXPECT_EQ(replies[3], text(Reply::Type::string, std::string("he\0lo", 5)));
  EXPECT_TRUE(replies[4].is_nil());
  EXPECT_TRUE(replies[5].is_nil());
  EXPECT_EQ(replies[6].type, Reply::Type::array);
  EXPECT_TRUE(replies[6].elements.empty());
}

TEST(RedisCodec, DecodesNestedArraysIntoTheirParents) {
  ReplyDecoder decoder;
  const std::string stream = "*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n-ERR inner\r\n";
  decoder.feed(stream.data(), stream.size());
  const auto reply = decoder.next();
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->as_array().size(), 3u);
  EXPECT_EQ(reply->elements[0].as_integer(), 1);
  ASSERT_EQ(reply->elements[1].as_array().size(), 2u);
  EXPECT_EQ(reply->elements[1].elements[0].as_string(), "a");
  EXPECT_TRUE(reply->elements[1].elements[1].is_nil());
  EXPECT_TRUE(reply->elements[2].is_error());
  EXPECT_FALSE(decoder.next());
}

TEST(RedisCodec, AReplySplitAnywhereIsDecodedOnceComplete) {
  const std::string stream = "*2\r\n$11\r\nhello world\r\n:7\r\n+PONG\r\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    ReplyDecoder decoder;
    decoder.feed(stream.data(), cut);
    auto replies = decode_all(decoder);
    decoder.feed(stream.data() + cut, stream.size() - cut);
    for (auto& reply : decode_all(decoder)) replies.push_back(std::move(reply));
    ASSERT_EQ(replies.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(replies[0].elements.at(0).as_string(), "hello world");
    EXPECT_EQ(replies[1], text(Reply::Type::status, "PONG"));
  }
}

TEST(RedisCodec, AProtocolErrorIsABrokerErrorAndStaysOne) {
  ReplyDecoder decoder;
  const std::string garbage = "?what\r\n";
  decoder.feed(garbage.data(), garbage.size());
  EXPECT_THROW(
      {
        try {
          (void)decoder.next();
        } catch (const fluid::BrokerError& e) {
          EXPECT_THAT(e.what(), testing::HasSubstr("Redis protocol error"));
          throw;
        }
      },
      fluid::BrokerError);
  const std::string good = "+OK\r\n";
  EXPECT_THROW(decoder.feed(good.data(), good.size()), fluid::BrokerError);
}

TEST(RedisCodec, RepliesOfTheWrongTypeAreNamedInTheError) {
  const Reply nil;
  EXPECT_THAT([&] { (void)nil.as_string(); }, testing::ThrowsMessage<fluid::BrokerError>(testing::HasSubstr("nil")));
  const Reply array{.type = Reply::Type::array, .elements = std::vector<Reply>(3)};
  EXPECT_EQ(array.describe(), "[3 elements]");
  const Reply status{.type = Reply::Type::status, .text = "OK"};
  EXPECT_EQ(status.describe(), "+OK");
  const Reply long_text{.type = Reply::Type::string, .text = std::string(100, 'a')};
  EXPECT_EQ(long_text.describe(), "\"" + std::string(60, 'a') + "...\"");
}
