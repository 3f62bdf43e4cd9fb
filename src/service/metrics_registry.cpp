#include "fluid/metrics_registry.hpp"

#include "fluid/errors.hpp"
#include "service/exposition.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

namespace fluid {

namespace {

enum Type { counter_type, gauge_type, histogram_type };
constexpr const char* type_names[] = {"counter", "gauge", "histogram"};

bool is_metric_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == ':'; });
}

bool is_label_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

std::vector<std::string> names_of(const MetricLabels& labels) {
  std::vector<std::string> out;
  for (const auto& [name, value] : labels) out.push_back(name);
  return out;
}

void check_bounds(const std::string& name, const std::vector<double>& bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      throw FluidError("metric " + name + ": histogram bounds must be finite and increasing");
    }
  }
}

void check_names(const std::string& name, int type, const MetricLabels& labels) {
  if (!is_metric_name(name)) throw FluidError("metric \"" + name + "\": not a Prometheus metric name");
  if (name.starts_with("fluid_") || name.starts_with("process_")) {
    throw FluidError("metric " + name + ": the prefixes fluid_ and process_ are fluid's own metrics'");
  }
  for (const auto& [label, value] : labels) {
    if (!is_label_name(label) || (type == histogram_type && label == "le")) {
      throw FluidError("metric " + name + ": \"" + label + "\" is not a label name it can have");
    }
  }
}

std::vector<std::pair<std::string, std::string>> with(const MetricLabels& labels,
                                                      std::optional<std::pair<std::string, std::string>> extra = {}) {
  std::vector<std::pair<std::string, std::string>> out(labels.begin(), labels.end());
  if (extra) out.push_back(std::move(*extra));
  return out;
}

}  // namespace

void Counter::increment(double amount) noexcept {
  if (amount > 0) value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) noexcept {
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out.push_back(total);
  }
  return out;
}

struct MetricsRegistry::Family {
  std::string name;
  std::string help;
  int type = counter_type;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  std::map<MetricLabels, std::unique_ptr<Counter>> counters;
  std::map<MetricLabels, std::unique_ptr<Gauge>> gauges;
  std::map<MetricLabels, std::unique_ptr<Histogram>> histograms;

  void write(detail::Exposition& out) const {
    out.family(name, type_names[type], help, [&] {
      for (const auto& [labels, c] : counters) out.sample(name, detail::label_set(with(labels)), detail::format_value(c->value()));
      for (const auto& [labels, g] : gauges) out.sample(name, detail::label_set(with(labels)), detail::format_value(g->value()));
      for (const auto& [labels, h] : histograms) write_histogram(out, labels, *h);
    });
  }

  void write_histogram(detail::Exposition& out, const MetricLabels& labels, const Histogram& h) const {
    const auto counts = h.cumulative_counts();
    for (std::size_t i = 0; i < counts.size(); ++i) {
      const auto le = i < h.bounds().size() ? detail::format_value(h.bounds()[i]) : std::string("+Inf");
      out.sample(name + "_bucket", detail::label_set(with(labels, std::pair{"le", le})), std::to_string(counts[i]));
    }
    out.sample(name + "_sum", detail::label_set(with(labels)), detail::format_value(h.sum()));
    out.sample(name + "_count", detail::label_set(with(labels)), std::to_string(counts.back()));
  }
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, const std::string& help, int type,
                                                 const MetricLabels& labels, const std::vector<double>* bounds) {
  check_names(name, type, labels);
  if (bounds) check_bounds(name, *bounds);
  const auto found = std::find_if(families_.begin(), families_.end(), [&](const Family& f) { return f.name == name; });
  if (found == families_.end()) {
    auto& made = families_.emplace_back();
    made.name = name;
    made.help = help;
    made.type = type;
    made.label_names = names_of(labels);
    if (bounds) made.bounds = *bounds;
    return made;
  }
  if (found->type != type || found->help != help) {
    throw FluidError("metric " + name + ": registered before as a " + type_names[found->type] +
                     " with help \"" + found->help + "\"");
  }
  if (found->label_names != names_of(labels)) {
    throw FluidError("metric " + name + ": every series of a family has the same label names");
  }
  if (bounds && found->bounds != *bounds) throw FluidError("metric " + name + ": registered before with other buckets");
  return *found;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, counter_type, labels, nullptr).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, gauge_type, labels, nullptr).gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<double>& bounds, const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, histogram_type, labels, &bounds).histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

std::string MetricsRegistry::prometheus_text() const {
  detail::Exposition out;
  std::lock_guard lock(mutex_);
  for (const auto& f : families_) f.write(out);
  return out.take();
}

MetricsRegistry& metrics() {
  static MetricsRegistry registry;
  return registry;
}

}  // namespace fluid
