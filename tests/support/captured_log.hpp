#pragma once
// Captures what the "fluid" logger writes while a test runs.

#include <spdlog/common.h>

#include <memory>
#include <string>

namespace fluid::test {

/// Keeps what the "fluid" logger writes ("<level> <message>" lines) while
/// alive, at trace level; safe to read while other threads log.
class CapturedLog {
 public:
  CapturedLog();
  ~CapturedLog();
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  /// Everything written so far.
  std::string text() const;
  /// Whether `part` appears anywhere in text().
  bool contains(const std::string& part) const;
  /// Whether `line` is one whole line of text().
  bool has_line(const std::string& line) const;

 private:
  struct Sink;
  std::shared_ptr<Sink> sink_;
  spdlog::level::level_enum level_;
};

}  // namespace fluid::test
