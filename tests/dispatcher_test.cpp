#include <fluid/dispatcher.hpp>
#include <fluid/errors.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

/// A message that carries its own event type.
struct Message {
  std::string type;
  int value = 0;
};

/// Routes each message by its `type` field.
class MessageDispatcher : public fluid::Dispatcher<Message> {
 public:
  std::string event_type(const Message& message) const override { return message.type; }
};

using Handler = MessageDispatcher::handler_type;

/// A handler that appends `name` to `calls`.
Handler recorder(std::vector<std::string>& calls, std::string name) {
  return [&calls, name](const Message&) { calls.push_back(name); };
}

TEST(Dispatcher, DispatchesToNothingBeforeAnyHandlerIsRegistered) {
  MessageDispatcher dispatcher;
  EXPECT_EQ(dispatcher.dispatch({"order"}), 0u);
}

TEST(Dispatcher, ReturnsZeroForAnEventTypeWithNoHandler) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order", recorder(calls, "order"));
  EXPECT_EQ(dispatcher.dispatch({"payment"}), 0u);
  EXPECT_TRUE(calls.empty());
}

TEST(Dispatcher, RegisteringANewEventReturnsAnEmptyFunction) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  EXPECT_FALSE(dispatcher.register_handler("order", recorder(calls, "first")));
}

TEST(Dispatcher, RegisteringTheSameEventAgainReturnsTheReplacedHandler) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order.audit", recorder(calls, "first"));
  const auto replaced = dispatcher.register_handler("order.audit", recorder(calls, "second"));
  ASSERT_TRUE(replaced);
  replaced(Message{"order"});
  EXPECT_EQ(dispatcher.dispatch({"order"}), 1u);
  EXPECT_EQ(calls, (std::vector<std::string>{"first", "second"}));
}

TEST(Dispatcher, UnregisteringReturnsTheRemovedHandler) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order", recorder(calls, "order"));
  const auto removed = dispatcher.unregister_handler("order");
  ASSERT_TRUE(removed);
  removed(Message{"order"});
  EXPECT_EQ(calls, (std::vector<std::string>{"order"}));
  EXPECT_EQ(dispatcher.dispatch({"order"}), 0u);
}

TEST(Dispatcher, UnregisteringAnUnknownEventReturnsAnEmptyFunction) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order", recorder(calls, "order"));
  EXPECT_FALSE(dispatcher.unregister_handler("payment"));
  EXPECT_FALSE(dispatcher.unregister_handler("order.audit"));
  EXPECT_EQ(dispatcher.dispatch({"order"}), 1u);
}

TEST(Dispatcher, CallsEveryHandlerOfTheEventTypeWhateverItsTag) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order", recorder(calls, "order"));
  dispatcher.register_handler("order.audit", recorder(calls, "order.audit"));
  dispatcher.register_handler("order.email", recorder(calls, "order.email"));
  dispatcher.register_handler("payment.audit", recorder(calls, "payment.audit"));
  EXPECT_EQ(dispatcher.dispatch({"order"}), 3u);
  EXPECT_EQ(calls, (std::vector<std::string>{"order", "order.audit", "order.email"}));
}

TEST(Dispatcher, PassesTheMessageToTheHandler) {
  MessageDispatcher dispatcher;
  int seen = 0;
  dispatcher.register_handler("order", [&](const Message& message) { seen = message.value; });
  dispatcher.dispatch({"order", 42});
  EXPECT_EQ(seen, 42);
}

TEST(Dispatcher, AReplacedHandlerKeepsItsPlaceInTheCallOrder) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order.a", recorder(calls, "a"));
  dispatcher.register_handler("order.b", recorder(calls, "b"));
  dispatcher.register_handler("order.a", recorder(calls, "new a"));
  dispatcher.dispatch({"order"});
  EXPECT_EQ(calls, (std::vector<std::string>{"new a", "b"}));
}

TEST(Dispatcher, TagsOfOneTypeAreReplacedAndRemovedIndependently) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order", recorder(calls, "untagged"));
  dispatcher.register_handler("order.audit", recorder(calls, "audit"));
  EXPECT_TRUE(dispatcher.unregister_handler("order"));
  EXPECT_EQ(dispatcher.dispatch({"order"}), 1u);
  EXPECT_EQ(calls, (std::vector<std::string>{"audit"}));
}

TEST(Dispatcher, RejectsMalformedEventsOnRegistrationAndRemoval) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  for (const char* bad : {"", ".audit", "order.", "order.audit.extra"}) {
    EXPECT_THROW(dispatcher.register_handler(bad, recorder(calls, "x")), fluid::FluidError) << bad;
    EXPECT_THROW(dispatcher.unregister_handler(bad), fluid::FluidError) << bad;
  }
}

TEST(Dispatcher, RejectsAnEmptyHandler) {
  MessageDispatcher dispatcher;
  EXPECT_THROW(dispatcher.register_handler("order", Handler{}), fluid::FluidError);
  EXPECT_EQ(dispatcher.dispatch({"order"}), 0u);
}

TEST(Dispatcher, StopsAtTheFirstHandlerThatThrows) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order.a", [](const Message&) { throw std::runtime_error("boom"); });
  dispatcher.register_handler("order.b", recorder(calls, "b"));
  EXPECT_THROW(dispatcher.dispatch({"order"}), std::runtime_error);
  EXPECT_TRUE(calls.empty());
}

TEST(Dispatcher, AHandlerMayUnregisterItselfWhileBeingCalled) {
  MessageDispatcher dispatcher;
  std::vector<std::string> calls;
  dispatcher.register_handler("order.once", [&](const Message&) {
    calls.push_back("once");
    dispatcher.unregister_handler("order.once");  // destroys nothing still running
  });
  dispatcher.register_handler("order.always", recorder(calls, "always"));
  EXPECT_EQ(dispatcher.dispatch({"order"}), 2u);
  EXPECT_EQ(dispatcher.dispatch({"order"}), 1u);
  EXPECT_EQ(calls, (std::vector<std::string>{"once", "always", "always"}));
}

TEST(Dispatcher, RegistrationFromAnotherThreadIsSafeDuringDispatch) {
  MessageDispatcher dispatcher;
  std::atomic<int> calls = 0;
  dispatcher.register_handler("order", [&](const Message&) { ++calls; });
  std::atomic<bool> done = false;
  std::thread registrar([&] {
    for (int i = 0; !done; ++i) {
      dispatcher.register_handler("order.churn", [&calls, i](const Message&) { calls += i >= 0 ? 1 : 0; });
      dispatcher.unregister_handler("order.churn");
    }
  });
  std::size_t dispatched = 0;
  for (int i = 0; i < 20000; ++i) dispatched += dispatcher.dispatch({"order"});
  done = true;
  registrar.join();
  EXPECT_EQ(static_cast<std::size_t>(calls.load()), dispatched);
  EXPECT_GE(dispatched, 20000u);
}

}  // namespace
