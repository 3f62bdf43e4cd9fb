#include "support/stress_model.hpp"

#include <sstream>
#include <thread>

namespace fluid::test::stress {

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

Task<> Leaf::run() {
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

/// Handles ints with a delay, failing at one of them if planned.
Task<> handle(Probe& probe, const Behaviour& b) {
  const auto n = static_cast<int>(probe.handled.fetch_add(1));
  if (b.handler_delay.count() > 0) co_await sleep(b.handler_delay);
  if (n == b.fail_at) throw Injected("handler failed at message " + std::to_string(n));
}

namespace {

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

}  // namespace

Plan make_plan(std::uint64_t seed, std::size_t index) { return Planner(seed, index).make(); }

}  // namespace fluid::test::stress
