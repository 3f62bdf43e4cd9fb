#include "support/captured_log.hpp"

#include <fluid/log.hpp>

#include <spdlog/sinks/base_sink.h>

#include <algorithm>
#include <mutex>

namespace fluid::test {

struct CapturedLog::Sink : spdlog::sinks::base_sink<std::mutex> {
  mutable std::mutex text_mutex;  // text() reads while other threads log
  std::string text;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::lock_guard lock(text_mutex);
    text.append(formatted.data(), formatted.size());
  }
  void flush_() override {}
};

CapturedLog::CapturedLog() : sink_(std::make_shared<Sink>()), level_(logger()->level()) {
  sink_->set_pattern("%l %v");
  logger()->sinks().push_back(sink_);
  logger()->set_level(spdlog::level::trace);
}

CapturedLog::~CapturedLog() {
  auto& sinks = logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  logger()->set_level(level_);
}

std::string CapturedLog::text() const {
  std::lock_guard lock(sink_->text_mutex);
  return sink_->text;
}

bool CapturedLog::contains(const std::string& part) const { return text().find(part) != std::string::npos; }

bool CapturedLog::has_line(const std::string& line) const {
  return ("\n" + text()).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace fluid::test
