// Group commit: calls made while a batch is on the wire go together as the
// next one, each gets its own answer, and neither an error nor a cancelled
// leader strands the others.

#include "brokers/redis/script_batch.hpp"

#include "support/thrown.hpp"

#include "fluid/tasks/errors.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <stdexcept>

namespace asio = boost::asio;
using fluid::Task;
using fluid::detail::Notifier;
using fluid::redis::Reply;
using fluid::redis::ScriptBatch;
using testing::ElementsAre;

namespace {

Reply text(std::string value) { return Reply{.type = Reply::Type::string, .text = std::move(value)}; }

/// A server the test answers by hand: each batch waits until released.
/// Requests are one argument each, so a batch's size is its argument count.
struct HeldServer {
  std::vector<std::vector<std::string>> batches;
  std::size_t released = 0;
  Notifier changed;
  std::deque<std::exception_ptr> failures;  // the next batches' errors, in order (null: none)
  bool wrong_size = false;

  ScriptBatch::Send send() {
    return [this](std::vector<std::string> args) { return answer(std::move(args)); };
  }
  Task<Reply> answer(std::vector<std::string> args) {
    const auto index = batches.size();
    batches.push_back(args);
    changed.notify_all();
    co_await changed.wait_until([&] { return released > index; });
    if (!failures.empty()) {
      auto failure = failures.front();
      failures.pop_front();
      if (failure) std::rethrow_exception(failure);
    }
    Reply reply{.type = Reply::Type::array};
    for (auto& arg : args) reply.elements.push_back(text("answer to " + arg));
    if (wrong_size) reply.elements.pop_back();
    co_return reply;
  }
  void release_one() {
    ++released;
    changed.notify_all();
  }
};

Task<std::string> call_with(ScriptBatch& batch, std::string arg) {
  std::vector<std::string> args{std::move(arg)};
  const auto reply = co_await batch.call(std::move(args));
  co_return reply.as_string();
}

/// A call started now whose outcome the test reads once the loop is idle.
struct Call {
  asio::cancellation_signal cancel;
  bool done = false;
  std::string answer;
  std::exception_ptr error;

  void start(asio::io_context& io, ScriptBatch& batch, std::string arg) {
    asio::co_spawn(io, call_with(batch, std::move(arg)),
                   asio::bind_cancellation_slot(cancel.slot(), [this](std::exception_ptr e, std::string a) {
                     error = e;
                     answer = std::move(a);
                     done = true;
                   }));
  }
  std::string error_text() const { return fluid::test::message_of(error); }
};

class ScriptBatchTest : public testing::Test {
 protected:
  void settle() {
    io.restart();
    io.poll();
  }

  asio::io_context io;
  HeldServer server;
};

TEST_F(ScriptBatchTest, ACallAloneGoesAtOnceAndCallsMadeMeanwhileGoTogetherNext) {
  ScriptBatch batch(server.send());
  Call calls[4];
  calls[0].start(io, batch, "a");
  settle();
  ASSERT_EQ(server.batches.size(), 1u);  // sent without waiting for company
  for (int i = 1; i < 4; ++i) calls[i].start(io, batch, std::string(1, static_cast<char>('a' + i)));
  settle();
  EXPECT_EQ(server.batches.size(), 1u);  // the others wait for the first to come back
  server.release_one();
  settle();
  ASSERT_EQ(server.batches.size(), 2u);
  EXPECT_THAT(server.batches[1], ElementsAre("b", "c", "d"));
  server.release_one();
  settle();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(calls[i].done) << i;
    EXPECT_EQ(calls[i].answer, "answer to " + std::string(1, static_cast<char>('a' + i))) << calls[i].error_text();
  }
}

/// Calls with `arg`, then again with `arg` + "2" once the first answer came.
Task<> call_twice(ScriptBatch& batch, std::string arg, std::vector<std::string>& answers) {
  answers.push_back(co_await call_with(batch, arg));
  answers.push_back(co_await call_with(batch, arg + "2"));
}

// Callers a batch's answer resumes call again before the loop moves on; the
// first of them must not leave alone with the rest following it.
TEST_F(ScriptBatchTest, CallsMadeInOneTurnOfTheLoopGoTogether) {
  ScriptBatch batch(server.send());
  std::vector<std::string> answers;
  for (const auto* arg : {"a", "b", "c"}) asio::co_spawn(io, call_twice(batch, arg, answers), asio::detached);
  settle();
  ASSERT_EQ(server.batches.size(), 1u);
  EXPECT_THAT(server.batches[0], ElementsAre("a", "b", "c"));
  server.release_one();
  settle();
  ASSERT_EQ(server.batches.size(), 2u);
  EXPECT_THAT(server.batches[1], testing::UnorderedElementsAre("a2", "b2", "c2"));
  server.release_one();
  settle();
  EXPECT_EQ(answers.size(), 6u);
}

TEST_F(ScriptBatchTest, ABatchHoldsAtMostMaxBatchRequestsAndTheRestFollow) {
  ScriptBatch batch(server.send(), 2);
  Call calls[5];
  calls[0].start(io, batch, "0");
  settle();
  for (int i = 1; i < 5; ++i) calls[i].start(io, batch, std::to_string(i));
  for (int round = 0; round < 3; ++round) {
    server.release_one();
    settle();
  }
  ASSERT_EQ(server.batches.size(), 3u);
  EXPECT_THAT(server.batches[1], ElementsAre("1", "2"));
  EXPECT_THAT(server.batches[2], ElementsAre("3", "4"));
  for (auto& call : calls) EXPECT_TRUE(call.done && !call.error) << call.error_text();
}

TEST_F(ScriptBatchTest, AFailedBatchFailsEachOfItsCallsAndTheNextBatchStillGoes) {
  ScriptBatch batch(server.send());
  Call first, second[2], third;
  first.start(io, batch, "first");
  settle();
  second[0].start(io, batch, "x");
  second[1].start(io, batch, "y");
  server.failures.push_back(nullptr);  // the first batch answers
  server.failures.push_back(std::make_exception_ptr(fluid::BrokerUnavailableError("connection lost")));
  server.release_one();
  settle();
  third.start(io, batch, "z");  // queued behind the failing batch
  server.release_one();
  settle();
  server.release_one();
  settle();
  EXPECT_EQ(first.answer, "answer to first");
  for (auto& call : second) EXPECT_EQ(call.error_text(), "connection lost");
  EXPECT_EQ(third.answer, "answer to z") << third.error_text();
}

TEST_F(ScriptBatchTest, AnAnswerOfTheWrongSizeIsABrokerErrorForTheWholeBatch) {
  ScriptBatch batch(server.send());
  server.wrong_size = true;
  Call calls[2];
  calls[0].start(io, batch, "a");
  settle();
  server.release_one();
  settle();
  EXPECT_THAT(calls[0].error_text(), testing::HasSubstr("a batch of 1 requests answered with [0 elements]"));
}

TEST_F(ScriptBatchTest, CallsCancelledWhileTheirBatchIsOnTheWireNeverSendItAgain) {
  ScriptBatch batch(server.send());
  Call first, p, q, r;
  first.start(io, batch, "first");
  settle();
  p.start(io, batch, "p");
  q.start(io, batch, "q");
  settle();
  server.release_one();  // p and q go next, sent by whichever woke first
  settle();
  ASSERT_EQ(server.batches.size(), 2u);
  EXPECT_THAT(server.batches[1], ElementsAre("p", "q"));
  r.start(io, batch, "r");
  settle();
  // Whoever sends {p, q} waits for its answer; the other stops waiting.
  p.cancel.emit(asio::cancellation_type::terminal);
  q.cancel.emit(asio::cancellation_type::terminal);
  settle();
  EXPECT_EQ(server.batches.size(), 2u);
  EXPECT_NE(p.done, q.done);
  server.release_one();
  settle();
  ASSERT_TRUE(p.done && q.done);
  EXPECT_NE(p.answer.empty(), q.answer.empty());  // the sender has its answer, the other its cancellation
  ASSERT_EQ(server.batches.size(), 3u);
  EXPECT_THAT(server.batches[2], ElementsAre("r"));  // nothing of {p, q} went again
  server.release_one();
  settle();
  EXPECT_EQ(r.answer, "answer to r") << r.error_text();
  EXPECT_EQ(first.answer, "answer to first");
}

TEST_F(ScriptBatchTest, ACallCancelledBeforeItsBatchLeftIsNeverSent) {
  ScriptBatch batch(server.send());
  Call first, dropped, kept;
  first.start(io, batch, "first");
  settle();
  dropped.start(io, batch, "dropped");
  kept.start(io, batch, "kept");
  settle();
  dropped.cancel.emit(asio::cancellation_type::terminal);
  settle();
  EXPECT_TRUE(dropped.done && dropped.error);
  server.release_one();
  settle();
  server.release_one();
  settle();
  ASSERT_EQ(server.batches.size(), 2u);
  EXPECT_THAT(server.batches[1], ElementsAre("kept"));
  EXPECT_EQ(kept.answer, "answer to kept");
}

TEST_F(ScriptBatchTest, ALeaderWhoseLoopIsDestroyedOnTheWireLeavesNoCallerWaiting) {
  ScriptBatch batch(server.send());
  Call follower;
  {
    asio::io_context doomed;
    Call leader;
    leader.start(doomed, batch, "lead");
    doomed.poll();
    ASSERT_EQ(server.batches.size(), 1u);
    follower.start(io, batch, "follow");
    settle();
  }  // the leader's frame goes with its loop, its batch unanswered
  settle();
  ASSERT_EQ(server.batches.size(), 2u);
  EXPECT_THAT(server.batches[1], ElementsAre("follow"));
  server.release_one();
  server.release_one();
  settle();
  EXPECT_EQ(follower.answer, "answer to follow") << follower.error_text();
}


// A caller cancelled during the loop turn it waits before leading must not
// take the batch and drop it: the other callers would wait for ever.
TEST_F(ScriptBatchTest, ACallCancelledInItsTurnBeforeLeadingStrandsNoOtherCall) {
  ScriptBatch batch(server.send());
  Call cancelled, other;
  cancelled.start(io, batch, "cancelled");
  other.start(io, batch, "other");
  asio::co_spawn(io, [&]() -> Task<> {
    cancelled.cancel.emit(asio::cancellation_type::terminal);
    co_return;
  }, asio::detached);
  settle();
  EXPECT_TRUE(cancelled.done && cancelled.error);
  server.release_one();
  settle();
  ASSERT_TRUE(other.done);
  EXPECT_EQ(other.answer, "answer to other") << other.error_text();
  ASSERT_EQ(server.batches.size(), 1u);
  EXPECT_THAT(server.batches[0], ElementsAre("other"));
}

// A caller already cancelled when it calls is never sent.
TEST_F(ScriptBatchTest, ACallMadeAlreadyCancelledIsNeverSent) {
  ScriptBatch batch(server.send());
  Call cancelled, other;
  cancelled.start(io, batch, "cancelled");
  cancelled.cancel.emit(asio::cancellation_type::terminal);
  other.start(io, batch, "other");
  settle();
  EXPECT_TRUE(cancelled.done && cancelled.error);
  server.release_one();
  settle();
  EXPECT_EQ(other.answer, "answer to other") << other.error_text();
  ASSERT_EQ(server.batches.size(), 1u);
  EXPECT_THAT(server.batches[0], ElementsAre("other"));
}

// A caller waiting its turn whose loop is destroyed after the batch object
// (a broker destroyed before its loop) must not touch the object.
TEST_F(ScriptBatchTest, ACallerInItsTurnOutlivingTheBatchObjectIsDestroyedSafely) {
  auto doomed = std::make_unique<asio::io_context>();
  auto batch = std::make_unique<ScriptBatch>(server.send());
  Call caller;
  caller.start(*doomed, *batch, "late");
  doomed->run_one();  // the call, up to its turn
  ASSERT_TRUE(server.batches.empty());
  batch.reset();
  doomed.reset();  // the caller's frame goes now, its ~Unqueued with it
  EXPECT_FALSE(caller.done);
}
}  // namespace
