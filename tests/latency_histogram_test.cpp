// LatencyHistogram's windowed recording, and the handler latency a consumer
// records with it: one clock read per window of fast handlers, yet every
// handler counted and a slow one still in its own bucket.

#include <fluid/detail/latency_histogram.hpp>
#include <fluid/queue_consumer.hpp>
#include <fluid/task.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

using namespace fluid;
using namespace std::chrono_literals;
using detail::LatencyHistogram;

namespace {

double bucket(const nlohmann::json& histogram, const std::string& le) {
  return histogram.at("buckets").at(le).get<double>();
}

}  // namespace

TEST(LatencyHistogram, AWindowWithinTheFirstBucketCountsEveryOperationThere) {
  LatencyHistogram histogram;
  histogram.record(800ns, 32);
  const auto out = histogram.to_json();
  EXPECT_EQ(out.at("count"), 32);
  EXPECT_EQ(bucket(out, "1e-06"), 32);
  EXPECT_NEAR(out.at("sum_seconds").get<double>(), 800e-9, 1e-12);
}

TEST(LatencyHistogram, ASlowWindowIsOneOutlierAmongFastOperations) {
  LatencyHistogram histogram;
  histogram.record(5ms, 10);
  const auto out = histogram.to_json();
  EXPECT_EQ(out.at("count"), 10);
  EXPECT_EQ(bucket(out, "1e-06"), 9);
  EXPECT_EQ(bucket(out, "0.001"), 9);
  EXPECT_EQ(bucket(out, "0.01"), 10);
  EXPECT_NEAR(out.at("sum_seconds").get<double>(), 0.005, 1e-12);
}

TEST(LatencyHistogram, OneOperationIsRecordedExactlyAsBefore) {
  LatencyHistogram histogram;
  histogram.record(50us);
  histogram.record(-1ns);  // a clock going backwards counts as zero
  const auto out = histogram.to_json();
  EXPECT_EQ(out.at("count"), 2);
  EXPECT_EQ(bucket(out, "1e-06"), 1);
  EXPECT_EQ(bucket(out, "0.0001"), 2);
  EXPECT_NEAR(out.at("sum_seconds").get<double>(), 50e-6, 1e-12);
}

TEST(LatencyHistogram, TheWindowGrowsWhileFastHoldsNearTheBoundAndDropsToOneWhenSlow) {
  EXPECT_EQ(LatencyHistogram::next_span(1, 100ns), 2u);
  EXPECT_EQ(LatencyHistogram::next_span(32, 400ns), 64u);
  EXPECT_EQ(LatencyHistogram::next_span(64, 100ns), 64u);  // at most 64
  EXPECT_EQ(LatencyHistogram::next_span(32, 900ns), 32u);  // within the first bucket: kept
  EXPECT_EQ(LatencyHistogram::next_span(32, 2us), 1u);     // left it: timed one by one
}

TEST(LatencyHistogram, AConsumerCountsEveryHandlerAndKeepsSlowOnesThatWaitedInTheirBucket) {
  fluid::run([]() -> Task<> {
    // 200 instant messages (timed in growing windows), then 3 that wait 20 ms
    // each: every one is counted, and the 3 slow ones land in (10 ms, 100 ms].
    QueueConsumerWorker<int> consumer([](int m) -> Task<> {
      if (m < 0) co_await fluid::sleep(20ms);
    });
    for (int m = 0; m < 200; ++m) consumer.send(m);
    for (int m = 0; m < 3; ++m) consumer.send(-1);
    co_await consumer.startup();
    nlohmann::json latency;
    for (int polls = 0; polls < 1000; ++polls) {
      const auto status = co_await consumer.status();
      if (status.contains("handler_latency") && status["handler_latency"]["count"] == 203) {
        latency = status["handler_latency"];
        break;
      }
      co_await fluid::sleep(5ms);
    }
    co_await consumer.shutdown();
    if (latency.is_null()) {
      ADD_FAILURE() << "the consumer did not record 203 handlers";
      co_return;
    }
    EXPECT_EQ(bucket(latency, "0.01"), 200) << latency.dump();
    EXPECT_EQ(bucket(latency, "0.1"), 203) << latency.dump();
    EXPECT_GE(latency.at("sum_seconds").get<double>(), 0.06);
  }());
}
