#include "brokers/redis/caller_completion.hpp"

#include "brokers/redis/errors.hpp"
#include "runtime/closing_service.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/execution/context_as.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>

#include <mutex>
#include <unordered_set>
#include <vector>

namespace fluid::redis {

namespace asio = boost::asio;

/// One caller's execution context as the I/O threads see it (kept as a
/// ClosingService of that context).
struct CallerGate {
  std::mutex mutex;
  bool open = true;                               // guarded by mutex: false once the context shut down
  std::unordered_set<CallerCompletion*> pending;  // guarded by mutex

  /// The context shuts down: nothing is posted to it from now on, and the
  /// handlers pending on it are destroyed here, on the thread destroying it.
  void close() {
    std::vector<CallerCompletion::Parts> dropped;
    {
      std::lock_guard lock(mutex);
      open = false;
      for (auto* completion : pending) dropped.push_back(completion->take());
      pending.clear();
    }
    // `dropped` ends outside the lock: a handler's coroutine frames may end
    // a broker session, joining an I/O thread that may wait for this lock.
  }
};

CallerCompletion::CallerCompletion(Handler handler, const asio::any_io_executor& caller)
    : work_(asio::prefer(caller, asio::execution::outstanding_work.tracked)) {
  auto& context = asio::query(work_, asio::execution::context_as<asio::execution_context&>);
  gate_ = asio::use_service<detail::ClosingService<CallerGate>>(context).gate();
  std::lock_guard lock(gate_->mutex);
  if (!gate_->open) {
    // Made while its context shuts down: dropped, like those pending there.
    work_ = asio::any_io_executor();
    return;
  }
  handler_.emplace(std::move(handler));
  gate_->pending.insert(this);
}

CallerCompletion::~CallerCompletion() {
  bool pending = false;
  {
    std::lock_guard lock(gate_->mutex);
    pending = handler_.has_value();
  }
  // Dropped by its connection before it completed: the caller hears so.
  if (pending) complete(call_aborted(), Reply{});
}

asio::cancellation_slot CallerCompletion::cancellation_slot() {
  return handler_ ? asio::get_associated_cancellation_slot(*handler_) : asio::cancellation_slot();
}

void CallerCompletion::complete(std::exception_ptr error, Reply reply) {
  std::lock_guard lock(gate_->mutex);
  if (!handler_) return;  // completed already, or dropped with its context
  gate_->pending.erase(this);
  // Under the gate's lock: the context cannot shut down, let alone be
  // destroyed, before post() has returned, though the handler may already
  // run there and its caller end the loop. The work guard goes with the
  // handler and ends on the caller's loop, once the handler ran.
  const asio::any_io_executor target = asio::prefer(work_, asio::execution::outstanding_work.untracked);
  asio::post(target, [handler = std::move(*handler_), error = std::move(error), reply = std::move(reply),
                      work = std::move(work_)]() mutable { std::move(handler)(std::move(error), std::move(reply)); });
  handler_.reset();
}

CallerCompletion::Parts CallerCompletion::take() {
  Parts parts;
  parts.work = std::move(work_);
  if (handler_) parts.handler.emplace(std::move(*handler_));
  handler_.reset();
  return parts;
}

}  // namespace fluid::redis
