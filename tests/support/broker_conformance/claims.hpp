#pragma once
// Conformance: claim: what a lease gives, the order runs are claimed in,
// routing by task, and the event-driven wait.

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <set>

namespace fluid::test {

TEST_P(BrokerConformance, ClaimLeasesTheRunToTheClaimant) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const TimePoint before = co_await broker->now();
    ClaimRequest request = claim_of(names("a"));
    request.manager_id = "consumer-7";
    request.lease = 30s;
    const auto [run, lease] = co_await claim_one(*broker, request);
    const TimePoint after = co_await broker->now();
    EXPECT_EQ(run.state, TaskState::running);
    EXPECT_TRUE(run.start && before <= *run.start && *run.start <= after);
    EXPECT_FALSE(run.end.has_value());
    EXPECT_EQ(run.deliveries, 1u);
    EXPECT_EQ(run.manager_id, "consumer-7");
    EXPECT_EQ(lease.run_id, "r1");
    EXPECT_GT(lease.token, 0u);
    EXPECT_TRUE(before + 30s <= lease.expires && lease.expires <= after + 30s);
    const auto stored = present(co_await broker->get_run("r1"));
    EXPECT_EQ(nlohmann::json(stored), nlohmann::json(run));
  });
}

TEST_P(BrokerConformance, ClaimTakesHighThenMediumThenLowFifoWithinEach) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await enqueue_each(*broker, names("l1"), "a", TaskPriority::low);
    co_await enqueue_each(*broker, names("m1"), "a", TaskPriority::medium);
    co_await enqueue_each(*broker, names("h1"), "a", TaskPriority::high);
    co_await enqueue_each(*broker, names("m2"), "a", TaskPriority::medium);
    co_await enqueue_each(*broker, names("h2"), "a", TaskPriority::high);
    const auto result = co_await broker->claim(claim_of(names("a"), 10));
    EXPECT_EQ(ids_of(result.claimed), names("h1", "h2", "m1", "m2", "l1"));
  });
}

TEST_P(BrokerConformance, ClaimTakesOnlyTheRequestedQueuesInTheirOrder) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await enqueue_each(*broker, names("h1"), "a", TaskPriority::high);
    co_await enqueue_each(*broker, names("m1"), "a", TaskPriority::medium);
    co_await enqueue_each(*broker, names("l1"), "a", TaskPriority::low);
    ClaimRequest request = claim_of(names("a"), 10);
    request.queues = priorities(TaskPriority::low, TaskPriority::high);
    const auto result = co_await broker->claim(request);
    EXPECT_EQ(ids_of(result.claimed), names("l1", "h1"));
    const auto lengths = co_await broker->queue_length(all_priorities());
    EXPECT_EQ(lengths.at(TaskPriority::medium), 1u);
  });
}

TEST_P(BrokerConformance, ClaimOnTheUrlsQueuesTakesThemInThatOrder) {
  run([&]() -> Task<> {
    auto producer = co_await open_broker();
    auto consumer = co_await open_broker("queues=medium,high");
    co_await enqueue_each(*producer, names("h1"), "a", TaskPriority::high);
    co_await enqueue_each(*producer, names("l1"), "a", TaskPriority::low);
    co_await enqueue_each(*producer, names("m1"), "a", TaskPriority::medium);
    ClaimRequest request = claim_of(names("a"), 10);
    request.queues = consumer->queues();
    const auto result = co_await consumer->claim(request);
    EXPECT_EQ(ids_of(result.claimed), names("m1", "h1"));
    auto idle = co_await open_broker("queues=");
    request.queues = idle->queues();
    const auto nothing = co_await idle->claim(request);
    EXPECT_TRUE(nothing.claimed.empty());
  });
}

TEST_P(BrokerConformance, ClaimIsFifoAcrossTheRequestedTasks) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await enqueue_each(*broker, names("a1"), "a");
    co_await enqueue_each(*broker, names("b1"), "b");
    co_await enqueue_each(*broker, names("a2"), "a");
    co_await enqueue_each(*broker, names("b2"), "b");
    const auto result = co_await broker->claim(claim_of(names("b", "a"), 10));
    EXPECT_EQ(ids_of(result.claimed), names("a1", "b1", "a2", "b2"));
  });
}

TEST_P(BrokerConformance, ADelayedRunTakesItsPlaceWhenItBecomesClaimable) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const auto [delayed, created] = co_await broker->enqueue(make_run_with_id("a", "delayed"), 500ms);
    co_await broker->enqueue(make_run_with_id("a", "before"), 0ms);
    co_await wait_past(*broker, *delayed.execute_after);
    co_await broker->enqueue(make_run_with_id("a", "after"), 0ms);
    const auto result = co_await broker->claim(claim_of(names("a"), 10));
    EXPECT_EQ(ids_of(result.claimed), names("before", "delayed", "after"));
  });
}

TEST_P(BrokerConformance, ClaimSkipsRunsOfOtherTasksAndLosesNone) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await enqueue_each(*broker, names("x1"), "x");
    co_await enqueue_each(*broker, names("a1"), "a");
    co_await enqueue_each(*broker, names("x2"), "x");
    co_await enqueue_each(*broker, names("a2"), "a");
    const auto mine = co_await broker->claim(claim_of(names("a"), 10));
    EXPECT_EQ(ids_of(mine.claimed), names("a1", "a2"));
    EXPECT_EQ(mine.skipped_tasks, names("x"));
    const auto theirs = co_await broker->claim(claim_of(names("x"), 10));
    EXPECT_EQ(ids_of(theirs.claimed), names("x1", "x2"));
    EXPECT_TRUE(theirs.skipped_tasks.empty());
  });
}

TEST_P(BrokerConformance, ClaimReturnsAtMostMaxRuns) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await enqueue_each(*broker, names("r1", "r2", "r3", "r4", "r5"));
    const auto first = co_await broker->claim(claim_of(names("a"), 2));
    EXPECT_EQ(ids_of(first.claimed), names("r1", "r2"));
    const auto second = co_await broker->claim(claim_of(names("a"), 2));
    EXPECT_EQ(ids_of(second.claimed), names("r3", "r4"));
  });
}

TEST_P(BrokerConformance, ClaimOfZeroRunsReturnsAtOnce) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto started = std::chrono::steady_clock::now();
    const auto result = co_await broker->claim(waiting_claim_of(names("a"), 0));
    EXPECT_TRUE(result.claimed.empty());
    EXPECT_LT(std::chrono::steady_clock::now() - started, generous / 2);
  });
}

TEST_P(BrokerConformance, ClaimWithoutTasksOrQueuesClaimsNothing) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto no_tasks = co_await broker->claim(claim_of(names(), 10));
    EXPECT_TRUE(no_tasks.claimed.empty());
    ClaimRequest request = claim_of(names("a"), 10);
    request.queues.clear();
    const auto no_queues = co_await broker->claim(request);
    EXPECT_TRUE(no_queues.claimed.empty());
    const auto stored = present(co_await broker->get_run("r1"));
    EXPECT_EQ(stored.state, TaskState::queued);
  });
}

TEST_P(BrokerConformance, WaitingClaimEndsWhenAnotherBrokerObjectEnqueues) {
  using namespace boost::asio::experimental::awaitable_operators;
  run([&]() -> Task<> {
    auto consumer = co_await open_broker();
    auto producer = co_await open_broker();
    const auto started = std::chrono::steady_clock::now();
    auto produce = [&]() -> Task<> {
      co_await let_others_run();
      co_await producer->enqueue(make_run_with_id("a", "r1"), 0ms);
    };
    const auto result = co_await (consumer->claim(waiting_claim_of(names("a"))) && produce());
    EXPECT_EQ(ids_of(result.claimed), names("r1"));
    EXPECT_LT(std::chrono::steady_clock::now() - started, generous / 2);
  });
}

TEST_P(BrokerConformance, WaitingClaimTakesARunDelayedAfterItStartedAtItsDueTime) {
  using namespace boost::asio::experimental::awaitable_operators;
  run([&]() -> Task<> {
    auto consumer = co_await open_broker();
    auto producer = co_await open_broker();
    std::optional<TimePoint> due;
    auto produce = [&]() -> Task<> {
      co_await let_others_run();
      const auto [run, created] = co_await producer->enqueue(make_run_with_id("a", "r1"), 200ms);
      due = run.execute_after;
    };
    const auto result = co_await (consumer->claim(waiting_claim_of(names("a"))) && produce());
    const auto& [run, lease] = only(result.claimed);
    EXPECT_TRUE(due && run.start && *run.start >= *due);
  });
}

TEST_P(BrokerConformance, ClaimReturnsNothingAfterItsWait) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    ClaimRequest request = claim_of(names("a"));
    request.wait = 50ms;
    const auto started = std::chrono::steady_clock::now();
    const auto result = co_await broker->claim(request);
    EXPECT_TRUE(result.claimed.empty());
    EXPECT_GE(std::chrono::steady_clock::now() - started, 50ms);
  });
}

TEST_P(BrokerConformance, WaitingClaimIsCancellableAndLeasesNothing) {
  using namespace boost::asio::experimental::awaitable_operators;
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const auto outcome = co_await (broker->claim(waiting_claim_of(names("a"))) || fluid::sleep(20ms));
    EXPECT_EQ(outcome.index(), 1u);
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    EXPECT_EQ(run.deliveries, 1u);
  });
}

TEST_P(BrokerConformance, NextDueIsTheEarliestDelayedRunOfTheRequestedTasks) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "a1"), 60s);
    const auto [b1, created] = co_await broker->enqueue(make_run_with_id("b", "b1"), 30s);
    co_await broker->enqueue(make_run_with_id("c", "c1"), 10s);  // not requested
    const auto result = co_await broker->claim(claim_of(names("a", "b")));
    EXPECT_EQ(result.next_due, b1.execute_after);
  });
}

TEST_P(BrokerConformance, EveryWaitingClaimIsWokenAndNoRunIsClaimedTwice) {
  using namespace boost::asio::experimental::awaitable_operators;
  run([&]() -> Task<> {
    auto c1 = co_await open_broker();
    auto c2 = co_await open_broker();
    auto c3 = co_await open_broker();
    auto producer = co_await open_broker();
    auto produce = [&]() -> Task<> {
      co_await let_others_run();
      co_await enqueue_each(*producer, names("r1", "r2", "r3"));
    };
    // produce() first: Boost 1.81's `tuple && void` operator is broken; the
    // claims still start waiting before produce() resumes.
    const auto [one, two, three] =
        co_await (produce() && (c1->claim(waiting_claim_of(names("a"))) && c2->claim(waiting_claim_of(names("a"))) &&
                                c3->claim(waiting_claim_of(names("a")))));
    std::set<std::string> claimed;
    const auto results = list_of<const ClaimResult*>(&one, &two, &three);
    for (const auto* result : results) {
      const auto& [run, lease] = only(result->claimed);
      claimed.insert(run.id);
    }
    const auto all = names("r1", "r2", "r3");
    EXPECT_EQ(claimed, std::set<std::string>(all.begin(), all.end()));
  });
}

}  // namespace fluid::test
