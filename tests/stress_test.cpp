// Stress: thousands of random lifecycle sequences, each checked against the
// invariants fluid promises (docs/reliability.md).
//
// A sequence builds a random tree of workers (nice, stubborn, failing, slow,
// blocking, queue consumers, dispatching consumers, nested groups), then lets
// several actor coroutines (in some sequences on a 2-thread loop, with plain
// threads sending and stopping alongside) call startup, gracefully_stop,
// shutdown, wait_for_shutdown, send, status and add_workers in random order.
// Then the tree is shut down and checked:
//   - nothing hangs: a watchdog thread aborts the run, printing the seed;
//   - every started worker ended stopped or force_stopped, after_shutdown was
//     called exactly once with the code of its stop reason, and a failure is
//     one we injected;
//   - every message accepted by send() was processed or counted as dropped
//     (or is still queued, if its consumer never started); a consumer that
//     stopped normally dropped nothing;
//   - every exception an operation threw is the one documented for it.
//
// The seed fixes each sequence's plan (tree, behaviours, operations, delays),
// not how threads interleave. Environment:
//   FLUID_STRESS_SEED       the seed (default below; printed either way)
//   FLUID_STRESS_SEQUENCES  how many sequences (default: a short run, smaller
//                           under sanitizers; `make stress` runs a long one)
//   FLUID_STRESS_ONLY       run only sequence N of that seed (to reproduce), as
//                           many times as FLUID_STRESS_SEQUENCES says (default 1)
//   FLUID_STRESS_PARALLEL   sequences run side by side, each on its own loop

#include "support/workers.hpp"

#include <fluid/detail/notifier.hpp>

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <thread>

using namespace fluid;
using namespace fluid::test;
namespace asio = boost::asio;
using ms = std::chrono::milliseconds;

namespace {

// ------------------------------------------------------------------ settings

constexpr std::uint64_t default_seed = 20261125;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::size_t default_sequences = 1000;  // sanitizers: 5-15x slower
constexpr std::size_t default_parallel = 4;
constexpr auto hang_timeout = std::chrono::seconds(60);
#else
constexpr std::size_t default_sequences = 2000;
constexpr std::size_t default_parallel = 8;
constexpr auto hang_timeout = std::chrono::seconds(20);
#endif

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const auto text = env(name);
  if (!text) return fallback;
  try {
    std::size_t used = 0;
    const auto value = std::stoull(*text, &used, 0);
    if (used == text->size()) return value;
  } catch (const std::exception&) {
  }
  std::fprintf(stderr, "stress: %s=\"%s\" is not a number\n", name, text->c_str());
  std::exit(2);
}

/// splitmix64: turns (seed, sequence index) into a well-mixed sequence seed.
std::uint64_t mix(std::uint64_t x) {
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

// ------------------------------------------------------------------ watchdog

/// Aborts the process, printing how to reproduce, if a sequence runs too long.
/// Event driven: a condition_variable wait_for, woken when a sequence ends.
class Watchdog {
 public:
  Watchdog() : thread_([this] { watch(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  /// Watches the next sequence; `snapshot` says where it is if it hangs.
  void arm(std::string what, std::function<std::string()> snapshot) {
    std::lock_guard lock(mutex_);
    what_ = std::move(what);
    snapshot_ = std::move(snapshot);
    ++generation_;
    armed_ = true;
    cv_.notify_all();
  }
  void disarm() {
    std::lock_guard lock(mutex_);
    armed_ = false;
    cv_.notify_all();
  }

 private:
  void watch() {
    std::unique_lock lock(mutex_);
    while (!quit_) {
      if (!armed_) {
        cv_.wait(lock);
        continue;
      }
      const auto generation = generation_;
      if (cv_.wait_for(lock, hang_timeout, [&] { return quit_ || !armed_ || generation_ != generation; })) continue;
      std::fprintf(stderr, "\nstress: HANG: %s did not finish within %llds\n%s\n", what_.c_str(),
                   static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(hang_timeout).count()),
                   snapshot_ ? snapshot_().c_str() : "");
      std::fflush(stderr);
      std::abort();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::string what_;
  std::function<std::string()> snapshot_;
  std::uint64_t generation_ = 0;
  bool armed_ = false;
  bool quit_ = false;
  std::thread thread_;  // last: starts once the rest is ready
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

const char* to_string(RunMode mode) {
  switch (mode) {
    case RunMode::nice: return "nice";
    case RunMode::stubborn: return "stubborn";
    case RunMode::swallows_once: return "swallows_once";
    case RunMode::returns: return "returns";
    case RunMode::fails: return "fails";
    case RunMode::blocks: return "blocks";
  }
  return "?";
}

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
  Task<> run() override {
    const auto& b = behaviour_;
    switch (b.mode) {
      case RunMode::nice:
        while (is_running()) {
          if (b.tick.count() % 2) {
            co_await sleep_while_running(b.tick);
          } else {
            co_await sleep(b.tick);
          }
        }
        if (b.exit_delay.count() > 0) co_await sleep(b.exit_delay);
        break;
      case RunMode::stubborn:
        for (;;) co_await sleep(b.tick);
      case RunMode::swallows_once: {
        bool swallowed = false;
        for (;;) {
          try {
            co_await sleep(b.tick);
          } catch (const boost::system::system_error&) {
            if (swallowed) throw;
            swallowed = true;
          }
        }
      }
      case RunMode::returns:
        co_await sleep_while_running(b.run_for);
        break;
      case RunMode::fails:
        co_await sleep_while_running(b.run_for);
        throw Injected(worker_name() + ": run failed");
      case RunMode::blocks:
        // Blocks its thread for a moment each step, like CPU-bound work.
        while (is_running()) {
          std::this_thread::sleep_for(b.tick);
          co_await sleep(0ms);
        }
        break;
    }
  }
};

/// Handles ints with a delay, failing at one of them if planned.
Task<> handle(Probe& probe, const Behaviour& b) {
  const auto n = static_cast<int>(probe.handled.fetch_add(1));
  if (b.handler_delay.count() > 0) co_await sleep(b.handler_delay);
  if (n == b.fail_at) throw Injected("handler failed at message " + std::to_string(n));
}

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

class Planner {
 public:
  Planner(std::uint64_t seed, std::size_t index) : random_(mix(seed ^ mix(index))) {
    plan_.seed = seed;
    plan_.index = index;
  }

  Plan make() {
    plan_.threads = random_.chance(30) ? 2 : 1;
    add_node(-1, 0, random_.chance(75));
    const auto extras = random_.below(3);
    for (std::size_t i = 0; i < extras && !groups_.empty(); ++i) {
      const int group = groups_[random_.below(groups_.size())];
      add_node(group, depth_of(group) + 1, random_.chance(20), /*extra=*/true);
    }
    plan_.presend = random_.chance(30) ? static_cast<int>(random_.below(5)) : 0;
    const auto actors = 1 + random_.below(4);
    for (std::size_t a = 0; a < actors; ++a) plan_.actors.push_back(make_ops(a == 0, false));
    if (random_.chance(40)) plan_.thread_ops = make_ops(false, true);
    plan_.close_after = random_.millis(0, 40);
    describe();
    return std::move(plan_);
  }

 private:
  int depth_of(int index) const {
    int depth = 0;
    for (int i = plan_.nodes[index].parent; i >= 0; i = plan_.nodes[i].parent) ++depth;
    return depth;
  }

  int add_node(int parent, int depth, bool group, bool extra = false) {
    const int index = static_cast<int>(plan_.nodes.size());
    plan_.nodes.push_back({});
    Node node;
    node.parent = parent;
    node.extra = extra;
    const auto name = "w" + std::to_string(index);
    if (group && depth < 3) {
      node.kind = Kind::group;
      const ms grace = random_.pick<ms>({ms(0), ms(5), ms(20), ms(1000), ms(1000)});
      node.behaviour.grace = grace;
      node.worker = std::make_shared<Group>(node.probe, WorkersOptions{.name = name, .stopping_grace_period = grace});
      plan_.nodes[index] = node;
      groups_.push_back(index);
      const auto children = random_.chance(10) ? 0 : 1 + random_.below(4);
      for (std::size_t c = 0; c < children; ++c) {
        const int child = add_node(index, depth + 1, random_.chance(20));
        static_cast<Workers&>(*node.worker).add_workers(plan_.nodes[child].worker);
      }
      return index;
    }
    node.behaviour = make_behaviour();
    const auto roll = random_.below(100);
    if (roll < 20) {
      node.kind = Kind::consumer;
      node.worker = std::make_shared<Consumer>(node.behaviour, node.probe, name);
    } else if (roll < 30) {
      node.kind = Kind::dispatching;
      node.worker = std::make_shared<Dispatching>(node.behaviour, node.probe, name, random_.chance(50));
    } else {
      node.kind = Kind::leaf;
      node.worker = std::make_shared<Leaf>(node.behaviour, node.probe,
                                           WorkerOptions{.name = name, .stopping_grace_period = node.behaviour.grace});
    }
    plan_.nodes[index] = node;
    return index;
  }

  Behaviour make_behaviour() {
    Behaviour b;
    const auto roll = random_.below(100);
    b.mode = roll < 40   ? RunMode::nice
             : roll < 55 ? RunMode::stubborn
             : roll < 63 ? RunMode::swallows_once
             : roll < 75 ? RunMode::returns
             : roll < 90 ? RunMode::fails
                         : RunMode::blocks;
    const bool ignores_stop = b.mode == RunMode::stubborn || b.mode == RunMode::swallows_once;
    b.grace = ignores_stop ? random_.millis(0, 15) : random_.pick<ms>({ms(0), ms(10), ms(1000), ms(1000)});
    b.tick = b.mode == RunMode::blocks ? random_.millis(1, 3) : random_.millis(1, 8);
    b.run_for = random_.millis(0, 30);
    if (random_.chance(30)) b.exit_delay = random_.millis(1, 20);
    if (random_.chance(20)) b.startup_delay = random_.millis(1, 10);
    b.startup_throws = random_.chance(7);
    if (random_.chance(20)) b.shutdown_delay = random_.millis(1, 20);
    b.shutdown_throws = random_.chance(7);
    b.after_shutdown_throws = random_.chance(5);
    if (random_.chance(40)) b.handler_delay = random_.millis(1, 3);
    b.fail_at = random_.chance(15) ? static_cast<int>(random_.below(20)) : -1;
    b.drain = !random_.chance(15);
    return b;
  }

  int random_consumer() {
    std::vector<int> consumers;
    for (std::size_t i = 0; i < plan_.nodes.size(); ++i) {
      if (plan_.nodes[i].is_consumer()) consumers.push_back(static_cast<int>(i));
    }
    return consumers.empty() ? -1 : consumers[random_.below(consumers.size())];
  }

  std::vector<Op> make_ops(bool first_actor, bool plain_thread) {
    std::vector<Op> ops;
    const auto count = 1 + random_.below(plain_thread ? 12 : 6);
    const int nodes = static_cast<int>(plan_.nodes.size());
    if (first_actor && random_.chance(85)) ops.push_back({OpKind::startup, 0, 1, random_.millis(0, 2)});
    for (std::size_t i = 0; i < count; ++i) {
      Op op;
      op.delay = random_.chance(30) ? ms(0) : random_.millis(0, 5);
      op.target = static_cast<int>(random_.below(static_cast<std::size_t>(nodes)));
      const auto roll = random_.below(100);
      if (plain_thread) {
        op.kind = roll < 70 ? OpKind::send : roll < 85 ? OpKind::try_send : OpKind::gracefully_stop;
        if (op.kind == OpKind::gracefully_stop && random_.chance(50)) op.target = 0;
      } else if (roll < 15) {
        op.kind = OpKind::startup;
        op.target = 0;
      } else if (roll < 30) {
        op.kind = OpKind::gracefully_stop;
      } else if (roll < 42) {
        op.kind = OpKind::shutdown;
        if (random_.chance(60)) op.target = 0;
      } else if (roll < 52) {
        op.kind = OpKind::wait_for_shutdown;
      } else if (roll < 72) {
        op.kind = random_.chance(80) ? OpKind::send : OpKind::try_send;
      } else if (roll < 85) {
        op.kind = OpKind::add_workers;
      } else if (roll < 92) {
        op.kind = OpKind::status;
        op.target = 0;
      } else {
        op.kind = OpKind::pause;
      }
      if (op.kind == OpKind::send || op.kind == OpKind::try_send) {
        op.target = random_consumer();
        if (op.target < 0) op.kind = OpKind::pause, op.target = 0;
        op.count = 1 + static_cast<int>(random_.below(12));
      }
      if (op.kind == OpKind::add_workers) {
        std::vector<int> extras;
        for (int n = 0; n < nodes; ++n) {
          if (plan_.nodes[n].extra) extras.push_back(n);
        }
        if (extras.empty()) {
          op.kind = OpKind::pause;
        } else {
          op.target = extras[random_.below(extras.size())];
        }
      }
      ops.push_back(op);
    }
    return ops;
  }

  void describe() {
    std::ostringstream out;
    out << "sequence " << plan_.index << " of seed " << plan_.seed << " (threads " << plan_.threads << ", presend "
        << plan_.presend << ", close after " << plan_.close_after.count() << "ms)\n";
    for (std::size_t i = 0; i < plan_.nodes.size(); ++i) {
      const auto& n = plan_.nodes[i];
      const auto& b = n.behaviour;
      out << "  w" << i << (n.extra ? " (extra)" : "") << " in " << n.parent << ": ";
      if (n.kind == Kind::group) {
        out << "group grace=" << b.grace.count() << "ms\n";
        continue;
      }
      out << (n.kind == Kind::consumer ? "consumer " : n.kind == Kind::dispatching ? "dispatching " : "")
          << to_string(b.mode) << " grace=" << b.grace.count() << " tick=" << b.tick.count()
          << " run_for=" << b.run_for.count() << " exit_delay=" << b.exit_delay.count()
          << " startup_delay=" << b.startup_delay.count() << (b.startup_throws ? " startup_throws" : "")
          << " shutdown_delay=" << b.shutdown_delay.count() << (b.shutdown_throws ? " shutdown_throws" : "")
          << (b.after_shutdown_throws ? " after_shutdown_throws" : "");
      if (n.is_consumer()) {
        out << " handler_delay=" << b.handler_delay.count() << " fail_at=" << b.fail_at
            << (b.drain ? "" : " discard_on_stop");
      }
      out << "\n";
    }
    auto ops_text = [&](const std::vector<Op>& ops) {
      for (const auto& op : ops) {
        static const char* names[] = {"startup", "gracefully_stop", "shutdown", "wait_for_shutdown", "send",
                                      "try_send", "add_workers", "status", "pause"};
        out << " +" << op.delay.count() << "ms " << names[static_cast<int>(op.kind)] << "(w" << op.target;
        if (op.kind == OpKind::send || op.kind == OpKind::try_send) out << " x" << op.count;
        out << ")";
      }
      out << "\n";
    };
    for (std::size_t a = 0; a < plan_.actors.size(); ++a) {
      out << "  actor " << a << ":";
      ops_text(plan_.actors[a]);
    }
    if (!plan_.thread_ops.empty()) {
      out << "  thread:";
      ops_text(plan_.thread_ops);
    }
    plan_.text = out.str();
  }

  Random random_;
  Plan plan_;
  std::vector<int> groups_;
};

// ------------------------------------------------------------------ running

/// What one run saw that it should not have.
struct Findings {
  std::mutex mutex;
  std::vector<std::string> problems;

  void add(std::string problem) {
    std::lock_guard lock(mutex);
    problems.push_back(std::move(problem));
  }
};

std::string what_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return std::string(typeid(e).name()) + ": " + e.what();
  } catch (...) {
    return "unknown exception";
  }
}

bool is_injected(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Injected&) {
    return true;
  } catch (...) {
    return false;
  }
}

void send_messages(Node& node, const Op& op, bool try_only) {
  for (int m = 0; m < op.count; ++m) {
    if (try_only) {
      if (node.queue().try_send(m)) node.probe->accepted.fetch_add(1);
      continue;
    }
    try {
      node.queue().send(m);
      node.probe->accepted.fetch_add(1);
    } catch (const QueueClosedError&) {
      return;  // documented: the consumer stopped accepting
    }
  }
}

/// The state shared by a sequence's coroutines.
struct Run {
  Plan& plan;
  Findings& findings;
  asio::any_io_executor control;  // where startup() and pre-start add_workers() are called
  std::atomic<bool> closing{false};
  std::atomic<int> startups_in_flight{0};
  std::atomic<int> actors_left{0};
  std::atomic<bool> startup_aborted{false};
  detail::Notifier actors_done;

  Worker& root() { return *plan.nodes[0].worker; }
};

/// Runs `body` on `executor` (the worker's, for calls the contract wants there)
/// and comes back.
template <class F>
Task<> on(const asio::any_io_executor& executor, F body) {
  co_await asio::co_spawn(executor, std::move(body), asio::use_awaitable);
}

Task<> perform(Run& run, const Op& op, std::size_t actor) {
  auto& node = run.plan.nodes[op.target];
  auto& worker = *node.worker;
  const auto label = [&](const char* what) {
    return "actor " + std::to_string(actor) + ": " + what + "(w" + std::to_string(op.target) + ")";
  };
  switch (op.kind) {
    case OpKind::startup: {
      run.startups_in_flight.fetch_add(1);
      struct Leave {
        Run& run;
        ~Leave() { run.startups_in_flight.fetch_sub(1); }
      } leave{run};
      if (run.closing.load()) co_return;
      try {
        co_await on(run.control, [&worker]() -> Task<> { co_await worker.startup(); });
      } catch (const WorkerStartError&) {  // documented: already started
      } catch (const Injected&) {          // documented: on_startup() failed
      } catch (const boost::system::system_error& e) {
        // Documented: a forced stop while on_startup() runs cancels it, and
        // startup() rethrows the cancellation; the worker ends force_stopped.
        if (e.code() == asio::error::operation_aborted) {
          run.startup_aborted = true;
        } else {
          run.findings.add(label("startup") + " threw " + what_of(std::current_exception()));
        }
      } catch (...) {
        run.findings.add(label("startup") + " threw " + what_of(std::current_exception()));
      }
      co_return;
    }
    case OpKind::gracefully_stop:
      worker.gracefully_stop();
      co_return;
    case OpKind::shutdown:
      try {
        co_await worker.shutdown();
      } catch (...) {
        run.findings.add(label("shutdown") + " threw " + what_of(std::current_exception()));
      }
      co_return;
    case OpKind::wait_for_shutdown:
      try {
        co_await worker.wait_for_shutdown();
      } catch (const Injected&) {  // documented: what the worker (or a child) threw
      } catch (...) {
        run.findings.add(label("wait_for_shutdown") + " threw " + what_of(std::current_exception()));
      }
      co_return;
    case OpKind::send:
    case OpKind::try_send:
      send_messages(node, op, op.kind == OpKind::try_send);
      co_return;
    case OpKind::add_workers: {
      auto& group = static_cast<Workers&>(*run.plan.nodes[node.parent].worker);
      auto executor = group.executor();
      try {
        co_await on(executor ? executor : run.control, [&group, &node]() -> Task<> {
          group.add_workers(node.worker);
          co_return;
        });
      } catch (const FluidError&) {  // documented: the group is stopping or stopped
        if (!(group.is_stopping() || group.is_stopped())) {
          run.findings.add(label("add_workers") + " threw while the group was " +
                           std::string(to_string(group.worker_state())) + ": " + what_of(std::current_exception()));
        }
      } catch (...) {
        run.findings.add(label("add_workers") + " threw " + what_of(std::current_exception()));
      }
      co_return;
    }
    case OpKind::status:
      try {
        const auto status = co_await run.root().status();
        if (!status.is_object()) run.findings.add(label("status") + " is not a JSON object");
      } catch (...) {
        run.findings.add(label("status") + " threw " + what_of(std::current_exception()));
      }
      co_return;
    case OpKind::pause:
      co_return;
  }
}

Task<> actor(Run& run, std::size_t index) {
  auto& step = run.plan.progress->actor_op[index];
  for (const auto& op : run.plan.actors[index]) {
    co_await sleep(op.delay);
    co_await perform(run, op, index);
    ++step;
  }
  step = -1;
}

/// The state of every worker and actor of a sequence, for a hang report.
std::string snapshot(const Plan& plan) {
  std::ostringstream out;
  out << "  now: phase " << plan.progress->phase.load() << ";";
  for (std::size_t a = 0; a < plan.actors.size(); ++a) out << " actor " << a << " at op " << plan.progress->actor_op[a].load() << ";";
  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    const auto& w = *plan.nodes[i].worker;
    out << " w" << i << "=" << to_string(w.worker_state()) << (w.is_ready() ? "(ready)" : "");
  }
  return out.str();
}

void plain_thread(Plan& plan) {
  for (const auto& op : plan.thread_ops) {
    std::this_thread::sleep_for(op.delay / 4);
    auto& node = plan.nodes[op.target];
    if (op.kind == OpKind::gracefully_stop) {
      node.worker->gracefully_stop();
    } else if (op.kind == OpKind::send || op.kind == OpKind::try_send) {
      send_messages(node, op, op.kind == OpKind::try_send);
    }
  }
}

/// Starts the actors, lets them work, then shuts the root down and waits
/// for every actor: after this, nothing of the sequence is left running.
Task<> sequence(Run& run) {
  auto loop = co_await asio::this_coro::executor;
  const bool threaded = run.plan.threads > 1;
  run.control = threaded ? asio::any_io_executor(asio::make_strand(loop)) : loop;
  run.actors_left = static_cast<int>(run.plan.actors.size());
  for (std::size_t a = 0; a < run.plan.actors.size(); ++a) {
    auto executor = threaded ? asio::any_io_executor(asio::make_strand(loop)) : loop;
    asio::co_spawn(executor, actor(run, a), [&run, a](std::exception_ptr e) {
      if (e) run.findings.add("actor " + std::to_string(a) + " let out " + what_of(e));
      if (run.actors_left.fetch_sub(1) == 1) run.actors_done.notify_all();
    });
  }
  auto& phase = run.plan.progress->phase;
  co_await sleep(run.plan.close_after);
  // The closer: no startup() may begin after this, so the shutdown below is final.
  run.closing = true;
  phase = 1;
  while (run.startups_in_flight.load() != 0) co_await sleep(1ms);
  phase = 2;
  co_await run.root().shutdown();
  phase = 3;
  co_await run.actors_done.wait_until([&] { return run.actors_left.load() == 0; });
  phase = 4;
  co_await run.root().shutdown();
  phase = 5;
  run.control = {};  // a strand must not outlive its loop (fluid::run destroys it on return)
}

// ------------------------------------------------------------------ checks

struct Tally {
  std::size_t sequences = 0;
  std::size_t threaded = 0;
  std::size_t started = 0;
  std::size_t by_state[5] = {};
  std::size_t failed = 0;
  std::uint64_t accepted = 0;
  std::uint64_t processed = 0;
  std::uint64_t dropped = 0;

  Tally& operator+=(const Tally& o) {
    sequences += o.sequences;
    threaded += o.threaded;
    started += o.started;
    for (int i = 0; i < 5; ++i) by_state[i] += o.by_state[i];
    failed += o.failed;
    accepted += o.accepted;
    processed += o.processed;
    dropped += o.dropped;
    return *this;
  }
};

void check(Plan& plan, Findings& findings, Tally& tally) {
  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    auto& node = plan.nodes[i];
    auto& w = *node.worker;
    const auto name = "w" + std::to_string(i);
    const auto state = w.worker_state();
    const int calls = node.probe->after_shutdown_calls.load();
    ++tally.by_state[static_cast<int>(state)];
    if (w.has_started()) {
      ++tally.started;
      if (!w.is_stopped()) findings.add(name + " started but ended " + std::string(to_string(state)));
      if (calls != 1) findings.add(name + ": after_shutdown called " + std::to_string(calls) + " times");
      const auto reason = w.stop_reason();
      if (!reason) {
        findings.add(name + " has no stop reason");
      } else {
        if (calls == 1 && node.probe->code.load() != exit_code(*reason)) {
          findings.add(name + ": after_shutdown code " + std::to_string(node.probe->code.load()) + " but reason " +
                       std::string(to_string(*reason)));
        }
        if (state == WorkerState::force_stopped && *reason == StopReason::normal) {
          findings.add(name + " force_stopped with reason normal");
        }
        if (*reason == StopReason::failed) {
          ++tally.failed;
          if (!w.failure()) {
            findings.add(name + " failed without an error");
          } else if (!is_injected(w.failure())) {
            findings.add(name + " failed with an error nobody injected: " + what_of(w.failure()));
          }
        }
      }
    } else if (calls != 0) {
      findings.add(name + " never started but after_shutdown was called");
    }
    if (node.is_consumer()) {
      auto& q = node.queue();
      const auto accepted = node.probe->accepted.load();
      const auto processed = q.processed_count();
      const auto dropped = q.dropped_count();
      const auto queued = q.queue_size();
      tally.accepted += accepted;
      tally.processed += processed;
      tally.dropped += dropped;
      if (processed + dropped + queued != accepted) {
        findings.add(name + ": accepted " + std::to_string(accepted) + " != processed " + std::to_string(processed) +
                     " + dropped " + std::to_string(dropped) + " + queued " + std::to_string(queued));
      }
      if (w.has_started() && queued != 0) findings.add(name + " stopped with " + std::to_string(queued) + " queued");
      if (node.probe->handled.load() > processed) findings.add(name + " handled more messages than it was handed");
      if (w.stop_reason() == StopReason::normal && node.behaviour.drain && dropped != 0) {
        findings.add(name + " stopped normally, draining, but dropped " + std::to_string(dropped));
      }
    }
  }
}

void run_one(Plan& plan, Findings& findings, Tally& tally) {
  // Messages sent before anything starts are kept for the consumer.
  for (auto& node : plan.nodes) {
    if (node.is_consumer() && plan.presend > 0) send_messages(node, {OpKind::send, 0, plan.presend}, false);
  }
  std::thread thread;
  if (!plan.thread_ops.empty()) thread = std::thread([&plan] { plain_thread(plan); });
  Run run{plan, findings};
  try {
    fluid::run(sequence(run), RunOptions{.threads = plan.threads});
  } catch (...) {
    findings.add("fluid::run threw " + what_of(std::current_exception()));
  }
  if (thread.joinable()) thread.join();
  if (run.startup_aborted && plan.nodes[0].worker->worker_state() != WorkerState::force_stopped) {
    findings.add("startup() threw operation_aborted but the root ended " +
                 std::string(to_string(plan.nodes[0].worker->worker_state())));
  }
  check(plan, findings, tally);
  ++tally.sequences;
  tally.threaded += plan.threads > 1;
}

}  // namespace

TEST(Stress, RandomLifecycleSequencesKeepEveryInvariant) {
  const auto seed = env_number("FLUID_STRESS_SEED", default_seed);
  const auto sequences = env_number("FLUID_STRESS_SEQUENCES", default_sequences);
  // FLUID_STRESS_ONLY=N: sequence N alone, FLUID_STRESS_SEQUENCES times (default once).
  const auto only = env("FLUID_STRESS_ONLY");
  const std::size_t picked = only ? env_number("FLUID_STRESS_ONLY", 0) : 0;
  const std::size_t first = 0;
  const std::size_t last = only ? env_number("FLUID_STRESS_SEQUENCES", 1) : sequences;
  const std::size_t slots = std::max<std::size_t>(1, env_number("FLUID_STRESS_PARALLEL", default_parallel));
  std::printf("stress: seed %llu, %zu sequence(s)%s, %zu at a time (FLUID_STRESS_SEED, FLUID_STRESS_SEQUENCES, "
              "FLUID_STRESS_ONLY, FLUID_STRESS_PARALLEL)\n",
              static_cast<unsigned long long>(seed), last - first, only ? (" (all sequence " + std::to_string(picked) + ")").c_str() : "", slots);
  std::fflush(stdout);
  // Thousands of workers start and stop: keep the log for failures unless asked.
  if (!env("LOG_LEVEL")) logger()->set_level(spdlog::level::off);

  // Sequences mostly sleep (delays, grace periods), so several run side by
  // side, each on its own event loop, to get through thousands quickly.
  std::mutex mutex;
  Tally tally;
  std::vector<std::pair<std::size_t, std::string>> failures;
  std::atomic<std::size_t> next{first};
  auto slot = [&] {
    Watchdog watchdog;
    for (;;) {
      const auto i = next.fetch_add(1);
      if (i >= last) return;
      {
        std::lock_guard lock(mutex);
        if (failures.size() >= 5) return;
      }
      const auto index = only ? picked : i;
      Plan plan = Planner(seed, index).make();
      watchdog.arm(plan.text + "reproduce: FLUID_STRESS_SEED=" + std::to_string(seed) +
                   " FLUID_STRESS_ONLY=" + std::to_string(index) + " (with FLUID_STRESS_SEQUENCES=1000 to repeat it)",
                   [&plan] { return snapshot(plan); });
      Findings findings;
      Tally mine;
      run_one(plan, findings, mine);
      watchdog.disarm();
      std::lock_guard lock(mutex);
      tally += mine;
      if (!findings.problems.empty()) {
        std::ostringstream report;
        report << plan.text;
        for (const auto& p : findings.problems) report << "  FOUND: " << p << "\n";
        report << "  reproduce: FLUID_STRESS_SEED=" << seed << " FLUID_STRESS_ONLY=" << index
               << " (with FLUID_STRESS_SEQUENCES=1000 to repeat it)";
        failures.emplace_back(i, report.str());
      }
    }
  };
  const auto begin = std::chrono::steady_clock::now();
  {
    std::vector<std::jthread> threads;
    for (std::size_t s = 0; s < slots; ++s) threads.emplace_back(slot);
  }
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::sort(failures.begin(), failures.end());
  for (const auto& [index, report] : failures) ADD_FAILURE() << report;
  std::printf(
      "stress: %zu sequences (%zu on 2 threads) in %.1fs, %.0f/s; %zu workers started: %zu stopped, %zu "
      "force_stopped, %zu failed; messages: %llu accepted, %llu processed, %llu dropped\n",
      tally.sequences, tally.threaded, seconds, tally.sequences / seconds, tally.started,
      tally.by_state[static_cast<int>(WorkerState::stopped)],
      tally.by_state[static_cast<int>(WorkerState::force_stopped)], tally.failed,
      static_cast<unsigned long long>(tally.accepted), static_cast<unsigned long long>(tally.processed),
      static_cast<unsigned long long>(tally.dropped));
  EXPECT_TRUE(failures.empty()) << failures.size() << " sequence(s) failed with seed " << seed;
}
