#pragma once
/// @file
/// The errors of the task queue. All derive from FluidError; each message
/// names the task, the run or the setting at fault.

#include "fluid/errors.hpp"

namespace fluid {

/// Base of the errors about tasks and runs.
struct TaskError : FluidError {
  using FluidError::FluidError;
};
/// A task name that this manager has not registered: "unknown task 'x'".
struct UnknownTaskError : TaskError {
  using TaskError::TaskError;
};
/// A run id the broker does not know (never queued, or past its retention).
struct UnknownRunError : TaskError {
  using TaskError::TaskError;
};
/// Params rejected: "invalid params for task 'x': <reason>".
struct TaskParamsError : TaskError {
  using TaskError::TaskError;
};
/// Thrown by TaskContext::abort(); what() is the reason. Ends the attempt aborted.
struct TaskAbortedError : TaskError {
  using TaskError::TaskError;
};
/// execute(): the run exceeded its task's timeout.
struct TaskTimeoutError : TaskError {
  using TaskError::TaskError;
};
/// wait(): the run was not final in time; it goes on.
struct WaitTimeoutError : TaskError {
  using TaskError::TaskError;
};
/// A process-mode child failed; what() carries the child's message.
struct TaskProcessError : TaskError {
  using TaskError::TaskError;
};
/// A consumer started inside a process-mode child, or a process-mode run
/// without task_cli() as the entry point.
struct CpuBoundEntryPointError : TaskError {
  using TaskError::TaskError;
};
/// A malformed crontab: the message quotes the field and the piece.
struct CrontabError : FluidError {
  using FluidError::FluidError;
};
/// The broker refused or failed a call (a Redis error reply carries its text).
struct BrokerError : FluidError {
  using FluidError::FluidError;
};
/// The broker cannot be reached (within its timeout).
struct BrokerUnavailableError : BrokerError {
  using BrokerError::BrokerError;
};
/// A renewal or finish with a stale fencing token: the run belongs to a later attempt.
struct LeaseLostError : BrokerError {
  using BrokerError::BrokerError;
};

}  // namespace fluid
