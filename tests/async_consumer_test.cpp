// AsyncConsumer: a queue consumer handing each message to an AsyncDispatcher.

#include "support/workers.hpp"

#include <fluid/async_consumer.hpp>

#include <gtest/gtest.h>

#include <algorithm>

using namespace fluid;
using namespace fluid::test;

namespace {

struct Order {
  std::string type;
  int id = 0;
};

class OrderDispatcher : public AsyncDispatcher<Order> {
 public:
  std::string event_type(const Order& order) const override { return order.type; }
};

}  // namespace

TEST(AsyncConsumer, DispatchesEveryMessageToTheHandlersOfItsType) {
  fluid::run([]() -> Task<> {
    auto dispatcher = std::make_shared<OrderDispatcher>();
    std::vector<int> created, audited, paid;
    dispatcher->register_handler("created", [&](const Order& o) -> Task<> {
      co_await sleep(1ms);
      created.push_back(o.id);
    });
    dispatcher->register_handler("created.audit", [&](const Order& o) -> Task<> {
      audited.push_back(o.id);
      co_return;
    });
    dispatcher->register_handler("paid", [&](const Order& o) -> Task<> {
      paid.push_back(o.id);
      co_return;
    });
    AsyncConsumer<Order> consumer(dispatcher);
    consumer.send({"created", 1});
    consumer.send({"paid", 2});
    consumer.send({"unknown", 3});
    co_await consumer.startup();
    consumer.send({"created", 4});
    co_await consumer.shutdown();
    EXPECT_EQ(created, (std::vector<int>{1, 4}));
    EXPECT_EQ(audited, (std::vector<int>{1, 4}));
    EXPECT_EQ(paid, (std::vector<int>{2}));
    EXPECT_EQ(consumer.processed_count(), 4u);
    EXPECT_EQ(consumer.worker_name(), "async_consumer");
  }());
}

TEST(AsyncConsumer, AFailingHandlerFailsTheConsumerAndCountsTheRestAsDropped) {
  fluid::run([]() -> Task<> {
    auto dispatcher = std::make_shared<OrderDispatcher>();
    dispatcher->register_handler("bad", [](const Order&) -> Task<> {
      co_await sleep(1ms);
      throw std::runtime_error("handler broke");
    });
    AsyncConsumer<Order> consumer(dispatcher);
    consumer.send({"bad", 1});
    consumer.send({"bad", 2});
    co_await consumer.startup();
    EXPECT_THROW(co_await consumer.wait_for_shutdown(), std::runtime_error);
    EXPECT_EQ(consumer.dropped_count(), 1u);
  }());
}

TEST(AsyncConsumer, NullDispatcherIsRejected) {
  EXPECT_THROW(AsyncConsumer<Order>(nullptr), FluidError);
}

TEST(AsyncConsumer, ConcurrencyDispatchesSeveralMessagesAtOnce) {
  fluid::run([]() -> Task<> {
    auto dispatcher = std::make_shared<OrderDispatcher>();
    int in_flight = 0;
    int most_in_flight = 0;
    dispatcher->register_handler("created", [&](const Order&) -> Task<> {
      most_in_flight = std::max(most_in_flight, ++in_flight);
      co_await sleep(10ms);
      --in_flight;
    });
    AsyncConsumer<Order> consumer(dispatcher, {}, {.concurrency = 4});
    for (int i = 0; i < 8; ++i) consumer.send({"created", i});
    co_await consumer.startup();
    co_await consumer.shutdown();
    EXPECT_EQ(most_in_flight, 4);
    EXPECT_EQ(consumer.processed_count(), 8u);
  }());
}
