// The service the browser test drives: the example tasks on a scheduler and
// a TaskApiServer on 127.0.0.1 (a free port), in one group under serve(),
// like the demo. Prints "dashboard: http://127.0.0.1:PORT/" once listening
// and runs until SIGTERM. DASHBOARD_ACTIONS=1 turns the actions on.

#include "tasks.hpp"

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <atomic>
#include <cstdio>
#include <memory>

int main() {
  const bool actions = fluid::env("DASHBOARD_ACTIONS").value_or("0") == "1";
  fluid::Workers root({}, {.name = "dashboard_service"});
  auto scheduler = fluid::examples::task_scheduler({.broker_url = "memory://"}, {.name = "scheduler"});
  auto api = std::make_shared<fluid::TaskApiServer>(
      *scheduler, fluid::TaskApiOptions{.http = {.address = "127.0.0.1", .port = 0}, .actions = actions, .target = &root});
  root.add_workers(api);
  root.add_workers(scheduler);
  // Printed once the server is bound (at the first change after that):
  // the test reads it to find the page.
  std::atomic<bool> announced{false};
  const auto announce = root.subscribe([&api, &announced](const fluid::StateChange&) {
    if (api->port() != 0 && !announced.exchange(true)) {
      std::printf("dashboard: %s\n", api->url().c_str());
      std::fflush(stdout);
    }
  });
  return fluid::serve(root);
}
