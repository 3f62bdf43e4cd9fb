#pragma once
// Conformance: enqueue (idempotent by id, delayed runs), get_run and the
// retention of final runs.

namespace fluid::test {

TEST_P(BrokerConformance, EnqueueStoresTheRunQueuedOnTheBrokersClock) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const TimePoint before = co_await broker->now();
    TaskRun given = make_run_with_id("a", "r1");
    given.error = "left over";
    given.retry_attempt = 2;
    given.from_run_id = "parent";
    const auto [run, created] = co_await broker->enqueue(given, 0ms);
    const TimePoint after = co_await broker->now();
    EXPECT_TRUE(created);
    EXPECT_EQ(run.state, TaskState::queued);
    EXPECT_TRUE(run.queued && before <= *run.queued && *run.queued <= after);
    EXPECT_FALSE(run.start || run.end || run.execute_after);
    EXPECT_EQ(run.error, "");
    EXPECT_EQ(run.retry_attempt, 2u);
    EXPECT_EQ(run.from_run_id, "parent");
    EXPECT_EQ(run.params, given.params);
    const auto stored = present(co_await broker->get_run("r1"));
    EXPECT_EQ(nlohmann::json(stored), nlohmann::json(run));
  });
}

TEST_P(BrokerConformance, GetRunOfAnUnknownIdIsNothing) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const auto none = co_await broker->get_run("never-queued");
    EXPECT_FALSE(none.has_value());
  });
}

TEST_P(BrokerConformance, EnqueueWithoutAnIdThrowsFluidError) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await thrown_message_of<FluidError>(broker->enqueue(make_run_with_id("a", ""), 0ms));
  });
}

TEST_P(BrokerConformance, EnqueueOfAKnownIdReturnsTheRunAsItIsAndQueuesNothing) {
  run([&]() -> Task<> {
    auto producer = co_await open_broker();
    auto consumer = co_await open_broker();
    co_await producer->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [claimed, lease] = co_await claim_one(*consumer, "a");
    const auto [again, created] = co_await producer->enqueue(make_run_with_id("a", "r1"), 0ms);  // a retry
    EXPECT_FALSE(created);
    EXPECT_EQ(again.state, TaskState::running);
    EXPECT_EQ(again.start, claimed.start);
    const auto nothing = co_await consumer->claim(claim_of(names("a")));
    EXPECT_TRUE(nothing.claimed.empty());
  });
}

TEST_P(BrokerConformance, EnqueueOfAFinalRunStillRetainedQueuesNothing) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    co_await broker->finish(lease, outcome(TaskState::success));
    const auto [again, created] = co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    EXPECT_FALSE(created);
    EXPECT_EQ(again.state, TaskState::success);
    const auto lengths = co_await broker->queue_length(all_priorities());
    EXPECT_EQ(lengths.at(TaskPriority::medium), 0u);
  });
}

TEST_P(BrokerConformance, DelayedRunIsQueuedVisibleAndNotClaimable) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const TimePoint before = co_await broker->now();
    const auto [run, created] = co_await broker->enqueue(make_run_with_id("a", "r1"), 60s);
    EXPECT_EQ(run.state, TaskState::queued);
    EXPECT_TRUE(run.execute_after && *run.execute_after >= before + 60s);
    const auto result = co_await broker->claim(claim_of(names("a")));
    EXPECT_TRUE(result.claimed.empty());
    EXPECT_EQ(result.next_due, run.execute_after);
    const auto lengths = co_await broker->queue_length(all_priorities());
    EXPECT_EQ(lengths.at(TaskPriority::medium), 0u);
    const auto stored = present(co_await broker->get_run("r1"));
    EXPECT_EQ(stored.state, TaskState::queued);
  });
}

TEST_P(BrokerConformance, DelayedRunIsClaimedFromItsExecuteAfterOn) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const auto [run, created] = co_await broker->enqueue(make_run_with_id("a", "r1"), 300ms);
    const auto [claimed, lease] = co_await claim_one(*broker, "a");  // waits for the due time, event driven
    EXPECT_EQ(claimed.id, "r1");
    EXPECT_TRUE(claimed.start && *claimed.start >= *run.execute_after);
  });
}

TEST_P(BrokerConformance, ExecuteAfterCarriedByTheRunIsKept) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    TaskRun given = make_run_with_id("a", "r1");
    given.execute_after = co_await broker->now() + 60s;
    const auto [run, created] = co_await broker->enqueue(given, 0ms);
    EXPECT_EQ(run.execute_after, given.execute_after);
    const auto result = co_await broker->claim(claim_of(names("a")));
    EXPECT_TRUE(result.claimed.empty());
  });
}

TEST_P(BrokerConformance, ExecuteAfterInThePastIsClaimableAtOnce) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    TaskRun given = make_run_with_id("a", "r1");
    given.execute_after = co_await broker->now() - 1s;
    co_await broker->enqueue(given, 0ms);
    const auto result = co_await broker->claim(claim_of(names("a")));
    EXPECT_EQ(ids_of(result.claimed), names("r1"));
  });
}

TEST_P(BrokerConformance, FinalRunsDisappearAfterTheRetentionAndTheirIdsCanBeReused) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker("retention=0.2");
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    co_await broker->enqueue(make_run_with_id("a", "live"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, claim_of(names("a")));
    const auto finished = co_await broker->finish(lease, outcome(TaskState::success));
    const auto retained = co_await broker->get_run("r1");
    EXPECT_TRUE(retained.has_value());
    co_await wait_past(*broker, *finished.back().end + 200ms);
    const auto forgotten = co_await broker->get_run("r1");
    EXPECT_FALSE(forgotten.has_value());
    const auto live = co_await broker->get_run("live");  // not final: kept however old
    EXPECT_TRUE(live.has_value());
    const auto [again, created] = co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    EXPECT_TRUE(created);
    EXPECT_EQ(again.state, TaskState::queued);
  });
}

}  // namespace fluid::test
