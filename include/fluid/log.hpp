#pragma once
/// @file
/// The "fluid" spdlog logger that every worker reports its lifecycle to, and its format.

#include <spdlog/logger.h>

#include <memory>
#include <string_view>
#include <utility>

namespace fluid {

/// The logger named "fluid" (created on first use, writing to stderr). At
/// first use its level comes from env LOG_LEVEL (trace, debug, info, warn,
/// error, critical, off, any case; default info) and its format from env
/// FLUID_LOG_FORMAT (text, json; default text); under journald (env
/// JOURNAL_STREAM names stderr) each line opens with its syslog priority
/// ("<3>" for an error) and leaves the timestamp to the journal. A logger
/// registered as "fluid" before first use is used as it is.
std::shared_ptr<spdlog::logger> logger();

/// How the "fluid" logger writes a line.
enum class LogFormat {
  text,  ///< "[time] [fluid] [info] event_log started running"
  json,  ///< one JSON object a line: time, level, logger, worker (when known), message
};

/// Parses "text" or "json" (any case).
/// @param what names the setting in the error message (e.g. "FLUID_LOG_FORMAT").
/// @throws FluidError quoting `text` otherwise.
LogFormat parse_log_format(std::string_view text, std::string_view what);

/// Parses a level name: trace, debug, info, warn (or warning), error, critical, off, any case.
/// @throws FluidError quoting `text` otherwise.
spdlog::level::level_enum parse_log_level(std::string_view text, std::string_view what);

/// Writes the "fluid" logger's lines (and those of loggers sharing its sinks,
/// such as its clones) in `format` from now on. Not while other threads log.
void set_log_format(LogFormat format);

namespace detail {
/// Names the worker a log line is about while it is being written on this thread.
class WorkerLogScope {
 public:
  explicit WorkerLogScope(std::string_view worker) noexcept;
  ~WorkerLogScope();
  WorkerLogScope(const WorkerLogScope&) = delete;
  WorkerLogScope& operator=(const WorkerLogScope&) = delete;

 private:
  const std::string_view* previous_;
  std::string_view worker_;
};
}  // namespace detail

/// Logs a line about `worker`: the text is `format` as usual, and the JSON
/// format puts `worker` in a field of its own.
template <class... Args>
void log_worker(spdlog::level::level_enum level, std::string_view worker, spdlog::format_string_t<Args...> format,
                Args&&... args) {
  const auto& log = logger();
  if (!log->should_log(level)) return;
  const detail::WorkerLogScope scope(worker);
  log->log(level, format, std::forward<Args>(args)...);
}

}  // namespace fluid
