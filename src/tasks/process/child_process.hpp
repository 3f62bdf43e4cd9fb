#pragma once
// A process-mode child as its parent follows it, on the run's executor:
// spawned, sent its run, its output logged line by line, its outcome read,
// its exit awaited on a pidfd (no polling), stopped with SIGTERM then
// SIGKILL (TASKS.md 2.13).

#include "fluid/detail/notifier.hpp"
#include "fluid/task.hpp"
#include "tasks/process/control_channel.hpp"
#include "tasks/process/spawner.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <string>

namespace fluid::detail {

/// How a child ended, as its parent saw it.
struct ChildEnd {
  std::string start_error;              // it could not start: why
  std::optional<ChildOutcome> outcome;  // what it reported on its channel
  std::optional<int> wait_status;       // waitpid()'s; nullopt if someone else reaped it
};

/// What the parent saw of the child's end, as the run's error: the outcome's
/// message, or "exited with code N" / "killed by signal S" without one.
std::string describe_exit(const std::optional<int>& wait_status);

/// @warning Every member is called on `executor`, which must be a strand or
/// a single-threaded loop: the child's coroutines run there too.
class ChildProcess : public std::enable_shared_from_this<ChildProcess> {
 public:
  /// `run_id` prefixes each line of the child's output in the log.
  ChildProcess(boost::asio::any_io_executor executor, std::string run_id);

  /// Spawns `request`; once it runs, sends it `record` and follows it.
  void start(SpawnRequest request, ChildRecord record);
  /// Sends SIGTERM to its group (now, or once it has started) and SIGKILL
  /// terminate_grace_period later if it is still running.
  void terminate();
  /// Waits until it could not start, or it has exited and its output and
  /// channel are read to their end (at most a second past its exit: a
  /// grandchild may hold them open).
  /// @throws boost::system::system_error(operation_aborted) if cancelled.
  Task<> finished();
  /// Its pid once started, else -1.
  pid_t pid() const noexcept { return pid_; }
  const ChildEnd& end() const noexcept { return end_; }

 private:
  void follow(SpawnedChild child, ChildRecord record);
  void signal_group(int number) const;
  void on_exit();
  void closed_one();
  bool done() const;
  static Task<> talk(std::shared_ptr<ChildProcess> self, std::string record);
  static Task<> relay(std::shared_ptr<ChildProcess> self, boost::asio::posix::stream_descriptor& from);
  static Task<> await_exit(std::shared_ptr<ChildProcess> self);

  boost::asio::any_io_executor executor_;
  std::string run_id_;
  Notifier changed_;
  pid_t pid_ = -1;
  bool started_ = false;      // start() completed, one way or the other
  bool exited_ = false;       // reaped
  bool terminating_ = false;  // terminate() was called
  int open_streams_ = 0;      // output, errors and channel not yet at their end
  ChildEnd end_;
  boost::asio::posix::stream_descriptor pidfd_;
  boost::asio::posix::stream_descriptor output_;
  boost::asio::posix::stream_descriptor errors_;
  boost::asio::local::stream_protocol::socket control_;
  boost::asio::steady_timer kill_timer_;
  boost::asio::steady_timer drain_timer_;
};

}  // namespace fluid::detail
