#include "fluid/metrics.hpp"

#include "fluid/detail/latency_histogram.hpp"
#include "fluid/errors.hpp"
#include "service/exposition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

namespace fluid {

namespace {

using detail::Exposition;
using detail::format_value;

std::string format_value(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return std::to_string(value.get<std::uint64_t>());
  if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
  return format_value(value.get<double>());
}

/// The numeric upper bound of a bucket label ("1e-06", "+Inf"); NaN if unreadable.
double bucket_bound(const std::string& label) {
  if (label == "+Inf") return std::numeric_limits<double>::infinity();
  double value = 0;
  const auto [end, ec] = std::from_chars(label.data(), label.data() + label.size(), value);
  if (ec != std::errc{} || end != label.data() + label.size()) return std::numeric_limits<double>::quiet_NaN();
  return value;
}

/// Whether two bucket bounds are the same one (read back from text, they may differ in the last bit).
bool same_bound(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(std::abs(a), std::abs(b)); }

/// `{worker="path"<extra>}`; `extra` is ",label=\"...\"" pairs, already escaped.
std::string worker_labels(const std::string& path, std::string_view extra = {}) {
  return fmt::format("{{worker=\"{}\"{}}}", escape_label_value(path), extra);
}

const nlohmann::json* number_field(const nlohmann::json& status, const char* key) {
  if (!status.is_object()) return nullptr;
  const auto it = status.find(key);
  return it != status.end() && it->is_number() ? &*it : nullptr;
}

/// The cumulative buckets of a status histogram, by increasing bound (JSON
/// keeps keys sorted as text: "+Inf", "0.001", "1e-06").
std::vector<std::pair<double, const nlohmann::json*>> ordered_buckets(const nlohmann::json& buckets) {
  std::vector<std::pair<double, const nlohmann::json*>> out;
  for (const auto& [label, value] : buckets.items()) {
    const double bound = bucket_bound(label);
    if (std::isnan(bound) || !value.is_number()) continue;
    out.emplace_back(bound, &value);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void write_histogram(Exposition& out, const WorkerSample& sample, const nlohmann::json& histogram,
                     const std::vector<double>& exported) {
  const auto* count = number_field(histogram, "count");
  const auto* sum = number_field(histogram, "sum_seconds");
  const auto buckets = histogram.find("buckets");
  if (!count || !sum || buckets == histogram.end() || !buckets->is_object()) return;
  // The buckets are cumulative, so leaving some out keeps the others exact.
  const auto wanted = [&](double bound) {
    return std::isinf(bound) || std::any_of(exported.begin(), exported.end(), [&](double e) { return same_bound(e, bound); });
  };
  bool has_inf = false;
  for (const auto& [bound, value] : ordered_buckets(*buckets)) {
    if (!wanted(bound)) continue;
    has_inf = has_inf || std::isinf(bound);
    out.sample("fluid_handler_latency_seconds_bucket",
               worker_labels(sample.path, fmt::format(",le=\"{}\"", format_value(bound))), format_value(*value));
  }
  if (!has_inf) {
    out.sample("fluid_handler_latency_seconds_bucket", worker_labels(sample.path, ",le=\"+Inf\""), format_value(*count));
  }
  out.sample("fluid_handler_latency_seconds_sum", worker_labels(sample.path), format_value(*sum));
  out.sample("fluid_handler_latency_seconds_count", worker_labels(sample.path), format_value(*count));
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
        const auto last_error = entry->find("last_error");
        if (last_error != entry->end() && last_error->is_string()) sample.last_error = last_error->get<std::string>();
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

const std::vector<double>& default_latency_buckets() {
  static const std::vector<double> buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                           0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return buckets;
}

std::vector<double> supported_latency_buckets() {
  std::vector<double> out;
  for (const auto ns : detail::LatencyHistogram::bounds_ns) out.push_back(static_cast<double>(ns) / 1e9);
  return out;
}

void check_latency_buckets(const std::vector<double>& buckets) {
  const auto supported = supported_latency_buckets();
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const auto bound = buckets[i];
    if (i > 0 && !(bound > buckets[i - 1])) {
      throw FluidError("latency buckets must increase: " + format_value(bound) + " after " +
                       format_value(buckets[i - 1]));
    }
    if (std::none_of(supported.begin(), supported.end(), [&](double s) { return same_bound(s, bound); })) {
      std::string grid;
      for (const auto s : supported) grid += (grid.empty() ? "" : ", ") + format_value(s);
      throw FluidError("latency bucket " + format_value(bound) + " is not one the handlers record (" + grid + ")");
    }
  }
}

std::string prometheus_text(const std::vector<WorkerSample>& samples, const std::vector<double>& latency_buckets) {
  Exposition out;
  out.family("fluid_worker_up", "gauge", "1 if the worker is running and not asked to stop, else 0.", [&] {
    for (const auto& s : samples) {
      out.sample("fluid_worker_up", worker_labels(s.path), s.state == WorkerState::running ? "1" : "0");
    }
  });
  out.family("fluid_worker_state", "gauge", "1 for the state the worker is in, 0 for the others.", [&] {
    for (const auto& s : samples) {
      for (const auto state : all_states) {
        out.sample("fluid_worker_state", worker_labels(s.path, fmt::format(",state=\"{}\"", to_string(state))),
                   s.state == state ? "1" : "0");
      }
    }
  });
  out.family("fluid_worker_restarts_total", "counter", "Restarts of a supervised child by its group.", [&] {
    for (const auto& s : samples) {
      if (s.restarts) out.sample("fluid_worker_restarts_total", worker_labels(s.path), std::to_string(*s.restarts));
    }
  });
  const auto field_family = [&](const char* name, const char* type, const char* help, const char* key) {
    out.family(name, type, help, [&] {
      for (const auto& s : samples) {
        if (const auto* value = number_field(s.status, key)) out.sample(name, worker_labels(s.path), format_value(*value));
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
      if (it != s.status.end() && it->is_object()) write_histogram(out, s, *it, latency_buckets);
    }
  });
  return out.take();
}

std::optional<double> latency_quantile(const nlohmann::json& histogram, double q) {
  const auto* count = number_field(histogram, "count");
  const auto buckets = histogram.is_object() ? histogram.find("buckets") : histogram.end();
  if (!count || buckets == histogram.end() || !buckets->is_object() || count->get<double>() <= 0) return std::nullopt;
  // As Prometheus' histogram_quantile(): linear within the bucket holding the rank.
  const double rank = q * count->get<double>();
  double lower = 0;
  double below = 0;
  for (const auto& [bound, value] : ordered_buckets(*buckets)) {
    const double cumulative = value->get<double>();
    if (cumulative >= rank) {
      if (std::isinf(bound)) return lower;  // beyond the last finite bound: the best we can say
      const double in_bucket = cumulative - below;
      return in_bucket <= 0 ? bound : lower + (bound - lower) * (rank - below) / in_bucket;
    }
    lower = bound;
    below = cumulative;
  }
  return lower;
}

}  // namespace fluid
