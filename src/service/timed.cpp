#include "service/timed.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fluid::detail {

namespace asio = boost::asio;

namespace {

Task<std::exception_ptr> error_of(Task<> task) {
  try {
    co_await std::move(task);
  } catch (...) {
    co_return std::current_exception();
  }
  co_return nullptr;
}

}  // namespace

Task<Timed> race_timer(Task<> task, std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto winner = co_await (error_of(std::move(task)) || timer.async_wait(asio::use_awaitable));
  if (winner.index() == 1) co_return Timed{.timed_out = true};
  co_return Timed{.error = std::get<0>(winner)};
}

}  // namespace fluid::detail
