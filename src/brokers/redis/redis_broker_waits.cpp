// The Redis broker's two waits. claim(): claim, and when nothing came, BLPOP
// the wake-up lists of the claimant's tasks and queues (every change that
// makes a run claimable pushes a token) until the next due time. read_events():
// XREAD, and when nothing came, XREAD BLOCK on the stream. Both waits on
// blocking connections of their own, so the multiplexed one never waits.

#include "brokers/redis/broker_codec.hpp"
#include "brokers/redis/broker_lua.hpp"
#include "brokers/redis/redis_broker_impl.hpp"
#include "fluid/tasks/errors.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>

namespace fluid::redis {

namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

std::string seconds_text(milliseconds timeout) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(timeout.count()) / 1000.0);
  return text;
}

std::vector<std::string> claim_args(const ClaimRequest& request, const std::string& retention_ms) {
  std::vector<std::string> args{request.manager_id,
                                std::to_string(request.lease.count()),
                                std::to_string(request.max_deliveries),
                                std::to_string(request.max_runs),
                                retention_ms,
                                std::to_string(request.queues.size())};
  for (const auto priority : request.queues) args.emplace_back(to_string(priority));
  args.insert(args.end(), request.tasks.begin(), request.tasks.end());
  return args;
}

/// BLPOP of the wake-up lists of the request's tasks in its queues, less its timeout.
std::vector<std::string> blpop_of(const ClaimRequest& request, const std::string& prefix) {
  std::vector<std::string> keys{"BLPOP"};
  for (const auto priority : request.queues) {
    for (const auto& task : request.tasks) keys.push_back(prefix + "wake:" + std::string(to_string(priority)) + ":" + task);
  }
  return keys;
}

ClaimResult claim_result_of(const std::vector<Reply>& answer) {
  ClaimResult result;
  for (const auto& claimed : answer.at(1).as_array()) {
    const auto& parts = claimed.as_array();
    TaskRun run = run_of_packed(parts.at(2).as_string());
    Lease lease{run.id, std::stoull(parts.at(0).as_string()), *time_of_micros(parts.at(1).as_string())};
    result.claimed.emplace_back(std::move(run), std::move(lease));
  }
  result.settled = runs_of(answer.at(2));
  result.next_due = time_of_micros(answer.at(3).as_string());
  for (const auto& task : answer.at(4).as_array()) result.skipped_tasks.push_back(task.as_string());
  return result;
}

[[noreturn]] void throw_foreign_cursor(const std::string& url, const std::string& cursor) {
  throw BrokerError("broker " + url + ": read_events: cursor '" + cursor + "' was not given by this broker");
}

/// An event number (decimal digits), nullopt for anything else.
std::optional<std::uint64_t> parsed_number(const std::string& text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

/// A cursor as the feed gives it: an event number.
/// @throws BrokerError for anything else.
std::string checked_cursor(const std::string& url, const std::string& cursor) {
  const auto number = parsed_number(cursor);
  if (!number) throw_foreign_cursor(url, cursor);
  return std::to_string(*number);
}

/// An event number the stream holds.
/// @throws BrokerError for a malformed one.
std::uint64_t number_of(const std::string& text) {
  const auto number = parsed_number(text);
  if (!number) throw BrokerError("Redis broker: a malformed event number '" + text + "'");
  return *number;
}

/// XREAD of the entries after the one holding event `after`, at most `max`
/// (each holds one event at least); blocking up to `block`.
std::vector<std::string> xread(const std::string& stream, const std::string& after, std::size_t max,
                               std::optional<milliseconds> block) {
  std::vector<std::string> command{"XREAD", "COUNT", std::to_string(max)};
  if (block) {
    command.emplace_back("BLOCK");
    command.push_back(std::to_string(block->count()));
  }
  command.emplace_back("STREAMS");
  command.push_back(stream);
  command.push_back("0-" + after);
  return command;
}

/// What an XREAD's reply gave: the events wanted, and how many were read
/// (wanted or not), the first and the last of them.
struct FeedRead {
  std::vector<TaskEvent> events;
  std::size_t count = 0;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

/// Reads an entry's events after `after` (up to 256 of a script's events:
/// id 0-<last>, fields "first", <first>, "events", kind, run, ... packed) until
/// `max` in all are read; only those `wanted` accepts (every one when it is
/// empty) are decoded.
void take_events(const Reply& entry, std::uint64_t after, std::size_t max, const EventWanted& wanted,
                 FeedRead& read) {
  if (read.count >= max) return;
  const auto& parts = entry.as_array();
  const auto& id = parts.at(0).as_string();
  const auto last = number_of(id.substr(id.find('-') + 1));
  const auto& fields = parts.at(1).as_array();
  const auto first = number_of(fields.at(1).as_string());
  const auto values = unpack(fields.at(3).as_string());
  if (first > last || values.size() != 2 * (last - first + 1)) {
    throw BrokerError("Redis broker: stream entry " + id + " holds " + std::to_string(values.size() / 2) +
                      " events, not " + std::to_string(last - first + 1));
  }
  for (auto number = std::max(first, after + 1); number <= last && read.count < max; ++number) {
    if (read.count++ == 0) read.first = number;
    read.last = number;
    const auto at = 2 * (number - first);
    if (wanted && !wanted(values[at])) continue;
    read.events.push_back(
        TaskEvent{.id = std::to_string(number), .kind = std::string(values[at]), .run = run_of_packed(values[at + 1])});
  }
}

/// The events of an XREAD's reply (nil for none) after `after`, at most
/// `max` read, those `wanted` accepts kept; nullopt when none was read.
/// Event numbers are dense, so a first event past the cursor's successor
/// is a gap.
std::optional<EventBatch> batch_of(const Reply& reply, const std::string& after, std::size_t max,
                                   const EventWanted& wanted) {
  if (reply.is_nil()) return std::nullopt;
  const auto from = number_of(after);
  FeedRead read;
  for (const auto& stream : reply.as_array()) {
    for (const auto& entry : stream.as_array().at(1).as_array()) take_events(entry, from, max, wanted, read);
  }
  if (read.count == 0) return std::nullopt;
  return EventBatch{
      .events = std::move(read.events), .cursor = std::to_string(read.last), .gap = read.first > from + 1};
}

}  // namespace

Task<ClaimResult> RedisBroker::claim(ClaimRequest request) {
  session();
  if (request.max_runs == 0) co_return ClaimResult{};
  if (request.tasks.empty() || request.queues.empty()) {  // nothing to claim, ever: just the wait
    if (request.wait > milliseconds::zero()) co_await fluid::sleep(request.wait);
    co_return ClaimResult{};
  }
  const auto deadline = SteadyClock::now() + request.wait;
  const auto args = claim_args(request, retention_ms());
  const auto blpop = blpop_of(request, prefix_);
  for (;;) {
    auto step = co_await claim_once(args);
    const auto now = SteadyClock::now();
    const bool done = !step.result.claimed.empty() || !step.result.settled.empty();
    if (done || now >= deadline) co_return std::move(step.result);
    auto until = deadline;
    if (step.result.next_due) {
      const auto due_in = std::chrono::ceil<milliseconds>(*step.result.next_due - step.broker_now);
      until = std::min(until, now + std::max(due_in, milliseconds(1)));
    }
    co_await wait_for_wake(blpop, std::chrono::ceil<milliseconds>(until - now));
  }
}

Task<RedisBroker::ClaimStep> RedisBroker::claim_once(std::vector<std::string> args) {
  const auto reply = co_await script(broker_scripts().claim, std::move(args), false);
  const auto& answer = reply.as_array();
  co_return ClaimStep{claim_result_of(answer), *time_of_micros(answer.at(0).as_string())};
}

Task<> RedisBroker::wait_for_wake(std::vector<std::string> blpop, milliseconds timeout) {
  const auto session = this->session();
  blpop.push_back(seconds_text(std::max(timeout, milliseconds(1))));
  const CallOptions options{.timeout = timeout + redis_.timeout};
  co_await session->waits.call(std::move(blpop), options);  // a token or the timeout: either way, claim again
}

Task<EventBatch> RedisBroker::read_events(std::string after, std::size_t max, milliseconds wait) {
  return read_events_if(std::move(after), max, wait, EventWanted());
}

Task<EventBatch> RedisBroker::read_events_if(std::string after, std::size_t max, milliseconds wait,
                                             EventWanted wanted) {
  session();
  if (!after.empty()) after = checked_cursor(url_, after);
  const auto deadline = SteadyClock::now() + wait;
  if (after.empty()) after = (co_await feed_position("")).newest;
  for (;;) {
    if (max > 0) {
      auto batch =
          batch_of(co_await command(xread(prefix_ + "events", after, max, std::nullopt)), after, max, wanted);
      if (batch) co_return std::move(*batch);
    }
    // Nothing after the cursor: is it one this broker gave, were events
    // dropped? A gap with nothing left after it (the stream itself gone)
    // moves the cursor to the newest event, so the next read waits instead
    // of reporting the same gap at once, again and again.
    const auto position = co_await feed_position(after);
    const auto remaining = std::chrono::ceil<milliseconds>(deadline - SteadyClock::now());
    if (position.gap || max == 0 || remaining <= milliseconds::zero()) {
      co_return EventBatch{.events = {}, .cursor = position.gap ? position.newest : after, .gap = position.gap};
    }
    auto batch = batch_of(co_await wait_for_events(after, max, remaining), after, max, wanted);
    if (batch) co_return std::move(*batch);
  }
}

Task<RedisBroker::FeedPosition> RedisBroker::feed_position(std::string after) {
  std::vector<std::string> args{after};
  const auto reply = co_await script(broker_scripts().feed_position, std::move(args), true);
  const auto& answer = reply.as_array();
  if (answer.at(0).as_string() == "bad") throw_foreign_cursor(url_, after);
  co_return FeedPosition{.newest = answer.at(0).as_string(), .gap = answer.at(1).as_string() == "1"};
}

Task<Reply> RedisBroker::wait_for_events(std::string after, std::size_t max, milliseconds timeout) {
  const auto session = this->session();
  const CallOptions options{.timeout = timeout + redis_.timeout};
  co_return co_await session->feed.call(xread(prefix_ + "events", after, max, timeout), options);
}

}  // namespace fluid::redis
