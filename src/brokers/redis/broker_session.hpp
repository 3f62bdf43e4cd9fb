#pragma once
// What an open Redis broker object holds: its connections (one multiplexed
// for every non-blocking call, pools of blocking ones for the wake-up wait
// and the event feed, opened on first use) and the I/O thread they run on,
// so that calls work from any executor and outlive none of them.

#include "brokers/redis/client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fluid::redis {

/// An io_context on a thread of its own, drained and joined when destroyed.
class IoThread {
 public:
  IoThread();
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;
  boost::asio::any_io_executor executor() { return context_.get_executor(); }

 private:
  boost::asio::io_context context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::promise<void> done_;
  std::thread thread_;
};

/// Blocking connections (BLPOP, XREAD BLOCK), each serving one call at a
/// time: a call takes an idle one or opens another, so concurrent waits on
/// one broker object never queue behind each other.
class BlockingPool {
 public:
  BlockingPool(boost::asio::any_io_executor executor, ClientOptions options);
  /// As RedisClient::call(), on a connection of the pool.
  [[nodiscard]] Task<Reply> call(std::vector<std::string> args, CallOptions options);
  /// Closes every connection: calls waiting fail with BrokerUnavailableError.
  void close();

 private:
  std::shared_ptr<RedisClient> acquire();
  void release(std::shared_ptr<RedisClient> client);

  boost::asio::any_io_executor executor_;
  ClientOptions options_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<RedisClient>> idle_;  // guarded by mutex_
  std::vector<std::weak_ptr<RedisClient>> all_;     // guarded by mutex_
  bool closed_ = false;                             // guarded by mutex_
};

/// The connections of one open broker object.
struct BrokerSession {
  explicit BrokerSession(const RedisUrl& url);
  /// Closes every connection, then drains and joins the thread.
  ~BrokerSession();
  BrokerSession(const BrokerSession&) = delete;
  BrokerSession& operator=(const BrokerSession&) = delete;
  /// Closes every connection (pending calls fail); the thread stays until destruction.
  void close();

  IoThread io;  // declared first: destroyed last
  RedisClient main;
  BlockingPool waits;
  BlockingPool feed;
};

}  // namespace fluid::redis
