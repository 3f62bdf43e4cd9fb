#include "brokers/redis/script_batch.hpp"

#include "fluid/tasks/errors.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace fluid::redis {

namespace asio = boost::asio;

ScriptBatch::ScriptBatch(Send send, std::size_t max_batch)
    : send_(std::move(send)), state_(std::make_shared<State>(max_batch)) {}

Task<Reply> ScriptBatch::call(std::vector<std::string> args) {
  const auto state = state_;
  auto request = std::make_shared<Request>();
  request->args = std::move(args);
  {
    std::lock_guard lock(state->mutex);
    state->queued.push_back(request);
  }
  // Whoever finds no batch on the wire sends what queued (its own request
  // among them unless max_batch came first); the others wait for a batch
  // to come back.
  for (;;) {
    const auto ticket = state->sent.ticket();
    {
      std::lock_guard lock(state->mutex);
      if (request->done) break;
    }
    bool leads = false;
    try {
      leads = co_await may_lead(state, request);  // throws, unsent, when the caller is cancelled already
    } catch (...) {
      state->abandon(request);
      throw;
    }
    if (leads) {
      Requests batch;
      {
        std::lock_guard lock(state->mutex);
        if (request->done) break;
        if (!state->sending) batch = state->take_batch();
      }
      if (!batch.empty()) {
        co_await lead(std::move(batch), request);
        continue;
      }
    }
    std::exception_ptr cancelled;
    try {
      (void)co_await state->sent.wait(ticket);
    } catch (...) {
      cancelled = std::current_exception();
    }
    if (cancelled) {
      state->abandon(request);
      std::rethrow_exception(cancelled);
    }
  }
  if (request->error) std::rethrow_exception(request->error);
  co_return std::move(request->answer);
}

Task<bool> ScriptBatch::may_lead(std::shared_ptr<State> state, std::shared_ptr<Request> request) {
  {
    std::lock_guard lock(state->mutex);
    if (state->sending) co_return false;  // call() saw `request` not done, with no turn since
  }
  // The callers a batch's answer resumed are still on the loop's queue,
  // each about to call again: one turn lets them join this batch instead
  // of following a batch of one (seen in W7: every other enqueue and most
  // finishes went alone). A frame destroyed meanwhile is not sent; it may
  // be destroyed after the batch object (its loop torn down late): the
  // guard owns the state.
  struct Unqueued {
    std::shared_ptr<State> state;
    std::shared_ptr<Request> request;
    bool resumed = false;
    ~Unqueued() {
      if (!resumed) state->abandon(request);
    }
  } unqueued{state, request};
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  // Cancelled during the turn: leading now would take the batch and then
  // fail to co_await lead() (Asio throws on a cancelled caller's next
  // co_await), losing the batch with `sending` set. Stays unqueued; the wait throws.
  const auto cancelled = (co_await asio::this_coro::cancellation_state).cancelled();
  if (cancelled != asio::cancellation_type::none) co_return false;
  unqueued.resumed = true;
  co_return true;
}

Task<> ScriptBatch::lead(Requests batch, std::shared_ptr<Request> own) {
  // A leader whose frame is destroyed while it waits (its loop torn down)
  // hands the batch on, so no other caller hangs.
  struct Abandoned {
    std::shared_ptr<State> state;
    Requests& batch;
    const std::shared_ptr<Request>& own;
    bool settled = false;
    ~Abandoned() {
      if (settled) return;
      state->hand_on(batch, own);
      state->sent.notify_all();
    }
  } abandoned{state_, batch, own};
  Reply reply;
  std::exception_ptr error;
  try {
    std::vector<std::string> args;
    for (const auto& request : batch) args.insert(args.end(), request->args.begin(), request->args.end());
    // Not cancellable: the batch holds other callers' requests, and a script
    // abandoned on the wire may still run, so sending it again could answer
    // "already there" to an enqueue that created its run.
    const auto executor = co_await asio::this_coro::executor;
    reply = co_await asio::co_spawn(executor, send_(std::move(args)),
                                    asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable));
  } catch (...) {
    error = std::current_exception();
  }
  abandoned.settled = true;
  state_->settle(batch, std::move(reply), std::move(error));
  state_->sent.notify_all();
}

ScriptBatch::Requests ScriptBatch::State::take_batch() {
  if (queued.empty()) return {};  // a request neither queued nor done is on the wire
  sending = true;
  const auto taken = queued.begin() + static_cast<std::ptrdiff_t>(std::min(queued.size(), max_batch));
  Requests batch(queued.begin(), taken);
  queued.erase(queued.begin(), taken);
  return batch;
}

void ScriptBatch::State::hand_on(Requests& batch, const std::shared_ptr<Request>& own) {
  // The others go in the next batch, ahead of what queued since; those
  // whose callers left meanwhile, and the leader's own, are dropped.
  std::lock_guard lock(mutex);
  sending = false;
  std::erase_if(batch, [&](const auto& request) { return request == own || request->abandoned; });
  std::erase(queued, own);
  queued.insert(queued.begin(), batch.begin(), batch.end());
}

void ScriptBatch::State::settle(Requests& batch, Reply reply, std::exception_ptr error) {
  std::lock_guard lock(mutex);
  sending = false;
  if (!error && (reply.type != Reply::Type::array || reply.elements.size() != batch.size())) {
    error = std::make_exception_ptr(BrokerError("Redis broker: a batch of " + std::to_string(batch.size()) +
                                                " requests answered with " + reply.describe()));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (error) {
      batch[i]->error = error;
    } else {
      batch[i]->answer = std::move(reply.elements[i]);
    }
    batch[i]->done = true;
  }
}

void ScriptBatch::State::abandon(const std::shared_ptr<Request>& request) {
  std::lock_guard lock(mutex);
  request->abandoned = true;
  std::erase(queued, request);
}

}  // namespace fluid::redis
