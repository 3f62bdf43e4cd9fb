#pragma once
// Tiny fixture workers shared by the tests, after aio-fluid's own test workers.

#include <fluid/detail/notifier.hpp>
// The runtime's headers, not the task queue's: its fluid::Clock (system
// time) would clash with the steady Clock the runtime tests name.
#include <fluid/async_consumer.hpp>
#include <fluid/async_dispatcher.hpp>
#include <fluid/async_with.hpp>
#include <fluid/config.hpp>
#include <fluid/dispatcher.hpp>
#include <fluid/errors.hpp>
#include <fluid/event.hpp>
#include <fluid/health.hpp>
#include <fluid/http.hpp>
#include <fluid/log.hpp>
#include <fluid/metrics.hpp>
#include <fluid/metrics_registry.hpp>
#include <fluid/queue_consumer.hpp>
#include <fluid/queue_options.hpp>
#include <fluid/send_result.hpp>
#include <fluid/serve.hpp>
#include <fluid/status_server.hpp>
#include <fluid/task.hpp>
#include <fluid/version.hpp>
#include <fluid/worker.hpp>
#include <fluid/worker_function.hpp>
#include <fluid/worker_state.hpp>
#include <fluid/worker_tree.hpp>
#include <fluid/workers.hpp>

#include "support/thrown.hpp"

#include <boost/system/system_error.hpp>
#include <boost/asio/error.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fluid::test {

using namespace std::chrono_literals;

/// Loops while running, sleeping briefly: stops promptly when asked.
class NiceWorker : public Worker {
 public:
  using Worker::Worker;
  int loops = 0;

 protected:
  Task<> run() override {
    while (is_running()) {
      ++loops;
      co_await sleep(1ms);
    }
  }
};

/// Ignores the stop request: only a forced shutdown ends it.
class BadWorker : public Worker {
 public:
  using Worker::Worker;

 protected:
  Task<> run() override {
    for (;;) co_await sleep(10ms);
  }
};

/// Fails right away with "I'm so bad".
class BadWorker2 : public Worker {
 public:
  using Worker::Worker;

 protected:
  Task<> run() override {
    co_await sleep(1ms);
    throw std::runtime_error("I'm so bad");
  }
};

/// Throws a cancellation error of its own (aio-fluid's CancelledError).
class BadWorker3 : public Worker {
 public:
  using Worker::Worker;

 protected:
  Task<> run() override {
    co_await sleep(1ms);
    throw boost::system::system_error(boost::asio::error::operation_aborted);
  }
};

/// Fails the moment run() starts, without ever suspending (so its whole life
/// may run inline): throws std::runtime_error(`message`).
class FailsAtOnce : public Worker {
 public:
  explicit FailsAtOnce(WorkerOptions options = {}, std::string message = "failed at once")
      : Worker(std::move(options)), message_(std::move(message)) {}

 protected:
  Task<> run() override {
    throw std::runtime_error(message_);
    co_return;
  }

 private:
  std::string message_;
};

/// Returns on its own after `lifetime` (10 ms unless told).
class ShortLived : public Worker {
 public:
  explicit ShortLived(WorkerOptions options = {}, std::chrono::milliseconds lifetime = 10ms)
      : Worker(std::move(options)), lifetime_(lifetime) {}

 protected:
  Task<> run() override { co_await sleep(lifetime_); }

 private:
  std::chrono::milliseconds lifetime_;
};

/// Stops when asked, then fails in its cleanup with "cleanup failed".
class FailingCleanupWorker : public NiceWorker {
 public:
  using NiceWorker::NiceWorker;

 protected:
  Task<> on_shutdown() override {
    co_await sleep(1ms);
    throw std::runtime_error("cleanup failed");
  }
};

/// Records every hook call, in order, with after_shutdown's arguments.
class RecordingWorker : public Worker {
 public:
  using Worker::Worker;
  std::vector<std::string> calls;
  std::string reason;
  int code = -1;
  int after_shutdown_calls = 0;

 protected:
  Task<> on_startup() override {
    calls.push_back("on_startup");
    co_return;
  }
  Task<> run() override {
    calls.push_back("run");
    co_await stop_requested();
  }
  Task<> on_shutdown() override {
    calls.push_back("on_shutdown");
    co_return;
  }
  void after_shutdown(std::string_view why, int exit_code) override {
    calls.push_back("after_shutdown");
    reason = why;
    code = exit_code;
    ++after_shutdown_calls;
  }
};

/// Takes `delay` in on_startup(), deaf to stop requests, then runs as a
/// NiceWorker: lets a test stop it, or look at its group, while it starts.
/// Tells `in_startup` when its on_startup() begins, records whether it was
/// asked to stop meanwhile, and `started_up` once its on_startup() has ended.
class SlowToStart : public NiceWorker {
 public:
  explicit SlowToStart(std::chrono::milliseconds delay, WorkerOptions options = {})
      : NiceWorker(std::move(options)), delay_(delay) {}
  std::atomic<bool> starting{false};
  std::atomic<bool> asked_to_stop_while_starting{false};
  std::atomic<bool> started_up{false};
  fluid::detail::Notifier in_startup;

 protected:
  Task<> on_startup() override {
    starting = true;
    in_startup.notify_all();
    co_await sleep(delay_);
    asked_to_stop_while_starting = is_stopping();
    started_up = true;
  }

 private:
  std::chrono::milliseconds delay_;
};

/// Waits until `worker` is in its on_startup() (5 s at most); true if it is.
Task<bool> wait_until_starting(SlowToStart& worker);

/// Waits until `condition()` holds, looking again at each state transition in
/// `worker`'s tree (restarted and added children included); false if it
/// still does not after `timeout`. Event-driven: no polling.
Task<bool> wait_for_tree(Worker& worker, std::function<bool()> condition, std::chrono::milliseconds timeout = 5s);

/// std::make_shared<W>, shorter in a group's list of children.
template <class W, class... Args>
std::shared_ptr<W> make(Args&&... args) {
  return std::make_shared<W>(std::forward<Args>(args)...);
}

/// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> previous_;
};

}  // namespace fluid::test
