#pragma once
// Conformance: the event feed: commit order per run and across runs,
// cursors, the event-driven wait, and gaps.

#include <boost/asio/experimental/awaitable_operators.hpp>

namespace fluid::test {

TEST_P(BrokerConformance, TheFeedFollowsARunThroughEveryChange) {
  run([&]() -> Task<> {
    auto consumer = co_await open_broker();
    auto follower = co_await open_broker();
    std::string cursor = co_await feed_now(*follower);
    co_await consumer->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto [run, lease] = co_await claim_one(*consumer, "a");
    const auto retried = co_await consumer->finish(lease, retry_after(1ms));
    const auto [again, second] = co_await claim_one(*consumer, "a");
    const auto done = co_await consumer->finish(second, outcome(TaskState::success));
    const auto events = co_await read_events(*follower, cursor, 6);
    EXPECT_EQ(describe(events),
              names("queued:r1", "running:r1", "failure+requeued:r1", "queued:r1", "running:r1", "success:r1"));
    if (events.size() != 6) co_return;
    EXPECT_EQ(nlohmann::json(events[1].run), nlohmann::json(run));
    EXPECT_EQ(nlohmann::json(events[5].run), nlohmann::json(only(done)));
    for (const auto& event : events) EXPECT_EQ(event.kind, "state");
  });
}

TEST_P(BrokerConformance, TheFeedIsTheCommitOrderAcrossRunsAndBrokerObjects) {
  run([&]() -> Task<> {
    auto producer = co_await open_broker();
    auto consumer = co_await open_broker();
    auto admin = co_await open_broker();
    std::string cursor = co_await feed_now(*admin);
    co_await enqueue_each(*producer, names("r1", "r2"));
    const auto [run, lease] = co_await claim_one(*consumer, "a");
    co_await admin->request_abort("r2", "no", "admin");
    co_await admin->request_abort("r1", "stop", "admin");
    co_await producer->enqueue(make_run_with_id("a", "r3"), 0ms);
    co_await consumer->finish(lease, outcome(TaskState::aborted, "stop"));
    const auto events = co_await read_events(*admin, cursor, 7);
    EXPECT_EQ(describe(events),
              names("queued:r1", "queued:r2", "running:r1", "aborted:r2", "abort:r1", "queued:r3", "aborted:r1"));
    std::set<std::string> distinct;
    for (const auto& event : events) distinct.insert(event.id);
    EXPECT_EQ(distinct.size(), events.size());
  });
}

TEST_P(BrokerConformance, ReadingFromNowSkipsThePast) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->enqueue(make_run_with_id("a", "old"), 0ms);
    const auto nothing = co_await broker->read_events("", 100, 0ms);
    EXPECT_TRUE(nothing.events.empty());
    EXPECT_FALSE(nothing.cursor.empty());
    std::string cursor = nothing.cursor;
    co_await broker->enqueue(make_run_with_id("a", "new"), 0ms);
    const auto events = co_await read_events(*broker, cursor, 1);
    EXPECT_EQ(describe(events), names("queued:new"));
  });
}

TEST_P(BrokerConformance, AWaitingReaderIsWokenByAChangeFromAnotherBrokerObject) {
  using namespace boost::asio::experimental::awaitable_operators;
  run([&]() -> Task<> {
    auto follower = co_await open_broker();
    auto producer = co_await open_broker();
    const std::string cursor = co_await feed_now(*follower);
    const auto started = std::chrono::steady_clock::now();
    auto produce = [&]() -> Task<> {
      co_await let_others_run();
      co_await producer->enqueue(make_run_with_id("a", "r1"), 0ms);
    };
    const auto batch = co_await (follower->read_events(cursor, 10, generous) && produce());
    EXPECT_EQ(describe(batch.events), names("queued:r1"));
    EXPECT_LT(std::chrono::steady_clock::now() - started, generous / 2);
  });
}

TEST_P(BrokerConformance, ReadReturnsNothingAfterItsWaitAndKeepsTheCursor) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const std::string cursor = co_await feed_now(*broker);
    const auto started = std::chrono::steady_clock::now();
    const auto batch = co_await broker->read_events(cursor, 10, 50ms);
    EXPECT_TRUE(batch.events.empty());
    EXPECT_EQ(batch.cursor, cursor);
    EXPECT_FALSE(batch.gap);
    EXPECT_GE(std::chrono::steady_clock::now() - started, 50ms);
  });
}

TEST_P(BrokerConformance, ReadReturnsAtMostMaxAndContinuesFromItsCursor) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const std::string start = co_await feed_now(*broker);
    co_await enqueue_each(*broker, names("r1", "r2", "r3"));
    const auto first = co_await broker->read_events(start, 2, 0ms);
    EXPECT_EQ(describe(first.events), names("queued:r1", "queued:r2"));
    const auto rest = co_await broker->read_events(first.cursor, 10, 0ms);
    EXPECT_EQ(describe(rest.events), names("queued:r3"));
    const auto again = co_await broker->read_events(start, 10, 0ms);  // a cursor may be read again
    EXPECT_EQ(again.events.size(), 3u);
  });
}

// One change of many runs (Redis writes a script's events as one stream
// entry) still reads an event at a time, and from any cursor it gave.
TEST_P(BrokerConformance, TheEventsOfOneChangeReadOneAtATimeAndFromAnyCursor) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    for (const auto* id : {"r1", "r2", "r3"}) co_await broker->enqueue(make_run_with_id("a", id), 0ms);
    const std::string start = co_await feed_now(*broker);
    co_await broker->clear_queue(priorities(TaskPriority::medium), "admin");
    std::vector<std::string> one_by_one;
    std::string cursor = start;
    std::vector<std::string> cursors;
    for (int i = 0; i < 3; ++i) {
      const auto batch = co_await broker->read_events(cursor, 1, 0ms);
      EXPECT_FALSE(batch.gap);
      for (const auto& line : describe(batch.events)) one_by_one.push_back(line);
      cursor = batch.cursor;
      cursors.push_back(cursor);
    }
    EXPECT_EQ(one_by_one, names("aborted:r1", "aborted:r2", "aborted:r3"));
    EXPECT_TRUE((co_await broker->read_events(cursor, 10, 0ms)).events.empty());
    const auto rest = co_await broker->read_events(cursors.at(0), 10, 0ms);
    EXPECT_FALSE(rest.gap);
    EXPECT_EQ(describe(rest.events), names("aborted:r2", "aborted:r3"));
    EXPECT_EQ(rest.cursor, cursor);
  });
}

TEST_P(BrokerConformance, ReadPastEventsTheFeedNoLongerRetainsReportsAGap) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const std::string start = co_await feed_now(*broker);
    co_await broker->enqueue(make_run_with_id("a", "first"), 0ms);
    const auto early = co_await broker->read_events(start, 1, 0ms);
    EXPECT_FALSE(early.gap);
    for (int i = 0; i < 11'000; ++i) co_await broker->enqueue(make_run("a"), 0ms);  // the feed keeps 10,000
    const auto late = co_await broker->read_events(start, 10, 0ms);
    EXPECT_TRUE(late.gap);
    EXPECT_EQ(late.events.size(), 10u);
    const bool first_dropped =
        std::none_of(late.events.begin(), late.events.end(), [](const TaskEvent& e) { return e.run.id == "first"; });
    EXPECT_TRUE(first_dropped);
    const auto next = co_await broker->read_events(late.cursor, 10, 0ms);
    EXPECT_FALSE(next.gap);
    EXPECT_EQ(next.events.size(), 10u);
  });
}

TEST_P(BrokerConformance, ReadEventsIfKeepsTheWantedEventsAndMovesItsCursorPastTheOthers) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const std::string start = co_await feed_now(*broker);
    co_await enqueue_each(*broker, names("r1", "r2"));
    const auto [run, lease] = co_await claim_one(*broker, "a");
    co_await broker->request_abort(run.id, "stop", "admin");
    co_await broker->enqueue(make_run_with_id("a", "r3"), 0ms);
    std::vector<std::string> asked;
    const auto aborts = [&asked](std::string_view kind) {
      asked.emplace_back(kind);
      return kind == "abort";
    };
    const auto batch = co_await broker->read_events_if(start, 10, 0ms, aborts);
    EXPECT_EQ(describe(batch.events), names("abort:r1"));
    EXPECT_EQ(asked, names("state", "state", "state", "abort", "state"));
    EXPECT_FALSE(batch.gap);
    const auto all = co_await broker->read_events(start, 10, 0ms);
    EXPECT_EQ(all.events.size(), 5u);
    EXPECT_EQ(batch.cursor, all.cursor);
    const auto none = [](std::string_view) { return false; };
    const auto skipped = co_await broker->read_events_if(start, 2, 0ms, none);  // max counts every event read
    EXPECT_TRUE(skipped.events.empty());
    const auto rest = co_await broker->read_events(skipped.cursor, 10, 0ms);
    EXPECT_EQ(describe(rest.events), names("running:r1", "abort:r1", "queued:r3"));
  });
}

// A reader's interest may change while its read waits (a wait() begun
// meanwhile): it is asked of the events as they come.
TEST_P(BrokerConformance, ReadEventsIfAsksWhetherAnEventIsWantedWhenTheEventComes) {
  using namespace boost::asio::experimental::awaitable_operators;
  run([&]() -> Task<> {
    auto follower = co_await open_broker();
    auto producer = co_await open_broker();
    const std::string cursor = co_await feed_now(*follower);
    bool interested = false;
    auto produce = [&]() -> Task<> {
      co_await let_others_run();
      interested = true;
      co_await producer->enqueue(make_run_with_id("a", "r1"), 0ms);
    };
    const auto when_interested = [&interested](std::string_view) { return interested; };
    const auto batch = co_await (follower->read_events_if(cursor, 10, generous, when_interested) && produce());
    EXPECT_EQ(describe(batch.events), names("queued:r1"));
  });
}

TEST_P(BrokerConformance, ReadWithACursorTheBrokerNeverGaveThrowsBrokerError) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await thrown_message_of<BrokerError>(broker->read_events("not-a-cursor", 10, 0ms));
  });
}

}  // namespace fluid::test
