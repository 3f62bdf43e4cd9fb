#include "fluid/detail/latency_histogram.hpp"

#include <fmt/format.h>

namespace fluid::detail {

nlohmann::json LatencyHistogram::to_json() const {
  nlohmann::json buckets = nlohmann::json::object();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_ns.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    buckets[fmt::format("{:g}", static_cast<double>(bounds_ns[i]) / 1e9)] = cumulative;
  }
  cumulative += counts_.back().load(std::memory_order_relaxed);
  buckets["+Inf"] = cumulative;
  return {{"count", cumulative},
          {"sum_seconds", static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9},
          {"buckets", std::move(buckets)}};
}

}  // namespace fluid::detail
