// TaskRun and TaskInfo: the derived fields of a run, and the pinned JSON
// both carry across processes (times, durations, enums, nulls), parsed back
// strictly.

#include "support/thrown.hpp"

#include <fluid/errors.hpp>
#include <fluid/tasks/task_run.hpp>

#include <gtest/gtest.h>

#include <limits>
#include <string>

using namespace std::chrono_literals;
using fluid::TaskInfo;
using fluid::TaskRun;
using fluid::TaskState;
using fluid::TimePoint;
using nlohmann::json;

namespace {

// 2024-01-15T12:00:00Z
const TimePoint noon = TimePoint(std::chrono::sys_days(std::chrono::year(2024) / 1 / 15).time_since_epoch() + 12h);

TimePoint at(std::string_view rfc3339) {
  const auto time = fluid::parse_time(rfc3339);
  EXPECT_TRUE(time) << rfc3339;
  return time.value_or(TimePoint{});
}

TaskRun sample_run() {
  TaskRun run;
  run.id = "0123456789abcdef0123456789abcdef";
  run.task = "add";
  run.priority = fluid::TaskPriority::high;
  run.params = {{"a", 3.0}, {"b", 4.0}};
  run.state = TaskState::failure;
  run.queued = noon;
  run.start = noon + 250ms;
  run.end = noon + 1500ms;
  run.retry_attempt = 1;
  run.rate_limit_attempt = 2;
  run.from_run_id = "parent";
  run.root_run_id = "root";
  run.deliveries = 1;
  run.error = "boom";
  run.requeued = true;
  run.manager_id = "m1";
  return run;
}

// The message of the FluidError that parsing `in` as T throws.
template <class T>
std::string parse_error(const json& in) {
  return fluid::test::thrown_message([&] { (void)in.get<T>(); });
}

}  // namespace

// Ports test_retry.py::test_task_run_name_id (P).
TEST(TaskRun, NameIdIsTheTaskDotTheId) {
  const auto run = sample_run();
  EXPECT_EQ(run.name_id(), "add.0123456789abcdef0123456789abcdef");
}

// Ports test_retry.py::test_task_run_in_queue (P).
TEST(TaskRun, InQueueIsUnsetUntilTheRunStartsThenTheWaitSinceQueued) {
  TaskRun run;
  run.queued = noon;
  EXPECT_EQ(run.in_queue(), std::nullopt);
  run.state = TaskState::running;
  run.start = noon + 250ms;
  EXPECT_EQ(run.in_queue(), 250ms);
}

// Ports test_retry.py::test_task_run_duration_and_total (P).
TEST(TaskRun, DurationAndTotalAreUnsetUntilTheRunEndsThenMeasureItsAttempt) {
  TaskRun run;
  run.queued = noon;
  run.start = noon + 250ms;
  EXPECT_EQ(run.duration(), std::nullopt);
  EXPECT_EQ(run.duration_ms(), std::nullopt);
  EXPECT_EQ(run.total(), std::nullopt);
  run.state = TaskState::success;
  run.end = noon + 1500ms;
  EXPECT_EQ(run.duration(), 1250ms);
  EXPECT_EQ(run.duration_ms(), 1250.0);
  EXPECT_EQ(run.total(), 1500ms);
}

TEST(TaskRun, DurationMsIsRoundedToAHundredthOfAMillisecond) {
  TaskRun run;
  run.start = noon;
  run.end = noon + 1234567us;
  EXPECT_DOUBLE_EQ(*run.duration_ms(), 1234.57);
  run.end = noon + 1234564us;
  EXPECT_DOUBLE_EQ(*run.duration_ms(), 1234.56);
}

TEST(TaskRun, IsFinalWhenDoneAndNotRequeued) {
  TaskRun run;
  run.state = TaskState::failure;
  run.requeued = true;
  EXPECT_TRUE(run.is_done());
  EXPECT_TRUE(run.is_failure());
  EXPECT_FALSE(run.is_final());
  run.requeued = false;
  EXPECT_TRUE(run.is_final());
  run.state = TaskState::running;
  EXPECT_FALSE(run.is_done());
  EXPECT_FALSE(run.is_final());
  EXPECT_FALSE(run.is_failure());
}

TEST(TaskRunJson, HasEveryFieldWithTimesInUtcAndUnsetOptionalsNull) {
  const json expected = json::parse(R"json({
    "id": "0123456789abcdef0123456789abcdef", "task": "add", "priority": "high",
    "params": {"a": 3.0, "b": 4.0}, "state": "failure",
    "queued": "2024-01-15T12:00:00Z", "start": "2024-01-15T12:00:00.250000Z",
    "end": "2024-01-15T12:00:01.500000Z", "execute_after": null,
    "retry_attempt": 1, "rate_limit_attempt": 2, "from_run_id": "parent", "root_run_id": "root",
    "deliveries": 1, "error": "boom", "requeued": true, "manager_id": "m1"})json");
  EXPECT_EQ(json(sample_run()), expected);
}

TEST(TaskRunJson, ADefaultRunHasEveryFieldToo) {
  const json out = TaskRun{};
  EXPECT_EQ(out.size(), 17u);
  EXPECT_EQ(out["state"], "init");
  EXPECT_EQ(out["priority"], "medium");
  EXPECT_EQ(out["params"], json::object());
  EXPECT_TRUE(out["queued"].is_null());
  EXPECT_EQ(out["error"], "");
}

TEST(TaskRunJson, RoundTripsEveryField) {
  auto run = sample_run();
  run.execute_after = noon + 2s;
  const json out = run;
  EXPECT_EQ(json(out.get<TaskRun>()), out);
}

// Ports test_scheduler.py::test_chain_survives_the_broker (A): the lineage is in
// the JSON a broker stores, and comes back.
TEST(TaskRunJson, TheLineageSurvivesTheRoundTrip) {
  TaskRun child;
  child.id = "child";
  child.task = "dummy";
  child.from_run_id = "parent";
  child.root_run_id = "parent";
  const json stored = child;
  EXPECT_EQ(stored["from_run_id"], "parent");
  EXPECT_EQ(stored["root_run_id"], "parent");
  const auto back = stored.get<TaskRun>();
  EXPECT_EQ(back.from_run_id, "parent");
  EXPECT_EQ(back.root_run_id, "parent");
}

TEST(TaskRunJson, MissingFieldsTakeTheirDefaultsAndUnknownOnesAreIgnored) {
  const auto run = json{{"id", "x"}, {"task", "add"}, {"future_field", 1}}.get<TaskRun>();
  EXPECT_EQ(run.id, "x");
  EXPECT_EQ(run.state, TaskState::init);
  EXPECT_EQ(run.params, json::object());
  EXPECT_EQ(run.queued, std::nullopt);
}

TEST(TaskRunJson, RejectsAFieldOfTheWrongTypeNamingIt) {
  const std::vector<std::pair<std::string, json>> bad{
      {"id", 5},
      {"task", nullptr},
      {"priority", "urgent"},
      {"priority", 1},
      {"params", "{}"},
      {"params", json::array()},
      {"state", "done"},
      {"state", nullptr},
      {"queued", 12},
      {"start", "yesterday"},
      {"end", "2024-01-15"},
      {"execute_after", true},
      {"retry_attempt", -1},
      {"retry_attempt", 1.0},
      {"retry_attempt", "1"},
      {"rate_limit_attempt", 4294967296},
      {"deliveries", nullptr},
      {"error", 1},
      {"requeued", "true"},
      {"requeued", 1},
      {"manager_id", json::object()},
      {"from_run_id", nullptr},
      {"root_run_id", json::array()},
  };
  for (const auto& [field, value] : bad) {
    SCOPED_TRACE(field + " = " + value.dump());
    json in = sample_run();
    in[field] = value;
    const auto message = parse_error<TaskRun>(in);
    EXPECT_NE(message.find("TaskRun field '" + field + "'"), std::string::npos) << message;
    EXPECT_NE(message.find(value.dump()), std::string::npos) << message;
  }
}

TEST(TaskRunJson, RejectsAnythingButAnObject) {
  for (const json& in : {json(nullptr), json("run"), json::array(), json(3)}) {
    const auto message = parse_error<TaskRun>(in);
    EXPECT_NE(message.find("TaskRun: expected a JSON object"), std::string::npos) << message;
  }
}

TEST(TaskRunJson, AFailedParseLeavesTheTargetUnchanged) {
  auto run = sample_run();
  json in = sample_run();
  in["id"] = "other";
  in["deliveries"] = "many";
  EXPECT_THROW(fluid::from_json(in, run), fluid::FluidError);
  EXPECT_EQ(run.id, "0123456789abcdef0123456789abcdef");
}

TEST(TaskRunJson, QuotesALongBadValueShortened) {
  json in = sample_run();
  in["error"] = json::array({std::string(1000, 'x')});
  const auto message = parse_error<TaskRun>(in);
  EXPECT_LT(message.size(), 200u) << message;
  EXPECT_NE(message.find("..."), std::string::npos) << message;
}

TEST(FormatTime, IsRfc3339InUtcWithMicrosecondsOnlyWhenNotZero) {
  EXPECT_EQ(fluid::format_time(noon), "2024-01-15T12:00:00Z");
  EXPECT_EQ(fluid::format_time(noon + 250ms), "2024-01-15T12:00:00.250000Z");
  EXPECT_EQ(fluid::format_time(noon + 1us), "2024-01-15T12:00:00.000001Z");
  EXPECT_EQ(fluid::format_time(noon + 999ns), "2024-01-15T12:00:00Z");  // floored to the microsecond
  EXPECT_EQ(fluid::format_time(TimePoint{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(fluid::format_time(TimePoint{} - 1us), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(fluid::format_time(at("2024-02-29T23:59:59Z")), "2024-02-29T23:59:59Z");
}

TEST(ParseTime, ReadsUtcAndOffsetsIntoTheSameMoment) {
  EXPECT_EQ(fluid::parse_time("2024-01-15T12:00:00Z"), noon);
  EXPECT_EQ(fluid::parse_time("2024-01-15t12:00:00z"), noon);
  EXPECT_EQ(fluid::parse_time("2024-01-15T14:30:00+02:30"), noon);
  EXPECT_EQ(fluid::parse_time("2024-01-15T07:00:00-05:00"), noon);
  EXPECT_EQ(fluid::parse_time("2024-01-15T12:00:00.25Z"), noon + 250ms);
  EXPECT_EQ(fluid::parse_time("2024-01-15T12:00:00.123456789Z"), noon + 123456us);  // truncated
  EXPECT_EQ(fluid::parse_time("1969-12-31T23:59:59.999999Z"), TimePoint{} - 1us);
}

TEST(ParseTime, RejectsAnythingElse) {
  for (const char* bad :
       {"", "2024-01-15", "2024-01-15T12:00:00", "2024-01-15 12:00:00Z", "2024-1-15T12:00:00Z", "2024-01-15T12:00Z",
        "2024-01-15T12:00:00.Z", "2024-01-15T12:00:00.1234567890Z", "2024-01-15T12:00:00+0200",
        "2024-01-15T12:00:00+02", "2024-01-15T12:00:00Z ", " 2024-01-15T12:00:00Z", "2023-02-29T00:00:00Z",
        "2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z", "2024-04-31T00:00:00Z", "2024-01-15T24:00:00Z",
        "2024-01-15T12:60:00Z", "2024-01-15T23:59:60Z", "2024-01-15T12:00:00+24:00", "+2024-01-15T12:00:00Z",
        "２０２４-01-15T12:00:00Z",
        // outside what a TimePoint holds (about 1678 to 2262)
        "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "1677-01-01T00:00:00Z", "2263-01-01T00:00:00Z"}) {
    EXPECT_EQ(fluid::parse_time(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(FormatDuration, IsIso8601SecondsWithoutTrailingZeros) {
  EXPECT_EQ(fluid::format_duration(200ms), "PT0.2S");
  EXPECT_EQ(fluid::format_duration(90s), "PT90S");
  EXPECT_EQ(fluid::format_duration(0us), "PT0S");
  EXPECT_EQ(fluid::format_duration(1000001us), "PT1.000001S");
  EXPECT_EQ(fluid::format_duration(25h), "PT90000S");
  EXPECT_EQ(fluid::format_duration(-1500ms), "-PT1.5S");
  EXPECT_EQ(fluid::format_duration(std::chrono::microseconds(std::numeric_limits<std::int64_t>::min())),
            "-PT9223372036854.775808S");
}

TEST(ParseDuration, ReadsTheSecondsForm) {
  EXPECT_EQ(fluid::parse_duration("PT0.2S"), 200ms);
  EXPECT_EQ(fluid::parse_duration("PT90S"), 90s);
  EXPECT_EQ(fluid::parse_duration("PT0S"), 0us);
  EXPECT_EQ(fluid::parse_duration("PT1.000001S"), 1000001us);
  EXPECT_EQ(fluid::parse_duration("PT1.0000019S"), 1000001us);  // truncated
  EXPECT_EQ(fluid::parse_duration("-PT1.5S"), -1500ms);
}

TEST(ParseDuration, RejectsOtherFormsAndOverflow) {
  for (const char* bad : {"", "PT", "PTS", "PT.5S", "PT5.S", "PT5", "pt5s", "PT+5S", "PT-5S", "P1D", "PT1M30S",
                          "P1DT2S", "PT1H", "5", "PT5S ", "PT1.1234567890S", "PT9999999999999S"}) {
    EXPECT_EQ(fluid::parse_duration(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(TaskInfoJson, HasEveryFieldWithDurationsInSecondsAndUnsetOptionalsNull) {
  TaskInfo info;
  info.name = "ping";
  info.description = "A simple scheduled task that ping the broker\nMore.";
  info.short_description = "A simple scheduled task that ping the broker";
  info.module = "examples";
  info.schedule = "every(0:00:02)";
  info.tags = {"skip_db", "test"};
  info.max_concurrency = 1;
  info.timeout_seconds = 2.5;
  const json expected = json::parse(R"json({
    "name": "ping", "description": "A simple scheduled task that ping the broker\nMore.",
    "short_description": "A simple scheduled task that ping the broker", "module": "examples",
    "priority": "medium", "schedule": "every(0:00:02)", "tags": ["skip_db", "test"], "enabled": true,
    "last_run_end": null, "last_run_duration": null, "last_run_state": null,
    "max_concurrency": 1, "timeout_seconds": 2.5, "cpu_bound": false
})json");
  EXPECT_EQ(json(info), expected);

  info.schedule.reset();
  info.last_run_end = noon;
  info.last_run_duration = 200ms;
  info.last_run_state = TaskState::success;
  const json out = info;
  EXPECT_TRUE(out["schedule"].is_null());
  EXPECT_EQ(out["last_run_end"], "2024-01-15T12:00:00Z");
  EXPECT_EQ(out["last_run_duration"], "PT0.2S");
  EXPECT_EQ(out["last_run_state"], "success");
  EXPECT_EQ(json(out.get<TaskInfo>()), out);
}

TEST(TaskInfoJson, RejectsAFieldOfTheWrongTypeNamingIt) {
  const std::vector<std::pair<std::string, json>> bad{
      {"name", 1},
      {"priority", "urgent"},
      {"schedule", 5},
      {"tags", "a"},
      {"tags", {"a", 1}},
      {"enabled", "yes"},
      {"last_run_end", "now"},
      {"last_run_duration", 0.2},
      {"last_run_duration", "PT1M"},
      {"last_run_state", "done"},
      {"max_concurrency", -1},
      {"timeout_seconds", "60"},
      {"cpu_bound", nullptr},
  };
  for (const auto& [field, value] : bad) {
    SCOPED_TRACE(field + " = " + value.dump());
    json in = TaskInfo{};
    in[field] = value;
    const auto message = parse_error<TaskInfo>(in);
    EXPECT_NE(message.find("TaskInfo field '" + field + "'"), std::string::npos) << message;
  }
}

TEST(TaskInfoJson, AcceptsAWholeNumberOfTimeoutSeconds) {
  const json in = {{"timeout_seconds", 60}};
  EXPECT_EQ(in.get<TaskInfo>().timeout_seconds, 60.0);
}
