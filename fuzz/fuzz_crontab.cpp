// Fuzzes fluid::crontab: for any input it builds a Schedule or throws
// fluid::CrontabError, nothing else. The input's first line is a five-field
// string and its second line the tz; the same lines also feed the
// CrontabFields form (one field a line). For every schedule accepted, the
// slot next_after() finds lies strictly after the instant asked, on a
// minute, fires at that minute (due()), is found again from just before it,
// and is the latest slot due within that minute.
// Anything else (another exception, a crash, UB, a hang) aborts.

#include <fluid/tasks/errors.hpp>
#include <fluid/tasks/schedule.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace std::chrono_literals;
using fluid::Schedule;
using fluid::TimePoint;

[[noreturn]] void broken(const char* what, std::string_view input) {
  std::fprintf(stderr, "crontab contract broken: %s (input \"%.*s\")\n", what, static_cast<int>(input.size()),
               input.data());
  std::abort();
}

std::vector<std::string> lines(std::string_view input) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto end = input.find('\n', start);
    out.emplace_back(input.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

// An instant derived from the input, within about 150 years of 2024.
TimePoint instant_of(std::string_view input) {
  std::uint64_t hash = 1469598103934665603ull;
  for (const char c : input) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  const auto seconds = static_cast<std::int64_t>(hash % (150ull * 365 * 86400)) - 75ll * 365 * 86400;
  return TimePoint(std::chrono::sys_days(std::chrono::year(2024) / 1 / 15)) + std::chrono::seconds(seconds) +
         std::chrono::milliseconds(static_cast<std::int64_t>(hash % 1000));
}

void check_slots(const Schedule& schedule, TimePoint t, std::string_view input) {
  const TimePoint anchor = t - 24h;
  const TimePoint next = schedule.next_after(t, anchor);
  if (next == TimePoint::max()) return;
  if (next <= t) broken("next_after() is not after the instant", input);
  if (std::chrono::floor<std::chrono::minutes>(next) != next) broken("a slot off the minute", input);
  if (schedule.due(next, std::nullopt, next) != next) broken("the slot found does not fire at its minute", input);
  if (schedule.due(next + 59s, std::nullopt, anchor) != next) broken("not the latest slot due in its minute", input);
  if (schedule.next_after(next - 1ns, anchor) != next) broken("another slot found from just before", input);
  if (schedule.due(next + 30s, next, anchor).has_value()) broken("a slot due twice", input);
}

void check(std::string_view input, const Schedule& schedule) {
  if (schedule.to_string().rfind("crontab(minute ", 0) != 0) broken("to_string() is not crontab(...)", input);
  if (schedule.jitter() != 0ms) broken("a crontab with jitter", input);
  check_slots(schedule, instant_of(input), input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parts = lines(input);
  const std::string tz = parts.size() > 1 ? parts[1] : "UTC";
  try {
    check(input, fluid::crontab(parts[0], tz));
  } catch (const fluid::CrontabError& e) {
    if (std::string_view(e.what()).rfind("crontab ", 0) != 0) broken("the error does not say crontab", input);
  } catch (...) {
    broken("an exception other than CrontabError (five-field form)", input);
  }
  if (parts.size() < 5) return 0;
  try {
    check(input, fluid::crontab(fluid::CrontabFields{parts[0], parts[1], parts[2], parts[3], parts[4],
                                                     parts.size() > 5 ? parts[5] : "UTC"}));
  } catch (const fluid::CrontabError&) {
  } catch (...) {
    broken("an exception other than CrontabError (fields form)", input);
  }
  return 0;
}
