#pragma once
// Conformance: what a claim does with a run it may not lease: a disabled
// task's, or one met at its task's max_concurrency (rate-limit retry or
// rate_limited).

namespace fluid::test {

namespace conformance {

/// What a slot-holding run and the run met at the limit of 1 leave: the
/// holder's lease and the claim that met r2 there.
struct AtTheLimit {
  Lease holder;
  ClaimResult met;
};

/// Task "a" limited to 1 with `policy`: r1 claimed and held, r2 met at the limit.
inline Task<AtTheLimit> meet_the_limit(TaskBroker& broker, RetryPolicy policy) {
  co_await broker.register_tasks(registrations(registration("a", 1, std::move(policy))));
  co_await broker.enqueue(make_run_with_id("a", "r1"), 0ms);
  const auto [held, lease] = co_await claim_one(broker, "a");
  co_await broker.enqueue(make_run_with_id("a", "r2"), 0ms);
  AtTheLimit result;
  result.holder = lease;
  result.met = co_await broker.claim(claim_of(names("a")));
  co_return result;
}

}  // namespace conformance

TEST_P(BrokerConformance, DisabledTaskRunIsAcceptedThenAbortedWhenClaimed) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->register_tasks(registrations(registration("a"), registration("b")));
    co_await broker->set_enabled("a", false);
    const auto [accepted, created] = co_await broker->enqueue(make_run_with_id("a", "a1"), 0ms);
    EXPECT_EQ(accepted.state, TaskState::queued);
    std::string cursor = co_await feed_now(*broker);
    co_await broker->enqueue(make_run_with_id("b", "b1"), 0ms);
    ClaimRequest request = claim_of(names("a", "b"));
    request.manager_id = "consumer-2";
    const auto result = co_await broker->claim(request);
    EXPECT_EQ(ids_of(result.claimed), names("b1"));
    const auto& settled = only(result.settled);
    EXPECT_EQ(settled.id, "a1");
    EXPECT_EQ(settled.state, TaskState::aborted);
    EXPECT_EQ(settled.error, "task disabled");
    EXPECT_EQ(settled.manager_id, "consumer-2");
    EXPECT_FALSE(settled.start.has_value());
    EXPECT_TRUE(settled.end.has_value());
    EXPECT_TRUE(settled.is_final());
    const auto events = co_await drain_events(*broker, cursor);
    EXPECT_EQ(describe(events), names("queued:b1", "aborted:a1", "running:b1"));
    const auto info = only(co_await broker->tasks_info(names("a")));
    EXPECT_EQ(info.last_run_state, TaskState::aborted);
  });
}

// A claim reads a queue a window at a time: the runs it settled from one
// window are gone from the next, each settled once.
TEST_P(BrokerConformance, AClaimReachesPastMoreDisabledRunsThanItMayClaim) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->register_tasks(registrations(registration("a"), registration("b")));
    co_await broker->set_enabled("a", false);
    for (const auto* id : {"a1", "a2", "a3", "a4", "a5"}) co_await broker->enqueue(make_run_with_id("a", id), 0ms);
    co_await broker->enqueue(make_run_with_id("b", "b1"), 0ms);
    co_await broker->enqueue(make_run_with_id("b", "b2"), 0ms);
    std::string cursor = co_await feed_now(*broker);
    const auto result = co_await broker->claim(claim_of(names("a", "b"), 2));
    EXPECT_EQ(ids_of(result.claimed), names("b1", "b2"));
    EXPECT_EQ(ids_of(result.settled), names("a1", "a2", "a3", "a4", "a5"));
    const auto events = co_await drain_events(*broker, cursor);
    EXPECT_EQ(describe(events),
              names("aborted:a1", "aborted:a2", "aborted:a3", "aborted:a4", "aborted:a5", "running:b1", "running:b2"));
    const auto again = co_await broker->claim(claim_of(names("a", "b"), 2));
    EXPECT_TRUE(again.claimed.empty());
    EXPECT_TRUE(again.settled.empty());
  });
}

TEST_P(BrokerConformance, MaxConcurrencyHoldsAcrossBrokerObjects) {
  run([&]() -> Task<> {
    auto one = co_await open_broker();
    auto other = co_await open_broker();
    co_await one->register_tasks(registrations(registration("a", 2)));
    co_await enqueue_each(*one, names("r1", "r2", "r3", "r4"));
    const auto first = co_await one->claim(claim_of(names("a")));
    EXPECT_EQ(ids_of(first.claimed), names("r1"));
    const auto second = co_await other->claim(claim_of(names("a"), 10));
    EXPECT_EQ(ids_of(second.claimed), names("r2"));
    EXPECT_EQ(ids_of(second.settled), names("r3", "r4"));
    EXPECT_EQ(states_of(second.settled), list_of<TaskState>(TaskState::rate_limited, TaskState::rate_limited));
    for (const auto& run : second.settled) {
      EXPECT_TRUE(run.is_final());
      EXPECT_FALSE(run.start.has_value());
    }
    const auto info = only(co_await one->tasks_info(names("a")));
    EXPECT_EQ(info.last_run_state, TaskState::rate_limited);
  });
}

TEST_P(BrokerConformance, FinishFreesTheConcurrencySlot) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->register_tasks(registrations(registration("a", 1)));
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    co_await broker->finish(lease, outcome(TaskState::success));
    co_await broker->enqueue(make_run_with_id("a", "r2"), 0ms);
    const auto result = co_await broker->claim(claim_of(names("a")));
    EXPECT_EQ(ids_of(result.claimed), names("r2"));
  });
}

TEST_P(BrokerConformance, RunAtTheLimitWithARateLimitRetryStaysQueuedDelayedWithoutAnEvent) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const TimePoint before = co_await broker->now();
    std::string cursor = co_await feed_now(*broker);
    const auto [lease, result] = co_await conformance::meet_the_limit(*broker, fixed_policy(2, 60s));
    EXPECT_TRUE(result.claimed.empty());
    const auto& retried = only(result.settled);
    EXPECT_EQ(retried.id, "r2");
    EXPECT_EQ(retried.state, TaskState::queued);
    EXPECT_EQ(retried.rate_limit_attempt, 1u);
    EXPECT_TRUE(retried.execute_after && *retried.execute_after >= before + 60s);
    const auto stored = present(co_await broker->get_run("r2"));
    EXPECT_EQ(stored.state, TaskState::queued);
    EXPECT_EQ(stored.rate_limit_attempt, 1u);
    const auto lengths = co_await broker->queue_length(all_priorities());
    EXPECT_EQ(lengths.at(TaskPriority::medium), 0u);
    const auto events = co_await drain_events(*broker, cursor);
    EXPECT_EQ(describe(events), names("queued:r1", "running:r1", "queued:r2"));  // none for the retry
  });
}

TEST_P(BrokerConformance, ADelayedRunMetAtTheLimitIsNextDueAtItsRetryNotItsFirstDelay) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->register_tasks(registrations(registration("a", 1, fixed_policy(2, 60s))));
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [held, lease] = co_await claim_one(*broker, "a");
    co_await broker->enqueue(make_run_with_id("a", "r2"), 50ms);
    const auto met = co_await broker->claim(waiting_claim_of(names("a")));  // r2 due, r1 holds the slot
    const auto& retried = only(met.settled);
    EXPECT_EQ(retried.rate_limit_attempt, 1u);
    EXPECT_EQ(met.next_due, retried.execute_after);
  });
}

TEST_P(BrokerConformance, RateLimitRetryIsDueAtItsDelayThenEndsRateLimitedWhenAttemptsRunOut) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const auto [lease, first] = co_await conformance::meet_the_limit(*broker, fixed_policy(1, 200ms));
    const auto& retried = only(first.settled);
    EXPECT_EQ(retried.state, TaskState::queued);
    const auto again = co_await broker->claim(waiting_claim_of(names("a")));  // r1 still holds the slot
    const auto& limited = only(again.settled);
    EXPECT_EQ(limited.id, "r2");
    EXPECT_EQ(limited.state, TaskState::rate_limited);
    EXPECT_EQ(limited.rate_limit_attempt, 1u);
    EXPECT_TRUE(limited.end && retried.execute_after && *limited.end >= *retried.execute_after);
  });
}

TEST_P(BrokerConformance, RateLimitRetriedRunIsClaimedOnceASlotIsFree) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const auto [lease, first] = co_await conformance::meet_the_limit(*broker, fixed_policy(5, 200ms));
    const auto& retried = only(first.settled);
    co_await broker->finish(lease, outcome(TaskState::success));
    const auto [run, second_lease] = co_await claim_one(*broker, "a");
    EXPECT_EQ(run.id, "r2");
    EXPECT_EQ(run.rate_limit_attempt, 1u);
    EXPECT_TRUE(run.start && retried.execute_after && *run.start >= *retried.execute_after);
  });
}

}  // namespace fluid::test
