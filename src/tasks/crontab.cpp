// crontab(): the strict five-field grammar, and a search for matching
// minutes that skips by field (a month, a day, an hour at a time) instead of
// walking minute by minute.

#include "tasks/schedule_rule.hpp"

#include "fluid/tasks/errors.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace fluid {

namespace {

using std::chrono::minutes;

constexpr std::int64_t minutes_per_day = 1440;

// The values a field allows, bit v for value v (0 to 63).
using Bits = std::uint64_t;

bool has(Bits bits, unsigned value) { return (bits >> value) & 1u; }

// The smallest allowed value above `value`, if any.
std::optional<unsigned> next_above(Bits bits, unsigned value) {
  const Bits above = value >= 63 ? 0 : bits & (~Bits{0} << (value + 1));
  if (above == 0) return std::nullopt;
  return static_cast<unsigned>(std::countr_zero(above));
}

// The largest allowed value below `value`, if any.
std::optional<unsigned> next_below(Bits bits, unsigned value) {
  const Bits below = bits & ((Bits{1} << value) - 1);
  if (below == 0) return std::nullopt;
  return static_cast<unsigned>(63 - std::countl_zero(below));
}

unsigned lowest(Bits bits) { return static_cast<unsigned>(std::countr_zero(bits)); }
unsigned highest(Bits bits) { return static_cast<unsigned>(63 - std::countl_zero(bits)); }

struct FieldSpec {
  const char* name;
  unsigned min, max;
  bool weekday;  // day_of_week: no steps (as aio-fluid), and 7 is Sunday as 0 is
};

constexpr FieldSpec minute_spec{"minute", 0, 59, false};
constexpr FieldSpec hour_spec{"hour", 0, 23, false};
constexpr FieldSpec day_spec{"day", 1, 31, false};
constexpr FieldSpec month_spec{"month", 1, 12, false};
constexpr FieldSpec day_of_week_spec{"day_of_week", 0, 7, true};

class FieldParser {
 public:
  FieldParser(const FieldSpec& spec, std::string_view text) : spec_(spec), text_(text) {}

  Bits parse() const {
    if (text_.empty()) fail("the field is empty");
    Bits bits = 0;
    std::size_t start = 0;
    for (;;) {
      const auto comma = text_.find(',', start);
      bits |= piece(text_.substr(start, comma == std::string_view::npos ? comma : comma - start));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (spec_.weekday && has(bits, 7)) bits = (bits & ~(Bits{1} << 7)) | 1u;
    return bits;
  }

 private:
  // One of *, N, N-M, */S or N-M/S.
  Bits piece(std::string_view piece) const {
    if (piece.empty()) fail("piece \"\" is empty");
    std::string_view rest = piece;
    unsigned first = spec_.min, last = spec_.max;
    const bool star = rest.front() == '*';
    if (star) {
      rest.remove_prefix(1);
    } else {
      first = last = number(piece, rest);
      if (!rest.empty() && rest.front() == '-') {
        rest.remove_prefix(1);
        last = number(piece, rest);
        if (last < first) fail_piece(piece, "is a reversed range");
      }
      if (first < spec_.min || last > spec_.max) {
        fail_piece(piece, "is out of range " + std::to_string(spec_.min) + "-" + std::to_string(spec_.max));
      }
    }
    unsigned step = 1;
    if (!rest.empty() && rest.front() == '/') {
      if (spec_.weekday) fail_piece(piece, "has a step, and steps are not allowed on " + std::string(spec_.name));
      if (!star && first == last && piece.find('-') == std::string_view::npos) unexpected(piece);
      rest.remove_prefix(1);
      step = number(piece, rest);
      if (step == 0) fail_piece(piece, "has a step of 0");
      if (step > spec_.max - spec_.min + 1) {
        fail_piece(piece,
                   "has a step larger than the field's " + std::to_string(spec_.max - spec_.min + 1) + " values");
      }
    }
    if (!rest.empty()) unexpected(piece);
    Bits bits = 0;
    for (unsigned v = first; v <= last; v += step) bits |= Bits{1} << v;
    return bits;
  }

  // Decimal digits at the front of `rest`, consumed.
  unsigned number(std::string_view piece, std::string_view& rest) const {
    std::size_t count = 0;
    unsigned value = 0;
    while (count < rest.size() && rest[count] >= '0' && rest[count] <= '9') {
      value = value > 1000 ? value : value * 10 + static_cast<unsigned>(rest[count] - '0');  // saturates
      ++count;
    }
    if (count == 0) unexpected(piece);
    rest.remove_prefix(count);
    return value;
  }

  [[noreturn]] void unexpected(std::string_view piece) const {
    fail_piece(piece, std::string("is not *, N, N-M") + (spec_.weekday ? "" : ", */S or N-M/S") +
                          " (names, L, ?, # and spaces are not supported)");
  }

  [[noreturn]] void fail_piece(std::string_view piece, const std::string& why) const {
    fail("piece \"" + std::string(piece) + "\" " + why);
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw CrontabError("crontab " + std::string(spec_.name) + " \"" + std::string(text_) + "\": " + why);
  }

  const FieldSpec& spec_;
  std::string_view text_;
};

// Minutes east of UTC: "UTC", "+HH:MM" or "-HH:MM".
int parse_tz(std::string_view tz) {
  if (tz == "UTC") return 0;
  const auto digit = [&](std::size_t i) { return tz[i] >= '0' && tz[i] <= '9'; };
  const bool offset =
      tz.size() == 6 && (tz[0] == '+' || tz[0] == '-') && digit(1) && digit(2) && tz[3] == ':' && digit(4) && digit(5);
  const auto two = [&](std::size_t i) { return (tz[i] - '0') * 10 + (tz[i + 1] - '0'); };
  if (offset && two(1) <= 23 && two(4) <= 59) return (tz[0] == '-' ? -1 : 1) * (two(1) * 60 + two(4));
  const bool named = !tz.empty() && ((tz[0] >= 'A' && tz[0] <= 'Z') || (tz[0] >= 'a' && tz[0] <= 'z'));
  throw CrontabError("crontab tz \"" + std::string(tz) + "\": " +
                     (named ? "named time zones need a tz database, which this build does not have; use \"UTC\" "
                              "or a fixed offset such as \"+01:00\""
                            : "expected \"UTC\" or a fixed offset \"+HH:MM\" / \"-HH:MM\""));
}

struct Civil {
  std::int64_t day;  // days since 1970-01-01
  int year;
  unsigned month, day_of_month, weekday;  // weekday: 0 is Sunday
};

Civil civil(std::int64_t day) {
  const std::chrono::sys_days date{std::chrono::days(day)};
  const std::chrono::year_month_day ymd{date};
  return {day, static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
          std::chrono::weekday(date).c_encoding()};
}

std::int64_t day_of(int year, unsigned month, unsigned day) {
  return std::chrono::sys_days(std::chrono::year(year) / std::chrono::month(month) / std::chrono::day(day))
      .time_since_epoch()
      .count();
}

unsigned days_in(int year, unsigned month) {
  return static_cast<unsigned>((std::chrono::year(year) / std::chrono::month(month) / std::chrono::last).day());
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// A local minute as its day, that day's first minute, its hour and minute.
struct LocalMinute {
  Civil date;
  std::int64_t midnight;
  unsigned hour, minute;
};

LocalMinute local_minute(std::int64_t m) {
  const Civil date = civil(floor_div(m, minutes_per_day));
  const std::int64_t midnight = date.day * minutes_per_day;
  return {date, midnight, static_cast<unsigned>((m - midnight) / 60), static_cast<unsigned>((m - midnight) % 60)};
}

std::int64_t minute_of(TimePoint t) { return std::chrono::floor<minutes>(t.time_since_epoch()).count(); }

constexpr std::int64_t first_minute = std::chrono::ceil<minutes>(TimePoint::min().time_since_epoch()).count();
constexpr std::int64_t last_minute = std::chrono::floor<minutes>(TimePoint::max().time_since_epoch()).count();

class CrontabRule final : public Schedule::Rule {
 public:
  explicit CrontabRule(const CrontabFields& fields)
      : fields_(fields),
        minutes_(FieldParser(minute_spec, fields.minute).parse()),
        hours_(FieldParser(hour_spec, fields.hour).parse()),
        days_(FieldParser(day_spec, fields.day).parse()),
        months_(FieldParser(month_spec, fields.month).parse()),
        weekdays_(FieldParser(day_of_week_spec, fields.day_of_week).parse()),
        offset_(parse_tz(fields.tz)) {
    check_day_and_month_meet();
  }

  std::string to_string() const override {
    return "crontab(minute " + fields_.minute + "; hour " + fields_.hour + "; day " + fields_.day + "; month " +
           fields_.month + "; day_of_week " + fields_.day_of_week + ")";
  }

  std::optional<TimePoint> due(TimePoint now, std::optional<TimePoint> last, TimePoint anchor) const override {
    std::int64_t lowest_slot = std::max(minute_of(anchor), first_minute);
    if (last) lowest_slot = std::max(lowest_slot, minute_of(*last) + 1);
    const std::int64_t highest_slot = minute_of(now);
    if (highest_slot < lowest_slot) return std::nullopt;
    const auto found = last_at_or_before(highest_slot + offset_, lowest_slot + offset_);
    if (!found) return std::nullopt;
    return TimePoint(minutes(*found - offset_));
  }

  TimePoint next_after(TimePoint t, TimePoint anchor) const override {
    const std::int64_t from = std::max(minute_of(t) + 1, minute_of(anchor));
    const auto found = first_at_or_after(from + offset_, last_minute + offset_);
    if (!found) return TimePoint::max();
    return TimePoint(minutes(*found - offset_));
  }

  std::chrono::milliseconds jitter() const noexcept override { return {}; }

 private:
  // The first local minute >= m (and <= limit) every field matches.
  std::optional<std::int64_t> first_at_or_after(std::int64_t m, std::int64_t limit) const {
    while (m <= limit) {
      const auto [date, midnight, hour, minute] = local_minute(m);
      if (!has(months_, date.month)) {
        const auto month = next_above(months_, date.month);
        m = minutes_per_day * (month ? day_of(date.year, *month, 1) : day_of(date.year + 1, lowest(months_), 1));
      } else if (!has(days_, date.day_of_month)) {
        const auto day = next_above(days_, date.day_of_month);
        const unsigned month_days = days_in(date.year, date.month);
        const unsigned target = day && *day <= month_days ? *day : month_days + 1;  // else the next month
        m = midnight + (target - date.day_of_month) * minutes_per_day;
      } else if (!has(weekdays_, date.weekday)) {
        m = midnight + minutes_per_day;
      } else if (!has(hours_, hour)) {
        const auto next = next_above(hours_, hour);
        m = next ? midnight + *next * 60 : midnight + minutes_per_day;
      } else if (!has(minutes_, minute)) {
        const auto next = next_above(minutes_, minute);
        m = next ? midnight + hour * 60 + *next : midnight + (hour + 1) * 60;
      } else {
        return m;
      }
    }
    return std::nullopt;
  }

  // The last local minute <= m (and >= limit) every field matches.
  std::optional<std::int64_t> last_at_or_before(std::int64_t m, std::int64_t limit) const {
    while (m >= limit) {
      const auto [date, midnight, hour, minute] = local_minute(m);
      if (!has(months_, date.month)) {
        const auto month = next_below(months_, date.month);
        const int year = month ? date.year : date.year - 1;
        const unsigned target = month ? *month : highest(months_);
        m = minutes_per_day * (day_of(year, target, days_in(year, target)) + 1) - 1;
      } else if (!has(days_, date.day_of_month)) {
        const auto day = next_below(days_, date.day_of_month);
        const unsigned target = day ? *day : 0;  // 0: the last day of the previous month
        m = midnight - (date.day_of_month - target - 1) * minutes_per_day - 1;
      } else if (!has(weekdays_, date.weekday)) {
        m = midnight - 1;
      } else if (!has(hours_, hour)) {
        const auto previous = next_below(hours_, hour);
        m = previous ? midnight + *previous * 60 + 59 : midnight - 1;
      } else if (!has(minutes_, minute)) {
        const auto previous = next_below(minutes_, minute);
        m = previous ? midnight + hour * 60 + *previous : midnight + hour * 60 - 1;
      } else {
        return m;
      }
    }
    return std::nullopt;
  }

  // A day that no month of the field has (31 in "2,4") would never fire.
  void check_day_and_month_meet() const {
    for (unsigned month = 1; month <= 12; ++month) {
      if (has(months_, month) && lowest(days_) <= days_in(2000, month)) return;  // 2000: February has 29
    }
    throw CrontabError("crontab day \"" + fields_.day + "\" and month \"" + fields_.month +
                       "\" never meet: the crontab would never fire");
  }

  CrontabFields fields_;
  Bits minutes_, hours_, days_, months_, weekdays_;
  int offset_;  // minutes east of UTC
};

// The fields of "0 8 * * 1-5", split on runs of blanks.
std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> out;
  constexpr std::string_view blanks = " \t";
  std::size_t pos = text.find_first_not_of(blanks);
  while (pos != std::string_view::npos) {
    const auto end = text.find_first_of(blanks, pos);
    out.push_back(text.substr(pos, end == std::string_view::npos ? end : end - pos));
    pos = end == std::string_view::npos ? end : text.find_first_not_of(blanks, end);
  }
  return out;
}

}  // namespace

Schedule crontab(const CrontabFields& fields) {
  return ScheduleAccess::make(std::make_shared<const CrontabRule>(fields));
}

Schedule crontab(std::string_view five_fields, std::string_view tz) {
  const auto parts = split_fields(five_fields);
  if (parts.size() != 5) {
    throw CrontabError("crontab \"" + std::string(five_fields) + "\": expected 5 fields, got " +
                       std::to_string(parts.size()));
  }
  return crontab(CrontabFields{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
                               std::string(parts[3]), std::string(parts[4]), std::string(tz)});
}

}  // namespace fluid
