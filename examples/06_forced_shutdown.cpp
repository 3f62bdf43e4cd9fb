// 06: a forced shutdown. Two workers in a group: a polite one that stops as
// soon as it is asked, and a stubborn one whose run() waits with fluid::sleep(),
// which a stop request does not cut short. The group's shutdown() asks both to
// stop; the stubborn one gets its grace period (300 ms here), then its run() is
// cancelled: the pending wait throws operation_aborted, destructors and
// on_shutdown() still run, and it ends force_stopped with stop reason forced.
// A forced child makes the group's stop forced too, whose exit code, 1, is the
// process's (what serve() would return).
//
//   $ ./06_forced_shutdown
//   stubborn: running, deaf to stop requests
//   main: asking the group to stop
//   polite: asked to stop, returning
//   stubborn: run() unwound by a forced stop (Operation canceled)
//   stubborn: on_shutdown() still runs
//   stubborn: after_shutdown("forced shutdown", 1)
//   main: waited stubborn's grace period of 300ms in full: yes
//   main: polite stopped (normal), stubborn force_stopped (forced)
//   main: report: group/stubborn forced (did not stop within its grace period of 300ms)
//   main: exit code 1

#include <fluid/fluid.hpp>

#include <boost/system/system_error.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <string_view>

using namespace std::chrono_literals;

class Polite : public fluid::Worker {
 public:
  Polite() : Worker({.name = "polite"}) {}

 protected:
  fluid::Task<> run() override {
    while (is_running()) {
      const bool running = co_await sleep_while_running(1h);  // ends at once on a stop request
      if (!running) break;
    }
    std::cout << "polite: asked to stop, returning" << std::endl;
  }
};

class Stubborn : public fluid::Worker {
 public:
  Stubborn() : Worker({.name = "stubborn", .stopping_grace_period = 300ms}) {}

 protected:
  fluid::Task<> run() override {
    std::cout << "stubborn: running, deaf to stop requests" << std::endl;
    try {
      co_await fluid::sleep(1h);  // never looks at is_running()
    } catch (const boost::system::system_error& e) {
      std::cout << "stubborn: run() unwound by a forced stop (" << e.code().message() << ")" << std::endl;
      throw;
    }
  }
  fluid::Task<> on_shutdown() override {
    std::cout << "stubborn: on_shutdown() still runs" << std::endl;
    co_return;
  }
  void after_shutdown(std::string_view reason, int code) override {
    std::cout << "stubborn: after_shutdown(\"" << reason << "\", " << code << ")" << std::endl;
  }
};

std::string outcome(const fluid::Worker& worker) {
  return worker.worker_name() + " " + std::string(to_string(worker.worker_state())) + " (" +
         std::string(to_string(*worker.stop_reason())) + ")";
}

fluid::Task<int> amain() {
  auto polite = std::make_shared<Polite>();
  auto stubborn = std::make_shared<Stubborn>();
  // The group's own grace period outlasts the stubborn child's, so the child
  // gets its own in full (a group forced first would cut it short).
  fluid::Workers group({polite, stubborn}, {.name = "group", .stopping_grace_period = 5s});
  co_await group.startup();

  std::cout << "main: asking the group to stop" << std::endl;
  const auto asked = std::chrono::steady_clock::now();
  co_await group.shutdown();  // returns once every child has stopped, forced or not
  const auto waited = std::chrono::steady_clock::now() - asked;

  std::cout << "main: waited stubborn's grace period of 300ms in full: "
            << (waited >= stubborn->stopping_grace_period() ? "yes" : "no") << std::endl;
  std::cout << "main: " << outcome(*polite) << ", " << outcome(*stubborn) << std::endl;
  for (const auto& line : fluid::shutdown_report(group)) {  // what serve() logs at exit
    std::cout << "main: report: " << line.path << " " << to_string(line.reason) << " (" << line.detail << ")"
              << std::endl;
  }
  co_return fluid::exit_code(*group.stop_reason());
}

int main() {
  try {
    const int code = fluid::run(amain());
    std::cout << "main: exit code " << code << std::endl;
    return code;
  } catch (const std::exception& e) {
    std::cerr << "06_forced_shutdown: " << e.what() << std::endl;
    return 2;
  }
}
