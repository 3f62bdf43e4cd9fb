#include "fluid/detail/gate.hpp"

namespace fluid::detail {

bool Gate::try_enter() noexcept {
  std::lock_guard lock(mutex_);
  if (closed_) return false;
  ++count_;
  return true;
}

void Gate::enter() {
  if (!try_enter()) throw GateClosedError("gate closed: no new work is accepted (stopping)");
}

void Gate::leave() noexcept {
  // Notified under the lock: a waiter can only see the count at zero once
  // this call is done with the gate, so it may destroy the gate at once.
  std::lock_guard lock(mutex_);
  if (--count_ == 0) emptied_.notify_all();
}

std::optional<Gate::Pass> Gate::try_hold() noexcept {
  if (!try_enter()) return std::nullopt;
  return Pass(*this);
}

Gate::Pass Gate::hold() {
  enter();
  return Pass(*this);
}

void Gate::close() noexcept {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

bool Gate::is_closed() const noexcept {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::size_t Gate::count() const noexcept {
  std::lock_guard lock(mutex_);
  return count_;
}

Task<bool> Gate::drained(Clock::time_point deadline) {
  co_return co_await emptied_.wait_until([this] { return count() == 0; }, deadline);
}

Task<> Gate::close_and_drain() {
  close();
  const bool done = co_await drained();
  static_cast<void>(done);  // no deadline: only a drain ends the wait
}

}  // namespace fluid::detail
