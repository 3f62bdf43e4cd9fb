#pragma once
/// @file
/// A mutex of four bytes, for state fluid keeps per worker and per queue.

#include <atomic>
#include <cstdint>

#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#endif

namespace fluid::detail {

/// True while the process has one thread (glibc's __libc_single_threaded;
/// false where it is not known): nothing can contend for a lock then.
inline bool process_single_threaded() noexcept {
#if __has_include(<sys/single_threaded.h>)
  return __libc_single_threaded != 0;
#else
  return false;
#endif
}

/// A non-recursive mutex in one 32-bit word: std::mutex is 40 bytes on
/// glibc, and each worker and queue holds a few; a million workers feel it.
///
/// The classic three-state futex mutex (0 free, 1 locked, 2 locked with
/// waiters: U. Drepper, "Futexes Are Tricky", mutex #2) on C++20 atomic
/// wait/notify, which are futex calls on Linux. Uncontended, lock() is one
/// compare-exchange and unlock() one exchange, with no system call; a
/// contended lock() sleeps in the kernel, never spins for long. While the
/// process has a single thread, as glibc's own mutexes do, neither takes a
/// locked instruction (about 1.5 ns a lock and unlock here instead of 15):
/// no other thread can see the word, and the thread that creates the next
/// one publishes it. Meets Lockable (std::lock_guard, std::unique_lock,
/// std::condition_variable_any).
class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() noexcept {
    if (process_single_threaded() && state_.load(std::memory_order_relaxed) == free) {
      state_.store(locked, std::memory_order_relaxed);
      return;
    }
    std::uint32_t seen = free;
    if (state_.compare_exchange_strong(seen, locked, std::memory_order_acquire, std::memory_order_relaxed)) return;
    // Announce a waiter (2), then sleep until the word leaves 2; whoever
    // takes it then keeps 2, since others may still be asleep.
    if (seen != contended) seen = state_.exchange(contended, std::memory_order_acquire);
    while (seen != free) {
      state_.wait(contended, std::memory_order_relaxed);
      seen = state_.exchange(contended, std::memory_order_acquire);
    }
  }

  bool try_lock() noexcept {
    std::uint32_t seen = free;
    return state_.compare_exchange_strong(seen, locked, std::memory_order_acquire, std::memory_order_relaxed);
  }

  void unlock() noexcept {
    // Locked without waiters; with one thread, nobody else can be waiting.
    if (process_single_threaded() && state_.load(std::memory_order_relaxed) == locked) {
      state_.store(free, std::memory_order_relaxed);
      return;
    }
    if (state_.exchange(free, std::memory_order_release) == contended) state_.notify_one();
  }

 private:
  static constexpr std::uint32_t free = 0;
  static constexpr std::uint32_t locked = 1;
  static constexpr std::uint32_t contended = 2;
  std::atomic<std::uint32_t> state_{free};
};

}  // namespace fluid::detail
