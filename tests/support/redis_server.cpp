#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace fluid::test {

namespace {

using namespace std::chrono_literals;

constexpr auto ready_timeout = 30s;  // a loaded CI machine under sanitizers is slow
constexpr int port_attempts = 5;     // a free port can be taken before redis binds it
constexpr std::uint16_t system_port = 6379;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("RedisServer: " + what); }

// A port nobody listens on right now (the kernel's pick for port 0).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("socket: " + std::system_category().message(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
  ::close(fd);
  if (!ok) fail("cannot find a free port: " + std::system_category().message(errno));
  return ntohs(address.sin_port);
}

std::filesystem::path make_temp_dir() {
  auto pattern = (std::filesystem::temp_directory_path() / "fluid-redis-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) fail("mkdtemp: " + std::system_category().message(errno));
  return pattern;
}

}  // namespace

std::optional<std::string> RedisServer::binary() {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/bin:/bin";
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const auto dir = rest.substr(0, colon);
    const auto candidate = std::filesystem::path(dir) / "redis-server";
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

RedisServer::RedisServer(RedisServerOptions options) : options_(std::move(options)) {
  const auto found = binary();
  if (!found) fail("redis-server not found on PATH");
  binary_ = *found;
  dir_ = make_temp_dir();
  for (int attempt = 1; attempt <= port_attempts; ++attempt) {
    do {
      port_ = free_port();
    } while (port_ == system_port);
    if (launch()) return;
    if (log().find("Address already in use") == std::string::npos) break;
  }
  const auto output = log();
  std::filesystem::remove_all(dir_);
  fail("redis-server did not start; its log:\n" + output);
}

RedisServer::~RedisServer() {
  if (running()) stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string RedisServer::url(std::string_view rest) const {
  const auto credentials = options_.password.empty() ? std::string() : ":" + options_.password + "@";
  return "redis://" + credentials + "127.0.0.1:" + std::to_string(port_) + std::string(rest);
}

std::vector<std::string> RedisServer::arguments() const {
  std::vector<std::string> args{binary_,
                                "--port",
                                std::to_string(port_),
                                "--bind",
                                "127.0.0.1",
                                "--dir",
                                dir_.string(),
                                "--unixsocket",
                                unix_socket(),
                                "--unixsocketperm",
                                "700",
                                "--save",
                                "",
                                "--appendonly",
                                options_.appendonly ? "yes" : "no",
                                "--daemonize",
                                "no",
                                "--logfile",
                                "",
                                "--enable-debug-command",
                                "local"};
  if (!options_.password.empty()) {
    args.insert(args.end(), {"--requirepass", options_.password});
  }
  args.insert(args.end(), options_.extra.begin(), options_.extra.end());
  return args;
}

// Forks the server with its stdout and stderr on a pipe that log_reader_
// reads, then waits for its "Ready to accept connections" (or its exit).
bool RedisServer::launch() {
  auto args = arguments();
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int pipe_fds[2];
  // Close-on-exec: a child forked meanwhile by another thread must not hold
  // the pipe open (dup2 below clears the flag for the server's own copies).
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) fail("pipe: " + std::system_category().message(errno));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) fail("fork: " + std::system_category().message(errno));
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  pid_ = pid;
  {
    std::lock_guard lock(mutex_);
    ready_ = false;
    ended_ = false;
    ready_scan_from_ = log_.size();
  }
  log_reader_ = std::thread([this, fd = pipe_fds[0]] { read_log(fd); });
  std::unique_lock lock(mutex_);
  const bool settled = changed_.wait_for(lock, ready_timeout, [this] { return ready_ || ended_; });
  const bool ready = ready_;
  lock.unlock();
  if (ready) return true;
  reap(settled ? 0 : SIGKILL);
  if (!settled) fail("redis-server not ready within 30 s; its log:\n" + log());
  return false;
}

void RedisServer::read_log(int fd) {
  char buffer[4096];
  for (;;) {
    const ssize_t size = ::read(fd, buffer, sizeof(buffer));
    if (size < 0 && errno == EINTR) continue;
    std::lock_guard lock(mutex_);
    if (size <= 0) {
      ended_ = true;
      changed_.notify_all();
      break;
    }
    log_.append(buffer, static_cast<std::size_t>(size));
    if (!ready_ && log_.find("Ready to accept connections", ready_scan_from_) != std::string::npos) {
      ready_ = true;
      changed_.notify_all();
    }
  }
  ::close(fd);
}

// Sends `signal` (0: none, it is exiting anyway) and waits for the exit and
// the end of its log.
void RedisServer::reap(int signal) {
  if (pid_ <= 0) return;
  if (signal != 0) ::kill(pid_, signal);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (log_reader_.joinable()) log_reader_.join();
}

void RedisServer::stop() { reap(SIGTERM); }

void RedisServer::kill() { reap(SIGKILL); }

void RedisServer::start() {
  if (running()) return;
  {
    std::lock_guard lock(mutex_);
    log_ += "\n--- restarted ---\n";
  }
  if (!launch()) fail("redis-server did not restart on port " + std::to_string(port_) + "; its log:\n" + log());
}

std::string RedisServer::log() const {
  std::lock_guard lock(mutex_);
  return log_;
}

}  // namespace fluid::test
