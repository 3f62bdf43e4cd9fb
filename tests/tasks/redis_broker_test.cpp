// The Redis broker (redis://): the conformance suite of every broker against
// a redis-server of the test's own, and what only the Redis broker does (its
// URL, opening, the data version, the server's settings).

#include "support/broker_conformance.hpp"
#include "support/redis_server.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace fluid::test {

namespace {

/// The suite's server: started on first use (from the main thread, in a
/// test's SetUp), shared by every test of this binary, each in a namespace
/// of its own.
RedisServer& shared_server() {
  static auto* server = new RedisServer();  // never destroyed: killed when the main thread exits
  return *server;
}

std::string why_no_redis() {
  if (!FLUID_WITH_REDIS) return "this build of fluid has no Redis broker (FLUID_WITH_REDIS=OFF)";
  return RedisServer::binary() ? std::string() : "redis-server not found on PATH (apt-get install redis-server)";
}

}  // namespace

std::string redis_url(const std::string& ns, const std::string& query) {
  return shared_server().url("?name=" + ns + (query.empty() ? "" : "&" + query));
}

INSTANTIATE_TEST_SUITE_P(Redis, BrokerConformance, ::testing::Values(BrokerTarget{"redis", &redis_url, &why_no_redis}),
                         target_name);

/// What only the Redis broker can meet: its keys changed behind its back.
class RedisOnly : public BrokerConformance {
 protected:
  /// Runs `command` (redis-cli's arguments) against the suite's server.
  static void redis_cli(const std::string& command) {
    const auto line = "redis-cli -p " + std::to_string(shared_server().port()) + " " + command + " >/dev/null";
    ASSERT_EQ(std::system(line.c_str()), 0) << line;
  }
  /// What `command` (redis-cli's arguments) answers, its first line.
  static std::string redis_cli_answer(const std::string& command) {
    const auto line = "redis-cli -p " + std::to_string(shared_server().port()) + " " + command;
    std::string answer;
    if (FILE* out = ::popen(line.c_str(), "r")) {
      char buffer[256];
      if (std::fgets(buffer, sizeof buffer, out)) answer = buffer;
      ::pclose(out);
    }
    while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) answer.pop_back();
    return answer;
  }
  /// The key prefix of this test's namespace: "{name}:".
  std::string prefix() const {
    const auto query = url();
    return "{" + query.substr(query.find("name=") + 5) + "}:";
  }
};

TEST_P(RedisOnly, AFeedWhoseStreamWasDeletedReportsOneGapThenWaitsForNewEvents) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const std::string start = co_await feed_now(*broker);
    co_await broker->enqueue(make_run_with_id("a", "lost"), 0ms);
    redis_cli("DEL '" + prefix() + "events'");  // the counter stays: its events are gone
    const auto lost = co_await broker->read_events(start, 10, 0ms);
    EXPECT_TRUE(lost.gap);
    EXPECT_TRUE(lost.events.empty());
    const auto began = std::chrono::steady_clock::now();
    const auto quiet = co_await broker->read_events(lost.cursor, 10, 300ms);  // nothing new: it waits
    EXPECT_FALSE(quiet.gap);
    EXPECT_GE(std::chrono::steady_clock::now() - began, 250ms);
    co_await broker->enqueue(make_run_with_id("a", "next"), 0ms);
    const auto next = co_await broker->read_events(quiet.cursor, 10, 0ms);
    EXPECT_FALSE(next.gap);
    EXPECT_EQ(describe(next.events), names("queued:next"));
  });
}

// A change of many runs writes its events as entries of at most 256, so a
// reader inside one never fetches a huge entry again and again.
TEST_P(RedisOnly, AChangeOfManyRunsWritesItsEventsInEntriesOfAtMost256) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    for (int i = 0; i < 600; ++i) co_await broker->enqueue(make_run_with_id("a", "r" + std::to_string(i)), 0ms);
    const std::string start = co_await feed_now(*broker);
    const auto entries_before = std::stoul(redis_cli_answer("XLEN '" + prefix() + "events'"));
    co_await broker->clear_queue(priorities(TaskPriority::medium), "admin");
    EXPECT_EQ(std::stoul(redis_cli_answer("XLEN '" + prefix() + "events'")), entries_before + 3);
    const auto all = co_await broker->read_events(start, 1000, 0ms);
    EXPECT_EQ(all.events.size(), 600u);
    if (all.events.size() != 600) co_return;
    for (std::size_t i = 0; i < all.events.size(); ++i) {
      EXPECT_EQ(std::stoull(all.events[i].id), std::stoull(start) + 1 + i);
      EXPECT_EQ(all.events[i].run.state, TaskState::aborted);
    }
    const auto inside = co_await broker->read_events(all.events[299].id, 10, 0ms);  // the second entry's middle
    EXPECT_EQ(inside.events.size(), 10u);
    if (!inside.events.empty()) {
      EXPECT_EQ(inside.events.front().id, all.events[300].id);
    }
    EXPECT_FALSE(inside.gap);
  });
}

INSTANTIATE_TEST_SUITE_P(Redis, RedisOnly, ::testing::Values(BrokerTarget{"redis", &redis_url, &why_no_redis}),
                         target_name);

}  // namespace fluid::test
