#pragma once
/// @file
/// A mutex of four bytes, for state fluid keeps per worker and per queue.

#include <atomic>
#include <cstdint>

namespace fluid::detail {

/// A non-recursive mutex in one 32-bit word: std::mutex is 40 bytes on
/// glibc, and each worker and queue holds a few; a million workers feel it.
///
/// The classic three-state futex mutex (0 free, 1 locked, 2 locked with
/// waiters: U. Drepper, "Futexes Are Tricky", mutex #2) on C++20 atomic
/// wait/notify, which are futex calls on Linux. Uncontended, lock() is one
/// compare-exchange and unlock() one exchange, with no system call; a
/// contended lock() sleeps in the kernel, never spins for long. Meets
/// Lockable (std::lock_guard, std::unique_lock, std::condition_variable_any).
class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() noexcept {
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
    if (state_.exchange(free, std::memory_order_release) == contended) state_.notify_one();
  }

 private:
  static constexpr std::uint32_t free = 0;
  static constexpr std::uint32_t locked = 1;
  static constexpr std::uint32_t contended = 2;
  std::atomic<std::uint32_t> state_{free};
};

}  // namespace fluid::detail
