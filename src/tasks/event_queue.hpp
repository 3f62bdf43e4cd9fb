#pragma once
// Async handlers of run events: their registration (wrapped so that one that
// throws is logged and ignored) and the queue that awaits them in order.

#include "fluid/async_dispatcher.hpp"
#include "fluid/detail/notifier.hpp"
#include "fluid/tasks/task_manager.hpp"
#include "fluid/tasks/task_run.hpp"
#include "tasks/background.hpp"

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace fluid::detail {

/// aio-fluid's AsyncTaskDispatcher: a run's event type is its state.
class AsyncTaskDispatcher : public AsyncDispatcher<TaskRun> {
 public:
  std::string event_type(const TaskRun& run) const override;
};

/// The async handlers of one scope. What the dispatcher holds is a wrapper
/// that logs and swallows the handler's exception; what register() and
/// unregister() return is the handler as the caller gave it.
class AsyncHandlers {
 public:
  TaskRunHandler add(std::string_view event, TaskRunHandler handler);
  TaskRunHandler remove(std::string_view event);
  /// Whether a handler is registered for runs in `state` (lock-free).
  bool wants(TaskState state) const noexcept;
  /// Whether a handler is registered for runs in any state (lock-free).
  bool wants_any() const noexcept;
  const std::shared_ptr<AsyncTaskDispatcher>& dispatcher() const noexcept { return dispatcher_; }

 private:
  std::shared_ptr<AsyncTaskDispatcher> dispatcher_ = std::make_shared<AsyncTaskDispatcher>();
  mutable std::mutex mutex_;
  std::map<std::string, TaskRunHandler> given_;  // by the event's canonical form
  std::array<std::atomic<int>, 8> per_state_{};
};

/// Runs handed to an AsyncTaskDispatcher one at a time, in the order pushed,
/// by one coroutine started with start() (aio-fluid's AsyncConsumer).
class EventQueue : public std::enable_shared_from_this<EventQueue> {
 public:
  explicit EventQueue(std::shared_ptr<AsyncTaskDispatcher> dispatcher, std::string name);
  /// Queues `run` for the handlers. Thread-safe; ignored once closed.
  void push(TaskRun run);
  void start(boost::asio::any_io_executor executor);
  /// Stops accepting; the runs queued still reach their handlers, then the
  /// coroutine ends.
  void stop();
  /// stop(), then waits until the coroutine has ended.
  [[nodiscard]] Task<> close();

 private:
  static Task<> drain(std::shared_ptr<EventQueue> self);

  std::shared_ptr<AsyncTaskDispatcher> dispatcher_;
  std::string name_;
  std::mutex mutex_;
  std::deque<TaskRun> queue_;
  bool closing_ = false;
  Notifier ready_;
  std::shared_ptr<Background> drainer_;
};

}  // namespace fluid::detail
