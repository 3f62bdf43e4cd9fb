#include "fluid/detail/when_all.hpp"

#include "awaitable_thread.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <tuple>
#include <utility>

namespace fluid::detail {

namespace {

namespace asio = boost::asio;
using Executor = asio::any_io_executor;

// A task is started inline on an Asio awaitable thread of its own: what
// co_spawn does too, minus the post co_spawn adds before reporting a task
// that never suspended.

/// A caller parked in when_all, resumed with the first error (or null).
class Waiter {
 public:
  virtual ~Waiter() = default;
  virtual void resume(std::exception_ptr error) = 0;
};

template <class Handler>
class WaiterFor final : public Waiter {
 public:
  explicit WaiterFor(Handler handler) : handler_(std::move(handler)) {}
  void resume(std::exception_ptr error) override { std::move(handler_)(std::move(error)); }

 private:
  Handler handler_;
};

/// What one when_all's tasks and caller share: how many have not finished
/// (the tasks, plus one share held by the caller until it parks), the first
/// error, the cancellation signals of the tasks still running, and the parked
/// caller.
class Join {
 public:
  Join(std::size_t tasks, Executor executor)
      : pending_(tasks + 1), signals_(new asio::cancellation_signal[tasks]), executor_(std::move(executor)) {}

  /// Starts task `index` inline. A task that finished before this returns
  /// leaves its cancellation signal (and the signal's memory) to the next one.
  void start(const TaskFactory& make_task, std::size_t index, const std::shared_ptr<Join>& self) noexcept;

  /// True when every task finished before the caller parked.
  bool all_finished() const noexcept { return pending_.load(std::memory_order_acquire) == 1; }

  /// The first error recorded; read only once all have finished.
  std::exception_ptr first_error() const noexcept { return first_error_; }

  /// Records that task `index` finished; the last to finish (counting the
  /// parked caller's share) resumes the caller, through a post so it never
  /// runs on a finishing task's stack.
  void finish(std::size_t index, std::exception_ptr error) noexcept {
    if (index == launching_) finished_inline_ = true;
    if (error && !failed_.exchange(true, std::memory_order_acq_rel)) first_error_ = std::move(error);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    asio::post(executor_, [waiter = std::move(waiter_), error = first_error_]() mutable {
      waiter->resume(std::move(error));
    });
  }

  /// Parks the caller and gives up its share.
  void park(std::unique_ptr<Waiter> waiter) noexcept {
    waiter_ = std::move(waiter);
    finish(no_task, nullptr);
  }

  /// Forwards a cancellation of the caller to every task still running.
  void cancel(asio::cancellation_type type) {
    if (type == asio::cancellation_type::none) return;
    for (std::size_t i = 0; i < running_; ++i) signals_[i].emit(type);
  }

 private:
  static constexpr std::size_t no_task = static_cast<std::size_t>(-1);

  std::atomic<std::size_t> pending_;
  std::atomic<bool> failed_{false};
  std::exception_ptr first_error_;
  std::unique_ptr<asio::cancellation_signal[]> signals_;
  std::size_t running_ = 0;  // signals_[0, running_) belong to tasks that suspended
  std::size_t launching_ = no_task;
  bool finished_inline_ = false;
  Executor executor_;
  std::unique_ptr<Waiter> waiter_;
};

/// The body of one task's awaitable thread: makes and runs the task, reports how it ended.
EntryPoint run_task(const TaskFactory& make_task, std::size_t index, std::shared_ptr<Join> join) {
  std::exception_ptr error;
  try {
    co_await make_task(index);  // make_task is used before the first suspension only
  } catch (...) {
    error = std::current_exception();
  }
  join->finish(index, std::move(error));
}

void Join::start(const TaskFactory& make_task, std::size_t index, const std::shared_ptr<Join>& self) noexcept {
  launching_ = index;
  finished_inline_ = false;
  try {
    const auto slot = signals_[running_].slot();
    launch_thread(run_task(make_task, index, self), executor_, slot);
  } catch (...) {  // the task could not start (out of memory): it counts as failed
    finish(index, std::current_exception());
  }
  if (!finished_inline_) ++running_;
  launching_ = no_task;
}

/// The initiation that parks the caller until the join completes, and
/// forwards the caller's cancellation to the tasks meanwhile.
struct Park {
  template <class Handler>
  void operator()(Handler handler, std::shared_ptr<Join> join) const {
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) {
      slot.assign([weak = std::weak_ptr<Join>(join)](asio::cancellation_type type) {
        if (auto alive = weak.lock()) alive->cancel(type);
      });
    }
    join->park(std::make_unique<WaiterFor<Handler>>(std::move(handler)));
  }
};

/// Waits for the tasks still running. The caller holds no reference to the
/// join while parked (the join owns the parked caller), so nothing leaks if
/// the loop is abandoned mid-wait.
Task<std::exception_ptr> wait_for(std::shared_ptr<Join> join) {
  auto [error] = co_await asio::async_initiate<const asio::as_tuple_t<asio::use_awaitable_t<>>&,
                                               void(std::exception_ptr)>(Park{}, asio::as_tuple(asio::use_awaitable),
                                                                         std::move(join));
  co_return error;
}

}  // namespace

Task<> when_all(std::size_t count, TaskFactory make_task) {
  if (count == 0) co_return;
  auto join = std::allocate_shared<Join>(asio::recycling_allocator<Join>(), count, co_await asio::this_coro::executor);
  for (std::size_t i = 0; i < count; ++i) join->start(make_task, i, join);
  if (join->all_finished()) {
    if (auto error = join->first_error()) std::rethrow_exception(error);
    co_return;
  }
  // The tasks may use the caller's data, so the caller waits for them even
  // when it is cancelled: no co_await may throw before they have finished.
  const bool throws = co_await asio::this_coro::throw_if_cancelled();
  co_await asio::this_coro::throw_if_cancelled(false);
  join->cancel((co_await asio::this_coro::cancellation_state).cancelled());
  const auto error = co_await wait_for(std::move(join));
  co_await asio::this_coro::throw_if_cancelled(throws);
  if (error) std::rethrow_exception(error);
}

}  // namespace fluid::detail
