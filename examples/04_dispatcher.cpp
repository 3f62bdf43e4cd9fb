// 04: dispatchers, aio-fluid's two examples ported. A "*" dispatcher sends
// every string to all its handlers, a second one added under a tag; a
// dispatcher keyed by the message's type calls only that type's handlers.
// Last, an AsyncDispatcher awaits coroutine handlers concurrently.

#include <fluid/async_dispatcher.hpp>
#include <fluid/dispatcher.hpp>
#include <fluid/task.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

using namespace std::chrono_literals;

// aio-fluid's examples assert how many handlers were called; so does this one, in any build.
void expect_called(std::size_t called, std::size_t expected) {
  if (called == expected) return;
  std::cerr << called << " handlers called, not " << expected << std::endl;
  std::exit(1);
}

// Every string has the event type "*".
class SimpleDispatcher : public fluid::Dispatcher<std::string> {
 public:
  std::string event_type(const std::string&) const override { return "*"; }
};

// The event type of a message is the name of its type.
using Data = std::variant<std::map<std::string, int>, std::vector<int>>;
class DataDispatcher : public fluid::Dispatcher<Data> {
 public:
  std::string event_type(const Data& data) const override { return data.index() == 0 ? "dict" : "list"; }
};

// Coroutine handlers of one event type run concurrently: 30 and 50 ms sleeps take 50 ms.
class Alarms : public fluid::AsyncDispatcher<std::string> {
 public:
  std::string event_type(const std::string&) const override { return "alarm"; }
};

int main() {
  SimpleDispatcher simple;
  const std::string text = "you can dispatch strings to this dispatcher";
  expect_called(simple.dispatch(text), 0);
  simple.register_handler("*", [](const std::string& x) {
    std::istringstream words(x);
    std::cout << "number of words " << std::distance(std::istream_iterator<std::string>(words), {}) << std::endl;
  });
  expect_called(simple.dispatch(text), 1);
  simple.register_handler("*.count_letters", [](const std::string& x) {
    std::cout << "number of letters " << std::set<char>(x.begin(), x.end()).size() << std::endl;
  });
  expect_called(simple.dispatch(text), 2);

  DataDispatcher data;
  expect_called(data.dispatch(Data{std::map<std::string, int>{}}), 0);
  data.register_handler("dict", [](const Data& d) { std::cout << "number of keys " << std::get<0>(d).size() << "\n"; });
  expect_called(data.dispatch(Data{std::map<std::string, int>{{"a", 1}, {"b", 2}}}), 1);
  expect_called(data.dispatch(Data{std::vector<int>{1, 2, 3}}), 0);

  Alarms alarms;
  for (const auto delay : {30ms, 50ms}) {
    alarms.register_handler("alarm." + std::to_string(delay.count()),
                            [delay](const std::string&) -> fluid::Task<> { co_await fluid::sleep(delay); });
  }
  fluid::run([&]() -> fluid::Task<> {
    const std::string message = "wake up";
    const auto start = std::chrono::steady_clock::now();
    expect_called(co_await alarms.dispatch(message), 2);
    std::cout << "both alarms rang within " << (std::chrono::steady_clock::now() - start) / 1ms << " ms\n";
  }());
}
