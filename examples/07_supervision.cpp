// 07: supervision. A group restarts its failing children: each is added with
// add_supervised(), a factory making a fresh instance per (re)start and a
// restart policy (on_failure: restarted when it throws). Before each restart
// the group pauses for a backoff (50 ms, then doubling, capped at 200 ms; no
// jitter, so the output is the same every run), within a restart intensity of
// at most 3 restarts per child in 10 s. `flaky` fails once and then runs
// healthily; `broken` fails every time, so its fourth failure is one too many:
// the group gives up, stops every child and fails with RestartLimitExceeded,
// which wait_for_shutdown() rethrows. The events come from subscribe_supervision().
//
//   $ ./07_supervision
//   flaky #1: failing
//   broken #1: failing
//   supervision: restart_scheduled flaky in 50ms (flaky #1 lost its connection)
//   ...
//   supervision: gave_up broken after 3 restarts (broken #4 lost its connection)
//   main: the group gave up: group service: child broken stopped 4 times within 10000ms, ...
//   main: flaky ran 2 instances, broken 4

#include <fluid/fluid.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

// A connection that drops after a moment, `failures` times, then holds.
class Client : public fluid::Worker {
 public:
  Client(std::string name, int instance, int failures)
      : Worker({.name = name}), label_(name + " #" + std::to_string(instance)), fails_(instance <= failures) {}

 protected:
  fluid::Task<> run() override {
    const bool running = co_await sleep_while_running(20ms);
    if (running && fails_) {
      std::cout << label_ << ": failing" << std::endl;
      throw std::runtime_error(label_ + " lost its connection");
    }
    co_await stop_requested();
  }

 private:
  std::string label_;
  bool fails_;
};

std::string message_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  }
}

void print(const fluid::SupervisionEvent& event) {
  std::cout << "supervision: " << to_string(event.kind) << " " << event.child;
  if (event.kind == fluid::SupervisionEvent::Kind::restart_scheduled) std::cout << " in " << event.delay.count() << "ms";
  if (event.kind == fluid::SupervisionEvent::Kind::gave_up) std::cout << " after " << event.restarts << " restarts";
  if (event.error) std::cout << " (" << message_of(event.error) << ")";
  std::cout << std::endl;
}

fluid::Task<> amain() {
  fluid::Workers group({}, {.name = "service",
                              .restart_intensity = {.max_restarts = 3, .period = 10s},
                              .backoff = {.initial = 50ms, .max = 200ms, .multiplier = 2.0},
                              .jitter = fluid::no_jitter()});
  int flaky = 0;
  int broken = 0;
  group.add_supervised([&flaky] { return std::make_shared<Client>("flaky", ++flaky, 1); },
                       fluid::RestartPolicy::on_failure);
  group.add_supervised([&broken] { return std::make_shared<Client>("broken", ++broken, 1'000); },
                       fluid::RestartPolicy::on_failure);
  const auto subscription = group.subscribe_supervision(print);

  co_await group.startup();
  try {
    co_await group.wait_for_shutdown();
    std::cout << "main: the group stopped without error" << std::endl;
  } catch (const fluid::RestartLimitExceeded& e) {
    std::cout << "main: the group gave up: " << e.what() << std::endl;
  }
  std::cout << "main: flaky ran " << flaky << " instances, broken " << broken << std::endl;
}

int main() {
  try {
    fluid::run(amain());
  } catch (const std::exception& e) {
    std::cerr << "07_supervision: " << e.what() << std::endl;
    return 1;
  }
}
