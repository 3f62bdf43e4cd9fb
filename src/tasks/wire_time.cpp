// The time and duration forms of the tasks' JSON (RFC 3339, ISO 8601 seconds).

#include "fluid/tasks/task_run.hpp"

#include <cstdint>
#include <cstdio>
#include <limits>

namespace fluid {

namespace {

using std::chrono::microseconds;

constexpr std::int64_t micros_per_second = 1'000'000;
constexpr std::int64_t micros_per_day = 86'400 * micros_per_second;

// A cursor over the text being parsed; every read fails (false) rather than
// running past the end.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool done() const noexcept { return pos_ == text_.size(); }
  bool peek(char c) const noexcept { return pos_ < text_.size() && text_[pos_] == c; }
  bool take(char c) noexcept {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }
  bool take_either(char a, char b) noexcept { return take(a) || take(b); }

  // Exactly `count` digits.
  bool fixed(int count, std::int64_t& value) noexcept {
    value = 0;
    for (int i = 0; i < count; ++i) {
      if (!digit_here()) return false;
      value = value * 10 + (text_[pos_++] - '0');
    }
    return true;
  }

  // 1 to `max_count` digits; `count` says how many were read.
  bool digits(int max_count, std::int64_t& value, int& count) noexcept {
    value = 0;
    count = 0;
    while (digit_here()) {
      if (count == max_count) return false;
      value = value * 10 + (text_[pos_++] - '0');
      ++count;
    }
    return count > 0;
  }

 private:
  bool digit_here() const noexcept { return pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// ".d{1,9}" after the seconds, as microseconds (the nanoseconds truncated).
bool fraction_micros(Scanner& in, std::int64_t& micros) noexcept {
  micros = 0;
  if (!in.take('.')) return true;
  std::int64_t value = 0;
  int count = 0;
  if (!in.digits(9, value, count)) return false;
  for (; count < 9; ++count) value *= 10;
  micros = value / 1000;
  return true;
}

bool utc_offset_micros(Scanner& in, std::int64_t& offset) noexcept {
  offset = 0;
  if (in.take_either('Z', 'z')) return true;
  const bool west = in.peek('-');
  if (!in.take_either('+', '-')) return false;
  std::int64_t hours = 0, minutes = 0;
  if (!in.fixed(2, hours) || !in.take(':') || !in.fixed(2, minutes) || hours > 23 || minutes > 59) return false;
  offset = (hours * 60 + minutes) * 60 * micros_per_second;
  if (west) offset = -offset;
  return true;
}

std::optional<std::int64_t> civil_days(std::int64_t y, std::int64_t m, std::int64_t d) noexcept {
  const std::chrono::year_month_day date{std::chrono::year(static_cast<int>(y)),
                                         std::chrono::month(static_cast<unsigned>(m)),
                                         std::chrono::day(static_cast<unsigned>(d))};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date).time_since_epoch().count();
}

constexpr std::int64_t min_micros = std::chrono::ceil<microseconds>(TimePoint::min().time_since_epoch()).count();
constexpr std::int64_t max_micros = std::chrono::floor<microseconds>(TimePoint::max().time_since_epoch()).count();

}  // namespace

std::string format_time(TimePoint time) {
  const auto since_epoch = std::chrono::floor<microseconds>(time.time_since_epoch());
  const auto days = std::chrono::floor<std::chrono::days>(since_epoch);
  const std::chrono::year_month_day date{std::chrono::sys_days(days)};
  const std::int64_t in_day = (since_epoch - days).count();
  const std::int64_t seconds = in_day / micros_per_second;
  const std::int64_t micros = in_day % micros_per_second;
  char text[40];
  int size = std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(date.year()),
                           static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                           static_cast<int>(seconds / 3600), static_cast<int>(seconds / 60 % 60),
                           static_cast<int>(seconds % 60));
  if (micros != 0) size += std::snprintf(text + size, sizeof text - size, ".%06d", static_cast<int>(micros));
  return std::string(text, size) + 'Z';
}

std::optional<TimePoint> parse_time(std::string_view text) noexcept {
  Scanner in(text);
  std::int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, micros = 0, offset = 0;
  const bool shaped = in.fixed(4, y) && in.take('-') && in.fixed(2, mo) && in.take('-') && in.fixed(2, d) &&
                      in.take_either('T', 't') && in.fixed(2, h) && in.take(':') && in.fixed(2, mi) && in.take(':') &&
                      in.fixed(2, s) && fraction_micros(in, micros) && utc_offset_micros(in, offset) && in.done();
  if (!shaped || h > 23 || mi > 59 || s > 59) return std::nullopt;
  const auto days = civil_days(y, mo, d);
  if (!days) return std::nullopt;
  // Years 0000-9999 keep this within int64 microseconds; TimePoint's range
  // (about 1678-2262 with nanoseconds) is narrower, so check it.
  const std::int64_t utc = *days * micros_per_day + ((h * 60 + mi) * 60 + s) * micros_per_second + micros - offset;
  if (utc < min_micros || utc > max_micros) return std::nullopt;
  return TimePoint(std::chrono::duration_cast<Clock::duration>(microseconds(utc)));
}

std::string format_duration(microseconds duration) {
  const std::int64_t count = duration.count();
  // Unsigned, so that the most negative count has a magnitude too.
  const std::uint64_t magnitude =
      count < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
  std::string out = count < 0 ? "-PT" : "PT";
  out += std::to_string(magnitude / micros_per_second);
  std::uint64_t fraction = magnitude % micros_per_second;
  if (fraction != 0) {
    int digits = 6;
    while (fraction % 10 == 0) {
      fraction /= 10;
      --digits;
    }
    const std::string decimals = std::to_string(fraction);
    out += '.' + std::string(static_cast<std::size_t>(digits) - decimals.size(), '0') + decimals;
  }
  return out + 'S';
}

std::optional<microseconds> parse_duration(std::string_view text) noexcept {
  Scanner in(text);
  const bool negative = in.take('-');
  std::int64_t seconds = 0, micros = 0;
  int count = 0;
  // 12 digits of seconds (31,000 years) keep the microseconds within int64.
  const bool shaped = in.take('P') && in.take('T') && in.digits(12, seconds, count) && fraction_micros(in, micros) &&
                      in.take('S') && in.done();
  if (!shaped) return std::nullopt;
  const std::int64_t magnitude = seconds * micros_per_second + micros;
  return microseconds(negative ? -magnitude : magnitude);
}

}  // namespace fluid
