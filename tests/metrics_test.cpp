// Metrics: the worker tree's paths, sampling, and the Prometheus text (checked
// line by line with a small format checker).

#include "support/prometheus_format.hpp"
#include "support/workers.hpp"

#include <fluid/detail/latency_histogram.hpp>
#include <fluid/metrics.hpp>
#include <fluid/queue_consumer.hpp>
#include <fluid/workers.hpp>

#include <gtest/gtest.h>

#include <algorithm>

using namespace fluid;
using namespace fluid::test;

namespace {

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

Exposition parsed_ok(const std::string& text) {
  auto exposition = parse_exposition(text);
  EXPECT_TRUE(exposition.errors.empty()) << joined(exposition.errors) << "---\n" << text;
  return exposition;
}

std::size_t count_lines_starting(const std::string& text, const std::string& prefix) {
  std::size_t n = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto end = text.find('\n', pos);
    if (text.compare(pos, prefix.size(), prefix) == 0) ++n;
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return n;
}

WorkerSample sample(std::string path, WorkerState state, nlohmann::json status = nlohmann::json::object()) {
  return {std::move(path), state, std::move(status), std::nullopt, std::nullopt};
}

/// Fails the first time it runs (per shared counter), then runs until stopped.
class FailsOnce : public Worker {
 public:
  explicit FailsOnce(std::shared_ptr<int> failures_left) : Worker({.name = "flaky"}), left_(std::move(failures_left)) {}

 protected:
  Task<> run() override {
    co_await sleep(1ms);
    if ((*left_)-- > 0) throw std::runtime_error("flaky failure");
    co_await stop_requested();
  }

 private:
  std::shared_ptr<int> left_;
};

}  // namespace

// ---------------------------------------------------------------- the checker

TEST(PrometheusChecker, RejectsWhatAScraperWouldReject) {
  EXPECT_FALSE(parse_exposition("up 1").errors.empty()) << "no final newline";
  EXPECT_FALSE(parse_exposition("up{a=\"x} 1\n").errors.empty()) << "unterminated label value";
  EXPECT_FALSE(parse_exposition("up{a=\"x\\q\"} 1\n").errors.empty()) << "bad escape";
  EXPECT_FALSE(parse_exposition("up one\n").errors.empty()) << "bad value";
  EXPECT_FALSE(parse_exposition("9up 1\n").errors.empty()) << "bad name";
  EXPECT_FALSE(parse_exposition("up 1\nup 2\n").errors.empty()) << "repeated series";
  EXPECT_FALSE(parse_exposition("a 1\nb 1\na{x=\"1\"} 1\n").errors.empty()) << "family split";
  EXPECT_FALSE(parse_exposition("# TYPE a gauge\n# TYPE a gauge\na 1\n").errors.empty()) << "two TYPE lines";
  EXPECT_FALSE(parse_exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 0\n")
                   .errors.empty())
      << "not cumulative";
  EXPECT_FALSE(parse_exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\nh_sum 0\n").errors.empty())
      << "no +Inf bucket";
  EXPECT_TRUE(parse_exposition("# HELP a x\n# TYPE a gauge\na{b=\"q\\\"\\n\\\\\"} 1.5e-06\na{b=\"2\"} +Inf\n")
                  .errors.empty());
}

// ---------------------------------------------------------------- labels

TEST(Metrics, EscapesBackslashQuoteAndNewlineInLabelValues) {
  EXPECT_EQ(escape_label_value(R"(plain/path_2)"), "plain/path_2");
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), R"(a\\b\"c\nd)");
}

TEST(Metrics, AWorkerNameWithQuotesAndNewlinesKeepsTheTextParseable) {
  const auto text = prometheus_text({sample("root/we\"ird\\name\nx", WorkerState::running)});
  const auto exposition = parsed_ok(text);
  EXPECT_EQ(exposition.value(R"(fluid_worker_up{worker="root/we\"ird\\name\nx"})"), 1.0);
}

// ---------------------------------------------------------------- families

TEST(Metrics, EveryFamilyHasOneHelpAndOneTypeLineEvenWithoutSamples) {
  const auto text = prometheus_text({});
  const auto exposition = parsed_ok(text);
  for (const auto* family : {"fluid_worker_up", "fluid_worker_state", "fluid_worker_restarts_total", "fluid_queue_size",
                             "fluid_messages_processed_total", "fluid_messages_dropped_total",
                             "fluid_handler_latency_seconds"}) {
    EXPECT_EQ(count_lines_starting(text, std::string("# HELP ") + family + " "), 1u) << family;
    EXPECT_EQ(count_lines_starting(text, std::string("# TYPE ") + family + " "), 1u) << family;
  }
  EXPECT_EQ(exposition.types.at("fluid_worker_up"), "gauge");
  EXPECT_EQ(exposition.types.at("fluid_worker_restarts_total"), "counter");
  EXPECT_EQ(exposition.types.at("fluid_handler_latency_seconds"), "histogram");
  EXPECT_TRUE(exposition.samples.empty());
}

TEST(Metrics, EveryWorkerGetsUpAndOneStateLinePerStateWithTheCurrentOneSet) {
  const auto text = prometheus_text({sample("root", WorkerState::stopping), sample("root/a", WorkerState::running),
                                     sample("root/b", WorkerState::force_stopped)});
  const auto e = parsed_ok(text);
  EXPECT_EQ(e.value(R"(fluid_worker_up{worker="root"})"), 0.0);
  EXPECT_EQ(e.value(R"(fluid_worker_up{worker="root/a"})"), 1.0);
  EXPECT_EQ(e.value(R"(fluid_worker_up{worker="root/b"})"), 0.0);
  EXPECT_EQ(e.value(R"(fluid_worker_state{worker="root",state="stopping"})"), 1.0);
  EXPECT_EQ(e.value(R"(fluid_worker_state{worker="root",state="running"})"), 0.0);
  EXPECT_EQ(e.value(R"(fluid_worker_state{worker="root/b",state="force_stopped"})"), 1.0);
  EXPECT_EQ(count_lines_starting(text, "fluid_worker_state{"), 15u);
}

TEST(Metrics, QueueFiguresAppearOnlyForWorkersThatReportThem) {
  const auto text = prometheus_text(
      {sample("root", WorkerState::running, {{"consumer", {{"queue_size", 2}}}}),
       sample("root/consumer", WorkerState::running, {{"queue_size", 2}, {"processed", 40}, {"dropped", 1}}),
       sample("root/plain", WorkerState::running, {{"state", "running"}})});
  const auto e = parsed_ok(text);
  EXPECT_EQ(e.value(R"(fluid_queue_size{worker="root/consumer"})"), 2.0);
  EXPECT_EQ(e.value(R"(fluid_messages_processed_total{worker="root/consumer"})"), 40.0);
  EXPECT_EQ(e.value(R"(fluid_messages_dropped_total{worker="root/consumer"})"), 1.0);
  EXPECT_EQ(e.value(R"(fluid_queue_size{worker="root"})"), std::nullopt) << "a group's map is not a queue";
  EXPECT_EQ(e.value(R"(fluid_queue_size{worker="root/plain"})"), std::nullopt) << "missing is not 0";
}

TEST(Metrics, RestartsAreReportedForSupervisedChildrenOnly) {
  auto supervised = sample("root/flaky", WorkerState::running);
  supervised.restarts = 3;
  const auto e = parsed_ok(prometheus_text({sample("root", WorkerState::running), supervised}));
  EXPECT_EQ(e.value(R"(fluid_worker_restarts_total{worker="root/flaky"})"), 3.0);
  EXPECT_EQ(e.value(R"(fluid_worker_restarts_total{worker="root"})"), std::nullopt);
}

TEST(Metrics, HistogramBucketsAreInIncreasingBoundOrderWithInfEqualToCount) {
  fluid::detail::LatencyHistogram histogram;
  histogram.record(std::chrono::nanoseconds(500));         // <= 1us
  histogram.record(std::chrono::microseconds(50));         // <= 100us
  histogram.record(std::chrono::milliseconds(5));          // <= 10ms
  histogram.record(std::chrono::seconds(20));              // +Inf only
  const auto text = prometheus_text(
      {sample("root/consumer", WorkerState::running, {{"handler_latency", histogram.to_json()}})},
      {1e-6, 1e-4, 0.01, 10});
  const auto e = parsed_ok(text);
  const std::string w = R"(worker="root/consumer")";
  EXPECT_EQ(e.value("fluid_handler_latency_seconds_bucket{" + w + R"(,le="1e-06"})"), 1.0);
  EXPECT_EQ(e.value("fluid_handler_latency_seconds_bucket{" + w + R"(,le="0.0001"})"), 2.0);
  EXPECT_EQ(e.value("fluid_handler_latency_seconds_bucket{" + w + R"(,le="0.01"})"), 3.0);
  EXPECT_EQ(e.value("fluid_handler_latency_seconds_bucket{" + w + R"(,le="10"})"), 3.0);
  EXPECT_EQ(e.value("fluid_handler_latency_seconds_bucket{" + w + R"(,le="+Inf"})"), 4.0);
  EXPECT_EQ(e.value("fluid_handler_latency_seconds_count{" + w + "}"), 4.0);
  EXPECT_NEAR(*e.value("fluid_handler_latency_seconds_sum{" + w + "}"), 20.0050505, 1e-6);
  EXPECT_EQ(count_lines_starting(text, "fluid_handler_latency_seconds_bucket{"), 5u) << "the buckets asked for, +Inf";
}

TEST(Metrics, AHistogramWithoutAnInfBucketGetsOneFromItsCount) {
  const nlohmann::json latency{{"count", 2}, {"sum_seconds", 0.5}, {"buckets", {{"0.1", 1}, {"1", 2}}}};
  const auto e = parsed_ok(prometheus_text({sample("w", WorkerState::running, {{"handler_latency", latency}})}));
  EXPECT_EQ(e.value(R"(fluid_handler_latency_seconds_bucket{worker="w",le="+Inf"})"), 2.0);
}

// ---------------------------------------------------------------- the tree

TEST(SampleTree, ReadsEachWorkersOwnStatusAndRestartsFromItsGroup) {
  fluid::run([]() -> Task<> {
    auto consumer = std::make_shared<QueueConsumerWorker<int>>([](int) -> Task<> { co_return; },
                                                               WorkerOptions{.name = "consumer"});
    auto inner = std::make_shared<Workers>(
        std::vector<std::shared_ptr<Worker>>{},
        WorkersOptions{.name = "inner", .backoff = {.initial = 1ms, .max = 1ms, .multiplier = 1, .jitter = 0}});
    auto failures_left = std::make_shared<int>(1);
    inner->add_supervised([=] { return std::make_shared<FailsOnce>(failures_left); }, RestartPolicy::on_failure);
    Workers root({consumer, inner}, {.name = "root"});
    co_await root.startup();
    for (int i = 0; i < 3; ++i) consumer->send(i);
    while (consumer->processed_count() < 3 || inner->restarts(0) < 1 || !inner->workers()[0]->is_running()) {
      co_await sleep(1ms);
    }
    const auto samples = co_await sample_tree(root);
    co_await root.shutdown();

    EXPECT_EQ(samples.size(), 4u);
    if (samples.size() != 4) co_return;
    EXPECT_EQ(samples[0].path, "root");
    EXPECT_EQ(samples[1].path, "root/consumer");
    EXPECT_EQ(samples[1].state, WorkerState::running);
    EXPECT_EQ(samples[1].status.at("processed"), 3);
    EXPECT_EQ(samples[1].restarts, std::nullopt) << "not supervised";
    EXPECT_EQ(samples[3].path, "root/inner/flaky");
    EXPECT_EQ(samples[3].restarts, 1u);

    const auto e = parsed_ok(prometheus_text(samples));
    EXPECT_EQ(e.value(R"(fluid_messages_processed_total{worker="root/consumer"})"), 3.0);
    EXPECT_EQ(e.value(R"(fluid_handler_latency_seconds_count{worker="root/consumer"})"), 3.0);
    EXPECT_EQ(e.value(R"(fluid_worker_restarts_total{worker="root/inner/flaky"})"), 1.0);
    EXPECT_EQ(e.value(R"(fluid_worker_up{worker="root/inner"})"), 1.0);
  }());
}

TEST(Metrics, TheDefaultLatencyBucketsSuitRequestsFromHalfAMillisecondToTenSeconds) {
  fluid::detail::LatencyHistogram histogram;
  histogram.record(std::chrono::microseconds(300));   // <= 0.5 ms
  histogram.record(std::chrono::milliseconds(20));    // <= 25 ms
  histogram.record(std::chrono::milliseconds(700));   // <= 1 s
  const auto text = prometheus_text({sample("w", WorkerState::running, {{"handler_latency", histogram.to_json()}})});
  const auto e = parsed_ok(text);
  EXPECT_EQ(e.value(R"(fluid_handler_latency_seconds_bucket{worker="w",le="0.0005"})"), 1.0);
  EXPECT_EQ(e.value(R"(fluid_handler_latency_seconds_bucket{worker="w",le="0.025"})"), 2.0);
  EXPECT_EQ(e.value(R"(fluid_handler_latency_seconds_bucket{worker="w",le="1"})"), 3.0);
  EXPECT_EQ(e.value(R"(fluid_handler_latency_seconds_bucket{worker="w",le="1e-06"})"), std::nullopt);
  EXPECT_EQ(count_lines_starting(text, "fluid_handler_latency_seconds_bucket{"), default_latency_buckets().size() + 1);
}

TEST(Metrics, LatencyBucketsMustBeIncreasingBoundsTheHandlersRecord) {
  EXPECT_NO_THROW(check_latency_buckets(default_latency_buckets()));
  EXPECT_NO_THROW(check_latency_buckets(supported_latency_buckets()));
  EXPECT_NO_THROW(check_latency_buckets({0.001, 0.1}));
  EXPECT_THROW(check_latency_buckets({0.1, 0.001}), FluidError);
  try {
    check_latency_buckets({0.003});
    ADD_FAILURE() << "0.003 is not on the grid";
  } catch (const FluidError& e) {
    EXPECT_NE(std::string(e.what()).find("latency bucket 0.003 is not one the handlers record (1e-06, 2.5e-06"),
              std::string::npos)
        << e.what();
  }
}

TEST(Metrics, LatencyQuantilesInterpolateWithinTheirBucketAsPrometheusDoes) {
  const nlohmann::json latency{{"count", 100}, {"sum_seconds", 1.0},
                               {"buckets", {{"0.001", 0}, {"0.01", 50}, {"0.1", 100}, {"+Inf", 100}}}};
  EXPECT_NEAR(*latency_quantile(latency, 0.5), 0.01, 1e-12);
  EXPECT_NEAR(*latency_quantile(latency, 0.25), 0.0055, 1e-12);
  EXPECT_NEAR(*latency_quantile(latency, 0.99), 0.01 + 0.09 * 0.98, 1e-12);
  EXPECT_EQ(latency_quantile(nlohmann::json{{"count", 0}, {"buckets", nlohmann::json::object()}}, 0.5), std::nullopt);
  EXPECT_EQ(latency_quantile(nlohmann::json::object(), 0.5), std::nullopt);
}
