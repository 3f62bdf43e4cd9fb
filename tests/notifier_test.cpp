// detail::Notifier: coroutines wait for a change another party makes, from
// any thread, without polling and without losing a wake-up.

#include <fluid/detail/notifier.hpp>

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <thread>

using namespace std::chrono_literals;
using fluid::Task;
using fluid::detail::deadline_after;
using fluid::detail::Notifier;
using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

// Long enough never to pass on a healthy run, short enough that a lost
// wake-up fails the test instead of hanging it.
constexpr auto generous = 10s;

Task<> notify_after(Notifier& notifier, Clock::duration delay) {
  co_await fluid::sleep(delay);
  notifier.notify_all();
}

}  // namespace

TEST(Notifier, WaitReturnsTrueWhenNotified) {
  Notifier notifier;
  const auto start = Clock::now();
  const bool notified = fluid::run([&]() -> Task<bool> {
    const auto ticket = notifier.ticket();
    asio::co_spawn(co_await asio::this_coro::executor, notify_after(notifier, 10ms), asio::detached);
    co_return co_await notifier.wait(ticket, deadline_after(generous));
  }());
  EXPECT_TRUE(notified);
  EXPECT_LT(Clock::now() - start, generous);
}

TEST(Notifier, WaitReturnsFalseAtTheDeadline) {
  Notifier notifier;
  const auto start = Clock::now();
  const bool notified =
      fluid::run([&]() -> Task<bool> { co_return co_await notifier.wait(notifier.ticket(), deadline_after(20ms)); }());
  EXPECT_FALSE(notified);
  EXPECT_GE(Clock::now() - start, 20ms);
}

TEST(Notifier, WaitWithADeadlineInThePastReturnsFalseAtOnce) {
  Notifier notifier;
  const bool notified = fluid::run(
      [&]() -> Task<bool> { co_return co_await notifier.wait(notifier.ticket(), Clock::now() - 1s); }());
  EXPECT_FALSE(notified);
}

TEST(Notifier, ANotifyBetweenTicketAndWaitIsNotLost) {
  Notifier notifier;
  const auto start = Clock::now();
  const bool notified = fluid::run([&]() -> Task<bool> {
    const auto ticket = notifier.ticket();
    notifier.notify_all();  // nobody is waiting yet
    co_return co_await notifier.wait(ticket, deadline_after(generous));
  }());
  EXPECT_TRUE(notified);
  EXPECT_LT(Clock::now() - start, generous);
}

TEST(Notifier, ANotifyBeforeTheTicketDoesNotWakeTheWait) {
  Notifier notifier;
  notifier.notify_all();
  const bool notified =
      fluid::run([&]() -> Task<bool> { co_return co_await notifier.wait(notifier.ticket(), deadline_after(20ms)); }());
  EXPECT_FALSE(notified);
}

TEST(Notifier, NotifyAllFromAnotherThreadWakesAWaiterOnTheLoop) {
  Notifier notifier;
  std::atomic<bool> waiting{false};
  std::jthread notifier_thread;
  const auto start = Clock::now();
  const bool notified = fluid::run([&]() -> Task<bool> {
    const auto ticket = notifier.ticket();
    notifier_thread = std::jthread([&] {
      while (!waiting.load()) std::this_thread::yield();
      std::this_thread::sleep_for(10ms);  // most likely parked by now
      notifier.notify_all();
    });
    waiting = true;
    co_return co_await notifier.wait(ticket, deadline_after(generous));
  }());
  EXPECT_TRUE(notified);
  EXPECT_LT(Clock::now() - start, generous);
}

TEST(Notifier, WaitUntilSeesEveryChangeMadeByAnotherThread) {
  // Many notifications racing with the waiter's ticket/check/park sequence:
  // a single lost wake-up leaves the waiter parked until the deadline.
  constexpr int changes = 2000;
  Notifier notifier;
  std::atomic<int> counter{0};
  const bool reached = fluid::run([&]() -> Task<bool> {
    std::jthread producer([&] {
      for (int i = 0; i < changes; ++i) {
        counter.fetch_add(1);
        notifier.notify_all();
      }
    });
    int seen = 0;
    while (seen < changes) {
      // Wait for a change past what was last seen (not past a fresh read,
      // which could already be the final value).
      const int before = seen;
      if (!co_await notifier.wait_until([&] { return counter.load() > before; }, deadline_after(generous))) {
        co_return false;
      }
      seen = counter.load();
    }
    co_return true;
  }());
  EXPECT_TRUE(reached);
}

TEST(Notifier, WaitUntilRechecksItsConditionAfterEachNotification) {
  Notifier notifier;
  bool ready = false;
  int checks = 0;
  const bool satisfied = fluid::run([&]() -> Task<bool> {
    auto change = [&]() -> Task<> {
      co_await fluid::sleep(5ms);
      notifier.notify_all();  // a wake-up while the condition is still false
      co_await fluid::sleep(5ms);
      ready = true;
      notifier.notify_all();
    };
    asio::co_spawn(co_await asio::this_coro::executor, change(), asio::detached);
    co_return co_await notifier.wait_until(
        [&] {
          ++checks;
          return ready;
        },
        deadline_after(generous));
  }());
  EXPECT_TRUE(satisfied);
  EXPECT_EQ(checks, 3);
}

TEST(Notifier, WaitUntilReturnsAtOnceWhenTheConditionAlreadyHolds) {
  Notifier notifier;
  const bool satisfied =
      fluid::run([&]() -> Task<bool> { co_return co_await notifier.wait_until([] { return true; }); }());
  EXPECT_TRUE(satisfied);
}

TEST(Notifier, WaitUntilReturnsFalseWhenTheDeadlinePassesFirst) {
  Notifier notifier;
  const auto start = Clock::now();
  const bool satisfied = fluid::run(
      [&]() -> Task<bool> { co_return co_await notifier.wait_until([] { return false; }, deadline_after(20ms)); }());
  EXPECT_FALSE(satisfied);
  EXPECT_GE(Clock::now() - start, 20ms);
}

TEST(Notifier, AWaiterCancelledByItsOwnCoroutineThrowsOperationAborted) {
  Notifier notifier;
  const auto start = Clock::now();
  const auto error = fluid::run([&]() -> Task<std::exception_ptr> {
    const auto executor = co_await asio::this_coro::executor;
    asio::cancellation_signal cancel;
    std::exception_ptr result;
    bool done = false;
    bool notified = false;
    asio::co_spawn(executor, notifier.wait(notifier.ticket(), deadline_after(generous)),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, bool was_notified) {
                     result = e;
                     notified = was_notified;
                     done = true;
                   }));
    co_await fluid::sleep(5ms);
    cancel.emit(asio::cancellation_type::terminal);
    while (!done) co_await fluid::sleep(1ms);
    EXPECT_FALSE(notified);
    notifier.notify_all();  // the cancelled waiter is gone: nothing to wake
    co_return result;
  }());
  EXPECT_LT(Clock::now() - start, generous);
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::operation_aborted);
  }
}

TEST(Notifier, AWaiterThatLosesARaceIsCancelledAndNotReportedAsNotified) {
  Notifier notifier;
  const auto winner = fluid::run([&]() -> Task<std::size_t> {
    const auto result = co_await (notifier.wait(notifier.ticket(), deadline_after(generous)) || fluid::sleep(10ms));
    co_return result.index();
  }());
  EXPECT_EQ(winner, 1u);
}

TEST(Notifier, NotifyAllWakesEveryWaiter) {
  constexpr int waiters = 50;
  Notifier notifier;
  int woken = 0;
  int finished = 0;
  fluid::run([&]() -> Task<> {
    const auto executor = co_await asio::this_coro::executor;
    const auto ticket = notifier.ticket();
    for (int i = 0; i < waiters; ++i) {
      asio::co_spawn(executor, notifier.wait(ticket, deadline_after(generous)), [&](std::exception_ptr, bool notified) {
        if (notified) ++woken;
        ++finished;
      });
    }
    co_await fluid::sleep(10ms);  // let every waiter park
    notifier.notify_all();
    while (finished < waiters) co_await fluid::sleep(1ms);
  }());
  EXPECT_EQ(woken, waiters);
}

TEST(Notifier, TheTicketCountsNotifications) {
  Notifier notifier;
  const auto before = notifier.ticket();
  notifier.notify_all();
  notifier.notify_all();
  EXPECT_EQ(notifier.ticket(), before + 2);
}

TEST(DeadlineAfter, SaturatesInsteadOfOverflowing) {
  EXPECT_EQ(deadline_after(Clock::duration::max()), Clock::time_point::max());
  EXPECT_EQ(deadline_after(Clock::duration::max() - 1s), Clock::time_point::max());
}

TEST(DeadlineAfter, IsTimeoutFromNow) {
  const auto before = Clock::now();
  const auto deadline = deadline_after(1s);
  EXPECT_GE(deadline, before + 1s);
  EXPECT_LE(deadline, Clock::now() + 1s);
}

TEST(Notifier, AWaiterOnAMultiThreadedLoopWithoutAStrandNeverMissesANotification) {
  // Regression: notify_all() used to cancel the timer through the executor,
  // which on a 2-thread loop could run between registration and the wait.
  Notifier notifier;
  int woken_by_deadline = 0;
  fluid::run(
      [&]() -> Task<> {
        auto executor = co_await asio::this_coro::executor;
        for (int i = 0; i < 5000; ++i) {
          const auto ticket = notifier.ticket();
          asio::post(executor, [&] { notifier.notify_all(); });
          if (!co_await notifier.wait(ticket, deadline_after(generous))) ++woken_by_deadline;
        }
      }(),
      {.threads = 2});
  EXPECT_EQ(woken_by_deadline, 0);
}

// A waiter lives in its coroutine's frame. A loop torn down with coroutines
// still waiting destroys those frames: the notifier must neither keep a
// dangling link to them nor be touched by them once it is gone itself.
TEST(Notifier, AWaiterWhoseLoopIsTornDownLeavesTheNotifierUsable) {
  Notifier notifier;
  {
    asio::io_context loop;
    for (int i = 0; i < 3; ++i) {
      asio::co_spawn(loop, [&]() -> Task<> { co_await notifier.wait(notifier.ticket()); }, asio::detached);
    }
    loop.run_for(10ms);  // every coroutine is now waiting
  }  // their frames are destroyed here, while waiting
  notifier.notify_all();  // would touch the destroyed waiters if still linked
  EXPECT_EQ(notifier.ticket(), 1u);
  EXPECT_TRUE(fluid::run([&]() -> Task<bool> { co_return co_await notifier.wait(0); }()));
}

TEST(Notifier, ANotifierDestroyedBeforeItsWaitingFramesIsNotTouchedByThem) {
  asio::io_context loop;
  auto notifier = std::make_unique<Notifier>();
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(loop, [&notifier]() -> Task<> { co_await notifier->wait(notifier->ticket()); }, asio::detached);
  }
  loop.run_for(10ms);
  notifier.reset();
  // The loop goes out of scope after this, destroying the waiting frames. A
  // waiter reaching for the freed notifier would lock a freed mutex: a hang
  // (failed by ctest's timeout) or a use after free that ASan reports.
}
