#pragma once
// The stress test's model (tests/stress_test.cpp): the workers a random
// sequence is built of (each behaviour's hooks, delays and failures, a probe
// of what happened to it), and the plan of one sequence (its tree, its
// actors' operations, its seed), drawn by make_plan(). The runner and the
// checks stay in the test.

#include <fluid/fluid.hpp>

#include <boost/system/system_error.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fluid::test::stress {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

/// splitmix64: turns (seed, sequence index) into a well-mixed sequence seed.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// The plan's randomness, portable (no std:: distributions).
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() { return state_ = mix(state_); }
  /// 0 <= n < bound
  std::size_t below(std::size_t bound) { return bound == 0 ? 0 : next() % bound; }
  bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }
  ms millis(int lo, int hi) { return ms(lo + static_cast<int>(below(static_cast<std::size_t>(hi - lo + 1)))); }
  template <class T>
  const T& pick(std::initializer_list<T> options) {
    return *(options.begin() + below(options.size()));
  }

 private:
  std::uint64_t state_;
};

// ------------------------------------------------------------------ workers

/// The failure this test injects; any other failure is a finding.
struct Injected : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// What happened to one worker, as the worker itself saw it.
struct Probe {
  std::atomic<int> after_shutdown_calls{0};
  std::atomic<int> code{-1};
  std::atomic<std::uint64_t> accepted{0};  // consumers: messages send() accepted
  std::atomic<std::uint64_t> handled{0};   // consumers: handler calls
};

enum class RunMode { nice, stubborn, swallows_once, returns, fails, blocks };

/// "nice", "stubborn"... for the plan's description.
const char* to_string(RunMode mode);

/// How a worker behaves: its hooks' delays and failures, its run() mode.
struct Behaviour {
  ms grace{1000};
  ms startup_delay{0};
  bool startup_throws = false;
  RunMode mode = RunMode::nice;
  ms tick{1};      // run(): one loop step
  ms run_for{0};   // returns / fails: after this long
  ms exit_delay{0};  // nice: time taken to return once asked
  ms shutdown_delay{0};
  bool shutdown_throws = false;
  bool after_shutdown_throws = false;
  // consumers
  ms handler_delay{0};
  int fail_at = -1;  // the handler call that throws (-1: none)
  bool drain = true;
};

/// Adds the behaviour's hooks and the probe to any worker class.
template <class Base>
class Probed : public Base {
 public:
  template <class... Args>
  Probed(Behaviour behaviour, std::shared_ptr<Probe> probe, Args&&... args)
      : Base(std::forward<Args>(args)...), behaviour_(behaviour), probe_(std::move(probe)) {}

 protected:
  Task<> on_startup() override {
    if (behaviour_.startup_delay.count() > 0) co_await sleep(behaviour_.startup_delay);
    if (behaviour_.startup_throws) throw Injected(this->worker_name() + ": on_startup failed");
  }
  Task<> on_shutdown() override {
    if (behaviour_.shutdown_delay.count() > 0) co_await sleep(behaviour_.shutdown_delay);
    if (behaviour_.shutdown_throws) throw Injected(this->worker_name() + ": on_shutdown failed");
  }
  void after_shutdown(std::string_view, int code) override {
    probe_->code.store(code);
    probe_->after_shutdown_calls.fetch_add(1);
    if (behaviour_.after_shutdown_throws) throw Injected(this->worker_name() + ": after_shutdown failed");
  }

  Behaviour behaviour_;
  std::shared_ptr<Probe> probe_;
};

class Leaf : public Probed<Worker> {
 public:
  using Probed<Worker>::Probed;

 protected:
  Task<> run() override;
};

/// Handles ints with a delay, failing at one of them if planned.
Task<> handle(Probe& probe, const Behaviour& b);

class Consumer : public Probed<QueueConsumerWorker<int>> {
 public:
  Consumer(Behaviour b, std::shared_ptr<Probe> probe, std::string name)
      : Probed(b, probe,
               [probe = probe.get(), b](int) -> Task<> { return handle(*probe, b); },
               WorkerOptions{.name = std::move(name), .stopping_grace_period = b.grace},
               QueueOptions{.drain_on_stop = b.drain}) {}
};

class IntDispatcher : public AsyncDispatcher<int> {
 public:
  std::string event_type(const int&) const override { return "message"; }
};

class Dispatching : public Probed<AsyncConsumer<int>> {
 public:
  Dispatching(Behaviour b, std::shared_ptr<Probe> probe, std::string name, bool second_handler)
      : Probed(b, probe, make_dispatcher(b, probe.get(), second_handler),
               WorkerOptions{.name = std::move(name), .stopping_grace_period = b.grace},
               QueueOptions{.drain_on_stop = b.drain}) {}

 private:
  static std::shared_ptr<AsyncDispatcher<int>> make_dispatcher(Behaviour b, Probe* probe, bool second) {
    auto dispatcher = std::make_shared<IntDispatcher>();
    dispatcher->register_handler("message.count", [probe, b](const int&) -> Task<> { return handle(*probe, b); });
    if (second) dispatcher->register_handler("message.yield", [](const int&) -> Task<> { return sleep(0ms); });
    return dispatcher;
  }
};

class Group : public Workers {
 public:
  Group(std::shared_ptr<Probe> probe, WorkersOptions options) : Workers({}, std::move(options)), probe_(std::move(probe)) {}

 protected:
  void after_shutdown(std::string_view, int code) override {
    probe_->code.store(code);
    probe_->after_shutdown_calls.fetch_add(1);
  }

 private:
  std::shared_ptr<Probe> probe_;
};

// ------------------------------------------------------------------ the plan

enum class Kind { leaf, consumer, dispatching, group };

/// One worker of the sequence, with what the checks need to know about it.
struct Node {
  Kind kind = Kind::leaf;
  std::shared_ptr<Worker> worker;
  std::shared_ptr<Probe> probe = std::make_shared<Probe>();
  Behaviour behaviour;
  int parent = -1;  // index of the group it is in (or is added to), -1: root
  bool extra = false;  // joins its group by an add_workers() operation

  bool is_consumer() const { return kind == Kind::consumer || kind == Kind::dispatching; }
  QueueConsumer<int>& queue() const { return static_cast<QueueConsumer<int>&>(*worker); }
};

enum class OpKind { startup, gracefully_stop, shutdown, wait_for_shutdown, send, try_send, add_workers, status, pause };

struct Op {
  OpKind kind = OpKind::pause;
  int target = 0;  // node index
  int count = 1;   // send: messages
  ms delay{0};     // pause before the operation
};

/// Where a running sequence is, for the watchdog's report.
struct Progress {
  std::atomic<int> phase{0};  // 0 actors, 1 closing, 2 final shutdown, 3 awaiting actors, 4 last shutdown, 5 done
  std::array<std::atomic<int>, 8> actor_op{};  // the op each actor is on (-1 done)
};

struct Plan {
  std::shared_ptr<Progress> progress = std::make_shared<Progress>();
  std::uint64_t seed = 0;
  std::size_t index = 0;
  std::size_t threads = 1;
  std::vector<Node> nodes;  // nodes[0] is the root
  std::vector<std::vector<Op>> actors;
  std::vector<Op> thread_ops;  // a plain std::thread: send / try_send / gracefully_stop only
  int presend = 0;             // messages sent to each consumer before anything starts
  ms close_after{0};           // when the closer starts the final shutdown
  std::string text;            // the plan, for a failure report
};

/// The plan of sequence `index` of `seed`: the same for the same pair.
Plan make_plan(std::uint64_t seed, std::size_t index);

}  // namespace fluid::test::stress
