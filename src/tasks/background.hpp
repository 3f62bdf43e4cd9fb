#pragma once
// A coroutine a manager runs beside its callers (the event feed follower, the
// async handlers' queues), owned by shared state rather than by a Worker: a
// manager is not a worker, and a loop torn down first just drops it.

#include "fluid/detail/notifier.hpp"
#include "fluid/task.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace fluid::detail {

class Background : public std::enable_shared_from_this<Background> {
 public:
  /// Starts `body` on `executor`; `name` is for the log, should it fail.
  static std::shared_ptr<Background> spawn(boost::asio::any_io_executor executor, Task<> body, std::string name);

  /// Cancels the coroutine (terminal cancellation, emitted on its executor).
  /// Safe from any thread; nothing happens once it has ended.
  void cancel();
  /// Waits until the coroutine has ended.
  [[nodiscard]] Task<> join();

 private:
  explicit Background(boost::asio::any_io_executor executor, std::string name);
  void ended(std::exception_ptr error);

  boost::asio::any_io_executor executor_;
  std::string name_;
  boost::asio::cancellation_signal signal_;  // touched on executor_ only
  Notifier ended_;
  mutable std::mutex mutex_;
  bool done_ = false;
};

}  // namespace fluid::detail
