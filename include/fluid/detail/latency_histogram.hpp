#pragma once
/// @file
/// A cheap latency histogram: one writer (the worker), readers anywhere.

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace fluid::detail {

/// Counts durations into decade buckets (1 us ... 10 s, +Inf) with their sum,
/// for status() and Prometheus. Written by one thread at a time (the worker's
/// executor) with relaxed stores, read from any thread.
class LatencyHistogram {
 public:
  /// Upper bounds of the buckets, in nanoseconds; the last bucket is +Inf.
  static constexpr std::array<std::int64_t, 8> bounds_ns{1'000,       10'000,        100'000,        1'000'000,
                                                         10'000'000, 100'000'000, 1'000'000'000, 10'000'000'000};

  /// Records one duration. Single writer.
  void record(std::chrono::nanoseconds d) noexcept {
    const auto ns = d.count();
    std::size_t bucket = 0;
    while (bucket < bounds_ns.size() && ns > bounds_ns[bucket]) ++bucket;
    bump(counts_[bucket], 1);
    bump(count_, 1);
    bump(sum_ns_, static_cast<std::uint64_t>(ns < 0 ? 0 : ns));
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
