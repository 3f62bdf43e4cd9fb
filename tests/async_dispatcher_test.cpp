#include <fluid/async_dispatcher.hpp>
#include <fluid/errors.hpp>
#include <fluid/task.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using fluid::Task;

/// A message that carries its own event type.
/// Inside coroutines the tests name their messages: g++ 12 destroys a braced
/// aggregate temporary twice when it is an argument of a co_await'ed call.
struct Message {
  std::string type;
  int value = 0;
};

/// Routes each message by its `type` field.
class MessageDispatcher : public fluid::AsyncDispatcher<Message> {
 public:
  std::string event_type(const Message& message) const override { return message.type; }
};

/// A one-shot flag coroutines can wait for, without polling.
class Flag {
 public:
  void set() {
    set_ = true;
    if (timer_) timer_->cancel();
  }

  Task<> wait() {
    if (set_) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    timer_ = &timer;
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    timer_ = nullptr;
    if (!set_) throw boost::system::system_error(asio::error::operation_aborted);
  }

 private:
  bool set_ = false;
  asio::steady_timer* timer_ = nullptr;
};

/// A coroutine handler that appends `name` to `calls` after sleeping `delay`.
MessageDispatcher::handler_type recorder(std::vector<std::string>& calls, std::string name,
                                         std::chrono::milliseconds delay = 0ms) {
  return [&calls, name, delay](const Message&) -> Task<> {
    if (delay > 0ms) co_await fluid::sleep(delay);
    calls.push_back(name);
  };
}

/// A coroutine handler that throws `what` after sleeping `delay`.
MessageDispatcher::handler_type thrower(std::string what, std::chrono::milliseconds delay) {
  return [what, delay](const Message&) -> Task<> {
    co_await fluid::sleep(delay);
    throw std::runtime_error(what);
  };
}

TEST(AsyncDispatcher, ReturnsZeroForAnEventTypeWithNoHandler) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order", recorder(calls, "order"));
  EXPECT_EQ(fluid::run(dispatcher.dispatch({"payment"})), 0u);
  EXPECT_TRUE(calls.empty());
}

TEST(AsyncDispatcher, AwaitsEveryHandlerOfTheEventTypeWhateverItsTag) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order", recorder(calls, "order", 3ms));
  dispatcher.register_handler("order.audit", recorder(calls, "audit", 1ms));
  dispatcher.register_handler("order.email", recorder(calls, "email"));
  dispatcher.register_handler("payment", recorder(calls, "payment"));
  EXPECT_EQ(fluid::run(dispatcher.dispatch({"order"})), 3u);
  EXPECT_EQ(calls, (std::vector<std::string>{"email", "audit", "order"}));
}

TEST(AsyncDispatcher, RegisteringReturnsTheReplacedHandlerAndUnregisteringTheRemovedOne) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  EXPECT_FALSE(dispatcher.register_handler("order.audit", recorder(calls, "first")));
  const auto replaced = dispatcher.register_handler("order.audit", recorder(calls, "second"));
  ASSERT_TRUE(replaced);
  const auto removed = dispatcher.unregister_handler("order.audit");
  ASSERT_TRUE(removed);
  EXPECT_FALSE(dispatcher.unregister_handler("order.audit"));
  fluid::run([&]() -> Task<> {
    const Message order{"order"};
    co_await replaced(order);
    co_await removed(order);
  }());
  EXPECT_EQ(calls, (std::vector<std::string>{"first", "second"}));
}

TEST(AsyncDispatcher, RejectsMalformedEventsAndEmptyHandlers) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  EXPECT_THROW(dispatcher.register_handler("order.audit.extra", recorder(calls, "x")), fluid::FluidError);
  EXPECT_THROW(dispatcher.register_handler("order", MessageDispatcher::handler_type{}), fluid::FluidError);
}

TEST(AsyncDispatcher, RunsHandlersConcurrentlySoTheyCanWaitForEachOther) {
  MessageDispatcher dispatcher;
  Flag ping, pong;
  dispatcher.register_handler("game.ping", [&](const Message&) -> Task<> {
    ping.set();
    co_await pong.wait();  // run one after the other, this would never end
  });
  dispatcher.register_handler("game.pong", [&](const Message&) -> Task<> {
    co_await ping.wait();
    pong.set();
  });
  const auto outcome = fluid::run([&]() -> Task<std::variant<std::size_t, std::monostate>> {
    const Message game{"game"};
    co_return co_await (dispatcher.dispatch(game) || fluid::sleep(5s));
  }());
  ASSERT_EQ(outcome.index(), 0u) << "the handlers deadlocked: they did not run concurrently";
  EXPECT_EQ(std::get<0>(outcome), 2u);
}

TEST(AsyncDispatcher, RethrowsTheFirstErrorAfterEveryHandlerFinished) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order.late", thrower("late", 5ms));
  dispatcher.register_handler("order.early", thrower("early", 1ms));
  dispatcher.register_handler("order.slow", recorder(calls, "slow", 20ms));
  try {
    fluid::run(dispatcher.dispatch({"order"}));
    FAIL() << "dispatch did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "early");
  }
  EXPECT_EQ(calls, (std::vector<std::string>{"slow"}));
}

TEST(AsyncDispatcher, RunsTheOtherHandlersWhenOneThrowsBeforeSuspending) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order.coroutine", [](const Message&) -> Task<> {
    throw std::runtime_error("coroutine");
    co_return;
  });
  dispatcher.register_handler("order.function", [](const Message&) -> Task<> {  // not a coroutine
    throw std::runtime_error("function");
  });
  dispatcher.register_handler("order.slow", recorder(calls, "slow", 2ms));
  EXPECT_THROW(fluid::run(dispatcher.dispatch({"order"})), std::runtime_error);
  EXPECT_EQ(calls, (std::vector<std::string>{"slow"}));
}

TEST(AsyncDispatcher, StartsHandlersInRegistrationOrderEachUntilItFirstSuspends) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  for (const std::string name : {"a", "b", "c"}) {
    dispatcher.register_handler("order." + name, [&calls, name](const Message&) -> Task<> {
      calls.push_back(name + " started");
      co_await fluid::sleep(0ms);
      calls.push_back(name + " resumed");
    });
  }
  fluid::run(dispatcher.dispatch({"order"}));
  EXPECT_EQ(calls, (std::vector<std::string>{"a started", "b started", "c started", "a resumed", "b resumed",
                                             "c resumed"}));
}

TEST(AsyncDispatcher, DoesNotYieldToTheLoopWhenNoHandlerSuspends) {
  MessageDispatcher dispatcher;
  int calls = 0;
  for (const std::string tag : {"a", "b", "c"}) {
    dispatcher.register_handler("order." + tag, [&calls](const Message&) -> Task<> {
      ++calls;
      co_return;
    });
  }
  bool others_ran = false;
  fluid::run([&]() -> Task<> {
    asio::post(co_await asio::this_coro::executor, [&] { others_ran = true; });
    const Message order{"order"};
    EXPECT_EQ(co_await dispatcher.dispatch(order), 3u);
    EXPECT_FALSE(others_ran) << "dispatch yielded although no handler suspended";
  }());
  EXPECT_EQ(calls, 3);
}

TEST(AsyncDispatcher, KeepsAReplacedHandlerAliveUntilItsRunningCoroutineFinishes) {
  MessageDispatcher dispatcher;
  std::vector<std::string> seen;
  auto greeting = std::make_shared<std::string>("hello from the first handler");
  dispatcher.register_handler("order", [&seen, greeting](const Message&) -> Task<> {
    co_await fluid::sleep(2ms);
    seen.push_back(*greeting);  // reads its closure after the replacement below
  });
  greeting.reset();
  fluid::run([&]() -> Task<> {
    asio::post(co_await asio::this_coro::executor, [&] {  // runs once the handler has suspended
      dispatcher.register_handler("order", [](const Message&) -> Task<> { co_return; });
    });
    const Message order{"order"};
    co_await dispatcher.dispatch(order);
  }());
  EXPECT_EQ(seen, (std::vector<std::string>{"hello from the first handler"}));
}

TEST(AsyncDispatcher, ForwardsCancellationToTheHandlersAndWaitsForThemAll) {
  MessageDispatcher dispatcher;
  std::vector<std::string> aborted;
  const auto sleeper = [&aborted](std::string tag) {
    return [&aborted, tag](const Message&) -> Task<> {
      try {
        co_await fluid::sleep(10s);
      } catch (const boost::system::system_error&) {
        aborted.push_back(tag);
        throw;
      }
    };
  };
  int quick_calls = 0;
  dispatcher.register_handler("order.a", sleeper("a"));
  dispatcher.register_handler("order.quick", [&quick_calls](const Message&) -> Task<> {  // finishes inline
    ++quick_calls;
    co_return;
  });
  dispatcher.register_handler("order.b", sleeper("b"));
  const auto start = std::chrono::steady_clock::now();
  const auto outcome = fluid::run([&]() -> Task<std::variant<std::size_t, std::monostate>> {
    const Message order{"order"};
    co_return co_await (dispatcher.dispatch(order) || fluid::sleep(5ms));
  }());
  EXPECT_EQ(outcome.index(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(aborted, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(quick_calls, 1);
}

TEST(AsyncDispatcher, AHandlerMayDispatchAgainOnTheSameDispatcher) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order", [&](const Message& message) -> Task<> {
    calls.push_back("order " + std::to_string(message.value));
    co_await fluid::sleep(0ms);
    const Message payment{"payment", message.value};
    co_await dispatcher.dispatch(payment);
  });
  dispatcher.register_handler("payment", recorder(calls, "payment", 1ms));
  fluid::run(dispatcher.dispatch({"order", 7}));
  EXPECT_EQ(calls, (std::vector<std::string>{"order 7", "payment"}));
}

TEST(AsyncDispatcher, RegistrationFromAnotherThreadIsSafeDuringDispatch) {
  MessageDispatcher dispatcher;
  int calls = 0;
  dispatcher.register_handler("order", [&calls](const Message&) -> Task<> {
    ++calls;
    co_await fluid::sleep(0ms);
  });
  std::atomic<bool> done = false;
  std::thread registrar([&] {
    for (int i = 0; !done; ++i) {
      dispatcher.register_handler("order.churn", [i](const Message&) -> Task<> {
        co_await fluid::sleep(0ms);
        (void)i;
      });
      dispatcher.unregister_handler("order.churn");
    }
  });
  const auto dispatched = fluid::run([&]() -> Task<std::size_t> {
    std::size_t total = 0;
    const Message order{"order"};
    for (int i = 0; i < 5000; ++i) total += co_await dispatcher.dispatch(order);
    co_return total;
  }());
  done = true;
  registrar.join();
  EXPECT_EQ(calls, 5000);
  EXPECT_GE(dispatched, 5000u);
}

}  // namespace
