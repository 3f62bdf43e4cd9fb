// Schedules: every() on a grid from its anchor, crontab()'s strict grammar
// and its matching (day AND day of week, minute granularity, fixed offsets),
// and the pure due() / next_after() every TaskScheduler computes alike.

#include "support/thrown.hpp"

#include <fluid/errors.hpp>
#include <fluid/tasks/errors.hpp>
#include <fluid/tasks/schedule.hpp>

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using fluid::CrontabFields;
using fluid::Schedule;
using fluid::TimePoint;
using fluid::test::thrown_message;

namespace {

TimePoint utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return TimePoint(std::chrono::sys_days(std::chrono::year(y) / mo / d)) + std::chrono::hours(h) +
         std::chrono::minutes(mi) + std::chrono::seconds(s);
}

// aio-fluid's `schedule(timestamp)` with no last run, made pure: does the
// minute of `t` fire (the schedule starting at t)?
bool fires_at(const Schedule& schedule, TimePoint t) { return schedule.due(t, std::nullopt, t).has_value(); }

Schedule fields(CrontabFields f) { return fluid::crontab(f); }

const TimePoint anchor = utc(2024, 1, 15, 12);

}  // namespace

// ---------------------------------------------------------------- every()

TEST(Every, IsWrittenWithPythonsTimedeltaForm) {
  EXPECT_EQ(fluid::every(2s).to_string(), "every(0:00:02)");
  EXPECT_EQ(fluid::every(90min).to_string(), "every(1:30:00)");
  EXPECT_EQ(fluid::every(24h).to_string(), "every(1 day, 0:00:00)");
  EXPECT_EQ(fluid::every(48h).to_string(), "every(2 days, 0:00:00)");
  EXPECT_EQ(fluid::every(500ms).to_string(), "every(0:00:00.500000)");
  EXPECT_EQ(fluid::every(25h + 1s + 250ms).to_string(), "every(1 day, 1:00:01.250000)");
  EXPECT_EQ(fluid::every(12h + 5min).to_string(), "every(12:05:00)");
}

TEST(Every, RejectsANonPositiveDeltaAndANegativeDelayOrJitter) {
  EXPECT_EQ(thrown_message<fluid::FluidError>([] { (void)fluid::every(0ms); }),
            "every(): delta must be positive, got 0ms");
  EXPECT_EQ(thrown_message<fluid::FluidError>([] { (void)fluid::every(-1s); }),
            "every(): delta must be positive, got -1000ms");
  EXPECT_EQ(thrown_message<fluid::FluidError>([] { (void)fluid::every(1s, -1ms); }),
            "every(): delay must not be negative, got -1ms");
  EXPECT_EQ(thrown_message<fluid::FluidError>([] { (void)fluid::every(1s, 0ms, -1ms); }),
            "every(): jitter must not be negative, got -1ms");
}

TEST(Every, FiresAtTheAnchorThenEveryDelta) {
  const auto schedule = fluid::every(2s);
  EXPECT_EQ(schedule.due(anchor, std::nullopt, anchor), anchor);
  EXPECT_EQ(schedule.due(anchor + 1900ms, anchor, anchor), std::nullopt);
  EXPECT_EQ(schedule.due(anchor + 2s, anchor, anchor), anchor + 2s);
  EXPECT_EQ(schedule.next_after(anchor, anchor), anchor + 2s);
  EXPECT_EQ(schedule.next_after(anchor + 2100ms, anchor), anchor + 4s);
  EXPECT_EQ(schedule.next_after(anchor - 1h, anchor), anchor);
}

TEST(Every, AfterDowntimeOnlyTheLatestMissedSlotIsDue) {
  const auto schedule = fluid::every(2s);
  EXPECT_EQ(schedule.due(anchor + 7500ms, anchor + 2s, anchor), anchor + 6s);
  EXPECT_EQ(schedule.due(anchor + 7500ms, anchor + 6s, anchor), std::nullopt);
}

TEST(Every, ARestartKeepsTheGridOfTheStoredAnchor) {
  const auto schedule = fluid::every(10s);
  // A scheduler started at +33 s sees the slots every other one saw.
  EXPECT_EQ(schedule.next_after(anchor + 33s, anchor), anchor + 40s);
  EXPECT_EQ(schedule.due(anchor + 33s, anchor + 20s, anchor), anchor + 30s);
}

// Ports test_every.py::test_delay (A): pure instead of sleeping; the next
// interval is exactly delta.
TEST(Every, TheFirstSlotIsDelayedThenTheIntervalIsDelta) {
  const auto schedule = fluid::every(10s, 300ms);
  EXPECT_EQ(schedule.due(anchor, std::nullopt, anchor), std::nullopt);
  const auto first = schedule.due(anchor + 400ms, std::nullopt, anchor);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, anchor + 300ms);
  EXPECT_EQ(schedule.next_after(*first, anchor) - *first, 10s);
  EXPECT_EQ(schedule.next_after(anchor, anchor), anchor + 300ms);
}

// Ports test_every.py::test_jitter (A): jitter delays each run (drawn by the
// scheduler in [0, jitter)) and no longer stretches the interval, so every
// scheduler computes the same slots.
TEST(Every, JitterIsReportedAndLeavesTheGridAlone) {
  const auto schedule = fluid::every(5s, 0ms, 2s);
  EXPECT_EQ(schedule.jitter(), 2s);
  const auto first = schedule.next_after(anchor, anchor);
  EXPECT_EQ(first, anchor + 5s);
  EXPECT_EQ(schedule.next_after(first, anchor) - first, 5s);
  EXPECT_EQ(fluid::every(5s).jitter(), 0ms);
}

TEST(Every, SlotsPastTheClocksEndAreTimePointMax) {
  const auto schedule = fluid::every(24h * 365 * 100);
  EXPECT_EQ(schedule.next_after(TimePoint::max() - 1h, anchor), TimePoint::max());
  EXPECT_EQ(fluid::every(1s, 24h * 365 * 300).next_after(anchor, anchor), TimePoint::max());
  EXPECT_EQ(fluid::every(1s, 24h * 365 * 300).due(anchor, std::nullopt, anchor), std::nullopt);
}

TEST(Every, CopiesShareTheRule) {
  const auto schedule = fluid::every(2s);
  const Schedule copy = schedule;  // NOLINT: the copy is the point
  EXPECT_EQ(copy.to_string(), schedule.to_string());
  EXPECT_EQ(copy.next_after(anchor, anchor), anchor + 2s);
}

// ---------------------------------------------------------------- crontab(): matching

// Ports test_crontab.py::test_crontab_month (P).
TEST(Crontab, MatchesTheMonthsOfItsMonthField) {
  const auto schedule = fields({.month = "1,4,*/6,8-9"});
  EXPECT_EQ(schedule.to_string(), "crontab(minute *; hour *; day *; month 1,4,*/6,8-9; day_of_week *)");
  const std::set<unsigned> valid{1, 4, 7, 8, 9};
  for (unsigned month = 1; month <= 12; ++month) {
    EXPECT_EQ(fires_at(schedule, utc(2011, month, 1)), valid.contains(month)) << "month " << month;
  }
}

// Ports test_crontab.py::test_crontab_day (P).
TEST(Crontab, MatchesTheDaysOfItsDayField) {
  const auto mixed = fields({.day = "*/6,1,4,8-9"});
  const std::set<unsigned> valid{1, 4, 7, 8, 9, 13, 19, 25, 31};
  for (unsigned day = 1; day <= 31; ++day) {
    EXPECT_EQ(fires_at(mixed, utc(2011, 1, day)), valid.contains(day)) << "day " << day;
  }
  const auto tenth = fields({.day = "*/10"});
  const std::set<unsigned> tens{1, 11, 21, 31};
  for (unsigned day = 1; day <= 31; ++day) {
    EXPECT_EQ(fires_at(tenth, utc(2011, 1, day)), tens.contains(day)) << "January " << day;
  }
  for (unsigned day = 1; day <= 28; ++day) {
    EXPECT_EQ(fires_at(tenth, utc(2011, 2, day)), tens.contains(day)) << "February " << day;
  }
}

// Ports test_crontab.py::test_crontab_hour (P).
TEST(Crontab, MatchesTheHoursOfItsHourField) {
  const auto schedule = fields({.hour = "8-9,*/6,1,4"});
  const std::set<int> valid{0, 1, 4, 6, 8, 9, 12, 18};
  for (int hour = 0; hour < 24; ++hour) {
    EXPECT_EQ(fires_at(schedule, utc(2011, 1, 1, hour)), valid.contains(hour)) << "hour " << hour;
  }
  const auto edge = fields({.hour = "0"});
  EXPECT_TRUE(fires_at(edge, utc(2011, 1, 1, 0, 0)));
  EXPECT_FALSE(fires_at(edge, utc(2011, 1, 1, 12, 0)));
}

// Ports test_crontab.py::test_crontab_minute (P).
TEST(Crontab, MatchesTheMinutesOfItsMinuteField) {
  const auto schedule = fields({.minute = "4,8-9,*/6,1"});
  const std::set<int> valid{0, 1, 4, 6, 8, 9, 12, 18, 24, 30, 36, 42, 48, 54};
  for (int minute = 0; minute < 60; ++minute) {
    EXPECT_EQ(fires_at(schedule, utc(2011, 1, 1, 1, minute)), valid.contains(minute)) << "minute " << minute;
  }
  // Not every 16 minutes: on the given values of each hour.
  const auto sixteenth = fields({.minute = "*/16"});
  const std::set<int> sixteens{0, 16, 32, 48};
  for (int minute = 0; minute < 60; ++minute) {
    EXPECT_EQ(fires_at(sixteenth, utc(2011, 1, 1, 1, minute)), sixteens.contains(minute)) << "minute " << minute;
  }
}

// Ports test_crontab.py::test_crontab_day_of_week (P). 2011-01-01 is a Saturday.
TEST(Crontab, MatchesTheWeekdaysOfItsDayOfWeekField) {
  const auto schedule = fields({.day_of_week = "0,2"});  // Sunday, Tuesday
  const std::set<unsigned> valid{2, 4, 9, 11, 16, 18, 23, 25, 30};
  for (unsigned day = 1; day <= 31; ++day) {
    EXPECT_EQ(fires_at(schedule, utc(2011, 1, day)), valid.contains(day)) << "January " << day;
  }
}

// Ports test_crontab.py::test_crontab_sunday (P).
TEST(Crontab, ZeroAndSevenAreBothSunday) {
  for (const char* sunday : {"0", "7"}) {
    const auto schedule = fields({.minute = "0", .hour = "0", .day_of_week = sunday});
    const std::set<unsigned> valid{2, 9, 16, 23, 30};
    for (unsigned day = 1; day <= 31; ++day) {
      EXPECT_EQ(fires_at(schedule, utc(2011, 1, day)), valid.contains(day)) << sunday << ", January " << day;
    }
  }
}

// Ports test_crontab.py::test_crontab_all_together (P): day and day of week
// must both match (aio-fluid's AND; POSIX cron would OR them).
TEST(Crontab, EveryFieldMustMatchDayAndDayOfWeekIncluded) {
  const auto schedule =
      fields({.minute = "1-5,10-15,50", .hour = "*/4", .day = "1,4,7", .month = "1,5", .day_of_week = "0,6"});
  EXPECT_TRUE(fires_at(schedule, utc(2011, 5, 1, 4, 11)));
  EXPECT_TRUE(fires_at(schedule, utc(2011, 5, 7, 20, 50)));
  EXPECT_TRUE(fires_at(schedule, utc(2011, 1, 1, 0, 1)));
  EXPECT_FALSE(fires_at(schedule, utc(2011, 6, 4, 4, 11)));  // month
  EXPECT_FALSE(fires_at(schedule, utc(2011, 1, 6, 4, 11)));  // day
  EXPECT_FALSE(fires_at(schedule, utc(2011, 1, 4, 4, 11)));  // day of week
  EXPECT_FALSE(fires_at(schedule, utc(2011, 1, 1, 1, 11)));  // hour
  EXPECT_FALSE(fires_at(schedule, utc(2011, 1, 1, 4, 6)));   // minute
}

// Ports test_crontab.py::test_consecutive_runs (P): one slot per minute,
// seconds ignored.
TEST(Crontab, AMinuteFiresOnceWhateverItsSeconds) {
  const auto schedule = fields({.minute = "0", .hour = "8", .day = "*"});
  const auto start = utc(2021, 2, 20, 7, 30);
  const auto run = schedule.due(utc(2021, 2, 20, 8), std::nullopt, start);
  ASSERT_TRUE(run);
  EXPECT_EQ(*run, utc(2021, 2, 20, 8));
  EXPECT_EQ(schedule.due(utc(2021, 2, 20, 8), run, start), std::nullopt);
  EXPECT_EQ(schedule.due(utc(2021, 2, 20, 8, 0, 1), run, start), std::nullopt);
  EXPECT_EQ(schedule.due(utc(2021, 2, 20, 8, 1, 0), run, start), std::nullopt);
}

TEST(Crontab, FiveToSevenIsFridayToSunday) {
  const auto weekend = fluid::crontab("0 0 * * 5-7");
  // 2024-01-05 is a Friday.
  for (unsigned day = 1; day <= 14; ++day) {
    const bool expected = day == 5 || day == 6 || day == 7 || day == 12 || day == 13 || day == 14;
    EXPECT_EQ(fires_at(weekend, utc(2024, 1, day)), expected) << "January " << day;
  }
}

TEST(Crontab, ARangeWithAStepTakesEverySthValueFromItsStart) {
  const auto schedule = fields({.minute = "10-40/15"});
  std::set<int> fired;
  for (int minute = 0; minute < 60; ++minute) {
    if (fires_at(schedule, utc(2024, 1, 1, 3, minute))) fired.insert(minute);
  }
  EXPECT_EQ(fired, (std::set<int>{10, 25, 40}));
}

TEST(Crontab, AFiveFieldStringIsMinuteHourDayMonthDayOfWeek) {
  const auto schedule = fluid::crontab("0 8 * * 1-5");
  EXPECT_EQ(schedule.to_string(), "crontab(minute 0; hour 8; day *; month *; day_of_week 1-5)");
  EXPECT_EQ(fluid::crontab(" 0  8\t* *  1-5 ").to_string(), schedule.to_string());
  EXPECT_TRUE(fires_at(schedule, utc(2024, 1, 15, 8)));   // a Monday
  EXPECT_FALSE(fires_at(schedule, utc(2024, 1, 14, 8)));  // a Sunday
  EXPECT_EQ(schedule.jitter(), 0ms);
}

TEST(Crontab, AFixedOffsetMatchesLocalTime) {
  const auto schedule = fluid::crontab("0 8 * * *", "+02:00");
  EXPECT_TRUE(fires_at(schedule, utc(2024, 1, 15, 6)));
  EXPECT_FALSE(fires_at(schedule, utc(2024, 1, 15, 8)));
  EXPECT_EQ(schedule.next_after(utc(2024, 1, 15, 6), anchor), utc(2024, 1, 16, 6));
  const auto west = fluid::crontab("30 23 31 12 *", "-05:30");  // 2024-12-31 23:30 local
  EXPECT_EQ(west.next_after(anchor, anchor), utc(2025, 1, 1, 5, 0));
}

// ---------------------------------------------------------------- crontab(): due and next_after

TEST(Crontab, DueIsTheLatestMatchingMinuteSinceTheAnchorsMinute) {
  const auto schedule = fluid::crontab("*/15 * * * *");
  const auto start = utc(2024, 1, 15, 10, 7, 20);
  EXPECT_EQ(schedule.due(utc(2024, 1, 15, 10, 7, 30), std::nullopt, start), std::nullopt);  // 10:00 is before it
  EXPECT_EQ(schedule.due(utc(2024, 1, 15, 10, 15, 10), std::nullopt, start), utc(2024, 1, 15, 10, 15));
  EXPECT_EQ(schedule.due(utc(2024, 1, 15, 10, 15, 50), utc(2024, 1, 15, 10, 15), start), std::nullopt);
  // After downtime, only the most recent slot: 11:00, not 10:30 and 10:45.
  EXPECT_EQ(schedule.due(utc(2024, 1, 15, 11, 2), utc(2024, 1, 15, 10, 15), start), utc(2024, 1, 15, 11));
}

TEST(Crontab, TheMinuteTheScheduleStartsInCounts) {
  const auto schedule = fluid::crontab("15 10 * * *");
  const auto start = utc(2024, 1, 15, 10, 15, 40);
  EXPECT_EQ(schedule.due(utc(2024, 1, 15, 10, 15, 50), std::nullopt, start), utc(2024, 1, 15, 10, 15));
  EXPECT_EQ(schedule.next_after(utc(2024, 1, 15, 9), start), utc(2024, 1, 15, 10, 15));
}

TEST(Crontab, NextAfterIsTheFirstSlotStrictlyAfter) {
  const auto schedule = fluid::crontab("*/15 * * * *");
  EXPECT_EQ(schedule.next_after(utc(2024, 1, 15, 10, 15), anchor - 24h), utc(2024, 1, 15, 10, 30));
  EXPECT_EQ(schedule.next_after(utc(2024, 1, 15, 10, 14, 59) + 900ms, anchor - 24h), utc(2024, 1, 15, 10, 15));
  EXPECT_EQ(schedule.next_after(utc(2024, 1, 15, 23, 50), anchor - 24h), utc(2024, 1, 16));
  EXPECT_EQ(schedule.next_after(utc(2023, 1, 1), anchor), anchor);  // never before the anchor
}

TEST(Crontab, FindsSlotsYearsAway) {
  // Fridays the 13th: the first of 2024 is in September.
  EXPECT_EQ(fluid::crontab("0 0 13 * 5").next_after(utc(2024, 1, 1), utc(2024, 1, 1)), utc(2024, 9, 13));
  // February 29th: leap years only.
  EXPECT_EQ(fluid::crontab("0 0 29 2 *").next_after(utc(2025, 3, 1), utc(2025, 3, 1)), utc(2028, 2, 29));
  // ... on a Monday: 2044.
  EXPECT_EQ(fluid::crontab("0 0 29 2 1").next_after(utc(2026, 1, 1), utc(2026, 1, 1)), utc(2044, 2, 29));
  EXPECT_EQ(fluid::crontab("0 0 29 2 1").due(utc(2050, 1, 1), std::nullopt, utc(2000, 1, 1)), utc(2044, 2, 29));
}

TEST(Crontab, SlotsPastTheClocksEndAreTimePointMax) {
  EXPECT_EQ(fluid::crontab("0 0 29 2 1").next_after(TimePoint::max() - 24h * 365, anchor), TimePoint::max());
  // The clock ends at 23:47:16.85 of 2262-04-11: 23:47 is its last slot.
  const auto last_minute = std::chrono::floor<std::chrono::minutes>(TimePoint::max());
  EXPECT_EQ(fluid::crontab("* * * * *").next_after(TimePoint::max() - 30s, anchor), last_minute);
  EXPECT_EQ(fluid::crontab("* * * * *").next_after(TimePoint::max() - 10s, anchor), TimePoint::max());
  EXPECT_EQ(fluid::crontab("* * * * *").due(TimePoint::min() + 90s, std::nullopt, TimePoint::min()),
            std::chrono::ceil<std::chrono::minutes>(TimePoint::min() + 90s) - 1min);
}

namespace {

using SysMinutes = std::chrono::time_point<std::chrono::system_clock, std::chrono::minutes>;

// The reference: every field checked on the local civil time, day by day.
struct Reference {
  std::set<unsigned> minutes, hours, days, months, weekdays;
  int offset;  // minutes east of UTC

  bool day_matches(std::chrono::sys_days day) const {
    const std::chrono::year_month_day ymd{day};
    return months.contains(static_cast<unsigned>(ymd.month())) && days.contains(static_cast<unsigned>(ymd.day())) &&
           weekdays.contains(std::chrono::weekday(day).c_encoding());
  }
  bool matches(SysMinutes local) const {
    const auto day = std::chrono::floor<std::chrono::days>(local);
    const auto in_day = (local - day).count();
    return day_matches(day) && hours.contains(static_cast<unsigned>(in_day / 60)) &&
           minutes.contains(static_cast<unsigned>(in_day % 60));
  }
  std::optional<TimePoint> first_from(SysMinutes utc_minute, int days) const {
    auto local = utc_minute + std::chrono::minutes(offset);
    for (int i = 0; i <= days * 1440; ++i, local += 1min) {
      if (i > 0 && local.time_since_epoch().count() % 1440 == 0 &&
          !day_matches(std::chrono::floor<std::chrono::days>(local))) {
        local += 1439min;  // skip the rest of a day that cannot match
        i += 1439;
        continue;
      }
      if (matches(local)) return TimePoint(local - std::chrono::minutes(offset));
    }
    return std::nullopt;
  }
};

std::set<unsigned> values(std::initializer_list<unsigned> list) { return list; }

}  // namespace

TEST(Crontab, AgreesWithAMinuteByMinuteReference) {
  struct Case {
    std::string text, tz;
    Reference reference;
  };
  std::set<unsigned> all_minutes, all_hours, all_days, all_months, all_weekdays{0, 1, 2, 3, 4, 5, 6};
  for (unsigned v = 0; v < 60; ++v) all_minutes.insert(v);
  for (unsigned v = 0; v < 24; ++v) all_hours.insert(v);
  for (unsigned v = 1; v <= 31; ++v) all_days.insert(v);
  for (unsigned v = 1; v <= 12; ++v) all_months.insert(v);
  const std::vector<Case> cases{
      {"*/15 8-17 * * 1-5",
       "UTC",
       {values({0, 15, 30, 45}), values({8, 9, 10, 11, 12, 13, 14, 15, 16, 17}), all_days, all_months,
        values({1, 2, 3, 4, 5})}},
      {"59 23 28-31 * *", "+05:30", {values({59}), values({23}), values({28, 29, 30, 31}), all_months, all_weekdays}},
      {"0,30 */6 1,15 */3 *",
       "-08:00",
       {values({0, 30}), values({0, 6, 12, 18}), values({1, 15}), values({1, 4, 7, 10}), all_weekdays}},
      {"5-10 0 * 2 6,0", "UTC", {values({5, 6, 7, 8, 9, 10}), values({0}), all_days, values({2}), values({0, 6})}},
      {"* * 31 * 5-7", "+14:00", {all_minutes, all_hours, values({31}), all_months, values({5, 6, 0})}},
  };
  std::mt19937_64 random(20240115);  // fixed: the same instants every run
  std::uniform_int_distribution<std::int64_t> seconds_in_2024(0, 366LL * 86400 - 1);
  for (auto c : cases) {
    const auto schedule = fluid::crontab(c.text, c.tz);
    c.reference.offset =
        c.tz == "UTC" ? 0
                      : (c.tz[0] == '-' ? -1 : 1) * (std::stoi(c.tz.substr(1, 2)) * 60 + std::stoi(c.tz.substr(4, 2)));
    for (int i = 0; i < 40; ++i) {
      const TimePoint t = utc(2024, 1, 1) + std::chrono::seconds(seconds_in_2024(random));
      SCOPED_TRACE(c.text + " " + c.tz + " after " + std::to_string(t.time_since_epoch().count()));
      const auto from = std::chrono::floor<std::chrono::minutes>(t) + 1min;
      const auto expected = c.reference.first_from(from, 400);
      ASSERT_TRUE(expected);
      EXPECT_EQ(schedule.next_after(t, utc(2023, 1, 1)), *expected);
      // The slot is due from its minute on, until the next one.
      EXPECT_EQ(schedule.due(*expected + 59s, std::nullopt, utc(2023, 1, 1)), *expected);
      EXPECT_EQ(schedule.due(*expected - 1s, *expected - 1min, utc(2023, 1, 1)), std::nullopt);
    }
  }
}

// ---------------------------------------------------------------- crontab(): the strict grammar

// Ports test_crontab.py::test_invalid_crontabs (P).
TEST(Crontab, RejectsAMinuteOutOfRangeAndStepsOnDayOfWeek) {
  EXPECT_THROW((void)fields({.minute = "61"}), fluid::CrontabError);
  EXPECT_THROW((void)fields({.minute = "0-61"}), fluid::CrontabError);
  EXPECT_THROW((void)fields({.day_of_week = "*/3"}), fluid::CrontabError);
}

TEST(Crontab, RejectsEveryMalformedPieceQuotingFieldAndPiece) {
  struct Bad {
    std::string field, text, piece, why;
  };
  const std::vector<Bad> bad{
      {"minute", "61", "61", "is out of range 0-59"},
      {"minute", "0-61", "0-61", "is out of range 0-59"},
      {"hour", "24", "24", "is out of range 0-23"},
      {"day", "0", "0", "is out of range 1-31"},
      {"day", "1,32", "32", "is out of range 1-31"},
      {"month", "13", "13", "is out of range 1-12"},
      {"month", "0-3", "0-3", "is out of range 1-12"},
      {"day_of_week", "8", "8", "is out of range 0-7"},
      {"hour", "5-3", "5-3", "is a reversed range"},
      {"day_of_week", "7-1", "7-1", "is a reversed range"},
      {"minute", "*/0", "*/0", "has a step of 0"},
      {"hour", "1-5/0", "1-5/0", "has a step of 0"},
      {"minute", "*/90", "*/90", "has a step larger than the field's 60 values"},
      {"day_of_week", "*/3", "*/3", "has a step, and steps are not allowed on day_of_week"},
      {"day_of_week", "1-5/2", "1-5/2", "has a step, and steps are not allowed on day_of_week"},
      {"day_of_week", "mon", "mon", "is not *, N, N-M"},
      {"month", "jan", "jan", "is not *, N, N-M, */S or N-M/S"},
      {"day", "L", "L", "is not *, N, N-M"},
      {"day", "?", "?", "is not *, N, N-M"},
      {"day_of_week", "5#3", "5#3", "is not *, N, N-M"},
      {"day", "1L", "1L", "is not *, N, N-M"},
      {"minute", "5/10", "5/10", "is not *, N, N-M"},
      {"minute", "*-5", "*-5", "is not *, N, N-M"},
      {"minute", "1-", "1-", "is not *, N, N-M"},
      {"minute", "-1", "-1", "is not *, N, N-M"},
      {"minute", "+1", "+1", "is not *, N, N-M"},
      {"minute", "1.5", "1.5", "is not *, N, N-M"},
      {"minute", "*/", "*/", "is not *, N, N-M"},
      {"minute", "**", "**", "is not *, N, N-M"},
      {"minute", "1, 2", " 2", "is not *, N, N-M"},
      {"hour", " 1", " 1", "is not *, N, N-M"},
      {"hour", "1 ", "1 ", "is not *, N, N-M"},
      {"minute", "99999999999999999999", "99999999999999999999", "is out of range 0-59"},
      {"minute", "1,,2", "", "is empty"},
      {"minute", ",1", "", "is empty"},
      {"day", "1,", "", "is empty"},
  };
  for (const auto& b : bad) {
    SCOPED_TRACE(b.field + " = \"" + b.text + "\"");
    CrontabFields f;
    if (b.field == "minute") f.minute = b.text;
    if (b.field == "hour") f.hour = b.text;
    if (b.field == "day") f.day = b.text;
    if (b.field == "month") f.month = b.text;
    if (b.field == "day_of_week") f.day_of_week = b.text;
    const auto message = thrown_message<fluid::CrontabError>([&] { (void)fluid::crontab(f); });
    EXPECT_NE(message.find("crontab " + b.field + " \"" + b.text + "\": piece \"" + b.piece + "\" " + b.why),
              std::string::npos)
        << message;
  }
}

TEST(Crontab, RejectsAnEmptyFieldNamingIt) {
  EXPECT_EQ(thrown_message<fluid::CrontabError>([] { (void)fields({.hour = ""}); }),
            "crontab hour \"\": the field is empty");
}

TEST(Crontab, RejectsAFiveFieldStringWithAnotherCountQuotingIt) {
  EXPECT_EQ(thrown_message<fluid::CrontabError>([] { (void)fluid::crontab("0 8 * *"); }),
            "crontab \"0 8 * *\": expected 5 fields, got 4");
  EXPECT_EQ(thrown_message<fluid::CrontabError>([] { (void)fluid::crontab("0 8 * * 1 2"); }),
            "crontab \"0 8 * * 1 2\": expected 5 fields, got 6");
  EXPECT_EQ(thrown_message<fluid::CrontabError>([] { (void)fluid::crontab(""); }),
            "crontab \"\": expected 5 fields, got 0");
  EXPECT_EQ(thrown_message<fluid::CrontabError>([] { (void)fluid::crontab("@daily"); }),
            "crontab \"@daily\": expected 5 fields, got 1");
}

TEST(Crontab, AFieldOfAFiveFieldStringIsCheckedAsAField) {
  const auto message = thrown_message<fluid::CrontabError>([] { (void)fluid::crontab("0 8 * * mon-fri"); });
  EXPECT_NE(message.find("crontab day_of_week \"mon-fri\": piece \"mon-fri\""), std::string::npos) << message;
}

TEST(Crontab, RejectsADayNoMonthOfTheFieldHas) {
  EXPECT_EQ(thrown_message<fluid::CrontabError>([] { (void)fluid::crontab("0 0 31 2,4 *"); }),
            "crontab day \"31\" and month \"2,4\" never meet: the crontab would never fire");
  EXPECT_THROW((void)fluid::crontab("0 0 30 2 *"), fluid::CrontabError);
  EXPECT_NO_THROW((void)fluid::crontab("0 0 29,31 2,4 *"));  // the 29th of either
  EXPECT_NO_THROW((void)fluid::crontab("0 0 29 2 *"));       // leap years
}

TEST(Crontab, AcceptsUtcAndFixedOffsetsOnly) {
  for (const char* good : {"UTC", "+00:00", "+02:00", "-05:30", "+14:00", "-23:59"}) {
    EXPECT_NO_THROW((void)fluid::crontab("* * * * *", good)) << good;
  }
  for (const char* named : {"Europe/Rome", "America/New_York", "utc", "GMT"}) {
    const auto message = thrown_message<fluid::CrontabError>([&] { (void)fluid::crontab("* * * * *", named); });
    EXPECT_NE(message.find(std::string("crontab tz \"") + named + "\": named time zones need a tz database"),
              std::string::npos)
        << message;
  }
  for (const char* bad : {"", "+2", "+0200", "+24:00", "-01:60", "Z", " UTC", "+02:00 "}) {
    const auto message = thrown_message<fluid::CrontabError>([&] { (void)fluid::crontab("* * * * *", bad); });
    EXPECT_NE(message.find(std::string("crontab tz \"") + bad + "\""), std::string::npos) << message;
  }
}
