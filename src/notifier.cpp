#include "fluid/detail/notifier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>

namespace fluid::detail {

namespace asio = boost::asio;

struct Notifier::Waiter {
  explicit Waiter(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
  bool notified = false;  // guarded by the notifier's mutex
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
  auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
  waiter->timer.expires_at(deadline);
  // The wait is started under the mutex that notify_all() cancels under, so
  // the two never touch the timer at once and a notification cannot fall
  // between "registered" and "waiting", whatever threads run the executor.
  auto token = asio::as_tuple(asio::use_awaitable);
  auto [ec] = co_await asio::async_initiate<decltype(token), void(boost::system::error_code)>(
      [this, &waiter, ticket](auto handler) {
        std::lock_guard lock(mutex_);
        if (notifications_ != ticket) waiter->timer.expires_at(Clock::time_point::min());  // completes at once
        waiters_.push_back(waiter);
        waiter->timer.async_wait(std::move(handler));
      },
      token);
  std::lock_guard lock(mutex_);
  if (waiter->notified || notifications_ != ticket) {
    forget(waiter);
    co_return true;
  }
  forget(waiter);
  if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
  co_return false;
}

// Under mutex_.
void Notifier::forget(const std::shared_ptr<Waiter>& waiter) {
  auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
  if (it != waiters_.end()) {
    *it = std::move(waiters_.back());
    waiters_.pop_back();
  }
}

void Notifier::notify_all() {
  std::lock_guard lock(mutex_);
  ++notifications_;
  for (auto& waiter : waiters_) {
    waiter->notified = true;
    waiter->timer.cancel();  // completion is posted, never run inline: no re-entry here
  }
  waiters_.clear();
}

Notifier::Clock::time_point deadline_after(Notifier::Clock::duration timeout) {
  const auto now = Notifier::Clock::now();
  if (timeout >= Notifier::Clock::time_point::max() - now) return Notifier::Clock::time_point::max();
  return now + timeout;
}

}  // namespace fluid::detail
