#include "brokers/broker_url.hpp"

#include "fluid/errors.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace fluid::brokers {

namespace {

constexpr std::string_view separator = "://";

bool is_scheme(std::string_view text) {
  if (text.empty() || !(text.front() >= 'a' && text.front() <= 'z')) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
  });
}

/// Where the user info ends (its '@'), or npos: the last '@', so that a
/// password holding one is still taken whole.
std::size_t user_info_end(std::string_view rest) { return rest.rfind('@'); }

std::string join(std::initializer_list<std::string_view> words) {
  std::string text;
  std::size_t i = 0;
  for (const auto word : words) {
    if (i > 0) text += (i + 1 == words.size()) ? " or " : ", ";
    text += word;
    ++i;
  }
  return text;
}

void parse_query(BrokerUrl& url) {
  if (url.query.empty()) return;
  std::string_view rest = url.query;
  for (;;) {
    const auto amp = rest.find('&');
    const std::string_view piece = rest.substr(0, amp);
    const auto eq = piece.find('=');
    if (piece.empty()) throw_bad_url(url, "empty query parameter");
    if (eq == std::string_view::npos) throw_bad_url(url, "query parameter '" + std::string(piece) + "' has no value");
    const std::string key(piece.substr(0, eq));
    if (key.empty()) throw_bad_url(url, "query parameter without a name");
    if (find_param(url, key) != nullptr) throw_bad_url(url, "query parameter '" + key + "' given twice");
    url.params.emplace_back(key, std::string(piece.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
}

}  // namespace

std::string without_password(std::string_view url) {
  const auto start = url.find(separator);
  if (start == std::string_view::npos) return std::string(url);
  const std::string_view rest = url.substr(start + separator.size());
  const auto at = user_info_end(rest);
  if (at == std::string_view::npos) return std::string(url);
  const auto colon = rest.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, start + separator.size()));
  out += rest.substr(0, colon);  // the user, if any
  if (colon > 0) out += '@';
  out += rest.substr(at + 1);
  return out;
}

void throw_bad_url(const BrokerUrl& url, std::string_view problem) {
  throw FluidError("invalid broker URL '" + url.redacted + "': " + std::string(problem));
}

BrokerUrl split_broker_url(std::string_view text) {
  BrokerUrl url;
  url.redacted = without_password(text);
  const auto start = text.find(separator);
  if (start == std::string_view::npos) throw_bad_url(url, "expected <scheme>://...");
  url.scheme = std::string(text.substr(0, start));
  if (!is_scheme(url.scheme)) throw_bad_url(url, "malformed scheme '" + url.scheme + "'");
  const std::string_view rest = text.substr(start + separator.size());
  const auto at = user_info_end(rest);
  const auto question = rest.find('?', at == std::string_view::npos ? 0 : at + 1);
  url.authority = std::string(rest.substr(0, question));
  if (question != std::string_view::npos) url.query = std::string(rest.substr(question + 1));
  parse_query(url);
  return url;
}

void check_params(const BrokerUrl& url, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : url.params) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      throw_bad_url(url, "unknown query parameter '" + key + "' (expected " + join(known) + ")");
    }
  }
}

const std::string* find_param(const BrokerUrl& url, std::string_view key) {
  for (const auto& [k, value] : url.params) {
    if (k == key) return &value;
  }
  return nullptr;
}

std::vector<TaskPriority> all_queues() { return {TaskPriority::high, TaskPriority::medium, TaskPriority::low}; }

std::vector<TaskPriority> parse_queues(const BrokerUrl& url, std::string_view value) {
  std::vector<TaskPriority> queues;
  if (value.empty()) return queues;
  for (;;) {
    const auto comma = value.find(',');
    const std::string name(value.substr(0, comma));
    const auto priority = parse_task_priority(name);
    if (name.empty()) throw_bad_url(url, "empty priority in queues");
    if (!priority) throw_bad_url(url, "unknown priority '" + name + "' in queues (expected high, medium or low)");
    if (std::find(queues.begin(), queues.end(), *priority) != queues.end()) {
      throw_bad_url(url, "priority '" + name + "' given twice in queues");
    }
    queues.push_back(*priority);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return queues;
}

std::chrono::milliseconds parse_seconds(const BrokerUrl& url, std::string_view key, std::string_view value) {
  const auto bad = [&](std::string_view why) {
    throw_bad_url(url, std::string(key) + "='" + std::string(value) + "' " + std::string(why));
  };
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto dot = value.find('.');
  const std::string_view whole = value.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : value.substr(dot + 1);
  const bool digits_only =
      std::all_of(whole.begin(), whole.end(), is_digit) && std::all_of(fraction.begin(), fraction.end(), is_digit);
  if (whole.empty() || !digits_only || (dot != std::string_view::npos && fraction.empty())) {
    bad("is not a number of seconds (e.g. 0.5, 60)");
  }
  double seconds = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (error != std::errc{} || end != value.data() + value.size() || !std::isfinite(seconds)) {
    bad("is not a number of seconds (e.g. 0.5, 60)");
  }
  // A year: far beyond any sensible setting, and clear of overflow in time arithmetic.
  if (seconds > 366.0 * 24 * 3600) bad("is more than a year");
  const auto ms = std::chrono::milliseconds(std::llround(seconds * 1000));
  if (ms <= std::chrono::milliseconds::zero()) bad("must be at least 0.001");
  return ms;
}

}  // namespace fluid::brokers
