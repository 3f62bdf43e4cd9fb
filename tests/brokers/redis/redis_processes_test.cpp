// The Redis broker's guarantees across processes (TASKS.md 2.5, 2.7, 2.10,
// 2.12, 3.4.5): consumers and schedulers as processes of their own
// (tests/programs/redis_task_worker), SIGKILLed, SIGTERMed and cut off from
// a real redis-server, and what they wrote to their journals.

#include "support/child_process.hpp"
#include "support/fault_proxy.hpp"
#include "support/redis_server.hpp"

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fluid::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
namespace fs = std::filesystem;

/// What the workers of one test wrote: a line per event, with its pid.
struct Line {
  pid_t pid;
  std::vector<std::string> words;
};

/// A directory of the test's own for the workers' journals and output.
class Workplace {
 public:
  Workplace() {
    std::string pattern = (fs::temp_directory_path() / "fluid-redis-processes-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
  }
  ~Workplace() {
    std::error_code ignored;
    if (!::testing::Test::HasFailure()) fs::remove_all(dir_, ignored);
  }
  const fs::path& dir() const { return dir_; }

  /// A worker process on `url` with `extra` arguments, its output in a file of its own.
  std::unique_ptr<ChildProcess> start(const std::string& url, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{FLUID_REDIS_TASK_WORKER, "--url", url, "--dir", dir_.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto output = dir_ / ("output-" + std::to_string(outputs_.size()) + ".txt");
    auto child = std::make_unique<ChildProcess>(argv, output.string());
    outputs_[child->pid()] = output;
    return child;
  }

  /// Every journal line so far.
  std::vector<Line> lines() const {
    std::vector<Line> lines;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (entry.path().extension() != ".log") continue;
      const pid_t pid = std::stoi(entry.path().stem().string());
      std::ifstream in(entry.path());
      for (std::string text; std::getline(in, text);) {
        std::istringstream words(text);
        Line line{pid, {}};
        for (std::string word; words >> word;) line.words.push_back(word);
        if (!line.words.empty()) lines.push_back(std::move(line));
      }
    }
    return lines;
  }

  /// What `child` wrote (stdout and stderr).
  std::string output_of(const ChildProcess& child) const { return text_of(outputs_.at(child.pid())); }

  /// What every worker wrote, one after the other.
  std::string output() const {
    std::string all;
    for (const auto& [pid, path] : outputs_) all += text_of(path);
    return all;
  }

 private:
  static std::string text_of(const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
  std::map<pid_t, fs::path> outputs_;  // each worker's output file
};

/// A broker object of the test's own, open, usable from any fluid::run.
std::shared_ptr<TaskBroker> open_broker(const std::string& url) {
  auto broker = make_broker(url);
  fluid::run(broker->open());
  return broker;
}

TaskRun run_of(const std::string& task, const std::string& id) {
  TaskRun run;
  run.id = id;
  run.task = task;
  return run;
}

Task<> enqueue_runs(std::shared_ptr<TaskBroker> broker, std::string task, std::string prefix, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) co_await broker->enqueue(run_of(task, prefix + std::to_string(i)), 0ms);
}

/// Reads the feed from `cursor` on (advancing it) until `done` says so of
/// an event, or `deadline`; calls `tick` between reads, and `resync` when
/// the feed dropped events this reader had not read yet (10,000 runs make
/// more events than the feed keeps). False on deadline.
bool follow(TaskBroker& broker, std::string& cursor, SteadyClock::time_point deadline,
            const std::function<bool(const TaskEvent&)>& done, const std::function<void()>& tick = [] {},
            const std::function<Task<bool>()>& resync = nullptr) {
  bool ended = false;
  fluid::run([&]() -> Task<> {
    while (!ended && SteadyClock::now() < deadline) {
      auto batch = co_await broker.read_events(cursor, 1000, 500ms);
      cursor = batch.cursor;
      if (batch.gap && resync) ended = co_await resync();
      for (const auto& event : batch.events) {
        if (!ended) ended = done(event);
      }
      if (!ended) tick();
    }
  }());
  return ended;
}

/// Follows the feed until `ids` are all final (or `deadline`); the final
/// runs by id. Runs whose final event the feed dropped are read one by one.
/// `tick` gets how many are final so far.
std::map<std::string, TaskRun> follow_until_final(TaskBroker& broker, std::string cursor, std::set<std::string> ids,
                                                  SteadyClock::time_point deadline,
                                                  const std::function<void(std::size_t)>& tick = [](std::size_t) {}) {
  std::map<std::string, TaskRun> finals;
  const auto all_final = [&](const TaskEvent& event) {
    if (event.kind == "state" && event.run.is_final() && ids.count(event.run.id) > 0) finals[event.run.id] = event.run;
    return finals.size() == ids.size();
  };
  const auto read_missing = [&]() -> Task<bool> {
    for (const auto& id : ids) {
      if (finals.count(id) > 0) continue;
      const auto run = co_await broker.get_run(id);
      if (run && run->is_final()) finals[id] = *run;
    }
    co_return finals.size() == ids.size();
  };
  follow(broker, cursor, deadline, all_final, [&] { tick(finals.size()); }, read_missing);
  return finals;
}

std::size_t env_count(const char* name, std::size_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::stoul(text) : fallback;
}

std::set<std::string> ids_of(const std::string& prefix, std::size_t n) {
  std::set<std::string> ids;
  for (std::size_t i = 0; i < n; ++i) ids.insert(prefix + std::to_string(i));
  return ids;
}

std::string feed_now(TaskBroker& broker) { return fluid::run(broker.read_events("", 1, 0ms)).cursor; }

std::size_t count_success(const std::map<std::string, TaskRun>& finals) {
  return static_cast<std::size_t>(std::count_if(finals.begin(), finals.end(), [](const auto& entry) {
    return entry.second.state == TaskState::success;
  }));
}

TEST(RedisProcesses, NoRunIsLostWhileAConsumerIsKilledEveryTwoSeconds) {
  FLUID_REQUIRE_REDIS_SERVER();
  // 10,000 in `make stress`; fewer in `make test`, which has a time budget.
  const std::size_t runs = env_count("FLUID_REDIS_T2_RUNS", 2'000);
  RedisServer server;
  Workplace place;
  const auto url = server.url("?name=t2");
  // 32 runs at once of 50 ms each: longer than 2 s in all, so kills happen.
  const std::vector<std::string> args{"--concurrency", "8", "--hold-ms", "50", "--lease-ms", "3000"};
  std::vector<std::unique_ptr<ChildProcess>> consumers;
  for (int i = 0; i < 4; ++i) consumers.push_back(place.start(url, args));
  auto broker = open_broker(url);
  const auto cursor = feed_now(*broker);
  fluid::run(enqueue_runs(broker, "record", "r", runs));
  std::set<pid_t> killed;
  std::size_t next_victim = 0;
  // A kill every 2 s, and at each fifth of the runs final however fast they go.
  auto next_kill = SteadyClock::now() + 2s;
  std::size_t next_share = runs / 5;
  const auto finals = follow_until_final(*broker, cursor, ids_of("r", runs), SteadyClock::now() + 240s, [&](std::size_t done) {
    if (SteadyClock::now() < next_kill && done < next_share) return;
    if (done >= next_share) next_share += runs / 5;
    auto& victim = consumers[next_victim++ % consumers.size()];
    victim->signal(SIGKILL);
    victim->wait_for(10s);
    killed.insert(victim->pid());
    victim = place.start(url, args);
    next_kill = SteadyClock::now() + 2s;
  });
  EXPECT_EQ(finals.size(), runs);
  EXPECT_EQ(count_success(finals), runs);
  EXPECT_GE(killed.size(), 1u) << "no consumer was killed while runs went on";
  // Executed at least once; a second start only after one in a killed consumer.
  std::map<std::string, std::vector<pid_t>> starts;
  for (const auto& line : place.lines()) {
    if (line.words[0] == "start") starts[line.words[1]].push_back(line.pid);
  }
  std::size_t duplicated = 0;
  for (const auto& id : ids_of("r", runs)) {
    const auto& pids = starts[id];
    EXPECT_GE(pids.size(), 1u) << id << " never executed";
    const auto in_survivors = std::count_if(pids.begin(), pids.end(), [&](pid_t pid) { return killed.count(pid) == 0; });
    EXPECT_LE(in_survivors, 1) << id << " executed twice outside killed consumers";
    if (pids.size() > 1) ++duplicated;
  }
  std::cout << "killed " << killed.size() << " consumers; " << duplicated << " runs executed more than once\n";
}


TEST(RedisProcesses, MaxConcurrencyHoldsAcrossFourConsumersAndKills) {
  FLUID_REQUIRE_REDIS_SERVER();
  constexpr std::size_t runs = 150;
  RedisServer server;
  Workplace place;
  const auto url = server.url("?name=t4");
  const std::vector<std::string> args{"--concurrency", "4", "--lease-ms", "1500"};
  std::vector<std::unique_ptr<ChildProcess>> consumers;
  for (int i = 0; i < 4; ++i) consumers.push_back(place.start(url, args));
  auto broker = open_broker(url);
  const auto cursor = feed_now(*broker);
  fluid::run(enqueue_runs(broker, "limited", "l", runs));
  std::size_t kills = 0;
  auto next_kill = SteadyClock::now() + 1s;
  const auto finals = follow_until_final(*broker, cursor, ids_of("l", runs), SteadyClock::now() + 120s, [&](std::size_t) {
    if (SteadyClock::now() < next_kill || kills == 3) return;
    auto& victim = consumers[kills++];
    victim->signal(SIGKILL);
    victim->wait_for(10s);
    victim = place.start(url, args);
    next_kill = SteadyClock::now() + 1s;
  });
  EXPECT_EQ(count_success(finals), runs);
  std::size_t starts = 0;
  for (const auto& line : place.lines()) {
    EXPECT_NE(line.words[0], "violation") << "a fourth run of 'limited' at once, in process " << line.pid;
    if (line.words[0] == "start") ++starts;
  }
  EXPECT_GE(starts, runs);
}

TEST(RedisProcesses, SigtermReleasesRunsPastTheGracePeriodToAnotherConsumerAtOnce) {
  FLUID_REQUIRE_REDIS_SERVER();
  RedisServer server;
  Workplace place;
  const auto url = server.url("?name=t5");
  auto broker = open_broker(url);
  auto cursor = feed_now(*broker);
  // The holder takes three runs and holds them far past its grace of 1 s;
  // its leases (30 s) are renewed all along, so only a release frees them.
  auto holder = place.start(url, {"--concurrency", "3", "--hold-ms", "60000", "--lease-ms", "30000", "--grace-ms",
                                  "1000"});
  fluid::run(enqueue_runs(broker, "record", "s", 3));
  std::set<std::string> running;
  const auto all_running = [&](const TaskEvent& event) {
    if (event.run.state == TaskState::running) running.insert(event.run.id);
    return running.size() == 3;
  };
  ASSERT_TRUE(follow(*broker, cursor, SteadyClock::now() + 60s, all_running));
  // The taker is consuming once it has run a probe (the holder is full).
  auto taker = place.start(url, {"--hold-ms", "0"});
  fluid::run(enqueue_runs(broker, "record", "probe", 1));
  const auto probe = follow_until_final(*broker, cursor, {"probe0"}, SteadyClock::now() + 60s);
  ASSERT_EQ(count_success(probe), 1u);
  const auto stopped_at = SteadyClock::now();
  holder->signal(SIGTERM);
  const auto finals = follow_until_final(*broker, cursor, ids_of("s", 3),
                                         SteadyClock::now() + 60s);
  const auto taken_in = SteadyClock::now() - stopped_at;
  EXPECT_EQ(holder->wait_for(30s), 0);
  ASSERT_EQ(count_success(finals), 3u);
  for (const auto& [id, run] : finals) {
    EXPECT_EQ(run.deliveries, 1u) << id << ": a release is no delivery; a reap after the lease would count";
    EXPECT_NE(run.manager_id, "") << id;
  }
  // Well inside the holder's 30 s lease: released, not reaped.
  EXPECT_LT(taken_in, 20s);
  std::map<std::string, std::set<pid_t>> started_by;
  for (const auto& line : place.lines()) {
    if (line.words[0] == "start") started_by[line.words[1]].insert(line.pid);
  }
  for (const auto& id : ids_of("s", 3)) {
    EXPECT_EQ(started_by[id], (std::set<pid_t>{holder->pid(), taker->pid()})) << id;
  }
}

TEST(RedisProcesses, ExactlyOneRunPerSlotWhileThreeSchedulersAreKilledAtRandom) {
  FLUID_REQUIRE_REDIS_SERVER();
  RedisServer server;
  Workplace place;
  const auto url = server.url("?name=t3");
  const std::vector<std::string> args{"--scheduler", "--lease-ms", "2000"};
  std::vector<std::unique_ptr<ChildProcess>> schedulers;
  for (int i = 0; i < 3; ++i) schedulers.push_back(place.start(url, args));
  auto broker = open_broker(url);
  std::string cursor = feed_now(*broker);
  std::mt19937 random(12345);
  // Slots as the broker queued them: task -> slot (us) -> the ids of its runs.
  std::map<std::string, std::map<long long, std::set<std::string>>> slots;
  const auto collect = [&](const TaskEvent& event) {
    const bool tick = event.run.task == "tick_every" || event.run.task == "tick_cron";
    if (tick && event.kind == "state" && event.run.state == TaskState::queued && event.run.execute_after) {
      const auto slot = std::chrono::floor<std::chrono::microseconds>(event.run.execute_after->time_since_epoch());
      slots[event.run.task][slot.count()].insert(event.run.id);
    }
    return false;
  };
  auto next_kill = SteadyClock::now() + 700ms;
  follow(*broker, cursor, SteadyClock::now() + 12s, collect, [&] {
    if (SteadyClock::now() < next_kill) return;
    auto& victim = schedulers[random() % schedulers.size()];
    victim->signal(SIGKILL);
    victim->wait_for(10s);
    victim = place.start(url, args);
    next_kill = SteadyClock::now() + milliseconds(300 + random() % 1200);
  });
  // Killed, not stopped: one may have been started a moment ago, before its
  // SIGTERM handler (graceful stops are the SIGTERM test's).
  for (auto& scheduler : schedulers) scheduler->signal(SIGKILL);
  for (auto& scheduler : schedulers) scheduler->wait_for(30s);
  const auto& every = slots["tick_every"];
  ASSERT_GE(every.size(), 6u);
  const auto first = every.begin()->first;
  const auto last = every.rbegin()->first;
  EXPECT_EQ(every.size(), static_cast<std::size_t>((last - first) / 1'000'000 + 1)) << "a slot was missed";
  for (const auto& [slot, ids] : every) {
    EXPECT_EQ(ids.size(), 1u) << "slot " << slot << " has " << ids.size() << " runs";
    EXPECT_EQ((slot - first) % 1'000'000, 0) << "off the grid: " << slot;
  }
  const auto& cron = slots["tick_cron"];
  // The minute the schedule is first seen usually fires, but with schedulers
  // killed around that first sighting it was missed once in three runs under
  // TSan, and the next minute is past this 12 s test: what must hold is at
  // most one run per minute.
  for (const auto& [slot, ids] : cron) {
    EXPECT_EQ(ids.size(), 1u) << "minute " << slot;
    EXPECT_EQ(slot % 60'000'000, 0) << "not a minute: " << slot;
  }
}

TEST(RedisProcesses, ConsumersPauseKeepRunningAndResumeAcrossARedisRestart) {
  FLUID_REQUIRE_REDIS_SERVER();
  RedisServer server(RedisServerOptions{.appendonly = true});
  Workplace place;
  // A restart shorter than a call's timeout can go unseen: the calls on the
  // wire are sent again after the reconnect, those not written yet wait for
  // it. Redis stays down for twice the consumers' timeout, so that each has
  // a call fail and logs the outage; the runs they hold (8 s) outlast the
  // outage and the reconnect's backoff, their leases (30 s) the renewals it
  // misses. The test's own broker waits the reconnect out.
  constexpr auto consumer_timeout = 2s;
  const auto url = server.url("?name=restart&timeout=" + std::to_string(consumer_timeout.count()));
  const std::vector<std::string> args{"--hold-ms", "8000", "--concurrency", "8", "--lease-ms", "30000"};
  auto one = place.start(url, args);
  auto two = place.start(url, args);
  auto broker = open_broker(server.url("?name=restart&timeout=10"));
  auto cursor = feed_now(*broker);
  constexpr std::size_t slots = 16;  // two consumers of --concurrency 8
  constexpr std::size_t runs = 2 * slots;
  fluid::run(enqueue_runs(broker, "record", "p", runs));
  std::set<std::string> held;
  const auto both_full = [&](const TaskEvent& event) {
    if (event.run.state == TaskState::running) held.insert(event.run.id);
    return held.size() == slots;
  };
  ASSERT_TRUE(follow(*broker, cursor, SteadyClock::now() + 60s, both_full));
  server.stop();  // the runs held keep executing meanwhile
  std::this_thread::sleep_for(2 * consumer_timeout);
  server.start();
  const auto finals = follow_until_final(*broker, "0", ids_of("p", runs), SteadyClock::now() + 120s);
  EXPECT_EQ(count_success(finals), runs);
  // Nobody is killed here: every run started was executed to its end by the
  // process that started it, the held ones across the outage included.
  std::map<std::string, std::set<pid_t>> started_by;
  std::map<std::string, std::set<pid_t>> done_by;
  for (const auto& line : place.lines()) {
    if (line.words[0] == "start") started_by[line.words[1]].insert(line.pid);
    if (line.words[0] == "done") done_by[line.words[1]].insert(line.pid);
  }
  for (const auto& id : held) EXPECT_FALSE(started_by[id].empty()) << id;
  for (const auto& [id, pids] : started_by) EXPECT_EQ(done_by[id], pids) << id << " was abandoned";
  one->signal(SIGTERM);
  two->signal(SIGTERM);
  EXPECT_EQ(one->wait_for(30s), 0);
  EXPECT_EQ(two->wait_for(30s), 0);
  // Each consumer logged the outage, naming Redis, once per loop that saw it
  // (lines are per loop up to the URL: the consumer, the loop, the call), and
  // its end.
  for (const auto* consumer : {one.get(), two.get()}) {
    std::map<std::string, std::size_t> errors;  // what failed (up to the URL) -> times logged
    std::size_t ends = 0;
    std::istringstream output(place.output_of(*consumer));
    for (std::string line; std::getline(output, line);) {
      if (line.find("[info] ") != std::string::npos && line.ends_with(" again")) ++ends;
      const auto at = line.find("[error] ");
      if (at == std::string::npos) continue;
      EXPECT_NE(line.find("127.0.0.1:" + std::to_string(server.port())), std::string::npos) << line;
      ++errors[line.substr(at, line.find("redis://") - at)];
    }
    EXPECT_GE(errors.size(), 1u) << "consumer " << consumer->pid() << " did not log the outage";
    for (const auto& [what, times] : errors) EXPECT_EQ(times, 1u) << consumer->pid() << ": " << what;
    EXPECT_GE(ends, 1u) << "consumer " << consumer->pid() << " did not log the outage's end";
  }
}

TEST(RedisProcesses, AConsumerThatCannotReachRedisAtStartupExitsTwoAfterItsConnectTimeout) {
  FLUID_REQUIRE_REDIS_SERVER();
  Workplace place;
  std::uint16_t closed_port = 0;
  {
    RedisServer server;  // a port that was Redis's and is closed now
    closed_port = server.port();
  }
  const auto url = "redis://127.0.0.1:" + std::to_string(closed_port) + "?name=unreachable&connect_timeout=1";
  const auto started = SteadyClock::now();
  auto consumer = place.start(url);
  const auto code = consumer->wait_for(60s);
  EXPECT_EQ(code, 2) << place.output();
  EXPECT_GE(SteadyClock::now() - started, 1s);
}

TEST(RedisProcesses, RunsGoThroughAProxyThatDropsStallsAndCutsReplies) {
  FLUID_REQUIRE_REDIS_SERVER();
  RedisServer server;
  FaultProxy proxy(server.port());
  Workplace place;
  auto consumer = place.start(proxy.url("?name=faults&timeout=2"), {"--hold-ms", "20", "--lease-ms", "3000"});
  auto broker = open_broker(server.url("?name=faults"));
  auto cursor = feed_now(*broker);
  constexpr std::size_t runs = 300;
  fluid::run(enqueue_runs(broker, "record", "f", runs));
  int fault = 0;
  auto next_fault = SteadyClock::now() + 300ms;
  const auto finals = follow_until_final(*broker, cursor, ids_of("f", runs), SteadyClock::now() + 120s, [&](std::size_t) {
    if (SteadyClock::now() < next_fault || fault >= 6) return;
    switch (fault++ % 3) {
      case 0: proxy.drop_connections(); break;
      case 1: proxy.cut_next_reply(7); break;
      default:
        proxy.stall_replies();  // longer than the client's timeout of 2 s: the connection is dropped
        std::this_thread::sleep_for(2500ms);
        proxy.resume_replies();
    }
    next_fault = SteadyClock::now() + 400ms;
  });
  EXPECT_EQ(count_success(finals), runs);
  EXPECT_GE(proxy.connections(), 4u);
  consumer->signal(SIGTERM);
  EXPECT_EQ(consumer->wait_for(30s), 0) << place.output();
}

}  // namespace
}  // namespace fluid::test
