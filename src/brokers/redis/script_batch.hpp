#pragma once
// Group commit for one script: calls made while an earlier batch is on the
// wire go together as the next one. Under load a script then runs once for
// many runs, and Redis pays its fixed cost (the call, the library's set-up,
// the clock, the counters and wake-ups a batch shares) once; alone, a call
// goes after one turn of its loop. No timer: a batch is what queued
// meanwhile.

#include "brokers/redis/reply.hpp"
#include "fluid/detail/notifier.hpp"
#include "fluid/task.hpp"

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fluid::redis {

class ScriptBatch {
 public:
  /// Sends one batch: the requests' arguments one after the other; answers
  /// an array with one element per request, in order.
  using Send = std::function<Task<Reply>(std::vector<std::string> args)>;

  /// At most `max_batch` requests go in one call: a script blocks Redis
  /// while it runs, so a batch's length bounds what others wait.
  explicit ScriptBatch(Send send, std::size_t max_batch = 128);
  ScriptBatch(const ScriptBatch&) = delete;
  ScriptBatch& operator=(const ScriptBatch&) = delete;

  /// Sends `args` (one request's arguments) in the next batch and returns
  /// the request's own answer.
  /// @throws what sending the batch threw; BrokerError when the answer is
  ///         not one element per request. A call cancelled before its batch
  ///         left is not sent; one cancelled while its batch is on the wire
  ///         has its answer dropped, and the caller sending that batch waits
  ///         for its answer (the call's timeout bounds it). The scripts must
  ///         be idempotent: a batch whose sender's loop is destroyed on the
  ///         wire goes again.
  /// @warning The answer reaches the others through the sending caller's
  ///          executor: a loop that stops (without being destroyed) while
  ///          its call sends a batch holds up the callers of that batch.
  [[nodiscard]] Task<Reply> call(std::vector<std::string> args);

 private:
  struct Request {
    std::vector<std::string> args;
    Reply answer;
    std::exception_ptr error;
    bool done = false;       // guarded by State::mutex
    bool abandoned = false;  // its caller was cancelled; guarded by State::mutex
  };
  using Requests = std::vector<std::shared_ptr<Request>>;
  // Shared with the calls in progress: a frame destroyed after the batch
  // object (its loop torn down late) still finds it.
  struct State {
    explicit State(std::size_t max_batch) : max_batch(max_batch) {}
    const std::size_t max_batch;
    std::mutex mutex;
    Requests queued;       // guarded by mutex
    bool sending = false;  // guarded by mutex
    detail::Notifier sent;

    Requests take_batch();  // under mutex
    void settle(Requests& batch, Reply reply, std::exception_ptr error);
    void hand_on(Requests& batch, const std::shared_ptr<Request>& own);
    void abandon(const std::shared_ptr<Request>& request);
  };

  // Whether `request` may take the next batch, after one turn of the loop.
  static Task<bool> may_lead(std::shared_ptr<State> state, std::shared_ptr<Request> request);
  Task<> lead(Requests batch, std::shared_ptr<Request> own);

  const Send send_;
  const std::shared_ptr<State> state_;
};

}  // namespace fluid::redis
