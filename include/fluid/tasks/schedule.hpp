#pragma once
/// @file
/// Schedule: when a task fires, as every(delta) or a crontab.

#include "fluid/tasks/task_state.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fluid {

/// A rule giving the slots at which a scheduled task fires.
///
/// A value: copies share one immutable rule. Pure: due() and next_after()
/// depend only on their arguments, so every TaskScheduler on a broker
/// computes the same slots and the broker can fire each exactly once.
/// Made by every() or crontab() only.
class Schedule {
 public:
  /// "every(0:00:02)" (Python's timedelta form), or
  /// "crontab(minute 0; hour 8; day *; month *; day_of_week 1-5)" (fields as written).
  std::string to_string() const;

  /// The latest slot s with anchor' <= s <= now if s > last (or there is no
  /// last), else nullopt. anchor' is the anchor's minute for a crontab,
  /// anchor + delay for every(). `anchor` is when the schedule started on
  /// the broker. Ignores jitter and randomize.
  std::optional<TimePoint> due(TimePoint now, std::optional<TimePoint> last, TimePoint anchor) const;

  /// The first slot strictly after `t` (and not before anchor');
  /// TimePoint::max() when the clock ends before it. A crontab is searched
  /// field by field (a month, a day, an hour at a time), never minute by
  /// minute: a few steps per month searched.
  TimePoint next_after(TimePoint t, TimePoint anchor) const;

  /// The most each run of every() is delayed past its slot (a uniform draw in
  /// [0, jitter)); zero for a crontab.
  std::chrono::milliseconds jitter() const noexcept;

  struct Rule;  ///< the rule itself (src/tasks/)

 private:
  explicit Schedule(std::shared_ptr<const Rule> rule);
  friend struct ScheduleAccess;  // every() and crontab() build through it
  std::shared_ptr<const Rule> rule_;
};

/// Slots at anchor + delay + k * delta (k >= 0): the first run comes at the
/// first start (+ delay), restarts keep the grid; each run is delayed by a
/// draw in [0, jitter) without stretching the grid. to_string() writes delta
/// as Python's timedelta: "every(0:00:02)", "every(1 day, 0:00:00)",
/// "every(0:00:00.500000)".
/// @throws FluidError if delta <= 0, delay < 0 or jitter < 0.
Schedule every(std::chrono::milliseconds delta, std::chrono::milliseconds delay = {},
               std::chrono::milliseconds jitter = {});

/// The five fields of a crontab, each pieces separated by commas: `*`, `N`,
/// `N-M` (inclusive, N <= M), `*/S` (every S-th value from the field's
/// first), `N-M/S`; no steps on day_of_week, where `5-7` is Friday to
/// Sunday. S is 1 to the number of the field's values. Day of month and day
/// of week must both match (aio-fluid's AND; POSIX cron ORs them).
struct CrontabFields {
  std::string minute = "*";       ///< 0-59
  std::string hour = "*";         ///< 0-23
  std::string day = "*";          ///< 1-31
  std::string month = "*";        ///< 1-12
  std::string day_of_week = "*";  ///< 0-7, 0 and 7 are Sunday
  std::string tz = "UTC";         ///< "UTC" or a fixed offset "+HH:MM" / "-HH:MM"
};

/// A schedule firing at most once a minute, on every minute the fields match
/// in `tz`.
/// @throws CrontabError quoting the field and the piece when a field is
///         malformed (out of range, reversed range, step 0, steps on
///         day_of_week, names, L, ?, #, empty pieces, spaces), when day and
///         month never meet (31 in "2,4": it would never fire), or for a tz
///         other than "UTC" and "+HH:MM" / "-HH:MM" (named zones need a tz
///         database, which this build does not have).
Schedule crontab(const CrontabFields& fields);

/// crontab() of a five-field string, "minute hour day month day_of_week" ("0 8 * * 1-5").
/// @throws CrontabError ("expected 5 fields, got N", quoting the string) or as above.
Schedule crontab(std::string_view five_fields, std::string_view tz = "UTC");

}  // namespace fluid
