#include "brokers/redis/client.hpp"

#include "brokers/redis/connection.hpp"
#include "brokers/redis/errors.hpp"
#include "fluid/errors.hpp"

namespace fluid::redis {

// ---------------------------------------------------------------- RedisScript

struct RedisScript::State {
  std::string source;
  mutable std::mutex mutex;
  std::string sha;  // guarded by mutex
};

RedisScript::RedisScript(std::string source) : state_(std::make_shared<State>()) { state_->source = std::move(source); }

const std::string& RedisScript::source() const noexcept { return state_->source; }

std::string RedisScript::sha() const {
  std::lock_guard lock(state_->mutex);
  return state_->sha;
}

void RedisScript::set_sha(std::string sha) const {
  std::lock_guard lock(state_->mutex);
  state_->sha = std::move(sha);
}

// ---------------------------------------------------------------- RedisClient

namespace {

ClientOptions checked(ClientOptions options) {
  if (options.url.tls) {
    throw FluidError(options.url.redacted + ": rediss:// needs TLS, which this build of fluid does not have");
  }
  return options;
}

std::vector<std::string> evalsha_args(const std::string& sha, const std::vector<std::string>& keys,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> command{"EVALSHA", sha, std::to_string(keys.size())};
  command.reserve(command.size() + keys.size() + args.size());
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

// Clears the blocking connection's "in use" mark when its call ends, however.
struct InUse {
  std::atomic<bool>& busy;
  ~InUse() { busy.store(false); }
};

}  // namespace

RedisClient::RedisClient(boost::asio::any_io_executor executor, ClientOptions options)
    : connection_(std::make_shared<Connection>(std::move(executor), checked(std::move(options)))) {}

RedisClient::~RedisClient() { connection_->close(); }

const std::string& RedisClient::address() const noexcept { return connection_->address(); }

void RedisClient::close() { connection_->close(); }

Task<> RedisClient::open() {
  const CallOptions options{.timeout = connection_->options().url.connect_timeout, .idempotent = true};
  // Named, never braced in the call: see the README's g++ 12 pitfall.
  std::vector<std::string> ping{"PING"};
  co_await call(std::move(ping), options);
}

Task<Reply> RedisClient::call(std::vector<std::string> args, CallOptions options) {
  auto request = connection_->make_request(args, options);
  if (!connection_->options().blocking) co_return co_await connection_->submit(std::move(request));
  if (busy_.exchange(true)) {
    throw FluidError(address() + ": a blocking connection serves one call at a time (" + request->command +
                     " while another call waits)");
  }
  const InUse in_use{busy_};
  co_return co_await connection_->submit(std::move(request));
}

Task<Reply> RedisClient::eval(RedisScript script, std::vector<std::string> keys, std::vector<std::string> args,
                              CallOptions options) {
  auto sha = script.sha();
  if (sha.empty()) sha = co_await load(script);
  try {
    auto command = evalsha_args(sha, keys, args);
    co_return co_await call(std::move(command), options);
  } catch (const RedisReplyError& e) {
    // NOSCRIPT: the script did not run; the server lost it (restart, SCRIPT FLUSH).
    if (e.code() != "NOSCRIPT") throw;
  }
  sha = co_await load(script);
  auto command = evalsha_args(sha, keys, args);
  co_return co_await call(std::move(command), options);
}

Task<std::string> RedisClient::load(RedisScript script) {
  const CallOptions options{.idempotent = true};
  std::vector<std::string> command{"SCRIPT", "LOAD", script.source()};
  const auto reply = co_await call(std::move(command), options);
  script.set_sha(reply.as_string());
  co_return reply.as_string();
}

}  // namespace fluid::redis
