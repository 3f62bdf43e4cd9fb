// 03: a QueueConsumerWorker fed from two sides at once: a plain std::thread and
// a coroutine both send() to it. The thread asks the consumer to stop while
// messages are still queued; the consumer drains them before it returns, so
// every message accepted is processed and none is dropped.

#include <fluid/fluid.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;

fluid::Task<> amain() {
  int handled = 0;  // touched only by the consumer's own coroutine
  fluid::QueueConsumerWorker<std::string> consumer(
      [&handled](std::string /*message*/) -> fluid::Task<> {
        ++handled;
        co_await fluid::sleep(1ms);  // slower than both producers together: a backlog builds up
      },
      {.name = "printer"});
  consumer.send("sent before startup");  // kept and consumed once started
  co_await consumer.startup();

  // The thread sends 100 messages, then asks for a graceful stop: both calls
  // are safe from any thread and never block.
  std::thread producer([&consumer] {
    for (int i = 0; i < 100; ++i) {
      consumer.send("from the thread #" + std::to_string(i));
      std::this_thread::sleep_for(500us);
    }
    std::cout << "thread: stop requested with " << consumer.queue_size() << " message(s) queued" << std::endl;
    consumer.gracefully_stop();
  });

  // The coroutine sends 50 more meanwhile. While stopping, the consumer still
  // accepts messages until its drain closes the queue; after that try_send()
  // returns SendResult::closed, which tests false (send() would throw
  // QueueClosedError).
  int accepted_here = 0;
  for (int i = 0; i < 50; ++i) {
    if (consumer.try_send("from the coroutine #" + std::to_string(i))) ++accepted_here;
    co_await fluid::sleep(1ms);
  }
  co_await consumer.wait_for_shutdown();
  producer.join();  // it returned right after gracefully_stop()

  const auto sent = 1 + 100 + accepted_here;
  std::cout << "coroutine: " << accepted_here << " message(s) accepted before the queue closed\n"
            << "sent " << sent << ", handled " << handled << ", processed " << consumer.processed_count()
            << ", dropped " << consumer.dropped_count() << "; consumer " << to_string(consumer.worker_state())
            << std::endl;
  if (static_cast<std::uint64_t>(sent) != consumer.processed_count() || handled != sent) {
    throw std::runtime_error("a message was lost");
  }
}

int main() {
  try {
    fluid::run(amain());
  } catch (const std::exception& e) {
    std::cerr << "03_queue_consumer: " << e.what() << std::endl;
    return 1;
  }
}
