// detail::Gate: count what is in flight, close to new work, await the drain.

#include <fluid/detail/gate.hpp>

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using fluid::Task;
using fluid::detail::deadline_after;
using fluid::detail::Gate;
using fluid::detail::GateClosedError;
namespace asio = boost::asio;

namespace {

// Never reached on a healthy run; a lost wake-up fails the test instead of hanging it.
constexpr auto generous = 10s;

Task<> leave_after(Gate& gate, std::chrono::milliseconds delay) {
  co_await fluid::sleep(delay);
  gate.leave();
}

}  // namespace

TEST(Gate, TryEnterCountsEntriesUntilClosedThenRefuses) {
  Gate gate;
  ASSERT_TRUE(gate.try_enter());
  ASSERT_TRUE(gate.try_enter());
  EXPECT_EQ(gate.count(), 2u);
  gate.close();
  EXPECT_TRUE(gate.is_closed());
  EXPECT_FALSE(gate.try_enter());
  EXPECT_EQ(gate.count(), 2u) << "closing keeps what is inside";
  gate.leave();
  gate.leave();
  EXPECT_EQ(gate.count(), 0u);
}

TEST(Gate, EnterThrowsGateClosedErrorOnceClosed) {
  Gate gate;
  gate.enter();
  gate.close();
  EXPECT_THROW(gate.enter(), GateClosedError);
  EXPECT_THROW({ [[maybe_unused]] auto pass = gate.hold(); }, GateClosedError);
  EXPECT_FALSE(gate.try_hold());
  gate.leave();
}

TEST(Gate, APassLeavesWhenDestroyedAndOnlyOnceWhenMoved) {
  Gate gate;
  {
    auto pass = gate.hold();
    EXPECT_EQ(gate.count(), 1u);
    auto moved = std::move(pass);
    EXPECT_EQ(gate.count(), 1u);
    auto other = gate.try_hold();
    ASSERT_TRUE(other);
    EXPECT_EQ(gate.count(), 2u);
    other->release();
    EXPECT_EQ(gate.count(), 1u);
    other->release();
    EXPECT_EQ(gate.count(), 1u);
  }
  EXPECT_EQ(gate.count(), 0u);
}

TEST(Gate, DrainedReturnsAtOnceWhenNothingIsInside) {
  Gate gate;
  const bool drained = fluid::run(gate.drained(deadline_after(generous)));
  EXPECT_TRUE(drained);
}

TEST(Gate, DrainedCompletesWhenTheLastEntryLeaves) {
  Gate gate;
  gate.enter();
  gate.enter();
  std::size_t inside_when_drained = 99;
  const auto start = std::chrono::steady_clock::now();
  const bool drained = fluid::run([&]() -> Task<bool> {
    const auto executor = co_await asio::this_coro::executor;
    asio::co_spawn(executor, leave_after(gate, 5ms), asio::detached);
    asio::co_spawn(executor, leave_after(gate, 20ms), asio::detached);
    const bool done = co_await gate.drained(deadline_after(generous));
    inside_when_drained = gate.count();
    co_return done;
  }());
  EXPECT_TRUE(drained);
  EXPECT_EQ(inside_when_drained, 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, generous);
}

TEST(Gate, DrainedReturnsFalseAtTheDeadlineWhileWorkIsInside) {
  Gate gate;
  gate.enter();
  const bool drained = fluid::run(gate.drained(deadline_after(20ms)));
  EXPECT_FALSE(drained);
  EXPECT_EQ(gate.count(), 1u);
  gate.leave();
}

TEST(Gate, CloseAndDrainRefusesNewWorkAndWaitsForWhatIsInside) {
  Gate gate;
  gate.enter();
  bool refused_while_draining = false;
  fluid::run([&]() -> Task<> {
    const auto executor = co_await asio::this_coro::executor;
    asio::co_spawn(
        executor,
        [&]() -> Task<> {
          co_await fluid::sleep(5ms);
          refused_while_draining = !gate.try_enter();
          gate.leave();
        },
        asio::detached);
    co_await gate.close_and_drain();
  }());
  EXPECT_TRUE(refused_while_draining);
  EXPECT_EQ(gate.count(), 0u);
}

TEST(Gate, EntriesLeavingFromManyThreadsWakeAWaiterOnTheLoop) {
  constexpr int threads = 4;
  constexpr int rounds = 2000;
  Gate gate;
  std::atomic<bool> go{false};
  bool drained = false;
  fluid::run([&]() -> Task<> {
    gate.enter();  // held by the loop until every thread is done
    std::vector<std::jthread> workers;
    std::atomic<int> done{0};
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < rounds; ++i) {
          if (gate.try_enter()) gate.leave();
        }
        if (++done == threads) gate.leave();  // the last thread out lets the loop's entry go
      });
    }
    go = true;
    drained = co_await gate.drained(deadline_after(generous));
    for (auto& w : workers) w.join();
  }());
  EXPECT_TRUE(drained);
  EXPECT_EQ(gate.count(), 0u);
}

TEST(Gate, TheGateMayBeDestroyedAsSoonAsItsCountReadsZero) {
  // The last leave() runs on another thread while this one frees the gate
  // the moment it sees the count at zero: under ASan, a leave() still
  // touching the gate (waking waiters) after that is a heap-use-after-free.
  for (int round = 0; round < 3000; ++round) {
    auto gate = std::make_unique<Gate>();
    gate->enter();
    std::jthread leaver([raw = gate.get()] { raw->leave(); });
    // Spinning on purpose (one leave() away): a wait woken by leave() itself
    // would never observe the window this test is about.
    while (gate->count() != 0) std::this_thread::yield();
    gate.reset();
  }
}

TEST(Gate, AWaiterMayDestroyTheGateAsSoonAsItIsDrained) {
  for (int round = 0; round < 200; ++round) {
    auto gate = std::make_unique<Gate>();
    gate->enter();
    std::jthread leaver;
    fluid::run([&]() -> Task<> {
      leaver = std::jthread([raw = gate.get()] { raw->leave(); });
      co_await gate->close_and_drain();
      gate.reset();
    }());
    ASSERT_FALSE(gate);
  }
}
