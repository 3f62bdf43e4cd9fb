#include "tasks/verdict.hpp"

#include "fluid/tasks/errors.hpp"
#include "fluid/tasks/retry_policy.hpp"

namespace fluid::detail {

namespace {

using spdlog::level::level_enum;

Verdict failure(std::string error, level_enum level) {
  return {.state = TaskState::failure, .error = std::move(error), .level = level};
}

Verdict judge_thrown(const std::exception_ptr& error, const TaskDefinition& task, const TaskRun& run, bool retries) {
  try {
    std::rethrow_exception(error);
  } catch (const TaskAbortedError& e) {
    return {.state = TaskState::aborted, .error = e.what()};
  } catch (const TaskParamsError& e) {
    return failure(e.what(), level_enum::err);  // never retried
  } catch (const CpuBoundEntryPointError& e) {
    return failure(e.what(), level_enum::err);  // no retry can help
  } catch (...) {
  }
  auto verdict = failure(failure_text(error), level_enum::warn);
  if (retries) verdict.retry_in = failure_retry_delay(task.options().retry, run.retry_attempt, error);
  return verdict;
}

Verdict judge_stopped(const AttemptEnd& end, const TaskDefinition& task) {
  switch (end.cause) {
    case StopCause::timeout: return failure(timeout_text(task.options().timeout), level_enum::err);
    case StopCause::abort: return {.state = TaskState::aborted, .error = end.reason};
    case StopCause::lease_lost: return {.record = false, .level = level_enum::warn};
    case StopCause::shutdown:
    case StopCause::none: break;
  }
  return {.state = TaskState::interrupted, .error = released_on_shutdown, .requeue = true, .level = level_enum::warn};
}

}  // namespace

Verdict judge(const AttemptEnd& end, const TaskDefinition& task, const TaskRun& run, bool retries) {
  switch (end.how) {
    case AttemptEnd::How::returned: return {};
    case AttemptEnd::How::threw: return judge_thrown(end.error, task, run, retries);
    case AttemptEnd::How::stopped: return judge_stopped(end, task);
  }
  return {};
}

}  // namespace fluid::detail
