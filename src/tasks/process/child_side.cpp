#include "tasks/process/child_side.hpp"

#include "fluid/config.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/tasks/detail/process_runner.hpp"
#include "fluid/tasks/errors.hpp"
#include "tasks/attempt.hpp"
#include "tasks/verdict.hpp"

#include <boost/asio/this_coro.hpp>

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>

namespace fluid::detail {

namespace {

/// The first line of `channel`, read blocking: the child has nothing else to do yet.
std::string read_line(int channel) {
  std::string line;
  char buffer[4096];
  for (;;) {
    const auto n = ::recv(channel, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw FluidError("the control channel closed before the run's record came");
    line.append(buffer, static_cast<std::size_t>(n));
    const auto newline = line.find('\n');
    if (newline != std::string::npos) return line.substr(0, newline);
    if (line.size() > max_control_line) throw FluidError("the run's record is longer than the control channel allows");
  }
}

void send_all(int channel, const std::string& text) {
  std::size_t sent = 0;
  while (sent < text.size()) {
    const auto n = ::send(channel, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent is gone: nobody to tell
    sent += static_cast<std::size_t>(n);
  }
}

Task<ChildOutcome> run_attempt_of(TaskManager& manager, ChildRecord record) {
  const auto found = manager.registry().find(record.run.task);
  if (found == manager.registry().end()) throw UnknownTaskError("unknown task '" + record.run.task + "'");
  const auto& task = found->second;
  auto attempt = TaskContextAccess::make_attempt(manager, task, record.run, record.lease_token);
  const auto executor = co_await boost::asio::this_coro::executor;
  // The parent keeps the timeout; this one only ends a child whose parent stopped counting.
  const auto end = co_await run_attempt(attempt, executor, true, task.options().timeout + terminate_grace_period);
  const auto verdict = judge(end, task, record.run, false);
  logger()->log(verdict.level, "{} - {} (in a child process){}{}", record.run.name_id(), to_string(verdict.state),
                verdict.error.empty() ? "" : ": ", verdict.error);
  co_return ChildOutcome{verdict.state, verdict.error};
}

}  // namespace

std::optional<int> parent_channel() {
  if (!is_in_cpu_process()) return std::nullopt;
  const auto text = env(control_fd_variable);
  if (!text) return std::nullopt;
  int fd = -1;
  const auto* end = text->data() + text->size();
  const auto [stop, ec] = std::from_chars(text->data(), end, fd);
  if (text->empty() || ec != std::errc{} || stop != end || fd < 0) {
    throw FluidError(std::string(control_fd_variable) + ": \"" + *text + "\" is not a descriptor number");
  }
  return fd;
}

Task<ChildOutcome> run_for_parent(TaskManager& manager, int channel) {
  ChildOutcome outcome;
  try {
    auto record = decode_record(read_line(channel));
    ::fcntl(channel, F_SETFD, FD_CLOEXEC);  // no grandchild holds the channel open
    outcome = co_await run_attempt_of(manager, std::move(record));
  } catch (...) {
    outcome = {TaskState::failure, error_message(std::current_exception())};
    logger()->error("process-mode child: {}", outcome.error);
  }
  send_all(channel, encode_outcome(outcome));
  co_return outcome;
}

}  // namespace fluid::detail
