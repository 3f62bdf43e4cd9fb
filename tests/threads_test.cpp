// Several threads: every member documented as thread-safe, called from other
// threads or from coroutines on other strands, on a 2-thread loop. Run under
// the tsan preset too.

#include "support/workers.hpp"

#include <fluid/queue_consumer.hpp>
#include <fluid/workers.hpp>

#include <gtest/gtest.h>

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <atomic>
#include <mutex>
#include <thread>

using namespace fluid;
using namespace fluid::test;
namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr RunOptions two_threads{.threads = 2};

/// Two coroutines of its own bump a plain int, then it returns: correct only
/// if the worker's coroutines are serialized (a strand per worker).
class SelfContained : public Worker {
 public:
  using Worker::Worker;
  int counter = 0;

 protected:
  Task<> run() override {
    auto bump = [this]() -> Task<> {
      for (int i = 0; i < 2000; ++i) {
        ++counter;
        co_await sleep(0ms);
      }
    };
    co_await (bump() && bump());
  }
};

/// Runs each task on a strand of its own (so, maybe, another thread) and
/// waits for all of them; rethrows the first error.
Task<> on_strands(std::vector<Task<>> tasks) {
  struct Pending {
    std::mutex mutex;
    std::size_t left = 0;
    std::exception_ptr error;
    fluid::detail::Notifier done;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = tasks.size();
  auto executor = co_await asio::this_coro::executor;
  for (auto& task : tasks) {
    asio::co_spawn(asio::make_strand(executor), std::move(task), [pending](std::exception_ptr e) {
      {
        std::lock_guard lock(pending->mutex);
        if (e && !pending->error) pending->error = e;
        --pending->left;
      }
      pending->done.notify_all();
    });
  }
  co_await pending->done.wait_until([&] {
    std::lock_guard lock(pending->mutex);
    return pending->left == 0;
  });
  if (pending->error) std::rethrow_exception(pending->error);
}

}  // namespace

TEST(Threads, AWorkerWrittenForOneThreadStaysCorrectOnTwo) {
  fluid::run(
      []() -> Task<> {
        std::vector<std::shared_ptr<SelfContained>> workers;
        std::vector<std::shared_ptr<Worker>> children;
        for (int i = 0; i < 4; ++i) {
          workers.push_back(std::make_shared<SelfContained>());
          children.push_back(workers.back());
        }
        Workers group(children);
        co_await group.startup();
        co_await group.wait_for_shutdown();  // the first to finish stops the rest, which finish too
        for (auto& w : workers) EXPECT_EQ(w->counter, 4000);
      }(),
      two_threads);
}

TEST(Threads, ShutdownAndWaitFromCoroutinesOnOtherStrandsAllReturnOnce) {
  fluid::run(
      []() -> Task<> {
        RecordingWorker worker;
        co_await worker.startup();
        std::vector<Task<>> calls;
        for (int i = 0; i < 4; ++i) calls.push_back(worker.wait_for_shutdown());
        for (int i = 0; i < 3; ++i) calls.push_back(worker.shutdown());
        co_await on_strands(std::move(calls));
        EXPECT_EQ(worker.after_shutdown_calls, 1);
        EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
      }(),
      two_threads);
}

TEST(Threads, SendGracefullyStopAndStatusFromPlainThreads) {
  fluid::run(
      []() -> Task<> {
        std::atomic<long> handled{0};
        QueueConsumerWorker<int> consumer([&](int) -> Task<> {
          handled.fetch_add(1, std::memory_order_relaxed);
          co_return;
        });
        co_await consumer.startup();
        std::atomic<bool> done{false};
        std::jthread observer([&] {
          while (!done.load()) {
            (void)consumer.queue_size();
            (void)consumer.is_running();
            const auto status = fluid::run(consumer.status());
            EXPECT_TRUE(status.contains("processed"));
          }
        });
        {
          std::vector<std::jthread> producers;
          for (int p = 0; p < 3; ++p) {
            producers.emplace_back([&] {
              for (int i = 0; i < 10'000; ++i) consumer.send(i);
            });
          }
        }
        std::jthread([&] { consumer.gracefully_stop(); }).join();
        co_await consumer.wait_for_shutdown();
        done = true;
        EXPECT_EQ(handled.load(), 30'000);
        EXPECT_EQ(consumer.dropped_count(), 0u);
      }(),
      two_threads);
}

TEST(Threads, AddWorkersAndStatusFromAnotherStrandWhileTheGroupRuns) {
  fluid::run(
      []() -> Task<> {
        Workers group({std::make_shared<NiceWorker>()});
        co_await group.startup();
        std::vector<std::shared_ptr<RecordingWorker>> added;
        for (int i = 0; i < 8; ++i) added.push_back(std::make_shared<RecordingWorker>());
        // Named: a coroutine lambda's captures live in the closure, which must
        // outlive the coroutine.
        auto add_and_look = [&]() -> Task<> {
          for (auto& w : added) group.add_workers(w);
          auto status = co_await group.status();
          EXPECT_GE(status.size(), 1u);
        };
        std::vector<Task<>> calls;
        calls.push_back(add_and_look());
        co_await on_strands(std::move(calls));
        EXPECT_EQ(group.num_workers(), 9u);
        // A stop request starts no further child: let the group start them first.
        const bool all_running = co_await wait_for_tree(group, [&] {
          return std::all_of(added.begin(), added.end(), [](const auto& w) { return w->is_running(); });
        });
        EXPECT_TRUE(all_running);
        std::vector<Task<>> stop;
        stop.push_back(group.shutdown());
        co_await on_strands(std::move(stop));
        // Each added child was started (and so stopped) by the group.
        for (auto& w : added) EXPECT_EQ(w->worker_state(), WorkerState::stopped);
      }(),
      two_threads);
}
