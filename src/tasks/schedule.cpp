// Schedule, and every(): slots on a fixed grid from the anchor.

#include "tasks/schedule_rule.hpp"

#include "fluid/errors.hpp"

#include <cstdint>
#include <cstdio>

namespace fluid {

namespace {

using std::chrono::milliseconds;
// Nanosecond arithmetic on TimePoints without overflow: k * delta may pass
// the range of int64 before the result is clamped.
using Wide = __int128;

Wide nanos(TimePoint t) { return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count(); }
Wide nanos(milliseconds d) { return static_cast<Wide>(d.count()) * 1'000'000; }

constexpr Wide max_nanos =
    std::chrono::duration_cast<std::chrono::nanoseconds>(TimePoint::max().time_since_epoch()).count();

// TimePoint::max() when `n` is past the end of the clock.
TimePoint clamped(Wide n) {
  if (n >= max_nanos) return TimePoint::max();
  return TimePoint(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(static_cast<std::int64_t>(n))));
}

// Python's str(timedelta) of a positive duration: "0:00:02", "1 day, 0:00:00",
// "2 days, 1:30:00", "0:00:00.500000".
std::string timedelta_string(milliseconds delta) {
  const std::int64_t ms = delta.count();
  const std::int64_t days = ms / 86'400'000;
  const std::int64_t seconds = ms / 1000 % 86'400;
  char clock[32];
  std::snprintf(clock, sizeof clock, "%d:%02d:%02d", static_cast<int>(seconds / 3600),
                static_cast<int>(seconds / 60 % 60), static_cast<int>(seconds % 60));
  std::string out = days == 0 ? "" : std::to_string(days) + (days == 1 ? " day, " : " days, ");
  out += clock;
  if (const std::int64_t millis = ms % 1000; millis != 0) {
    char fraction[16];
    std::snprintf(fraction, sizeof fraction, ".%03d000", static_cast<int>(millis));
    out += fraction;
  }
  return out;
}

class EveryRule final : public Schedule::Rule {
 public:
  EveryRule(milliseconds delta, milliseconds delay, milliseconds jitter)
      : delta_(delta), delay_(delay), jitter_(jitter) {}

  std::string to_string() const override { return "every(" + timedelta_string(delta_) + ")"; }

  std::optional<TimePoint> due(TimePoint now, std::optional<TimePoint> last, TimePoint anchor) const override {
    const Wide first = nanos(anchor) + nanos(delay_);
    const Wide at = nanos(now);
    if (at < first) return std::nullopt;
    const TimePoint slot = clamped(first + (at - first) / nanos(delta_) * nanos(delta_));
    if (last && slot <= *last) return std::nullopt;
    return slot;
  }

  TimePoint next_after(TimePoint t, TimePoint anchor) const override {
    const Wide first = nanos(anchor) + nanos(delay_);
    const Wide at = nanos(t);
    if (at < first) return clamped(first);
    return clamped(first + ((at - first) / nanos(delta_) + 1) * nanos(delta_));
  }

  milliseconds jitter() const noexcept override { return jitter_; }

 private:
  milliseconds delta_, delay_, jitter_;
};

void check_every(const char* name, milliseconds value, bool zero_allowed) {
  if (value.count() > 0 || (zero_allowed && value.count() == 0)) return;
  throw FluidError(std::string("every(): ") + name + (zero_allowed ? " must not be negative" : " must be positive") +
                   ", got " + std::to_string(value.count()) + "ms");
}

}  // namespace

Schedule::Schedule(std::shared_ptr<const Rule> rule) : rule_(std::move(rule)) {}

std::string Schedule::to_string() const { return rule_->to_string(); }

std::optional<TimePoint> Schedule::due(TimePoint now, std::optional<TimePoint> last, TimePoint anchor) const {
  return rule_->due(now, last, anchor);
}

TimePoint Schedule::next_after(TimePoint t, TimePoint anchor) const { return rule_->next_after(t, anchor); }

std::chrono::milliseconds Schedule::jitter() const noexcept { return rule_->jitter(); }

Schedule every(milliseconds delta, milliseconds delay, milliseconds jitter) {
  check_every("delta", delta, false);
  check_every("delay", delay, true);
  check_every("jitter", jitter, true);
  return ScheduleAccess::make(std::make_shared<const EveryRule>(delta, delay, jitter));
}

}  // namespace fluid
