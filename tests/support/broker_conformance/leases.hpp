#pragma once
// Conformance: leases and fencing tokens, renewals, and reaping the runs of
// a consumer that stopped renewing.

namespace fluid::test {

namespace conformance {

/// A claim of one run of "a" under a short lease, delivered at most `max_deliveries` times.
inline ClaimRequest short_claim(unsigned max_deliveries = 5) {
  ClaimRequest request = waiting_claim_of(names("a"));
  request.lease = short_lease;
  request.max_deliveries = max_deliveries;
  return request;
}

/// The run of "a" claimed under a short lease, once that lease has expired.
inline Task<std::pair<TaskRun, Lease>> claim_and_outlive(TaskBroker& broker, unsigned max_deliveries = 5) {
  auto claimed = co_await claim_one(broker, short_claim(max_deliveries));
  co_await wait_past(broker, claimed.second.expires);
  co_return claimed;
}

}  // namespace conformance

TEST_P(BrokerConformance, FencingTokensStrictlyIncreaseAcrossClaimsAndBrokerObjects) {
  run([&]() -> Task<> {
    auto one = co_await open_broker();
    auto other = co_await open_broker();
    co_await enqueue_each(*one, names("r1", "r2", "r3", "r4"));
    std::uint64_t last = 0;
    for (int i = 0; i < 4; ++i) {
      auto& broker = i % 2 == 0 ? *one : *other;
      const auto [run, lease] = co_await claim_one(broker, "a");
      EXPECT_GT(lease.token, last);
      last = lease.token;
    }
  });
}

TEST_P(BrokerConformance, RenewKeepsTheLeaseAndMovesItsExpiry) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, conformance::short_claim());
    const TimePoint before = co_await broker->now();
    const auto states = co_await broker->renew(leases(lease), 30s);
    const auto& state = only(states);
    EXPECT_EQ(state.status, LeaseStatus::held);
    EXPECT_GE(state.expires, before + 30s);
    EXPECT_TRUE(state.abort_reason.empty());
    co_await wait_past(*broker, lease.expires);
    const auto reaped = co_await broker->reap("reaper");  // the renewed lease has not expired
    EXPECT_TRUE(reaped.empty());
  });
}

TEST_P(BrokerConformance, RenewAnswersEachLeaseInOrderAndReportsStaleOnesLost) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await enqueue_each(*broker, names("r1", "r2"));
    const auto [run1, lease1] = co_await claim_one(*broker, "a");
    const auto [run2, lease2] = co_await claim_one(*broker, "a");
    Lease stale = lease1;
    stale.token = lease2.token + 1000;
    Lease unknown = lease1;
    unknown.run_id = "never-queued";
    const auto states = co_await broker->renew(leases(lease1, stale, unknown, lease2), 30s);
    EXPECT_EQ(states.size(), 4u);
    if (states.size() != 4) co_return;
    EXPECT_EQ(states[0].status, LeaseStatus::held);
    EXPECT_EQ(states[1].status, LeaseStatus::lost);
    EXPECT_EQ(states[2].status, LeaseStatus::lost);
    EXPECT_EQ(states[3].status, LeaseStatus::held);
  });
}

TEST_P(BrokerConformance, ALeaseStaysValidPastItsExpiryUntilReaped) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await conformance::claim_and_outlive(*broker);
    const auto states = co_await broker->renew(leases(lease), 30s);
    EXPECT_EQ(only(states).status, LeaseStatus::held);
  });
}

TEST_P(BrokerConformance, ReapRequeuesAnExpiredLeaseInItsOriginalPlace) {
  run([&]() -> Task<> {
    auto consumer = co_await open_broker();
    auto reaper = co_await open_broker();
    co_await enqueue_each(*consumer, names("r1", "r2"));
    const auto [run, lease] = co_await claim_one(*consumer, conformance::short_claim());
    EXPECT_EQ(run.id, "r1");
    co_await wait_past(*reaper, lease.expires);
    const auto changes = co_await reaper->reap("reaper");
    EXPECT_EQ(ids_of(changes), names("r1", "r1"));
    EXPECT_EQ(states_of(changes), list_of<TaskState>(TaskState::interrupted, TaskState::queued));
    if (changes.size() != 2) co_return;
    EXPECT_TRUE(changes[0].requeued);
    EXPECT_EQ(changes[0].error, "lease expired");
    EXPECT_EQ(changes[0].manager_id, "reaper");
    EXPECT_TRUE(changes[0].end.has_value());
    EXPECT_FALSE(changes[1].requeued);
    EXPECT_FALSE(changes[1].start || changes[1].end);
    const auto again = co_await consumer->claim(claim_of(names("a"), 2));
    EXPECT_EQ(ids_of(again.claimed), names("r1", "r2"));  // r1 back in its place, first
    EXPECT_EQ(again.claimed.front().first.deliveries, 2u);
  });
}

TEST_P(BrokerConformance, ReapLeavesLiveLeasesAlone) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    const auto changes = co_await broker->reap("reaper");
    EXPECT_TRUE(changes.empty());
    const auto stored = present(co_await broker->get_run("r1"));
    EXPECT_EQ(stored.state, TaskState::running);
  });
}

TEST_P(BrokerConformance, AfterAReapTheOldHolderHasLostItsLeaseAndChangesNothing) {
  run([&]() -> Task<> {
    auto old_holder = co_await open_broker();
    auto new_holder = co_await open_broker();
    co_await old_holder->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*old_holder, conformance::short_claim());
    co_await wait_past(*new_holder, lease.expires);
    co_await new_holder->reap("reaper");
    const auto [again, new_lease] = co_await claim_one(*new_holder, "a");
    EXPECT_GT(new_lease.token, lease.token);
    std::string cursor = co_await feed_now(*old_holder);
    const auto states = co_await old_holder->renew(leases(lease), 30s);
    EXPECT_EQ(only(states).status, LeaseStatus::lost);
    co_await thrown_message_of<LeaseLostError>(old_holder->finish(lease, outcome(TaskState::success)));
    const auto stored = present(co_await old_holder->get_run("r1"));
    EXPECT_EQ(stored.state, TaskState::running);
    EXPECT_EQ(stored.deliveries, 2u);
    const auto events = co_await drain_events(*old_holder, cursor);
    EXPECT_TRUE(events.empty());
    const auto finished = co_await new_holder->finish(new_lease, outcome(TaskState::success));
    EXPECT_EQ(states_of(finished), list_of<TaskState>(TaskState::success));
  });
}

TEST_P(BrokerConformance, ReapFailsARunAlreadyDeliveredMaxDeliveriesTimes) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->register_tasks(registrations(registration("a")));
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    co_await conformance::claim_and_outlive(*broker, 2);
    const auto requeued = co_await broker->reap("reaper");
    EXPECT_EQ(states_of(requeued), list_of<TaskState>(TaskState::interrupted, TaskState::queued));
    const auto second = co_await conformance::claim_and_outlive(*broker, 2);
    EXPECT_EQ(second.first.deliveries, 2u);
    const auto failed = co_await broker->reap("reaper");
    const auto& run = only(failed);
    EXPECT_EQ(run.state, TaskState::failure);
    EXPECT_EQ(run.error, "lease expired 2 times: consumer lost");
    EXPECT_TRUE(run.is_final());
    const auto nothing = co_await broker->claim(claim_of(names("a")));
    EXPECT_TRUE(nothing.claimed.empty());
    const auto info = only(co_await broker->tasks_info(names("a")));
    EXPECT_EQ(info.last_run_state, TaskState::failure);
  });
}

TEST_P(BrokerConformance, ReapAbortsARunWhoseAbortWasRequested) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, conformance::short_claim());
    co_await broker->request_abort("r1", "not wanted", "admin");
    co_await wait_past(*broker, lease.expires);
    const auto reaped = co_await broker->reap("reaper");
    const auto& aborted = only(reaped);
    EXPECT_EQ(aborted.state, TaskState::aborted);
    EXPECT_EQ(aborted.error, "not wanted");
    EXPECT_TRUE(aborted.is_final());
  });
}

TEST_P(BrokerConformance, ReapFreesTheConcurrencySlot) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->register_tasks(registrations(registration("a", 1)));
    co_await enqueue_each(*broker, names("r1", "r2"));
    co_await conformance::claim_and_outlive(*broker);
    co_await broker->reap("reaper");
    const auto result = co_await broker->claim(claim_of(names("a")));
    EXPECT_EQ(ids_of(result.claimed), names("r1"));
    EXPECT_TRUE(result.settled.empty());
  });
}

}  // namespace fluid::test
