// A consumer (or scheduler) process for the Redis process tests: a
// TaskConsumer on a redis:// URL, serve()d, whose tasks write what they do to
// an append-only file of this process (<dir>/<pid>.log), one write() a line,
// so a test that SIGKILLs it can still read what it did.
//
//   redis_task_worker --url URL --dir DIR [--scheduler] [--hold-ms N]
//                     [--concurrency N] [--lease-ms N] [--grace-ms N]
//
// Tasks: `record` (logs "start <id> <deliveries>", holds --hold-ms, logs
// "done <id>"), `limited` (max_concurrency 3, rate-limit retried: takes a
// free one of 4 lock files; taking the fourth would be a fourth run at once,
// logged "violation"), and with --scheduler `tick_every` (every 1 s) and
// `tick_cron` (every minute), which log "tick <task> <slot-us> <id>".

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

struct Options {
  std::string url;
  std::string dir;
  bool scheduler = false;
  milliseconds hold{0};
  std::size_t concurrency = 8;
  milliseconds lease{2'000};
  milliseconds grace{1'000};
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view key = argv[i];
    if (key == "--scheduler") {
      options.scheduler = true;
      continue;
    }
    if (i + 1 == argc) break;
    const std::string value = argv[++i];
    if (key == "--url") options.url = value;
    if (key == "--dir") options.dir = value;
    if (key == "--hold-ms") options.hold = milliseconds(std::stoll(value));
    if (key == "--concurrency") options.concurrency = std::stoul(value);
    if (key == "--lease-ms") options.lease = milliseconds(std::stoll(value));
    if (key == "--grace-ms") options.grace = milliseconds(std::stoll(value));
  }
  if (options.url.empty() || options.dir.empty()) {
    std::cerr << "usage: redis_task_worker --url URL --dir DIR [options]\n";
    std::exit(64);
  }
  return options;
}

/// This process's append-only log: a line is one write(), whole even if the
/// process is killed right after.
class Journal {
 public:
  explicit Journal(const std::string& dir)
      : fd_(::open((dir + "/" + std::to_string(::getpid()) + ".log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644)) {
    if (fd_ < 0) throw std::runtime_error("cannot open the journal in " + dir);
  }
  void line(const std::string& text) const {
    const std::string whole = text + "\n";
    if (::write(fd_, whole.data(), whole.size()) != static_cast<ssize_t>(whole.size())) std::abort();
  }

 private:
  int fd_;
};

/// One of `count` lock files, held while the object lives; released by the
/// kernel when the process dies.
class SlotLock {
 public:
  SlotLock(const std::string& dir, int count) {
    for (int i = 0; i < count; ++i) {
      const int fd = ::open((dir + "/slot-" + std::to_string(i)).c_str(), O_RDWR | O_CREAT, 0644);
      if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        fd_ = fd;
        index_ = i;
        return;
      }
      if (fd >= 0) ::close(fd);
    }
  }
  ~SlotLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  SlotLock(const SlotLock&) = delete;
  SlotLock& operator=(const SlotLock&) = delete;
  int index() const { return index_; }

 private:
  int fd_ = -1;
  int index_ = -1;
};

std::string micros(const std::optional<fluid::TimePoint>& time) {
  if (!time) return "none";
  return std::to_string(std::chrono::floor<std::chrono::microseconds>(time->time_since_epoch()).count());
}

std::vector<fluid::TaskDefinition> tasks(const Options& options, std::shared_ptr<Journal> journal) {
  std::vector<fluid::TaskDefinition> tasks;
  tasks.push_back(fluid::make_task(
      "record",
      [journal, hold = options.hold](fluid::TaskContext& ctx) -> fluid::Task<> {
        journal->line("start " + ctx.id() + " " + std::to_string(ctx.run().deliveries));
        if (hold > milliseconds::zero()) co_await fluid::sleep(hold);
        journal->line("done " + ctx.id());
      },
      fluid::TaskOptions{.timeout = 120s}));
  fluid::RetryPolicy rate_limit;
  rate_limit.wait = 20ms;
  rate_limit.max_wait = 20ms;
  tasks.push_back(fluid::make_task(
      "limited",
      [journal, dir = options.dir](fluid::TaskContext& ctx) -> fluid::Task<> {
        const SlotLock slot(dir, 4);
        if (slot.index() < 0 || slot.index() >= 3) journal->line("violation " + ctx.id());
        journal->line("start " + ctx.id() + " " + std::to_string(ctx.run().deliveries));
        co_await fluid::sleep(30ms);
        journal->line("done " + ctx.id());
      },
      fluid::TaskOptions{.max_concurrency = 3, .rate_limit_retry = rate_limit}));
  if (!options.scheduler) return tasks;
  const auto tick = [journal](fluid::TaskContext& ctx) -> fluid::Task<> {
    journal->line("tick " + ctx.run().task + " " + micros(ctx.run().execute_after) + " " + ctx.id());
    co_return;
  };
  tasks.push_back(fluid::make_task("tick_every", tick, fluid::TaskOptions{.schedule = fluid::every(1s)}));
  tasks.push_back(fluid::make_task("tick_cron", tick, fluid::TaskOptions{.schedule = fluid::crontab("* * * * *")}));
  return tasks;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  auto journal = std::make_shared<Journal>(options.dir);
  fluid::TaskManagerConfig config;
  config.broker_url = options.url;
  config.max_concurrent_tasks = options.concurrency;
  config.lease = options.lease;
  const fluid::WorkerOptions worker{.name = "redis_task_worker", .stopping_grace_period = options.grace};
  std::unique_ptr<fluid::TaskConsumer> consumer;
  if (options.scheduler) {
    consumer = std::make_unique<fluid::TaskScheduler>(config, worker);
  } else {
    consumer = std::make_unique<fluid::TaskConsumer>(config, worker);
  }
  consumer->register_tasks(tasks(options, journal));
  journal->line("ready");
  return fluid::serve(*consumer);
}
