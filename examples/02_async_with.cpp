// 02: aio-fluid's `async with worker:`. fluid::async_with starts the worker,
// runs a body while it runs, and shuts the worker down on every exit path,
// here a normal return and an exception. The worker's resource is a plain
// RAII object inside run(): opened when run() starts, closed when it returns.

#include <fluid/fluid.hpp>

#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

// Stands for a connection, a file, a subscription...
class Connection {
 public:
  explicit Connection(std::string name) : name_(std::move(name)) { std::cout << name_ << ": opened" << std::endl; }
  ~Connection() { std::cout << name_ << ": closed after " << pings_ << " ping(s)" << std::endl; }
  void ping() { ++pings_; }

 private:
  std::string name_;
  int pings_ = 0;
};

class Pinger : public fluid::Worker {
 public:
  using fluid::Worker::Worker;

 protected:
  fluid::Task<> run() override {
    Connection connection(worker_name());  // lives exactly as long as run()
    while (is_running()) {
      connection.ping();
      co_await sleep_while_running(100ms);  // ends early when asked to stop
    }
  }
};

fluid::Task<> amain() {
  Pinger first({.name = "first"});
  co_await fluid::async_with(first, [](Pinger& worker) -> fluid::Task<> {
    std::cout << "body: " << worker.worker_name() << " is " << to_string(worker.worker_state()) << std::endl;
    co_await fluid::sleep(250ms);
  });
  std::cout << "after: first is " << to_string(first.worker_state()) << std::endl;

  Pinger second({.name = "second"});
  try {
    co_await fluid::async_with(second, [](Pinger&) -> fluid::Task<> {
      co_await fluid::sleep(50ms);
      throw std::runtime_error("the body failed");
    });
  } catch (const std::runtime_error& e) {
    std::cout << "caught: " << e.what() << "; second is " << to_string(second.worker_state()) << std::endl;
  }
}

int main() { fluid::run(amain()); }
