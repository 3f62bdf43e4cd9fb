#pragma once
/// @file
/// AsyncConsumer: a queue consumer that hands each message to an AsyncDispatcher.

#include "fluid/async_dispatcher.hpp"
#include "fluid/errors.hpp"
#include "fluid/queue_consumer.hpp"

#include <memory>

namespace fluid {

/// A queue consumer that awaits `dispatcher->dispatch(message)` for each
/// message, in order: the handlers of one message run concurrently, messages
/// one after another. An exception from a handler fails the worker.
template <class T>
class AsyncConsumer : public QueueConsumer<T> {
 public:
  /// @throws FluidError if `dispatcher` is null.
  explicit AsyncConsumer(std::shared_ptr<AsyncDispatcher<T>> dispatcher, WorkerOptions options = {},
                         QueueOptions queue = {})
      : QueueConsumer<T>(std::move(options), queue), dispatcher_(std::move(dispatcher)) {
    if (!dispatcher_) throw FluidError("AsyncConsumer: the dispatcher is null");
  }

  /// The dispatcher messages are handed to.
  const std::shared_ptr<AsyncDispatcher<T>>& dispatcher() const noexcept { return dispatcher_; }

 protected:
  Task<> run() override {
    co_await this->consume([this](T message) -> Task<> { co_await dispatcher_->dispatch(message); });
  }

 private:
  std::shared_ptr<AsyncDispatcher<T>> dispatcher_;
};

}  // namespace fluid
