#include "fluid/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>

namespace fluid {

namespace {

/// A number for a sample line: integers exactly, others in the shortest form
/// that reads back the same; Prometheus' spelling of the infinities and NaN.
std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string format_value(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return std::to_string(value.get<std::uint64_t>());
  if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
  return format_value(value.get<double>());
}

std::string escape_help(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

/// The numeric upper bound of a bucket label ("1e-06", "+Inf"); NaN if unreadable.
double bucket_bound(const std::string& label) {
  if (label == "+Inf") return std::numeric_limits<double>::infinity();
  double value = 0;
  const auto [end, ec] = std::from_chars(label.data(), label.data() + label.size(), value);
  if (ec != std::errc{} || end != label.data() + label.size()) return std::numeric_limits<double>::quiet_NaN();
  return value;
}

/// Writes one metric family: its HELP and TYPE lines, then what `lines` adds.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help,
              const std::function<void()>& lines) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
    lines();
  }

  /// `name{worker="path"<extra>} value`; `extra` is ",label=\"...\"" pairs, already escaped.
  void sample(std::string_view name, const std::string& path, std::string_view extra, std::string_view value) {
    out_ += fmt::format("{}{{worker=\"{}\"{}}} {}\n", name, escape_label_value(path), extra, value);
  }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

const nlohmann::json* number_field(const nlohmann::json& status, const char* key) {
  if (!status.is_object()) return nullptr;
  const auto it = status.find(key);
  return it != status.end() && it->is_number() ? &*it : nullptr;
}

void write_histogram(Exposition& out, const WorkerSample& sample, const nlohmann::json& histogram) {
  const auto* count = number_field(histogram, "count");
  const auto* sum = number_field(histogram, "sum_seconds");
  const auto buckets = histogram.find("buckets");
  if (!count || !sum || buckets == histogram.end() || !buckets->is_object()) return;
  // JSON objects keep keys sorted as text ("+Inf", "0.001", "1e-06"): order them by bound.
  std::vector<std::pair<double, const nlohmann::json*>> ordered;
  for (const auto& [label, value] : buckets->items()) {
    const double bound = bucket_bound(label);
    if (std::isnan(bound) || !value.is_number()) continue;
    ordered.emplace_back(bound, &value);
  }
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  bool has_inf = false;
  for (const auto& [bound, value] : ordered) {
    has_inf = has_inf || std::isinf(bound);
    out.sample("fluid_handler_latency_seconds_bucket", sample.path,
               fmt::format(",le=\"{}\"", format_value(bound)), format_value(*value));
  }
  if (!has_inf) out.sample("fluid_handler_latency_seconds_bucket", sample.path, ",le=\"+Inf\"", format_value(*count));
  out.sample("fluid_handler_latency_seconds_sum", sample.path, "", format_value(*sum));
  out.sample("fluid_handler_latency_seconds_count", sample.path, "", format_value(*count));
}

constexpr WorkerState all_states[] = {WorkerState::init, WorkerState::running, WorkerState::stopping,
                                      WorkerState::stopped, WorkerState::force_stopped};

}  // namespace

Task<std::vector<WorkerSample>> sample_tree(Worker& root) {
  const auto tree = worker_tree(root);
  std::vector<WorkerSample> out;
  out.reserve(tree.size());
  for (const auto& node : tree) {
    WorkerSample sample;
    sample.path = node.path;
    sample.state = node.worker->worker_state();
    sample.status = co_await node.worker->status();
    if (node.parent) {
      const auto& siblings = out[*node.parent].status;
      const auto entry = siblings.is_object() ? siblings.find(node.key) : siblings.end();
      if (entry != siblings.end() && entry->is_object()) {
        if (const auto* restarts = number_field(*entry, "restarts")) sample.restarts = restarts->get<std::uint64_t>();
      }
    }
    out.push_back(std::move(sample));
  }
  co_return out;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string prometheus_text(const std::vector<WorkerSample>& samples) {
  Exposition out;
  out.family("fluid_worker_up", "gauge", "1 if the worker is running and not asked to stop, else 0.", [&] {
    for (const auto& s : samples) out.sample("fluid_worker_up", s.path, "", s.state == WorkerState::running ? "1" : "0");
  });
  out.family("fluid_worker_state", "gauge", "1 for the state the worker is in, 0 for the others.", [&] {
    for (const auto& s : samples) {
      for (const auto state : all_states) {
        out.sample("fluid_worker_state", s.path, fmt::format(",state=\"{}\"", to_string(state)), s.state == state ? "1" : "0");
      }
    }
  });
  out.family("fluid_worker_restarts_total", "counter", "Restarts of a supervised child by its group.", [&] {
    for (const auto& s : samples) {
      if (s.restarts) out.sample("fluid_worker_restarts_total", s.path, "", std::to_string(*s.restarts));
    }
  });
  const auto field_family = [&](const char* name, const char* type, const char* help, const char* key) {
    out.family(name, type, help, [&] {
      for (const auto& s : samples) {
        if (const auto* value = number_field(s.status, key)) out.sample(name, s.path, "", format_value(*value));
      }
    });
  };
  field_family("fluid_queue_size", "gauge", "Messages accepted by a queue consumer and not yet handed over.",
               "queue_size");
  field_family("fluid_messages_processed_total", "counter", "Messages handed to the consumer's handler.", "processed");
  field_family("fluid_messages_dropped_total", "counter",
               "Messages accepted but never handed over (forced stop, discard on stop).", "dropped");
  out.family("fluid_handler_latency_seconds", "histogram", "Time the consumer's handler took per message.", [&] {
    for (const auto& s : samples) {
      const auto it = s.status.is_object() ? s.status.find("handler_latency") : s.status.end();
      if (it != s.status.end() && it->is_object()) write_histogram(out, s, *it);
    }
  });
  return out.take();
}

}  // namespace fluid
