#include "support/workers.hpp"

#include <cstdlib>

namespace fluid::test {

Task<bool> wait_until_starting(SlowToStart& worker) {
  co_return co_await worker.in_startup.wait_until([&] { return worker.starting.load(); }, fluid::detail::deadline_after(5s));
}

Task<bool> wait_for_tree(Worker& worker, std::function<bool()> condition, std::chrono::milliseconds timeout) {
  auto changed = std::make_shared<fluid::detail::Notifier>();
  auto subscription = worker.subscribe([changed](const StateChange&) { changed->notify_all(); });
  co_return co_await changed->wait_until(condition, fluid::detail::deadline_after(timeout));
}

ScopedEnv::ScopedEnv(const char* name, const char* value) : name_(name), previous_(env(name)) {
  if (value) {
    ::setenv(name, value, 1);
  } else {
    ::unsetenv(name);
  }
}

ScopedEnv::~ScopedEnv() {
  if (previous_) {
    ::setenv(name_.c_str(), previous_->c_str(), 1);
  } else {
    ::unsetenv(name_.c_str());
  }
}

}  // namespace fluid::test
