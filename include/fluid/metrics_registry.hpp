#pragma once
/// @file
/// The application's own metrics: counters, gauges and histograms with labels,
/// registered in code and exported at a StatusServer's /metrics.

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace fluid {

/// The labels of one time series, by name: {{"domain", "order"}}.
using MetricLabels = std::map<std::string, std::string>;

/// A count that only goes up (events produced, requests served). Lock-free.
class Counter {
 public:
  /// Adds `amount`; a negative or NaN amount is ignored (a counter never goes down).
  void increment(double amount = 1.0) noexcept;
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// A value that goes up and down (connections open, items cached). Lock-free.
class Gauge {
 public:
  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void increment(double amount = 1.0) noexcept { value_.fetch_add(amount, std::memory_order_relaxed); }
  void decrement(double amount = 1.0) noexcept { value_.fetch_sub(amount, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Observations counted into buckets (durations, sizes), with their sum. Lock-free.
class Histogram {
 public:
  /// Buckets with these upper bounds (increasing, finite), plus +Inf.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value) noexcept;

  const std::vector<double>& bounds() const noexcept { return bounds_; }
  /// Per bucket, how many observations were at most its bound (the last: all).
  std::vector<std::uint64_t> cumulative_counts() const;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1, the last for +Inf
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

/// Where an application registers the figures only it knows, so they reach
/// the same /metrics as fluid's (one scrape, one port).
///
/// Each name is a family of one type, with one help text and one set of label
/// names; each set of label values is a time series, made on first use and
/// kept for the registry's life, so a reference to it may be kept and
/// updated from any thread without a lock. Names starting with "fluid_" or
/// "process_" are fluid's own.
///
/// @warning Thread-safe: registration takes a lock, updates do not.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  /// The counter `name` with `labels`, made on first use.
  /// @throws FluidError if a name is malformed or reserved, or `name` was
  ///         registered with another type, help text or label names.
  Counter& counter(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  /// The gauge `name` with `labels`, made on first use. @throws as counter().
  Gauge& gauge(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  /// The histogram `name` with `labels` and bucket `bounds`, made on first use.
  /// @throws as counter(), or if `bounds` are not increasing and finite, or
  ///         differ from the family's.
  Histogram& histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                       const MetricLabels& labels = {});

  /// Every family, in registration order, in the Prometheus text format 0.0.4.
  std::string prometheus_text() const;

 private:
  struct Family;
  Family& family(const std::string& name, const std::string& help, int type, const MetricLabels& labels,
                 const std::vector<double>* bounds);

  mutable std::mutex mutex_;
  std::deque<Family> families_;  // registration order; a deque keeps references stable
};

/// The registry a StatusServer exports unless its options name another: one per process.
MetricsRegistry& metrics();

}  // namespace fluid
