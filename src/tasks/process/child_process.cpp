#include "tasks/process/child_process.hpp"

#include "fluid/log.hpp"
#include "fluid/tasks/detail/process_runner.hpp"
#include "runtime/loop_gate.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <string_view>

namespace fluid::detail {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

/// Kills a started child's process group and reaps the child.
void kill_and_reap(pid_t pid) {
  ::kill(-pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

/// A started child on its way from the spawner thread to the run's loop. If
/// nobody takes it (the run or its loop ended meanwhile), it is killed: no
/// child outlives the run that asked for it.
class Handoff {
 public:
  explicit Handoff(SpawnedChild child) : child_(std::move(child)) {}
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;
  ~Handoff() {
    if (!taken_ && child_.pid > 0) kill_and_reap(child_.pid);
  }
  SpawnedChild take() {
    taken_ = true;
    return std::move(child_);
  }

 private:
  SpawnedChild child_;
  bool taken_ = false;
};

// How long the output and the channel may stay open once the child has
// exited: only a grandchild still holding them can make them wait.
constexpr std::chrono::seconds drain_after_exit{1};
// Longer lines are logged in pieces of this size (aio-fluid's limit).
constexpr std::size_t max_logged_line = 64 * 1024;

/// Logs the complete lines of `pending` (pieces of a longer one, and what
/// is left when `flush`) and keeps the rest.
void log_lines(const std::string& run_id, std::string& pending, bool flush) {
  const std::string_view text(pending);
  std::size_t begin = 0;
  while (begin < text.size()) {
    const auto newline = text.find('\n', begin);
    const auto rest = text.size() - begin;
    std::size_t length = 0;
    std::size_t skip = 0;
    if (newline != std::string_view::npos && newline - begin <= max_logged_line) {
      length = newline - begin;
      skip = 1;
    } else if (rest >= max_logged_line) {
      length = max_logged_line;
    } else if (flush) {
      length = rest;
    } else {
      break;
    }
    logger()->info("{} | {}", run_id, text.substr(begin, length));
    begin += length + skip;
  }
  pending.erase(0, begin);
}

}  // namespace

std::string describe_exit(const std::optional<int>& wait_status) {
  if (!wait_status) return "exited (its status was collected elsewhere)";
  if (WIFEXITED(*wait_status)) return "exited with code " + std::to_string(WEXITSTATUS(*wait_status));
  if (WIFSIGNALED(*wait_status)) return "killed by signal " + std::to_string(WTERMSIG(*wait_status));
  return "ended with wait status " + std::to_string(*wait_status);
}

ChildProcess::ChildProcess(asio::any_io_executor executor, std::string run_id)
    : executor_(executor),
      run_id_(std::move(run_id)),
      pidfd_(executor),
      output_(executor),
      errors_(executor),
      control_(executor),
      kill_timer_(executor),
      drain_timer_(executor) {}

void ChildProcess::start(SpawnRequest request, ChildRecord record) {
  // The spawner thread holds neither this object nor the run's executor, only
  // the run loop's gate: the loop may end while the child starts, and what
  // the spawner held would then be released there, on a loop that is gone.
  auto gate = LoopGate::of(executor_);
  spawn(std::move(request), [weak = weak_from_this(), gate, record = std::move(record)](SpawnedChild child) {
    auto handoff = std::make_shared<Handoff>(std::move(child));
    gate->post([weak, handoff, record] {
      // On the run's loop: follow the child, unless nobody waits for it any more.
      auto self = weak.lock();
      if (!self) return;  // the handoff kills it
      asio::dispatch(self->executor_, [self, handoff, record] { self->follow(handoff->take(), record); });
    });
    // Not posted (the loop is gone), or posted and dropped unrun: the
    // handoff's last owner kills the child.
  });
}

void ChildProcess::follow(SpawnedChild child, ChildRecord record) {
  started_ = true;
  if (!child.error.empty()) {
    end_.start_error = std::move(child.error);
    changed_.notify_all();
    return;
  }
  try {
    pidfd_.assign(child.pidfd.release());
    output_.assign(child.output.release());
    errors_.assign(child.errors.release());
    control_.assign(asio::local::stream_protocol(), child.control.release());
  } catch (const std::exception& e) {
    // Without its descriptors the child cannot be followed: it goes at once.
    kill_and_reap(child.pid);
    end_.start_error = std::string("following the child: ") + e.what();
    changed_.notify_all();
    return;
  }
  pid_ = child.pid;
  open_streams_ = 3;
  logger()->info("{} - running in child process {}", record.run.name_id(), pid_);
  auto self = shared_from_this();
  asio::co_spawn(executor_, await_exit(self), asio::detached);
  asio::co_spawn(executor_, relay(self, output_), asio::detached);
  asio::co_spawn(executor_, relay(self, errors_), asio::detached);
  asio::co_spawn(executor_, talk(self, encode_record(record)), asio::detached);
  if (terminating_) {
    terminating_ = false;  // asked before the child existed: now
    terminate();
  }
  changed_.notify_all();
}

void ChildProcess::terminate() {
  if (terminating_) return;
  terminating_ = true;
  if (pid_ < 0 || exited_) return;  // not started yet: follow() terminates it
  signal_group(SIGTERM);
  kill_timer_.expires_after(terminate_grace_period);
  kill_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->signal_group(SIGKILL);
  });
}

void ChildProcess::signal_group(int number) const {
  // Only before the child is reaped: until then its pid, the group's id, cannot be reused.
  if (pid_ > 0 && !exited_) ::kill(-pid_, number);
}

Task<> ChildProcess::finished() {
  co_await changed_.wait_until([this] { return done(); });
}

bool ChildProcess::done() const {
  return started_ && (!end_.start_error.empty() || (exited_ && open_streams_ == 0));
}

void ChildProcess::closed_one() {
  --open_streams_;
  if (done()) drain_timer_.cancel();
  changed_.notify_all();
}

Task<> ChildProcess::await_exit(std::shared_ptr<ChildProcess> self) {
  error_code ec;
  co_await self->pidfd_.async_wait(asio::posix::descriptor_base::wait_read,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec || self->terminating_) self->signal_group(SIGKILL);  // what is left of a stopped group goes too
  int status = 0;
  pid_t reaped = -1;
  do {
    reaped = ::waitpid(self->pid_, &status, 0);  // it has exited (or was killed just above): no wait
  } while (reaped < 0 && errno == EINTR);
  if (reaped == self->pid_) self->end_.wait_status = status;
  self->on_exit();
}

void ChildProcess::on_exit() {
  error_code ignored;
  pidfd_.close(ignored);
  exited_ = true;
  kill_timer_.cancel();
  if (!done()) {
    drain_timer_.expires_after(drain_after_exit);
    drain_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return;
      error_code ignored;
      self->output_.close(ignored);
      self->errors_.close(ignored);
      self->control_.close(ignored);
    });
  }
  changed_.notify_all();
}

Task<> ChildProcess::relay(std::shared_ptr<ChildProcess> self, asio::posix::stream_descriptor& from) {
  std::string pending;
  char buffer[4096];
  for (;;) {
    error_code ec;
    const auto n = co_await from.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    pending.append(buffer, n);
    log_lines(self->run_id_, pending, false);
    if (ec) break;
  }
  log_lines(self->run_id_, pending, true);
  error_code ignored;
  from.close(ignored);
  self->closed_one();
}

Task<> ChildProcess::talk(std::shared_ptr<ChildProcess> self, std::string record) {
  error_code ec;
  // A child that dies before reading its record fails the write: its exit says why.
  co_await asio::async_write(self->control_, asio::buffer(record), asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) {
    std::string line;
    const auto n = co_await asio::async_read_until(self->control_, asio::dynamic_buffer(line, max_control_line), '\n',
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) self->end_.outcome = decode_outcome(std::string_view(line).substr(0, n));
  }
  error_code ignored;
  self->control_.close(ignored);
  self->closed_one();
}

}  // namespace fluid::detail
