// 08: serve(), a service's whole main(). A ticker and a queue consumer in one
// group; serve() runs them on two threads until SIGINT or SIGTERM, stops them
// gracefully (a second signal forces them), logs a report of every worker that
// did not stop cleanly and returns the exit code: 0 for a clean stop, 1 if a
// worker had to be forced, 2 if one failed. It also gives the program a command
// line (--help, --version, --threads, --grace-period...). With DURATION=<seconds>
// the program sends itself SIGTERM after that long, as `kill` or systemd would.
//
//   $ DURATION=1 ./08_serve          # or: ./08_serve, then Ctrl-C
//   consumer: hello
//   tick 1
//   ...
//   ticker: asked to stop, returning
//   08_serve: serve() returned 0

#include <fluid/fluid.hpp>

#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

using namespace std::chrono_literals;

class Ticker : public fluid::Worker {
 protected:
  fluid::Task<> run() override {
    for (int n = 1; is_running(); ++n) {
      std::cout << "tick " << n << std::endl;
      const bool running = co_await sleep_while_running(200ms);
      if (!running) break;
    }
    std::cout << worker_name() << ": asked to stop, returning" << std::endl;
  }
};

// Stands in for `kill -TERM <pid>`: raises SIGTERM once `after` has passed.
class Alarm : public fluid::Worker {
 public:
  explicit Alarm(std::chrono::milliseconds after) : Worker({.name = "alarm"}), after_(after) {}

 protected:
  fluid::Task<> run() override {
    const bool running = co_await sleep_while_running(after_);
    if (running) std::raise(SIGTERM);
    co_await stop_requested();
  }

 private:
  std::chrono::milliseconds after_;
};

int main(int argc, char** argv) {
  std::optional<std::chrono::milliseconds> duration;
  try {
    if (const auto text = fluid::env("DURATION")) duration = fluid::parse_seconds(*text, "DURATION");
  } catch (const std::exception& e) {
    std::cerr << "08_serve: " << e.what() << std::endl;
    return fluid::exit_failed;
  }

  auto consumer = std::make_shared<fluid::QueueConsumerWorker<std::string>>(
      [](std::string message) -> fluid::Task<> {
        std::cout << "consumer: " << message << std::endl;
        co_return;
      },
      fluid::WorkerOptions{.name = "consumer"});
  consumer->send("hello");  // any thread, even before startup
  fluid::Workers service({consumer, std::make_shared<Ticker>()}, {.name = "service"});
  if (duration) service.add_workers(std::make_shared<Alarm>(*duration));

  const int code = fluid::serve(argc, argv, service,
                                {.threads = 2, .version = "1.0", .description = "08_serve: a ticker and a consumer"});
  std::cout << "08_serve: serve() returned " << code << std::endl;
  return code;
}
