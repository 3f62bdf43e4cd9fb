// The memory broker (memory://): the conformance suite of every broker, and
// what only the memory broker does (one instance per name in the process).

#include "support/broker_conformance.hpp"
#include "support/captured_log.hpp"

#include <memory>
#include <string>

namespace fluid::test {

std::string memory_url(const std::string& ns, const std::string& query) {
  return "memory://" + ns + (query.empty() ? "" : "?" + query);
}

INSTANTIATE_TEST_SUITE_P(Memory, BrokerConformance, ::testing::Values(BrokerTarget{"memory", &memory_url}),
                         target_name);

namespace {

/// Runs `body` with a broker object of `url`, opened, then closes it.
Task<std::shared_ptr<TaskBroker>> opened(std::string url) {
  auto broker = make_broker(url);
  co_await broker->open();
  co_return broker;
}

TEST(MemoryBroker, MemoryWithoutANameIsTheDefaultInstance) {
  fluid::run([]() -> Task<> {
    auto unnamed = co_await opened("memory://");
    auto named = co_await opened("memory://default?queues=low");
    co_await unnamed->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto seen = co_await named->get_run("r1");
    EXPECT_TRUE(seen.has_value());
    co_await unnamed->close();
    co_await named->close();
  }());
}

TEST(MemoryBroker, BrokersOfDifferentNamesShareNothing) {
  fluid::run([]() -> Task<> {
    auto one = co_await opened("memory://memory-test-one");
    auto two = co_await opened("memory://memory-test-two");
    co_await one->enqueue(make_run_with_id("a", "r1"), 0ms);
    const auto seen = co_await two->get_run("r1");
    EXPECT_FALSE(seen.has_value());
    co_await one->close();
    co_await two->close();
  }());
}

TEST(MemoryBroker, AnInstanceLivesWhileAnyObjectHasItOpen) {
  fluid::run([]() -> Task<> {
    const std::string url = "memory://memory-test-lifetime";
    auto first = co_await opened(url);
    auto second = co_await opened(url);
    co_await first->enqueue(make_run_with_id("a", "r1"), 0ms);
    co_await first->close();
    const auto kept = co_await second->get_run("r1");
    EXPECT_TRUE(kept.has_value());
    co_await second->close();  // the last holder: the instance goes
    auto later = co_await opened(url);
    const auto gone = co_await later->get_run("r1");
    EXPECT_FALSE(gone.has_value());
    co_await later->close();
  }());
}

TEST(MemoryBroker, DestroyingAnOpenObjectLetsGoOfTheInstance) {
  fluid::run([]() -> Task<> {
    const std::string url = "memory://memory-test-destroyed";
    {
      auto dropped = co_await opened(url);
      co_await dropped->enqueue(make_run_with_id("a", "r1"), 0ms);
    }
    auto later = co_await opened(url);
    const auto gone = co_await later->get_run("r1");
    EXPECT_FALSE(gone.has_value());
    co_await later->close();
  }());
}

TEST(MemoryBroker, TheLastCloseLogsHowManyRunsWereNotFinal) {
  CapturedLog log;
  fluid::run([]() -> Task<> {
    auto broker = co_await opened("memory://memory-test-lost");
    co_await enqueue_each(*broker, names("r1", "r2", "r3"));
    const auto [run, lease] = co_await claim_one(*broker, "a");
    co_await broker->finish(lease, outcome(TaskState::success));
    co_await broker->close();
    auto clean = co_await opened("memory://memory-test-clean");
    co_await clean->close();
  }());
  EXPECT_TRUE(log.has_line("warning broker memory://memory-test-lost closed: 2 run(s) not final are lost"))
      << log.text();
  EXPECT_TRUE(log.has_line("info broker memory://memory-test-clean closed: every run final")) << log.text();
}

TEST(MemoryBroker, TheFeedKeepsTheLastTenThousandEvents) {
  fluid::run([]() -> Task<> {
    auto broker = co_await opened("memory://memory-test-feed");
    const std::string start = co_await feed_now(*broker);
    for (int i = 0; i < 10'001; ++i) co_await broker->enqueue(make_run_with_id("a", "r" + std::to_string(i)), 0ms);
    const auto batch = co_await broker->read_events(start, 20'000, 0ms);
    EXPECT_TRUE(batch.gap);
    EXPECT_EQ(batch.events.size(), 10'000u);
    EXPECT_EQ(batch.events.front().run.id, "r1");  // r0's event was the one dropped
    co_await broker->close();
  }());
}

TEST(MemoryBroker, ARunLeftRunningIsLostWhenTheInstanceGoes) {
  CapturedLog log;
  fluid::run([]() -> Task<> {
    auto broker = co_await opened("memory://memory-test-running");
    co_await broker->enqueue(make_run_with_id("a", "r1"), 0ms);
    co_await claim_one(*broker, "a");
    co_await broker->close();
  }());
  EXPECT_TRUE(log.contains("memory://memory-test-running closed: 1 run(s) not final are lost")) << log.text();
}

}  // namespace

}  // namespace fluid::test
