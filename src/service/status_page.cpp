#include "service/status_page.hpp"

#include "fluid/metrics.hpp"
#include "fluid/version.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace fluid::detail {

namespace {

std::string escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string duration_text(double seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  if (seconds < 3600) return fmt::format("{:.0f} min {:.0f} s", std::floor(seconds / 60), std::fmod(seconds, 60));
  if (seconds < 86400) return fmt::format("{:.0f} h {:.0f} min", std::floor(seconds / 3600), std::fmod(seconds, 3600) / 60);
  return fmt::format("{:.0f} d {:.0f} h", std::floor(seconds / 86400), std::fmod(seconds, 86400) / 3600);
}

std::string latency_text(std::optional<double> seconds) {
  if (!seconds) return "";
  if (*seconds < 1e-3) return fmt::format("{:.0f} µs", *seconds * 1e6);
  if (*seconds < 1) return fmt::format("{:.1f} ms", *seconds * 1e3);
  return fmt::format("{:.2f} s", *seconds);
}

std::string number_text(const nlohmann::json& status, const char* key) {
  const auto it = status.find(key);
  return it != status.end() && it->is_number() ? it->dump() : "";
}

/// How long the worker has been in its current state, from its status's state_since.
std::string time_in_state(const WorkerSample& sample, double now) {
  const auto since = sample.status.find("state_since");
  if (since == sample.status.end() || !since->is_object()) return "";
  const auto entered = since->find(std::string(to_string(sample.state)));
  if (entered == since->end() || !entered->is_number()) return "";
  return duration_text(now - entered->get<double>());
}

std::string error_of(const WorkerSample& sample) {
  if (const auto it = sample.status.find("error"); it != sample.status.end() && it->is_string()) return *it;
  return sample.last_error.value_or("");
}

/// The cells of one worker's row, as text ("" for what it does not have).
nlohmann::json row_of(const WorkerSample& sample, double now) {
  const auto latency = sample.status.find("handler_latency");
  const bool timed = latency != sample.status.end() && latency->is_object();
  const bool failed = sample.status.value("stop_reason", "") == "failed";
  return {
      {"path", sample.path},
      {"name", sample.path.substr(sample.path.rfind('/') + 1)},
      {"depth", std::count(sample.path.begin(), sample.path.end(), '/')},
      {"state", failed ? "failed" : std::string(to_string(sample.state))},
      {"for", time_in_state(sample, now)},
      {"restarts", sample.restarts ? std::to_string(*sample.restarts) : ""},
      {"error", error_of(sample)},
      {"queued", number_text(sample.status, "queue_size")},
      {"processed", number_text(sample.status, "processed")},
      {"dropped", number_text(sample.status, "dropped")},
      {"p50", timed ? latency_text(latency_quantile(*latency, 0.5)) : ""},
      {"p99", timed ? latency_text(latency_quantile(*latency, 0.99)) : ""},
  };
}

/// The HTML row of one worker; its name indented by its depth in the tree.
std::string row(const nlohmann::json& cells) {
  const auto text = [&cells](const char* key) { return escaped(cells.at(key).get<std::string>()); };
  return fmt::format(
      "<tr><td class=\"name\" style=\"padding-left:{}em\" title=\"{}\">{}</td>"
      "<td><span class=\"state {}\">{}</span></td><td>{}</td><td class=\"n\">{}</td><td class=\"error\">{}</td>"
      "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
      0.5 + 1.5 * cells.at("depth").get<int>(), text("path"), text("name"), text("state"), text("state"), text("for"),
      text("restarts"), text("error"), text("queued"), text("processed"), text("dropped"), text("p50"), text("p99"));
}

double seconds_since_epoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr std::string_view style = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .3em}
nav a{margin-right:1em}
table{border-collapse:collapse;margin-top:1em;min-width:60em}
th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f4f4f4;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
td.error{color:#a00;max-width:30em;overflow-wrap:anywhere}
.state{padding:.1em .5em;border-radius:.8em;font-size:.9em;color:#fff;background:#888}
.running{background:#2a8a3a}.init{background:#888}.stopping{background:#c78a00}
.stopped{background:#557}.force_stopped,.failed{background:#c0392b}
footer{margin-top:1em;color:#777;font-size:.9em}
)";

}  // namespace

Task<nlohmann::json> worker_rows(Worker& target) {
  const auto samples = co_await sample_tree(target);
  const double now = seconds_since_epoch();
  auto out = nlohmann::json::array();
  for (const auto& sample : samples) out.push_back(row_of(sample, now));
  co_return out;
}

std::string worker_rows_html(const nlohmann::json& rows) {
  std::string out;
  for (const auto& cells : rows) out += row(cells);
  return out;
}

Task<std::string> status_page(Worker& target, int refresh_seconds) {
  const auto cells = co_await worker_rows(target);
  const auto rows = worker_rows_html(cells);
  const auto title = escaped(target.worker_name());
  co_return fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"refresh\" content=\"{}\"><title>{} — fluid</title><style>{}</style></head>\n<body>\n"
      "<h1>{} <span class=\"state {}\">{}</span></h1>\n"
      "<nav><a href=\"/status\">/status</a><a href=\"/metrics\">/metrics</a><a href=\"/health\">/health</a>"
      "<a href=\"/ready\">/ready</a><a href=\"/startupz\">/startupz</a></nav>\n"
      "<table><thead><tr><th>worker</th><th>state</th><th>for</th><th>restarts</th><th>last error</th>"
      "<th>queued</th><th>processed</th><th>dropped</th><th>p50</th><th>p99</th></tr></thead>\n<tbody>\n{}</tbody></table>\n"
      "<footer>{} workers · reloads every {} s · fluid {}</footer>\n</body></html>\n",
      refresh_seconds, title, style, title, to_string(target.worker_state()), to_string(target.worker_state()), rows,
      cells.size(), refresh_seconds, fluid::version());
}

}  // namespace fluid::detail
