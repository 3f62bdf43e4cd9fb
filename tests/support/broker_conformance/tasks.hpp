#pragma once
// Conformance: the URL's queues, opening, and the per-task calls
// (register_tasks, tasks_info, set_enabled).

namespace fluid::test {

TEST_P(BrokerConformance, QueuesDefaultToHighMediumLow) {
  const auto broker = make_broker(url());
  const std::vector<TaskPriority> all{TaskPriority::high, TaskPriority::medium, TaskPriority::low};
  EXPECT_EQ(broker->queues(), all);
}

TEST_P(BrokerConformance, QueuesInTheUrlRestrictAndOrder) {
  const auto broker = make_broker(url("queues=medium,high"));
  const std::vector<TaskPriority> expected{TaskPriority::medium, TaskPriority::high};
  EXPECT_EQ(broker->queues(), expected);
}

TEST_P(BrokerConformance, EmptyQueuesInTheUrlClaimNothing) {
  EXPECT_TRUE(make_broker(url("queues="))->queues().empty());
}

TEST_P(BrokerConformance, UnknownPriorityInTheUrlIsAnError) {
  EXPECT_THROW(make_broker(url("queues=high,urgent")), FluidError);
}

TEST_P(BrokerConformance, UrlHasNoPassword) {
  const auto broker = make_broker(url());
  EXPECT_EQ(broker->url().find(":secret@"), std::string::npos) << broker->url();
}

TEST_P(BrokerConformance, CallsBeforeOpenThrowFluidError) {
  const auto broker = make_broker(url());
  EXPECT_THROW(fluid::run(broker->get_run("nope")), FluidError);
}

TEST_P(BrokerConformance, OpenAndCloseAreIdempotent) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->open();
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto stored = co_await broker->get_run("r1");
    EXPECT_TRUE(stored.has_value());
    co_await broker->close();
    co_await broker->close();
  });
}

TEST_P(BrokerConformance, BrokerObjectsOnOneNamespaceShareRuns) {
  run([&]() -> Task<> {
    auto producer = co_await open_broker();
    auto consumer = co_await open_broker();
    co_await producer->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*consumer, "a");
    EXPECT_EQ(run.id, "r1");
    const auto seen = present(co_await producer->get_run("r1"));
    EXPECT_EQ(seen.state, TaskState::running);
  });
}

TEST_P(BrokerConformance, RegisteredTasksStartEnabledSortedByName) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->register_tasks(registrations(registration("b", 2), registration("a")));
    const auto infos = co_await broker->tasks_info(names());
    EXPECT_EQ(infos.size(), 2u);
    if (infos.size() != 2) co_return;
    EXPECT_EQ(infos[0].name, "a");
    EXPECT_EQ(infos[1].name, "b");
    EXPECT_TRUE(infos[0].enabled);
    EXPECT_TRUE(infos[1].enabled);
    EXPECT_EQ(infos[1].max_concurrency, 2u);
    EXPECT_EQ(infos[1].short_description, "The b task.");
    EXPECT_EQ(infos[1].tags, names("conformance"));
    EXPECT_FALSE(infos[0].last_run_state.has_value());
  });
}

TEST_P(BrokerConformance, TasksInfoOfNamesSkipsTasksNeverRegistered) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->register_tasks(registrations(registration("a"), registration("b")));
    co_await broker->enqueue(make_run("queued_only"), 0ms);  // known to the broker, not registered
    const auto infos = co_await broker->tasks_info(names("b", "nope", "queued_only"));
    EXPECT_EQ(only(infos).name, "b");
  });
}

TEST_P(BrokerConformance, SetEnabledIsSharedByEveryBrokerObject) {
  run([&]() -> Task<> {
    auto one = co_await open_broker();
    auto other = co_await open_broker();
    co_await one->register_tasks(registrations(registration("a")));
    const auto updated = co_await one->set_enabled("a", false);
    EXPECT_FALSE(updated.enabled);
    const auto seen_disabled = only(co_await other->tasks_info(names("a")));
    EXPECT_FALSE(seen_disabled.enabled);
    const auto enabled_again = co_await other->set_enabled("a", true);
    EXPECT_TRUE(enabled_again.enabled);
    const auto seen_enabled = only(co_await one->tasks_info(names("a")));
    EXPECT_TRUE(seen_enabled.enabled);
  });
}

TEST_P(BrokerConformance, SetEnabledOfAnUnregisteredTaskThrowsUnknownTaskError) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const auto error = co_await thrown_message_of<UnknownTaskError>(broker->set_enabled("nope", false));
    EXPECT_EQ(error, "unknown task 'nope'");
  });
}

TEST_P(BrokerConformance, RegisteringAgainKeepsEnabledAndLastRunButTakesTheNewLimits) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->register_tasks(registrations(registration("a", 1)));
    co_await broker->set_enabled("a", false);
    co_await broker->set_enabled("a", true);
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    co_await broker->finish(lease, outcome(TaskState::success));
    co_await broker->set_enabled("a", false);
    co_await broker->register_tasks(registrations(registration("a", 3)));  // another process, last writer wins
    const auto info = only(co_await broker->tasks_info(names("a")));
    EXPECT_FALSE(info.enabled);
    EXPECT_EQ(info.last_run_state, TaskState::success);
    EXPECT_EQ(info.max_concurrency, 3u);
  });
}

TEST_P(BrokerConformance, TheEndOfEveryAttemptIsTheTasksLastRun) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->register_tasks(registrations(registration("a")));
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*broker, "a");
    const auto changes = co_await broker->finish(lease, retry_after(60s));
    const auto info = only(co_await broker->tasks_info(names("a")));
    EXPECT_EQ(info.last_run_state, TaskState::failure);  // a retried attempt counts too
    EXPECT_EQ(info.last_run_end, changes.front().end);
    EXPECT_EQ(info.last_run_duration, changes.front().duration());
  });
}

}  // namespace fluid::test
