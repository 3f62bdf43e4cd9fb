#pragma once
// Conformance: queue_length, clear_queue and manager statuses.

namespace fluid::test {

namespace conformance {

inline nlohmann::json manager_status(const std::string& kind, int n) {
  return {{"kind", kind}, {"status", {{"n", n}}}};
}

}  // namespace conformance

TEST_P(BrokerConformance, QueueLengthCountsClaimableRunsOfEachPriorityGiven) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await enqueue_each(*broker, names("h1"), "a", TaskPriority::high);
    co_await enqueue_each(*broker, names("m1", "m2", "m3"), "a", TaskPriority::medium);
    co_await enqueue_each(*broker, names("other-task"), "b", TaskPriority::medium);
    co_await broker->enqueue(make_run_with_id("a", "delayed"), 60s);  // not claimable yet
    co_await claim_one(*broker, claim_of(names("a")));                // h1 is running
    const auto lengths = co_await broker->queue_length(all_priorities());
    EXPECT_EQ(lengths.size(), 3u);
    EXPECT_EQ(lengths.at(TaskPriority::high), 0u);
    EXPECT_EQ(lengths.at(TaskPriority::medium), 4u);
    EXPECT_EQ(lengths.at(TaskPriority::low), 0u);
    const auto medium_only = co_await broker->queue_length(priorities(TaskPriority::medium));
    EXPECT_EQ(medium_only.size(), 1u);
    const auto none = co_await broker->queue_length(priorities());
    EXPECT_TRUE(none.empty());
  });
}

TEST_P(BrokerConformance, ClearQueueAbortsEveryWaitingRunOfThePrioritiesGiven) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await enqueue_each(*broker, names("m-running"), "a", TaskPriority::medium);
    const auto [running, lease] = co_await claim_one(*broker, "a");
    co_await enqueue_each(*broker, names("h1"), "a", TaskPriority::high);
    co_await enqueue_each(*broker, names("m1"), "a", TaskPriority::medium);
    co_await enqueue_each(*broker, names("m2"), "b", TaskPriority::medium);
    co_await broker->enqueue(make_run_with_id("a", "m-delayed"), 60s);
    std::string cursor = co_await feed_now(*broker);
    const auto cleared = co_await broker->clear_queue(priorities(TaskPriority::medium, TaskPriority::low), "admin");
    EXPECT_EQ(cleared.size(), 2u);
    EXPECT_EQ(cleared.at(TaskPriority::medium), 3u);
    EXPECT_EQ(cleared.at(TaskPriority::low), 0u);
    const auto aborted = names("m1", "m2", "m-delayed");
    for (const auto& id : aborted) {
      const auto run = present(co_await broker->get_run(id));
      EXPECT_EQ(run.state, TaskState::aborted) << id;
      EXPECT_EQ(run.error, "queue cleared") << id;
      EXPECT_EQ(run.manager_id, "admin") << id;
    }
    const auto events = co_await drain_events(*broker, cursor);
    EXPECT_EQ(events.size(), 3u);
    const auto still_running = present(co_await broker->get_run("m-running"));
    EXPECT_EQ(still_running.state, TaskState::running);
    const auto high = present(co_await broker->get_run("h1"));
    EXPECT_EQ(high.state, TaskState::queued);
  });
}

TEST_P(BrokerConformance, ManagerStatusesAreSharedReplacedAndExpireAfterTheirTimeToLive) {
  run([&]() -> Task<> {
    auto one = co_await open_broker();
    auto other = co_await open_broker();
    const auto lasting = conformance::manager_status("task_consumer", 1);
    const auto replaced = conformance::manager_status("task_consumer", 2);
    const auto brief = conformance::manager_status("task_scheduler", 3);
    co_await one->set_manager_status("m-a", lasting, 60s);
    co_await one->set_manager_status("m-a", replaced, 60s);
    const TimePoint set_at = co_await other->now();
    co_await other->set_manager_status("m-b", brief, 100ms);
    const auto both = co_await one->manager_statuses();
    EXPECT_EQ(both, list_of<nlohmann::json>(replaced, brief));
    co_await wait_past(*one, set_at + 100ms);
    const auto remaining = co_await one->manager_statuses();
    EXPECT_EQ(remaining, list_of<nlohmann::json>(replaced));
  });
}

}  // namespace fluid::test
