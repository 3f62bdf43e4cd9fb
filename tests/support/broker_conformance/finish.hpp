#pragma once
// Conformance: finish: how an attempt ends (final, retried in the broker,
// released back to its place), fencing, and repeating a finish.

namespace fluid::test {

TEST_P(BrokerConformance, SuccessIsFinal) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    const auto changes = co_await broker->finish(lease, outcome(TaskState::success));
    const auto& done = only(changes);
    EXPECT_EQ(done.state, TaskState::success);
    EXPECT_TRUE(done.is_final());
    EXPECT_TRUE(done.end && *done.end >= *run.start);
    EXPECT_EQ(done.start, run.start);
    EXPECT_EQ(done.error, "");
    const auto stored = present(co_await broker->get_run("r1"));
    EXPECT_EQ(nlohmann::json(stored), nlohmann::json(done));
  });
}

TEST_P(BrokerConformance, FailureAbortAndInterruptionWithoutRequeueAreFinalWithTheirError) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await enqueue_each(*broker, names("failed", "aborted", "interrupted"));
    const auto endings = list_of<TaskState>(TaskState::failure, TaskState::aborted, TaskState::interrupted);
    for (const auto state : endings) {
      const auto [run, lease] = co_await claim_one(*broker, "a");
      const auto changes = co_await broker->finish(lease, outcome(state, "because " + run.id));
      const auto& done = only(changes);
      EXPECT_EQ(done.state, state);
      EXPECT_EQ(done.error, "because " + run.id);
      EXPECT_TRUE(done.is_final());
    }
  });
}

TEST_P(BrokerConformance, FailureWithRetryInIsRequeuedThenQueuedAgainInTheBroker) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    std::string cursor = co_await feed_now(*broker);
    const auto changes = co_await broker->finish(lease, retry_after(60s, "flaky"));
    EXPECT_EQ(states_of(changes), list_of<TaskState>(TaskState::failure, TaskState::queued));
    if (changes.size() != 2) co_return;
    const auto& failed = changes[0];
    const auto& retried = changes[1];
    EXPECT_TRUE(failed.requeued);
    EXPECT_EQ(failed.error, "flaky");
    EXPECT_EQ(failed.retry_attempt, 0u);
    EXPECT_FALSE(failed.is_final());
    EXPECT_FALSE(retried.requeued);
    EXPECT_EQ(retried.retry_attempt, 1u);
    EXPECT_EQ(retried.deliveries, 0u);
    EXPECT_EQ(retried.error, "");
    EXPECT_FALSE(retried.start || retried.end);
    EXPECT_TRUE(retried.queued && *retried.queued >= *failed.end);
    EXPECT_TRUE(retried.execute_after && *retried.execute_after >= *failed.end + 60s);
    const auto events = co_await drain_events(*broker, cursor);
    EXPECT_EQ(describe(events), names("failure+requeued:r1", "queued:r1"));
    const auto not_yet = co_await broker->claim(claim_of(names("a")));
    EXPECT_TRUE(not_yet.claimed.empty());
    EXPECT_EQ(not_yet.next_due, retried.execute_after);
  });
}

TEST_P(BrokerConformance, RetryIsClaimedAtItsDelayWithItsAttemptCounted) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    const auto changes = co_await broker->finish(lease, retry_after(300ms));
    const auto [retry, retry_lease] = co_await claim_one(*broker, "a");  // waits for the due time
    EXPECT_EQ(retry.retry_attempt, 1u);
    EXPECT_EQ(retry.deliveries, 1u);
    EXPECT_TRUE(retry.start && *retry.start >= *changes.back().execute_after);
    EXPECT_GT(retry_lease.token, lease.token);
  });
}

TEST_P(BrokerConformance, ReleaseGoesBackToItsPlaceWithTheDeliveryRefunded) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await enqueue_each(*broker, names("r1", "r2"));
    const auto [run, lease] = co_await claim_one(*broker, "a");
    const auto changes = co_await broker->finish(lease, released());
    EXPECT_EQ(states_of(changes), list_of<TaskState>(TaskState::interrupted, TaskState::queued));
    if (changes.size() != 2) co_return;
    EXPECT_TRUE(changes[0].requeued);
    EXPECT_EQ(changes[0].error, "consumer stopping");
    EXPECT_EQ(changes[1].deliveries, 0u);
    EXPECT_FALSE(changes[1].execute_after.has_value());
    const auto again = co_await broker->claim(claim_of(names("a"), 2));
    EXPECT_EQ(ids_of(again.claimed), names("r1", "r2"));
    EXPECT_EQ(again.claimed.front().first.deliveries, 1u);
  });
}

TEST_P(BrokerConformance, FinishRepeatedWithTheSameLeaseAndOutcomeReturnsTheSameRuns) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    const auto first = co_await broker->finish(lease, retry_after(60s));
    std::string cursor = co_await feed_now(*broker);
    const auto repeated = co_await broker->finish(lease, retry_after(60s));  // after a lost reply
    EXPECT_EQ(nlohmann::json(repeated), nlohmann::json(first));
    const auto events = co_await drain_events(*broker, cursor);
    EXPECT_TRUE(events.empty());
    const auto stored = present(co_await broker->get_run("r1"));
    EXPECT_EQ(stored.retry_attempt, 1u);
    co_await thrown_message_of<LeaseLostError>(broker->finish(lease, outcome(TaskState::success)));
  });
}

TEST_P(BrokerConformance, FinishWithAStaleTokenThrowsLeaseLostErrorAndChangesNothing) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    Lease stale = lease;
    stale.token = lease.token + 1;
    Lease unknown = lease;
    unknown.run_id = "never-queued";
    std::string cursor = co_await feed_now(*broker);
    co_await thrown_message_of<LeaseLostError>(broker->finish(stale, outcome(TaskState::success)));
    co_await thrown_message_of<LeaseLostError>(broker->finish(unknown, outcome(TaskState::success)));
    const auto stored = present(co_await broker->get_run("r1"));
    EXPECT_EQ(stored.state, TaskState::running);
    const auto events = co_await drain_events(*broker, cursor);
    EXPECT_TRUE(events.empty());
  });
}

TEST_P(BrokerConformance, FinishRejectsAnOutcomeThatEndsNoAttempt) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    co_await thrown_message_of<FluidError>(broker->finish(lease, outcome(TaskState::queued)));
    co_await thrown_message_of<FluidError>(broker->finish(lease, outcome(TaskState::rate_limited)));
    Outcome retried_success = outcome(TaskState::success);
    retried_success.retry_in = 1s;
    co_await thrown_message_of<FluidError>(broker->finish(lease, retried_success));
    const auto stored = present(co_await broker->get_run("r1"));
    EXPECT_EQ(stored.state, TaskState::running);
    const auto changes = co_await broker->finish(lease, outcome(TaskState::success));  // the lease still holds
    EXPECT_EQ(states_of(changes), list_of<TaskState>(TaskState::success));
  });
}

TEST_P(BrokerConformance, AnAbortRequestedWinsOverARelease) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    co_await broker->request_abort("r1", "stop it", "admin");
    const auto changes = co_await broker->finish(lease, released());
    const auto& done = only(changes);
    EXPECT_EQ(done.state, TaskState::aborted);
    EXPECT_EQ(done.error, "stop it");
    EXPECT_TRUE(done.is_final());
  });
}

TEST_P(BrokerConformance, AnAbortRequestedPreventsARetry) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    co_await broker->request_abort("r1", "stop it", "admin");
    const auto changes = co_await broker->finish(lease, retry_after(1ms, "failed anyway"));
    const auto& done = only(changes);
    EXPECT_EQ(done.state, TaskState::failure);
    EXPECT_TRUE(done.is_final());
  });
}

}  // namespace fluid::test
