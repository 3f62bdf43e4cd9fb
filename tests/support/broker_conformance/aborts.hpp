#pragma once
// Conformance: request_abort of queued, delayed, running, final and unknown runs.

namespace fluid::test {

TEST_P(BrokerConformance, AbortOfAQueuedRunEndsItAtOnce) {
  run([&]() -> Task<> {
    auto producer = co_await open_broker();
    auto admin = co_await open_broker();
    co_await enqueue_each(*producer, names("r1", "r2"));
    std::string cursor = co_await feed_now(*producer);
    const auto changes = co_await admin->request_abort("r1", "not needed", "admin");
    const auto& aborted = only(changes);
    EXPECT_EQ(aborted.state, TaskState::aborted);
    EXPECT_EQ(aborted.error, "not needed");
    EXPECT_EQ(aborted.manager_id, "admin");
    EXPECT_TRUE(aborted.end.has_value());
    EXPECT_FALSE(aborted.start.has_value());
    EXPECT_TRUE(aborted.is_final());
    const auto events = co_await drain_events(*producer, cursor);
    EXPECT_EQ(describe(events), names("aborted:r1"));
    const auto result = co_await producer->claim(claim_of(names("a"), 10));
    EXPECT_EQ(ids_of(result.claimed), names("r2"));
  });
}

TEST_P(BrokerConformance, AbortOfADelayedRunEndsItAtOnce) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 60s);
    const auto changes = co_await broker->request_abort("r1", "", "admin");
    EXPECT_EQ(states_of(changes), list_of<TaskState>(TaskState::aborted));
    const auto result = co_await broker->claim(claim_of(names("a")));
    EXPECT_FALSE(result.next_due.has_value());
  });
}

TEST_P(BrokerConformance, AbortOfARunningRunIsRequestedThroughRenewAndTheFeed) {
  run([&]() -> Task<> {
    auto consumer = co_await open_broker();
    auto admin = co_await open_broker();
    co_await consumer->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*consumer, "a");
    std::string cursor = co_await feed_now(*consumer);
    const auto changes = co_await admin->request_abort("r1", "stop it", "admin");
    const auto& requested = only(changes);
    EXPECT_EQ(requested.state, TaskState::running);
    EXPECT_EQ(requested.error, "stop it");
    const auto events = co_await read_events(*consumer, cursor, 1);
    EXPECT_EQ(describe(events), names("abort:r1"));
    EXPECT_EQ(only(events).run.error, "stop it");
    const auto states = co_await consumer->renew(leases(lease), 30s);
    const auto& state = only(states);
    EXPECT_EQ(state.status, LeaseStatus::abort_requested);
    EXPECT_EQ(state.abort_reason, "stop it");
    const auto stored = present(co_await admin->get_run("r1"));
    EXPECT_EQ(stored.state, TaskState::running);  // its holder records the abort
    const auto finished = co_await consumer->finish(lease, outcome(TaskState::aborted, "stop it"));
    EXPECT_EQ(states_of(finished), list_of<TaskState>(TaskState::aborted));
  });
}

TEST_P(BrokerConformance, AbortRequestedTwiceIsOneRequest) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    std::string cursor = co_await feed_now(*broker);
    co_await broker->request_abort("r1", "first", "admin");
    const auto again = co_await broker->request_abort("r1", "second", "admin");
    EXPECT_TRUE(again.empty());
    const auto events = co_await drain_events(*broker, cursor);
    EXPECT_EQ(describe(events), names("abort:r1"));
    const auto states = co_await broker->renew(leases(lease), 30s);
    EXPECT_EQ(only(states).abort_reason, "first");
  });
}

TEST_P(BrokerConformance, AbortOfAFinalRunChangesNothing) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    const auto finished = co_await broker->finish(lease, outcome(TaskState::success));
    std::string cursor = co_await feed_now(*broker);
    const auto changes = co_await broker->request_abort("r1", "too late", "admin");
    EXPECT_TRUE(changes.empty());
    const auto stored = present(co_await broker->get_run("r1"));
    EXPECT_EQ(nlohmann::json(stored), nlohmann::json(only(finished)));
    const auto events = co_await drain_events(*broker, cursor);
    EXPECT_TRUE(events.empty());
  });
}

TEST_P(BrokerConformance, AbortOfAnUnknownRunThrowsUnknownRunError) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const auto error = co_await thrown_message_of<UnknownRunError>(broker->request_abort("nope", "", "admin"));
    EXPECT_EQ(error, "unknown run 'nope'");
  });
}

}  // namespace fluid::test
