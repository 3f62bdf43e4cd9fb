#pragma once
// The rule behind a Schedule, implemented by every() and crontab().

#include "fluid/tasks/schedule.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace fluid {

struct Schedule::Rule {
  virtual ~Rule() = default;
  virtual std::string to_string() const = 0;
  virtual std::optional<TimePoint> due(TimePoint now, std::optional<TimePoint> last, TimePoint anchor) const = 0;
  virtual TimePoint next_after(TimePoint t, TimePoint anchor) const = 0;
  virtual std::chrono::milliseconds jitter() const noexcept = 0;
};

struct ScheduleAccess {
  static Schedule make(std::shared_ptr<const Schedule::Rule> rule) { return Schedule(std::move(rule)); }
};

}  // namespace fluid
