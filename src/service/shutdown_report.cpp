#include "service/shutdown_report.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/worker_tree.hpp"

#include <csignal>

namespace fluid {

namespace {

std::string forced_detail(Worker& worker, const std::optional<ForceCause>& forced_by) {
  const auto grace = std::to_string(worker.stopping_grace_period().count()) + "ms";
  if (!forced_by) return "did not stop within its grace period of " + grace;
  return to_string(*forced_by) + " (its grace period: " + grace + ")";
}

/// The report's line for one worker of the tree, if it did not stop cleanly.
/// A group's failure is one of its children's: reported there, once.
std::optional<WorkerOutcome> outcome_of(const TreeWorker& node, const std::optional<ForceCause>& forced_by) {
  auto& worker = *node.worker;
  const bool forced = worker.worker_state() == WorkerState::force_stopped;
  if (worker.stop_reason() == StopReason::failed && (forced || !node.group)) {
    return WorkerOutcome{node.path, StopReason::failed, error_message(worker.failure())};
  }
  if (!forced) return std::nullopt;
  return WorkerOutcome{node.path, StopReason::forced, forced_detail(worker, forced_by)};
}

}  // namespace

std::string to_string(const ForceCause& cause) {
  switch (cause.kind) {
    case ForceCause::Kind::second_signal: return "forced by a second " + detail::signal_name(cause.signal);
    case ForceCause::Kind::shutdown_timeout:
      return "forced after the shutdown timeout of " + std::to_string(cause.timeout.count()) + "ms";
    case ForceCause::Kind::startup_timeout:
      return "forced after the startup timeout of " + std::to_string(cause.timeout.count()) + "ms";
    case ForceCause::Kind::escaped_exception: return "forced after an exception escaped a handler";
  }
  return "forced";
}

std::vector<WorkerOutcome> shutdown_report(Worker& root, std::optional<ForceCause> forced_by) {
  std::vector<WorkerOutcome> out;
  for (const auto& node : worker_tree(root)) {
    if (auto line = outcome_of(node, forced_by)) out.push_back(std::move(*line));
  }
  return out;
}

namespace detail {

std::string signal_name(int number) {
  switch (number) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    default: return "signal " + std::to_string(number);
  }
}

void log_report(Worker& root, const std::optional<ForceCause>& forced_by, const std::exception_ptr& startup_error) {
  const auto report = shutdown_report(root, forced_by);
  if (report.empty() && startup_error) {
    logger()->error("shutdown report: {} did not start: {}", root.worker_name(), error_message(startup_error));
    return;
  }
  if (report.empty()) {
    logger()->info("shutdown report: every worker stopped cleanly");
    return;
  }
  logger()->warn("shutdown report: {} worker(s) did not stop cleanly", report.size());
  for (const auto& line : report) {
    logger()->warn("  {}: {}: {}", line.path, to_string(line.reason), line.detail);
  }
}

}  // namespace detail
}  // namespace fluid
