#include "fluid/detail/notifier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>

namespace fluid::detail {

namespace asio = boost::asio;

struct Notifier::Waiter {
  Waiter(Notifier& owner, const asio::any_io_executor& executor) : owner(owner), timer(executor) {}
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  // The frame holding it may be destroyed while waiting (its loop torn
  // down): never leave a dangling link behind. Not linked any more (woken,
  // or its notifier gone first): the notifier is not touched at all.
  ~Waiter() {
    if (!linked.load(std::memory_order_acquire)) return;
    std::lock_guard lock(owner.mutex_);
    owner.unlink(*this);
  }

  Notifier& owner;
  asio::steady_timer timer;
  // Guarded by the owner's mutex:
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  std::atomic<bool> linked{false};  // also read, unlocked, by the destructor
  bool notified = false;
};

Notifier::Ticket Notifier::ticket() const {
  std::lock_guard lock(mutex_);
  return notifications_;
}

Task<bool> Notifier::wait(Ticket ticket, Clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    if (notifications_ != ticket) co_return true;
  }
  Waiter waiter(*this, co_await asio::this_coro::executor);
  waiter.timer.expires_at(deadline);
  // The wait is started under the mutex that notify_all() cancels under, so
  // the two never touch the timer at once and a notification cannot fall
  // between "registered" and "waiting", whatever threads run the executor.
  auto token = asio::as_tuple(asio::use_awaitable);
  auto [ec] = co_await asio::async_initiate<decltype(token), void(boost::system::error_code)>(
      [this, &waiter, ticket](auto handler) {
        std::lock_guard lock(mutex_);
        if (notifications_ != ticket) waiter.timer.expires_at(Clock::time_point::min());  // completes at once
        link(waiter);
        waiter.timer.async_wait(std::move(handler));
      },
      token);
  std::lock_guard lock(mutex_);
  unlink(waiter);
  if (waiter.notified || notifications_ != ticket) co_return true;
  if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
  co_return false;
}

void Notifier::link(Waiter& waiter) {
  waiter.prev = nullptr;
  waiter.next = waiters_;
  if (waiters_ != nullptr) waiters_->prev = &waiter;
  waiters_ = &waiter;
  waiter.linked.store(true, std::memory_order_release);
}

void Notifier::unlink(Waiter& waiter) {
  if (!waiter.linked.load(std::memory_order_relaxed)) return;
  if (waiter.prev != nullptr) waiter.prev->next = waiter.next;
  if (waiter.next != nullptr) waiter.next->prev = waiter.prev;
  if (waiters_ == &waiter) waiters_ = waiter.next;
  waiter.prev = waiter.next = nullptr;
  waiter.linked.store(false, std::memory_order_release);
}

void Notifier::notify_all() {
  std::lock_guard lock(mutex_);
  ++notifications_;
  while (waiters_ != nullptr) {
    Waiter& waiter = *waiters_;
    waiter.notified = true;
    waiter.timer.cancel();  // completion is posted, never run inline: no re-entry here
    // Last: once unlinked, a frame destroyed on another thread (its loop torn
    // down) skips our lock and frees the waiter, so nothing may follow this.
    unlink(waiter);
  }
}

Notifier::~Notifier() {
  std::lock_guard lock(mutex_);
  while (waiters_ != nullptr) unlink(*waiters_);
}

Notifier::Clock::time_point deadline_after(Notifier::Clock::duration timeout) {
  const auto now = Notifier::Clock::now();
  if (timeout >= Notifier::Clock::time_point::max() - now) return Notifier::Clock::time_point::max();
  return now + timeout;
}

}  // namespace fluid::detail
