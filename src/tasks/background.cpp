#include "tasks/background.hpp"

#include "tasks/cancellation.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>

namespace fluid::detail {

namespace asio = boost::asio;

Background::Background(asio::any_io_executor executor, std::string name)
    : executor_(std::move(executor)), name_(std::move(name)) {}

std::shared_ptr<Background> Background::spawn(asio::any_io_executor executor, Task<> body, std::string name) {
  // Serialized on its own when the loop has several threads, so the
  // cancellation is emitted where the coroutine runs.
  executor = worker_executor(executor);
  std::shared_ptr<Background> self(new Background(executor, std::move(name)));
  asio::co_spawn(executor, std::move(body),
                 asio::bind_cancellation_slot(self->signal_.slot(),
                                              [self](std::exception_ptr error) { self->ended(std::move(error)); }));
  return self;
}

void Background::ended(std::exception_ptr error) {
  if (error && !is_cancellation(error)) logger()->error("{} failed: {}", name_, error_message(error));
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  ended_.notify_all();
}

void Background::cancel() {
  asio::dispatch(executor_, [self = shared_from_this()] {
    bool done = false;
    {
      std::lock_guard lock(self->mutex_);
      done = self->done_;
    }
    if (!done) self->signal_.emit(asio::cancellation_type::terminal);
  });
}

Task<> Background::join() {
  co_await ended_.wait_until([this] {
    std::lock_guard lock(mutex_);
    return done_;
  });
}

}  // namespace fluid::detail
