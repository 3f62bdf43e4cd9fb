// 05: a Workers group. A WorkerFunction ticks and feeds a queue consumer; a
// third child fails after a while. The failure stops the whole group (every
// child, at once), and the group's wait_for_shutdown() rethrows it: nothing
// fails silently. status() then tells how each child ended.

#include <fluid/fluid.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

// Stands for a connection that drops: runs a while, then throws.
class FlakyClient : public fluid::Worker {
 public:
  using fluid::Worker::Worker;

 protected:
  fluid::Task<> run() override {
    co_await sleep_while_running(300ms);
    if (is_running()) throw std::runtime_error("connection reset by peer");
  }
};

fluid::Task<> amain() {
  auto consumer = std::make_shared<fluid::QueueConsumerWorker<int>>(
      [](int tick) -> fluid::Task<> {
        std::cout << "consumer: got tick " << tick << std::endl;
        co_return;
      },
      fluid::WorkerOptions{.name = "consumer"});
  int ticks = 0;
  auto ticker = std::make_shared<fluid::WorkerFunction>(
      [&ticks, consumer]() -> fluid::Task<> {
        consumer->try_send(++ticks);  // SendResult::closed once the consumer has closed its queue
        co_return;
      },
      100ms, fluid::WorkerOptions{.name = "ticker"});
  fluid::Workers group({ticker, consumer, std::make_shared<FlakyClient>()}, {.name = "group"});

  co_await group.startup();
  std::cout << "group: running " << group.num_workers() << " workers" << std::endl;
  try {
    co_await group.wait_for_shutdown();
    std::cout << "group: stopped without error" << std::endl;
  } catch (const std::exception& e) {
    std::cout << "group: stopped, rethrew \"" << e.what() << "\"" << std::endl;
  }
  std::cout << "group: " << to_string(group.worker_state()) << ", " << to_string(*group.stop_reason()) << std::endl;
  const auto status = co_await group.status();  // {"<child>": {"state": ..., "stop_reason": ...}, ...}
  for (const auto& [name, child] : status.items()) {
    std::cout << "  " << name << ": " << child["state"].get<std::string>() << ", "
              << child["stop_reason"].get<std::string>() << std::endl;
  }
}

int main() {
  try {
    fluid::run(amain());
  } catch (const std::exception& e) {
    std::cerr << "05_worker_group: " << e.what() << std::endl;
    return 1;
  }
}
