#include "brokers/redis/script_batch.hpp"

#include "fluid/tasks/errors.hpp"
#include "tasks/cancellation.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

namespace fluid::redis {

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

Task<> ScriptBatch::lead(Requests batch, std::shared_ptr<Request> own) {
  // A leader whose frame is destroyed while it waits (its loop torn down)
  // hands the batch on as a cancelled one does, so no other caller hangs.
  struct Abandoned {
    std::shared_ptr<State> state;
    Requests& batch;
    const std::shared_ptr<Request>& own;
    bool settled = false;
    ~Abandoned() {
      if (settled) return;
      const boost::system::system_error aborted(boost::asio::error::operation_aborted);
      state->settle(batch, own, Reply{}, std::make_exception_ptr(aborted));
      state->sent.notify_all();
    }
  } abandoned{state_, batch, own};
  Reply reply;
  std::exception_ptr error;
  try {
    std::vector<std::string> args;
    for (const auto& request : batch) args.insert(args.end(), request->args.begin(), request->args.end());
    reply = co_await send_(std::move(args));
  } catch (...) {
    error = std::current_exception();
  }
  abandoned.settled = true;
  state_->settle(batch, own, std::move(reply), std::move(error));
  state_->sent.notify_all();
}

ScriptBatch::Requests ScriptBatch::State::take_batch() {
  sending = true;
  const auto taken = queued.begin() + static_cast<std::ptrdiff_t>(std::min(queued.size(), max_batch));
  Requests batch(queued.begin(), taken);
  queued.erase(queued.begin(), taken);
  return batch;
}

void ScriptBatch::State::settle(Requests& batch, const std::shared_ptr<Request>& own, Reply reply,
                                std::exception_ptr error) {
  std::lock_guard lock(mutex);
  sending = false;
  if (error && detail::is_cancellation(error)) {
    // The leader's own cancellation is no answer for the others: they go in
    // the next batch, ahead of what queued since; those whose callers left
    // meanwhile are dropped.
    own->error = error;
    own->done = true;
    std::erase_if(batch, [&](const auto& request) { return request == own || request->abandoned; });
    queued.insert(queued.begin(), batch.begin(), batch.end());
    return;
  }
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
