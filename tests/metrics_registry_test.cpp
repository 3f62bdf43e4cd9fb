// MetricsRegistry: the application's own counters, gauges and histograms with
// labels, in the Prometheus text format (checked by the format checker).

#include "support/prometheus_format.hpp"

#include <fluid/errors.hpp>
#include <fluid/metrics_registry.hpp>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using namespace fluid;
using fluid::test::parse_exposition;

namespace {

fluid::test::Exposition parsed_ok(const std::string& text) {
  auto e = parse_exposition(text);
  for (const auto& error : e.errors) ADD_FAILURE() << error << "\n---\n" << text;
  return e;
}

}  // namespace

TEST(MetricsRegistry, CountersAndGaugesAreExportedPerLabelSetUnderOneHelpAndType) {
  MetricsRegistry registry;
  registry.counter("demo_events_produced_total", "Events made.", {{"type", "order.created"}}).increment();
  registry.counter("demo_events_produced_total", "Events made.", {{"type", "order.created"}}).increment(2);
  registry.counter("demo_events_produced_total", "Events made.", {{"type", "user.signup"}}).increment();
  auto& open = registry.gauge("demo_sessions_open", "Sessions open now.");
  open.increment(5);
  open.decrement();
  const auto text = registry.prometheus_text();
  const auto e = parsed_ok(text);
  EXPECT_EQ(e.value(R"(demo_events_produced_total{type="order.created"})"), 3.0);
  EXPECT_EQ(e.value(R"(demo_events_produced_total{type="user.signup"})"), 1.0);
  EXPECT_EQ(e.value("demo_sessions_open"), 4.0);
  EXPECT_EQ(e.types.at("demo_events_produced_total"), "counter");
  EXPECT_EQ(e.types.at("demo_sessions_open"), "gauge");
  EXPECT_EQ(text.find("# HELP demo_events_produced_total"), text.rfind("# HELP demo_events_produced_total"));
}

TEST(MetricsRegistry, ACounterNeverGoesDown) {
  MetricsRegistry registry;
  auto& counter = registry.counter("demo_total", "x");
  counter.increment(2);
  counter.increment(-5);
  EXPECT_EQ(counter.value(), 2.0);
}

TEST(MetricsRegistry, HistogramsAreCumulativeWithSumCountAndInf) {
  MetricsRegistry registry;
  auto& latency = registry.histogram("demo_request_seconds", "Request time.", {0.01, 0.1, 1}, {{"route", "/orders"}});
  for (const double v : {0.005, 0.05, 0.05, 0.5, 3.0}) latency.observe(v);
  const auto e = parsed_ok(registry.prometheus_text());
  const std::string route = R"(route="/orders")";
  EXPECT_EQ(e.value("demo_request_seconds_bucket{" + route + R"(,le="0.01"})"), 1.0);
  EXPECT_EQ(e.value("demo_request_seconds_bucket{" + route + R"(,le="0.1"})"), 3.0);
  EXPECT_EQ(e.value("demo_request_seconds_bucket{" + route + R"(,le="1"})"), 4.0);
  EXPECT_EQ(e.value("demo_request_seconds_bucket{" + route + R"(,le="+Inf"})"), 5.0);
  EXPECT_EQ(e.value("demo_request_seconds_count{" + route + "}"), 5.0);
  EXPECT_NEAR(*e.value("demo_request_seconds_sum{" + route + "}"), 3.605, 1e-9);
}

TEST(MetricsRegistry, ABoundaryObservationCountsInTheBucketItBounds) {
  MetricsRegistry registry;
  auto& h = registry.histogram("demo_size_bytes", "x", {10, 100});
  h.observe(10);
  h.observe(100);
  EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{1, 2, 2}));
}

TEST(MetricsRegistry, MisuseIsAFluidErrorNamingTheMetric) {
  MetricsRegistry registry;
  registry.counter("demo_total", "Things.", {{"kind", "a"}});
  for (const auto& attempt : std::vector<std::function<void()>>{
           [&] { registry.gauge("demo_total", "Things."); },                        // another type
           [&] { registry.counter("demo_total", "Other help."); },                   // another help
           [&] { registry.counter("demo_total", "Things.", {{"sort", "a"}}); },      // other label names
           [&] { registry.counter("9lives", "x"); },                                 // malformed name
           [&] { registry.counter("fluid_mine_total", "x"); },                       // fluid's prefix
           [&] { registry.counter("process_mine", "x"); },                           // fluid's prefix
           [&] { registry.counter("demo_x", "x", {{"__reserved", "v"}}); },          // reserved label
           [&] { registry.histogram("demo_h", "x", {1, 1}); },                       // not increasing
           [&] { registry.histogram("demo_h2", "x", {1}, {{"le", "1"}}); },          // le is the bucket's
       }) {
    EXPECT_THROW(attempt(), FluidError);
  }
  EXPECT_EQ(registry.counter("demo_total", "Things.", {{"kind", "b"}}).value(), 0.0) << "the family still works";
}

TEST(MetricsRegistry, UpdatesFromManyThreadsAreAllCounted) {
  MetricsRegistry registry;
  constexpr int threads = 4;
  constexpr int rounds = 10000;
  std::vector<std::jthread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&registry, t] {
      auto& counter = registry.counter("demo_total", "x", {{"thread", std::to_string(t % 2)}});
      auto& h = registry.histogram("demo_seconds", "x", {0.5});
      for (int i = 0; i < rounds; ++i) {
        counter.increment();
        h.observe(i % 2 == 0 ? 0.1 : 1.0);
        if (i % 1000 == 0) static_cast<void>(registry.prometheus_text());
      }
    });
  }
  workers.clear();  // joins
  const auto e = parsed_ok(registry.prometheus_text());
  EXPECT_EQ(*e.value(R"(demo_total{thread="0"})") + *e.value(R"(demo_total{thread="1"})"), threads * rounds);
  EXPECT_EQ(e.value(R"(demo_seconds_bucket{le="0.5"})"), threads * rounds / 2.0);
  EXPECT_EQ(e.value("demo_seconds_count"), threads * rounds);
}

TEST(MetricsRegistry, TheProcessRegistryIsOne) { EXPECT_EQ(&metrics(), &metrics()); }
