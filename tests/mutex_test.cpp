// detail::Mutex: the four-byte mutex of workers and queues.

#include <fluid/detail/mutex.hpp>

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

using fluid::detail::Mutex;

TEST(Mutex, IsOneWordNotFortyBytes) { EXPECT_EQ(sizeof(Mutex), 4u); }

TEST(Mutex, TryLockFailsWhileHeldAndSucceedsOnceReleased) {
  Mutex mutex;
  ASSERT_TRUE(mutex.try_lock());
  EXPECT_FALSE(mutex.try_lock());
  mutex.unlock();
  EXPECT_TRUE(mutex.try_lock());
  mutex.unlock();
}

TEST(Mutex, FourThreadsIncrementingUnderItLoseNoIncrement) {
  // A plain counter: an increment made outside mutual exclusion would be
  // lost here (and reported by ThreadSanitizer).
  Mutex mutex;
  long counter = 0;
  constexpr int threads = 4;
  constexpr int rounds = 50000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        std::lock_guard lock(mutex);
        ++counter;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(counter, long{threads} * rounds);
}

// ctest runs each test in a process of its own: the lock below is taken
// while the process has one thread, without a locked instruction.
TEST(Mutex, HeldBeforeASecondThreadStartsItStillExcludesThatThread) {
  Mutex mutex;
  mutex.lock();
  bool taken = true;
  std::thread other([&] { taken = mutex.try_lock(); });
  other.join();
  EXPECT_FALSE(taken) << "another thread took a mutex held since before it started";
  mutex.unlock();
  std::thread again([&] {
    taken = mutex.try_lock();
    if (taken) mutex.unlock();
  });
  again.join();
  EXPECT_TRUE(taken);
}

TEST(Mutex, AThreadBlockedOnItWakesWhenItIsReleased) {
  Mutex mutex;
  mutex.lock();
  bool entered = false;
  std::thread waiter([&] {
    std::lock_guard lock(mutex);  // sleeps: the word says "contended"
    entered = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  mutex.unlock();
  waiter.join();
  EXPECT_TRUE(entered);
}
