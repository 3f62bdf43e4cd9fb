#include "brokers/redis/broker_session.hpp"

#include <chrono>
#include <functional>

namespace fluid::redis {

namespace {

ClientOptions options_of(const RedisUrl& url, bool blocking) {
  ClientOptions options;
  options.url = url;
  options.blocking = blocking;
  return options;
}

// Gives a blocking connection back to its pool when its call ends, however.
struct Borrowed {
  std::function<void()> give_back;
  ~Borrowed() { give_back(); }
};

}  // namespace

IoThread::IoThread() : guard_(boost::asio::make_work_guard(context_)) {
  thread_ = std::thread([this] {
    context_.run();
    done_.set_value();
  });
}

IoThread::~IoThread() {
  guard_.reset();
  // The connections end their loops once closed; should one not, stop
  // rather than hang the caller's close().
  if (done_.get_future().wait_for(std::chrono::seconds(5)) != std::future_status::ready) context_.stop();
  thread_.join();
}

BlockingPool::BlockingPool(boost::asio::any_io_executor executor, ClientOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

std::shared_ptr<RedisClient> BlockingPool::acquire() {
  std::lock_guard lock(mutex_);
  if (!idle_.empty()) {
    auto client = std::move(idle_.back());
    idle_.pop_back();
    return client;
  }
  auto client = std::make_shared<RedisClient>(executor_, options_);
  if (closed_) client->close();
  std::erase_if(all_, [](const auto& weak) { return weak.expired(); });
  all_.push_back(client);
  return client;
}

void BlockingPool::release(std::shared_ptr<RedisClient> client) {
  std::lock_guard lock(mutex_);
  if (!closed_) idle_.push_back(std::move(client));
}

Task<Reply> BlockingPool::call(std::vector<std::string> args, CallOptions options) {
  auto client = acquire();
  const Borrowed borrowed{[this, client] { release(client); }};
  co_return co_await client->call(std::move(args), options);
}

void BlockingPool::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  idle_.clear();
  for (const auto& weak : all_) {
    if (auto client = weak.lock()) client->close();
  }
}

BrokerSession::BrokerSession(const RedisUrl& url)
    : main(io.executor(), options_of(url, false)),
      waits(io.executor(), options_of(url, true)),
      feed(io.executor(), options_of(url, true)) {}

BrokerSession::~BrokerSession() { close(); }

void BrokerSession::close() {
  main.close();
  waits.close();
  feed.close();
}

}  // namespace fluid::redis
