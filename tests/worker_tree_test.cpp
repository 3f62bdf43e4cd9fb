// The worker tree: one walk, one naming rule, ownership of what it hands out.

#include "support/workers.hpp"

#include <fluid/detail/notifier.hpp>
#include <fluid/metrics.hpp>
#include <fluid/serve.hpp>
#include <fluid/worker_tree.hpp>
#include <fluid/workers.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

using namespace fluid;
using namespace fluid::test;
namespace asio = boost::asio;

namespace {

std::vector<std::string> paths_of(const std::vector<TreeWorker>& tree) {
  std::vector<std::string> out;
  for (const auto& node : tree) out.push_back(node.path);
  return out;
}

/// A status() that suspends until `release` is cancelled, as a user's
/// status() awaiting some I/O would.
class SlowStatus : public NiceWorker {
 public:
  explicit SlowStatus(asio::steady_timer& release) : NiceWorker({.name = "slow_status"}), release_(release) {}
  bool asked = false;
  detail::Notifier status_called;

  Task<nlohmann::json> status() override {
    asked = true;
    status_called.notify_all();
    co_await release_.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return co_await NiceWorker::status();
  }

 private:
  asio::steady_timer& release_;
};

}  // namespace

TEST(WorkerTree, PathsUseTheStatusKeysSoRepeatedNamesStayDistinct) {
  auto inner = std::make_shared<Workers>(
      std::vector<std::shared_ptr<Worker>>{std::make_shared<NiceWorker>(WorkerOptions{.name = "leaf"})},
      WorkersOptions{.name = "inner"});
  Workers root({std::make_shared<NiceWorker>(WorkerOptions{.name = "a"}),
                std::make_shared<NiceWorker>(WorkerOptions{.name = "a"}), inner},
               {.name = "root"});
  const auto tree = worker_tree(root);
  EXPECT_EQ(paths_of(tree), (std::vector<std::string>{"root", "root/a", "root/a_2", "root/inner", "root/inner/leaf"}));
  EXPECT_EQ(tree[0].parent, std::nullopt);
  EXPECT_TRUE(tree[0].group);
  EXPECT_EQ(tree[2].parent, 0u);
  EXPECT_EQ(tree[2].key, "a_2");
  EXPECT_FALSE(tree[2].group);
  EXPECT_EQ(tree[4].parent, 3u);
  EXPECT_EQ(tree[4].worker.get(), inner->workers()[0]);
}

TEST(WorkerTree, ALoneWorkerIsATreeOfOne) {
  NiceWorker alone({.name = "alone"});
  const auto tree = worker_tree(alone);
  ASSERT_EQ(tree.size(), 1u);
  EXPECT_EQ(tree[0].path, "alone");
  EXPECT_EQ(tree[0].worker.get(), &alone);
  EXPECT_FALSE(tree[0].group);
}

TEST(WorkerTree, AnEmptyGroupIsAGroupWithoutChildren) {
  Workers empty({}, {.name = "empty"});
  const auto tree = worker_tree(empty);
  ASSERT_EQ(tree.size(), 1u);
  EXPECT_TRUE(tree[0].group);
}

TEST(WorkerTree, RepeatedNamesHaveOnePathInStatusFailuresMetricsAndTheShutdownReport) {
  fluid::run([]() -> Task<> {
    auto stubborn = std::make_shared<BadWorker>(WorkerOptions{.name = "dup", .stopping_grace_period = 30ms});
    auto failing = std::make_shared<BadWorker2>(WorkerOptions{.name = "dup"});
    Workers root({stubborn, failing}, {.name = "root"});
    co_await root.startup();
    EXPECT_THROW(co_await root.wait_for_shutdown(), std::runtime_error);

    const auto failures = root.failures();
    EXPECT_EQ(failures.size(), 1u);
    if (!failures.empty()) {
      EXPECT_EQ(failures[0].name, "dup_2");
    }
    auto status = co_await root.status();
    EXPECT_EQ(status["dup"]["state"], "force_stopped");
    EXPECT_EQ(status["dup_2"]["error"], "I'm so bad");
    std::vector<std::string> sampled;
    for (const auto& sample : co_await sample_tree(root)) sampled.push_back(sample.path);
    EXPECT_EQ(sampled, (std::vector<std::string>{"root", "root/dup", "root/dup_2"}));
    std::vector<std::pair<std::string, StopReason>> reported;
    for (const auto& line : shutdown_report(root)) reported.emplace_back(line.path, line.reason);
    EXPECT_EQ(reported, (std::vector<std::pair<std::string, StopReason>>{{"root/dup", StopReason::forced},
                                                                         {"root/dup_2", StopReason::failed}}));
  }());
}

TEST(WorkerTree, HeldEntriesKeepAChildReplacedByARestartAlive) {
  fluid::run([]() -> Task<> {
    auto instances = std::make_shared<std::vector<std::weak_ptr<Worker>>>();
    auto made = std::make_shared<detail::Notifier>();
    Workers root({}, {.name = "root", .backoff = {.initial = 0ms, .max = 0ms, .jitter = 0}});
    root.add_supervised(
        [=] {
          auto worker = std::make_shared<NiceWorker>(WorkerOptions{.name = "child"});
          instances->push_back(worker);
          made->notify_all();
          return worker;
        },
        RestartPolicy::always);
    co_await root.startup();
    auto tree = worker_tree(root);
    EXPECT_EQ(paths_of(tree), (std::vector<std::string>{"root", "root/child"}));
    tree.back().worker->gracefully_stop();  // a clean stop: "always" restarts it
    const bool restarted =
        co_await made->wait_until([&] { return instances->size() >= 2; }, detail::deadline_after(5s));
    EXPECT_TRUE(restarted);
    EXPECT_FALSE(instances->front().expired()) << "the walk's entry must own the replaced child";
    EXPECT_TRUE(tree.back().worker->is_stopped());
    EXPECT_EQ(paths_of(worker_tree(root)), paths_of(tree)) << "a restarted child keeps its slot's path";
    tree.clear();
    EXPECT_TRUE(instances->front().expired());
    co_await root.shutdown();
  }());
}

TEST(SampleTree, AChildReplacedWhileAStatusSuspendsIsStillSampledSafely) {
  fluid::run([]() -> Task<> {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer release(executor, std::chrono::steady_clock::time_point::max());
    auto slow = std::make_shared<SlowStatus>(release);
    auto inner = std::make_shared<Workers>(std::vector<std::shared_ptr<Worker>>{},
                                           WorkersOptions{.name = "inner", .backoff = {.initial = 0ms, .max = 0ms}});
    auto made = std::make_shared<int>(0);
    auto notifier = std::make_shared<detail::Notifier>();
    inner->add_supervised(
        [=] {
          ++*made;
          notifier->notify_all();
          return std::make_shared<NiceWorker>(WorkerOptions{.name = "flaky"});
        },
        RestartPolicy::always);
    Workers root({slow, inner}, {.name = "root"});
    co_await root.startup();
    std::optional<std::vector<WorkerSample>> samples;
    asio::co_spawn(
        executor,
        [&]() -> Task<> {
          samples = co_await sample_tree(root);
          notifier->notify_all();
        },
        asio::detached);
    const bool asked = co_await slow->status_called.wait_until([&] { return slow->asked; }, detail::deadline_after(5s));
    EXPECT_TRUE(asked);
    inner->workers()[0]->gracefully_stop();  // replaced while the walk waits on slow_status
    const bool replaced = co_await notifier->wait_until([&] { return *made >= 2; }, detail::deadline_after(5s));
    EXPECT_TRUE(replaced);
    release.expires_at(std::chrono::steady_clock::time_point::min());  // this wait and any later one end
    const bool sampled = co_await notifier->wait_until([&] { return samples.has_value(); }, detail::deadline_after(5s));
    EXPECT_TRUE(sampled);
    std::vector<std::string> paths;
    for (const auto& sample : samples.value_or(std::vector<WorkerSample>{})) paths.push_back(sample.path);
    EXPECT_EQ(paths, (std::vector<std::string>{"root", "root/slow_status", "root/inner", "root/inner/flaky"}));
    co_await root.shutdown();
  }());
}

TEST(ChildNames, RepeatsGetSuffixesAndALiteralSuffixNeverCollides) {
  ChildNames names;
  std::vector<std::string> keys;
  for (const std::string name : {"a", "a", "a_2", "a", "b", "a_3"})
    keys.push_back(ChildNames::key(name, names.add(name)));
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "a_2", "a_2_2", "a_3", "b", "a_3_2"}));
}

TEST(ChildNames, AKeyIsNeverGivenTwiceAlsoAfterALiteralTookAName) {
  ChildNames names;
  std::vector<std::string> keys;
  for (const std::string name : {"x_2", "x", "x", "x"}) keys.push_back(ChildNames::key(name, names.add(name)));
  EXPECT_EQ(keys, (std::vector<std::string>{"x_2", "x", "x_3", "x_4"}));
}
