#include "fluid/detail/notifier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
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
  auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
  {
    std::lock_guard lock(mutex_);
    if (notifications_ != ticket) co_return true;
    waiters_.push_back(waiter);
  }
  // Parking on our own executor's timer means notify_all() (which cancels it
  // through that executor) cannot slip between registration and the wait.
  waiter->timer.expires_at(deadline);
  auto [ec] = co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  {
    std::lock_guard lock(mutex_);
    if (waiter->notified) co_return true;
  }
  forget(waiter);
  if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
  co_return false;
}

void Notifier::forget(const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(mutex_);
  auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
  if (it != waiters_.end()) {
    *it = std::move(waiters_.back());
    waiters_.pop_back();
  }
}

void Notifier::notify_all() {
  std::vector<std::shared_ptr<Waiter>> woken;
  {
    std::lock_guard lock(mutex_);
    ++notifications_;
    woken.swap(waiters_);
    for (auto& waiter : woken) waiter->notified = true;
  }
  for (auto& waiter : woken) {
    auto& timer = waiter->timer;
    asio::dispatch(timer.get_executor(), [waiter = std::move(waiter)] { waiter->timer.cancel(); });
  }
}

Notifier::Clock::time_point deadline_after(Notifier::Clock::duration timeout) {
  const auto now = Notifier::Clock::now();
  if (timeout >= Notifier::Clock::time_point::max() - now) return Notifier::Clock::time_point::max();
  return now + timeout;
}

}  // namespace fluid::detail
