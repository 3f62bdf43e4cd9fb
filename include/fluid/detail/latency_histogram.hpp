#pragma once
/// @file
/// A cheap latency histogram: one writer (the worker), readers anywhere.

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace fluid::detail {

/// Counts durations into buckets on a 1-2.5-5 grid (1 us, 2.5 us, 5 us, 10 us
/// ... 10 s, +Inf) with their sum, for status() and Prometheus: fine enough
/// that /metrics can export any subset of the grid as its buckets (see
/// prometheus_text()) and p50 / p99 read well. Written by one thread at a time
/// (the worker's executor) with relaxed stores, read from any thread.
class LatencyHistogram {
 public:
  /// Upper bounds of the buckets, in nanoseconds; the last bucket is +Inf.
  static constexpr std::array<std::int64_t, 22> bounds_ns{
      1'000,         2'500,         5'000,         10'000,        25'000,        50'000,
      100'000,       250'000,       500'000,       1'000'000,     2'500'000,     5'000'000,
      10'000'000,    25'000'000,    50'000'000,    100'000'000,   250'000'000,   500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};

  /// Records one duration. Single writer.
  void record(std::chrono::nanoseconds d) noexcept { record(d, 1); }

  /// Records `count` (>= 1) consecutive durations timed together as `total`,
  /// for callers that read the clock once per window of fast operations (a
  /// clock read costs more than a trivial handler). Count and sum are exact.
  /// So are the buckets when `total` is within the first bucket (so is each
  /// part) or `count` is 1; otherwise the window is taken as one slow
  /// operation among fast ones: count - 1 in the first bucket, one in the
  /// bucket of `total`, so an outlier keeps its bucket. Single writer.
  void record(std::chrono::nanoseconds total, std::uint64_t count) noexcept {
    const auto ns = total.count() < 0 ? 0 : total.count();
    std::size_t bucket = 0;
    while (bucket < bounds_ns.size() && ns > bounds_ns[bucket]) ++bucket;
    if (bucket == 0) {
      bump(counts_[0], count);
    } else {
      bump(counts_[0], count - 1);
      bump(counts_[bucket], 1);
    }
    bump(count_, count);
    bump(sum_ns_, static_cast<std::uint64_t>(ns));
  }

  /// How many operations to time together next, after a window of `span`
  /// took `took`: doubles (up to 64) while a window stays well within the
  /// first bucket, keeps its size while within it, and drops to 1 (each
  /// operation timed alone) as soon as a window leaves it.
  static std::size_t next_span(std::size_t span, std::chrono::nanoseconds took) noexcept {
    constexpr std::size_t max_span = 64;
    if (took.count() * 2 <= bounds_ns[0]) return span * 2 < max_span ? span * 2 : max_span;
    if (took.count() <= bounds_ns[0]) return span;
    return 1;
  }

  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

  /// {"count", "sum_seconds", "buckets": {"<le seconds>": cumulative count, ..., "+Inf": count}}.
  nlohmann::json to_json() const;

 private:
  static void bump(std::atomic<std::uint64_t>& cell, std::uint64_t by) noexcept {
    cell.store(cell.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  std::array<std::atomic<std::uint64_t>, bounds_ns.size() + 1> counts_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace fluid::detail
