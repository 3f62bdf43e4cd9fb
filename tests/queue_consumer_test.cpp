// QueueConsumer and QueueConsumerWorker: aio-fluid's test_consumer, then
// fluid's guarantees: any-thread send, event-driven idle, drain, nothing lost
// unnoticed, backpressure.

#include "support/captured_log.hpp"
#include "support/workers.hpp"

#include <fluid/queue_consumer.hpp>
#include <fluid/workers.hpp>

#include <gtest/gtest.h>

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <atomic>
#include <numeric>
#include <thread>

using namespace fluid;
using namespace fluid::test;
using SteadyClock = std::chrono::steady_clock;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

/// A consumer with its own run(): polls get_message with a short timeout and
/// records what it saw, so get_message itself is under test.
class Collector : public QueueConsumer<int> {
 public:
  using QueueConsumer<int>::QueueConsumer;
  std::vector<int> seen;
  int timeouts = 0;

 protected:
  Task<> run() override {
    while (is_running()) {
      if (auto m = co_await get_message(20ms)) {
        seen.push_back(*m);
      } else {
        ++timeouts;
      }
    }
    // Drain: get_message returns what is left, then nullopt once closed.
    while (auto m = co_await get_message()) seen.push_back(*m);
  }
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Takes nothing itself: the test's coroutines call get_message().
class ParkedConsumer : public QueueConsumer<int> {
 public:
  using QueueConsumer<int>::QueueConsumer;

 protected:
  Task<> run() override { co_await stop_requested(); }
};

/// Cannot connect: its on_startup() throws, so a group fails before the next child.
class CannotStart : public Worker {
 public:
  using Worker::Worker;

 protected:
  Task<> on_startup() override { throw std::runtime_error("cannot connect"); }
  Task<> run() override { co_return; }
};

Task<> ignore_nothing(int) { co_return; }

}  // namespace

TEST(QueueConsumer, MessageSentBeforeStartupIsConsumedInsideAGroup) {
  fluid::run([]() -> Task<> {
    std::optional<std::string> received;
    auto consumer = std::make_shared<QueueConsumerWorker<std::string>>([&](std::string m) -> Task<> {
      received = m;
      co_return;
    });
    EXPECT_EQ(consumer->queue_size(), 0u);
    consumer->send("test");
    EXPECT_EQ(consumer->queue_size(), 1u);
    Workers runner({consumer});
    co_await runner.startup();
    EXPECT_FALSE(consumer->is_stopping());
    while (!received) co_await sleep(1ms);
    EXPECT_EQ(*received, "test");
    EXPECT_EQ(consumer->queue_size(), 0u);
    co_await runner.shutdown();
    EXPECT_TRUE(runner.is_stopped());
  }());
}

TEST(QueueConsumer, MessagesAreHandledInTheOrderSent) {
  fluid::run([]() -> Task<> {
    std::vector<int> order;
    QueueConsumerWorker<int> consumer([&](int m) -> Task<> {
      order.push_back(m);
      co_return;
    });
    for (int i = 0; i < 5; ++i) consumer.send(i);
    co_await consumer.startup();
    for (int i = 5; i < 10; ++i) consumer.send(i);
    co_await consumer.shutdown();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  }());
}

TEST(QueueConsumer, FourProducerThreadsLoseNothing) {
  fluid::run([]() -> Task<> {
    long long sum = 0;
    long count = 0;
    QueueConsumerWorker<int> consumer([&](int m) -> Task<> {
      sum += m;
      ++count;
      co_return;
    });
    co_await consumer.startup();
    {
      std::vector<std::jthread> producers;
      for (int p = 0; p < 4; ++p) {
        producers.emplace_back([&consumer] {
          for (int i = 1; i <= 25'000; ++i) consumer.send(i);
        });
      }
    }
    co_await consumer.shutdown();  // drains
    EXPECT_EQ(count, 100'000);
    EXPECT_EQ(sum, 4LL * 25'000 * 25'001 / 2);
    EXPECT_EQ(consumer.processed_count(), 100'000u);
    EXPECT_EQ(consumer.dropped_count(), 0u);
  }());
}

TEST(QueueConsumer, IdleConsumerStopsPromptlyOnShutdown) {
  fluid::run([]() -> Task<> {
    QueueConsumerWorker<int> consumer([](int) -> Task<> { co_return; });
    co_await consumer.startup();
    co_await sleep(5ms);
    const auto start = SteadyClock::now();
    co_await consumer.shutdown();
    EXPECT_LT(SteadyClock::now() - start, 100ms);  // aio-fluid: up to 500 ms; the benchmark holds the real figure
    EXPECT_EQ(consumer.worker_state(), WorkerState::stopped);
  }());
}

TEST(QueueConsumer, GracefulStopDrainsWhatWasQueued) {
  fluid::run([]() -> Task<> {
    int handled = 0;
    QueueConsumerWorker<int> consumer([&](int) -> Task<> {
      co_await sleep(0ms);
      ++handled;
    });
    for (int i = 0; i < 100; ++i) consumer.send(i);
    co_await consumer.startup();
    co_await consumer.shutdown();
    EXPECT_EQ(handled, 100);
    EXPECT_EQ(consumer.dropped_count(), 0u);
    EXPECT_EQ(consumer.worker_state(), WorkerState::stopped);
  }());
}

TEST(QueueConsumer, SendWhileStoppingIsAcceptedUntilTheDrainClosesTheQueue) {
  fluid::run([]() -> Task<> {
    std::vector<int> handled;
    QueueConsumerWorker<int> consumer({[&](int m) -> Task<> {
                                        handled.push_back(m);
                                        co_return;
                                      }},
                                      {.name = "mailbox"});
    consumer.send(1);
    co_await consumer.startup();
    consumer.gracefully_stop();
    consumer.send(2);  // still draining: accepted
    co_await consumer.wait_for_shutdown();
    EXPECT_EQ(handled, (std::vector<int>{1, 2}));
    try {
      consumer.send(3);
      ADD_FAILURE() << "send to a stopped consumer did not throw";
    } catch (const QueueClosedError& e) {
      EXPECT_TRUE(contains(e.what(), "mailbox")) << e.what();
    }
    EXPECT_FALSE(consumer.try_send(4));
  }());
}

TEST(QueueConsumer, DiscardOnStopCountsAndDropsWhatWasQueued) {
  fluid::run([]() -> Task<> {
    int handled = 0;
    QueueConsumerWorker<int> consumer(
        [&](int) -> Task<> {
          ++handled;
          co_return;
        },
        {}, {.drain_on_stop = false});
    co_await consumer.startup();
    consumer.gracefully_stop();
    EXPECT_FALSE(consumer.try_send(1));
    co_await consumer.wait_for_shutdown();
    EXPECT_EQ(handled, 0);
  }());
  fluid::run([]() -> Task<> {
    QueueConsumerWorker<int> consumer([](int) -> Task<> { co_return; }, {}, {.drain_on_stop = false});
    for (int i = 0; i < 7; ++i) consumer.send(i);
    consumer.gracefully_stop();  // before startup: nothing to stop, nothing dropped
    EXPECT_EQ(consumer.queue_size(), 7u);
    co_await consumer.startup();
    co_await consumer.shutdown();
    EXPECT_EQ(consumer.processed_count() + consumer.dropped_count(), 7u);
    auto status = co_await consumer.status();
    EXPECT_EQ(status["dropped"], consumer.dropped_count());
  }());
}

TEST(QueueConsumer, ForcedStopCountsEveryUnhandledMessageAsDropped) {
  fluid::run([]() -> Task<> {
    QueueConsumerWorker<int> consumer([](int) -> Task<> { co_await sleep(1h); }, {.stopping_grace_period = 30ms});
    for (int i = 0; i < 10; ++i) consumer.send(i);
    co_await consumer.startup();
    co_await sleep(5ms);  // the first message is now stuck in the handler
    consumer.send(10);
    co_await consumer.shutdown();
    EXPECT_EQ(consumer.worker_state(), WorkerState::force_stopped);
    EXPECT_EQ(consumer.processed_count(), 1u);
    EXPECT_EQ(consumer.dropped_count(), 10u);
    EXPECT_EQ(consumer.queue_size(), 0u);
    auto status = co_await consumer.status();
    EXPECT_EQ(status["dropped"], 10);
    EXPECT_EQ(status["processed"], 1);
  }());
}

TEST(QueueConsumer, HandlerFailureFailsTheWorkerAndCountsTheRestAsDropped) {
  fluid::run([]() -> Task<> {
    QueueConsumerWorker<int> consumer([](int m) -> Task<> {
      if (m == 2) throw std::runtime_error("bad message 2");
      co_return;
    });
    for (int i = 0; i < 5; ++i) consumer.send(i);
    co_await consumer.startup();
    EXPECT_THROW(co_await consumer.wait_for_shutdown(), std::runtime_error);
    EXPECT_EQ(consumer.processed_count(), 3u);
    EXPECT_EQ(consumer.dropped_count(), 2u);
  }());
}

TEST(QueueConsumer, TrySendTellsAFullQueueFromAClosedOne) {
  fluid::run([]() -> Task<> {
    QueueConsumerWorker<int> consumer(ignore_nothing, {.name = "bounded"}, {.capacity = 1});
    EXPECT_EQ(consumer.try_send(1), SendResult::accepted);
    EXPECT_EQ(consumer.try_send(2), SendResult::full);  // try again later
    co_await consumer.startup();
    co_await consumer.shutdown();
    EXPECT_EQ(consumer.try_send(3), SendResult::closed);  // never again
    EXPECT_EQ(consumer.processed_count(), 1u);
  }());
}

TEST(QueueConsumer, BoundedQueueRefusesWhenFullAndAsyncSendWaitsForRoom) {
  fluid::run([]() -> Task<> {
    std::vector<int> handled;
    QueueConsumerWorker<int> consumer(
        [&](int m) -> Task<> {
          handled.push_back(m);
          co_return;
        },
        {.name = "bounded"}, {.capacity = 2});
    EXPECT_TRUE(consumer.try_send(1));
    EXPECT_TRUE(consumer.try_send(2));
    EXPECT_FALSE(consumer.try_send(3));  // full: tests false like closed
    try {
      consumer.send(3);
      ADD_FAILURE() << "send to a full queue did not throw";
    } catch (const QueueFullError& e) {
      EXPECT_TRUE(contains(e.what(), "bounded")) << e.what();
    }
    bool sent = false;
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(
        executor,
        [&]() -> Task<> {
          co_await consumer.async_send(3);
          sent = true;
        },
        boost::asio::detached);
    co_await sleep(5ms);
    EXPECT_FALSE(sent);  // no room until the consumer runs
    co_await consumer.startup();
    while (!sent) co_await sleep(1ms);
    co_await consumer.shutdown();
    EXPECT_EQ(handled, (std::vector<int>{1, 2, 3}));
  }());
}

TEST(QueueConsumer, AsyncSendFromAnotherThreadIsWokenByEveryHandOverThatMakesRoom) {
  // Capacity 1: nearly every async_send finds the queue full while the
  // consumer, on another thread, is about to hand the one message over. A
  // sender that misses that hand-over's wake-up sleeps with the queue empty,
  // and nothing will ever wake it: the deadline turns that hang into a failure.
  // Both loops are kept busy (yielding, never parked in the reactor) so that
  // the two threads meet at the gate often. Sending stops after `budget`: on
  // a loaded machine, busy loops make each hand-over slow.
  fluid::run([]() -> Task<> {
    static constexpr int messages = 5'000;
    static constexpr auto budget = 500ms;
    int handled = 0;
    int out_of_order = 0;
    QueueConsumerWorker<int> consumer(
        [&](int m) -> Task<> {
          if (m != handled) ++out_of_order;
          ++handled;
          co_return;
        },
        {}, {.capacity = 1});
    co_await consumer.startup();
    std::atomic<int> sent{0};
    std::atomic<bool> producer_done{false};
    std::jthread producer([&] {
      fluid::run([&]() -> Task<> {
        const auto stop_sending = SteadyClock::now() + budget;
        boost::asio::co_spawn(
            co_await boost::asio::this_coro::executor,
            [&]() -> Task<> {
              while (!producer_done) co_await sleep(0ms);
            },
            boost::asio::detached);
        try {
          for (int i = 0; i < messages && SteadyClock::now() < stop_sending; ++i) {
            co_await consumer.async_send(i);
            sent = i + 1;
          }
        } catch (const QueueClosedError&) {  // the shutdown below, after a hang
        }
        producer_done = true;
        co_await sleep(0ms);  // lets the busy loop see it
      }());
    });
    const auto deadline = SteadyClock::now() + 5s;
    const auto all_handled = [&] { return producer_done && handled == sent; };
    while (!all_handled() && SteadyClock::now() < deadline) co_await sleep(0ms);
    EXPECT_TRUE(all_handled()) << "async_send slept through a wake-up after " << sent.load() << " messages";
    co_await consumer.shutdown();  // closes the queue: wakes a sender still waiting
    producer.join();
    EXPECT_GT(sent.load(), 0);
    EXPECT_EQ(out_of_order, 0);
  }());
}

TEST(QueueConsumer, AsyncSendToAStoppedConsumerThrows) {
  fluid::run([]() -> Task<> {
    QueueConsumerWorker<int> consumer([](int) -> Task<> { co_return; });
    co_await consumer.startup();
    co_await consumer.shutdown();
    EXPECT_THROW(co_await consumer.async_send(1), QueueClosedError);
  }());
}

TEST(QueueConsumer, GetMessageTimesOutAndThenDrainsOnStop) {
  fluid::run([]() -> Task<> {
    Collector collector;
    co_await collector.startup();
    co_await sleep(50ms);
    EXPECT_GE(collector.timeouts, 1);
    collector.send(1);
    collector.send(2);
    co_await collector.shutdown();
    EXPECT_EQ(collector.seen, (std::vector<int>{1, 2}));
  }());
}

TEST(QueueConsumer, AWaiterInGetMessageIsWokenAfterAnotherWaiterTimedOut) {
  // Two coroutines wait in get_message(); the one that timed out used to
  // clear the flag they shared, so a send no longer woke the other one.
  fluid::run([]() -> Task<> {
    ParkedConsumer consumer;
    co_await consumer.startup();
    auto long_wait = [&]() -> Task<std::optional<int>> { co_return co_await consumer.get_message(10s); };
    auto short_wait_then_send = [&]() -> Task<bool> {
      const auto message = co_await consumer.get_message(10ms);
      consumer.send(7);
      co_return message.has_value();
    };
    const auto start = SteadyClock::now();
    const auto [got, short_got] = co_await (long_wait() && short_wait_then_send());
    EXPECT_FALSE(short_got);
    EXPECT_EQ(got, 7);
    EXPECT_LT(SteadyClock::now() - start, 5s);
    co_await consumer.shutdown();
  }());
}

TEST(QueueConsumer, StatusReportsQueueFigures) {
  fluid::run([]() -> Task<> {
    QueueConsumerWorker<int> consumer([](int) -> Task<> { co_return; });
    consumer.send(1);
    auto before = co_await consumer.status();
    EXPECT_EQ(before["queue_size"], 1);
    EXPECT_EQ(before["processed"], 0);
    co_await consumer.startup();
    co_await consumer.shutdown();
    auto after = co_await consumer.status();
    EXPECT_EQ(after["queue_size"], 0);
    EXPECT_EQ(after["processed"], 1);
    EXPECT_EQ(after["dropped"], 0);
    EXPECT_EQ(after["state"], "stopped");
  }());
}

TEST(QueueConsumer, EmptyHandlerIsRejectedAtConstruction) {
  EXPECT_THROW(QueueConsumerWorker<int>(nullptr), FluidError);
}

TEST(QueueConsumer, DefaultNameComesFromTheClassWithoutTemplateArguments) {
  QueueConsumerWorker<long> consumer([](long) -> Task<> { co_return; });
  EXPECT_EQ(consumer.worker_name(), "queue_consumer_worker");
}

TEST(QueueConsumer, AConsumerItsGroupNeverStartedCountsLogsAndRefusesOnceTheGroupStopped) {
  CapturedLog log;
  fluid::run([&]() -> Task<> {
    auto consumer = std::make_shared<QueueConsumerWorker<int>>(ignore_nothing, WorkerOptions{.name = "late"});
    consumer->send(1);
    consumer->send(2);
    Workers group({std::make_shared<CannotStart>(), consumer}, {.name = "group"});
    EXPECT_THROW(co_await group.startup(), std::runtime_error);
    EXPECT_TRUE(group.is_stopped());
    EXPECT_EQ(consumer->worker_state(), WorkerState::init);
    EXPECT_EQ(consumer->queue_size(), 0u);
    EXPECT_EQ(consumer->dropped_count(), 2u);
    EXPECT_TRUE(log.contains("late dropped 2 queued message(s): the consumer was never started")) << log.text();
    try {
      consumer->send(3);
      ADD_FAILURE() << "send() to a consumer that will never start was accepted";
    } catch (const QueueClosedError& e) {
      EXPECT_NE(std::string(e.what()).find("never started"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(consumer->try_send(4));
    EXPECT_THROW(co_await consumer->startup(), WorkerStartError);
  }());
}

TEST(QueueConsumer, AConsumerInANestedGroupNeverStartedIsRetiredWithIt) {
  fluid::run([]() -> Task<> {
    auto consumer = std::make_shared<QueueConsumerWorker<int>>(ignore_nothing);
    consumer->send(1);
    auto inner = std::make_shared<Workers>(std::vector<std::shared_ptr<Worker>>{consumer}, WorkersOptions{.name = "inner"});
    Workers outer({std::make_shared<CannotStart>(), inner}, {.name = "outer"});
    EXPECT_THROW(co_await outer.startup(), std::runtime_error);
    EXPECT_EQ(inner->worker_state(), WorkerState::init);
    EXPECT_EQ(consumer->dropped_count(), 1u);
    EXPECT_THROW(consumer->send(2), QueueClosedError);
  }());
}

TEST(QueueConsumer, AConsumerDestroyedWithoutEverStartingLogsWhatItHeld) {
  CapturedLog log;
  {
    QueueConsumerWorker<int> consumer(ignore_nothing, {.name = "forgotten"});
    consumer.send(1);
    consumer.send(2);
    consumer.send(3);
  }
  EXPECT_TRUE(log.contains("forgotten dropped 3 queued message(s): the consumer was destroyed without ever being started"))
      << log.text();
}

// ---- concurrency and handler timeouts ---------------------------------------

TEST(QueueConsumer, ConcurrencyRunsUpToThatManyHandlersAtOnceAndNoMore) {
  fluid::run([]() -> Task<> {
    int in_flight = 0;
    int most_in_flight = 0;
    std::vector<int> handled;
    QueueConsumerWorker<int> consumer(
        [&](int m) -> Task<> {
          most_in_flight = std::max(most_in_flight, ++in_flight);
          co_await sleep(10ms);
          --in_flight;
          handled.push_back(m);
        },
        {.name = "pool"}, {.concurrency = 3});
    for (int i = 0; i < 9; ++i) consumer.send(i);
    co_await consumer.startup();
    co_await consumer.shutdown();  // drains
    EXPECT_EQ(most_in_flight, 3);
    std::sort(handled.begin(), handled.end());
    EXPECT_EQ(handled, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
    EXPECT_EQ(consumer.processed_count(), 9u);
    EXPECT_EQ(consumer.dropped_count(), 0u);
    EXPECT_EQ(consumer.worker_state(), WorkerState::stopped);
    const auto status = co_await consumer.status();
    EXPECT_EQ(status["concurrency"], 3);
    EXPECT_EQ(status["handler_latency"]["count"], 9);
  }());
}

TEST(QueueConsumer, ConcurrentHandlersTakeMessagesSentWhileTheyRun) {
  fluid::run([]() -> Task<> {
    std::vector<int> handled;
    QueueConsumerWorker<int> consumer(
        [&](int m) -> Task<> {
          co_await sleep(1ms);
          handled.push_back(m);
        },
        {}, {.concurrency = 2});
    co_await consumer.startup();
    for (int i = 0; i < 20; ++i) {
      consumer.send(i);
      co_await sleep(i % 3 == 0 ? 2ms : 0ms);
    }
    co_await consumer.shutdown();
    EXPECT_EQ(handled.size(), 20u);
    EXPECT_EQ(consumer.processed_count(), 20u);
  }());
}

TEST(QueueConsumer, AHandlerPastItsTimeoutIsCancelledCountedAsFailedAndTheConsumerGoesOn) {
  CapturedLog log;
  fluid::run([&]() -> Task<> {
    std::vector<int> handled;
    bool slow_one_cancelled = false;
    QueueConsumerWorker<int> consumer(
        [&](int m) -> Task<> {
          try {
            if (m == 1) co_await sleep(1h);
          } catch (const boost::system::system_error&) {
            slow_one_cancelled = true;
            throw;
          }
          handled.push_back(m);
        },
        {.name = "impatient"}, {.handler_timeout = 20ms});
    consumer.send(1);
    consumer.send(2);
    co_await consumer.startup();
    co_await consumer.shutdown();
    EXPECT_TRUE(slow_one_cancelled);
    EXPECT_EQ(handled, (std::vector<int>{2}));
    EXPECT_EQ(consumer.failed_count(), 1u);
    EXPECT_EQ(consumer.processed_count(), 2u);
    EXPECT_EQ(consumer.stop_reason(), StopReason::normal);
    EXPECT_EQ((co_await consumer.status())["failed"], 1);
  }());
  EXPECT_TRUE(log.contains("impatient: a handler ran past its timeout of 20ms")) << log.text();
}

TEST(QueueConsumer, AFailingHandlerAmongConcurrentOnesFailsTheConsumerOnceTheOthersFinished) {
  fluid::run([]() -> Task<> {
    bool slow_one_finished = false;
    QueueConsumerWorker<int> consumer(
        [&](int m) -> Task<> {
          if (m == 1) {
            co_await sleep(30ms);
            slow_one_finished = true;
            co_return;
          }
          co_await sleep(1ms);
          throw std::runtime_error("cannot handle " + std::to_string(m));
        },
        {}, {.concurrency = 2});
    for (int i = 1; i <= 5; ++i) consumer.send(i);
    co_await consumer.startup();
    std::string error;
    try {
      co_await consumer.wait_for_shutdown();
    } catch (const std::exception& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "cannot handle 2");
    EXPECT_TRUE(slow_one_finished);
    EXPECT_EQ(consumer.failed_count(), 1u);
    EXPECT_EQ(consumer.processed_count(), 2u);
    EXPECT_EQ(consumer.dropped_count(), 3u);
  }());
}

TEST(QueueConsumer, AForcedStopCancelsEveryHandlerInFlightWithoutCountingThemAsFailed) {
  fluid::run([]() -> Task<> {
    int cancelled = 0;
    QueueConsumerWorker<int> consumer(
        [&](int) -> Task<> {
          try {
            co_await sleep(1h);
          } catch (const boost::system::system_error&) {
            ++cancelled;
            throw;
          }
        },
        {.stopping_grace_period = 20ms}, {.concurrency = 2, .handler_timeout = 1h});
    for (int i = 0; i < 3; ++i) consumer.send(i);
    co_await consumer.startup();
    co_await sleep(5ms);
    co_await consumer.shutdown();
    EXPECT_EQ(consumer.worker_state(), WorkerState::force_stopped);
    EXPECT_EQ(cancelled, 2);
    EXPECT_EQ(consumer.failed_count(), 0u);
    EXPECT_EQ(consumer.processed_count(), 2u);
    EXPECT_EQ(consumer.dropped_count(), 1u);
  }());
}

TEST(QueueConsumer, AZeroConcurrencyOrANonPositiveTimeoutFailsAtConstruction) {
  EXPECT_THROW(QueueConsumerWorker<int>(ignore_nothing, {}, {.concurrency = 0}), FluidError);
  EXPECT_THROW(QueueConsumerWorker<int>(ignore_nothing, {}, {.handler_timeout = 0ms}), FluidError);
}
