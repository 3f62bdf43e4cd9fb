// 01: the smallest worker, aio-fluid's SimpleWorker. It prints a message about
// once a second while running; main starts it, asks it to stop gracefully from
// a timer after DURATION seconds (default 5) and waits for it to finish.
//
//   $ DURATION=2 ./01_simple_worker
//   Hello from simple_worker in state init
//   Hello from simple_worker in state running
//   Hello from simple_worker in state running
//   Hello from simple_worker in state stopped

#include <fluid/fluid.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <iostream>

using namespace std::chrono_literals;

class SimpleWorker : public fluid::Worker {
 public:
  void print_message() const {
    std::cout << "Hello from " << worker_name() << " in state " << to_string(worker_state()) << std::endl;
  }

 protected:
  fluid::Task<> run() override {
    while (is_running()) {
      print_message();
      co_await fluid::sleep(1s);
    }
  }
};

fluid::Task<> amain(std::chrono::milliseconds duration) {
  SimpleWorker worker;
  worker.print_message();
  co_await worker.startup();
  boost::asio::steady_timer stop_later(co_await boost::asio::this_coro::executor, duration);
  stop_later.async_wait([&worker](boost::system::error_code ec) {
    if (!ec) worker.gracefully_stop();
  });
  co_await worker.wait_for_shutdown();
  worker.print_message();
}

int main() {
  try {
    fluid::run(amain(fluid::parse_seconds(fluid::env("DURATION").value_or("5"), "DURATION")));
  } catch (const std::exception& e) {
    std::cerr << "01_simple_worker: " << e.what() << std::endl;
    return 1;
  }
}
