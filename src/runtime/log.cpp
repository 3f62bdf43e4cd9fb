#include "fluid/log.hpp"

#include "fluid/config.hpp"
#include "fluid/errors.hpp"

#include <fmt/chrono.h>
#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <ctime>
#include <string>

namespace fluid {

namespace {

thread_local const std::string_view* current_worker = nullptr;

std::string lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// syslog's priority of a level, as journald reads it from a line's "<N>" prefix.
int syslog_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return 7;
    case spdlog::level::info: return 6;
    case spdlog::level::warn: return 4;
    case spdlog::level::err: return 3;
    case spdlog::level::critical: return 2;
    default: return 6;
  }
}

/// Whether stderr is the stream journald gave us: JOURNAL_STREAM is
/// "device:inode" of it (a child writing elsewhere inherits the variable).
bool stderr_is_journal() {
  const auto stream = env("JOURNAL_STREAM");
  if (!stream) return false;
  struct stat info {};
  if (::fstat(STDERR_FILENO, &info) != 0) return false;
  return *stream == std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
}

/// The "%*" of a pattern: "<N>", the line's syslog priority.
class PriorityFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const auto text = "<" + std::to_string(syslog_priority(msg.level)) + ">";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PriorityFlag>(); }
};

std::string utc_timestamp(spdlog::log_clock::time_point when) {
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(when);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(when - seconds).count();
  const std::time_t t = spdlog::log_clock::to_time_t(seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}Z", tm, micros);
}

/// One JSON object a line, for log collectors that parse fields.
class JsonFormatter : public spdlog::formatter {
 public:
  explicit JsonFormatter(bool journal) : journal_(journal) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::json line;
    line["time"] = utc_timestamp(msg.time);
    line["level"] = std::string(spdlog::level::to_string_view(msg.level).data(),
                                spdlog::level::to_string_view(msg.level).size());
    line["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    if (current_worker != nullptr) line["worker"] = std::string(*current_worker);
    line["message"] = std::string(msg.payload.data(), msg.payload.size());
    // Replace rather than throw on bytes that are not UTF-8: a log line must never fail.
    auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (journal_) text = "<" + std::to_string(syslog_priority(msg.level)) + ">" + text;
    text += '\n';
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<formatter> clone() const override { return std::make_unique<JsonFormatter>(journal_); }

 private:
  bool journal_;
};

std::unique_ptr<spdlog::formatter> make_formatter(LogFormat format) {
  const bool journal = stderr_is_journal();
  if (format == LogFormat::json) return std::make_unique<JsonFormatter>(journal);
  if (!journal) return std::make_unique<spdlog::pattern_formatter>();  // spdlog's default pattern
  // The journal stamps each line itself: no time of our own.
  auto out = std::make_unique<spdlog::pattern_formatter>();
  out->add_flag<PriorityFlag>('*').set_pattern("%*[%n] [%l] %v");
  return out;
}

void apply_level_from_env(spdlog::logger& created) {
  const auto level_name = env("LOG_LEVEL");
  if (!level_name) return;
  try {
    created.set_level(parse_log_level(*level_name, "LOG_LEVEL"));
  } catch (const FluidError&) {
    // A logger cannot refuse to start: say so instead of going silent.
    created.warn("LOG_LEVEL=\"{}\" is not a log level (trace, debug, info, warn, error, critical, off); using info",
                 *level_name);
  }
}

std::shared_ptr<spdlog::logger> make_logger() {
  if (auto existing = spdlog::get("fluid")) return existing;
  auto created = spdlog::stderr_color_mt("fluid");
  auto format = LogFormat::text;
  if (const auto text = env("FLUID_LOG_FORMAT")) {
    try {
      format = parse_log_format(*text, "FLUID_LOG_FORMAT");
    } catch (const FluidError& e) {
      created->warn("{}; using text", e.what());
    }
  }
  created->set_formatter(make_formatter(format));
  apply_level_from_env(*created);
  return created;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger() {
  static const std::shared_ptr<spdlog::logger> instance = make_logger();
  return instance;
}

LogFormat parse_log_format(std::string_view text, std::string_view what) {
  const auto name = lowered(text);
  if (name == "text") return LogFormat::text;
  if (name == "json") return LogFormat::json;
  throw FluidError(std::string(what) + ": \"" + std::string(text) + "\" is not a log format (text, json)");
}

spdlog::level::level_enum parse_log_level(std::string_view text, std::string_view what) {
  const auto name = lowered(text);  // Python services spell it "INFO"
  const auto level = spdlog::level::from_str(name);
  // from_str answers "off" for names it does not know.
  if (level == spdlog::level::off && name != "off") {
    throw FluidError(std::string(what) + ": \"" + std::string(text) +
                     "\" is not a log level (trace, debug, info, warn, error, critical, off)");
  }
  return level;
}

void set_log_format(LogFormat format) { logger()->set_formatter(make_formatter(format)); }

namespace detail {

WorkerLogScope::WorkerLogScope(std::string_view worker) noexcept : previous_(current_worker), worker_(worker) {
  current_worker = &worker_;
}

WorkerLogScope::~WorkerLogScope() { current_worker = previous_; }

}  // namespace detail
}  // namespace fluid
