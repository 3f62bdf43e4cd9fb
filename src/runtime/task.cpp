#include "fluid/task.hpp"

#include "fluid/errors.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/consign.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <exception>
#include <memory>
#include <thread>
#include <vector>

namespace fluid {

namespace asio = boost::asio;

namespace {

// Its presence in a context is the mark that several threads run it.
struct WorkerStrands : asio::execution_context::service {
  using key_type = WorkerStrands;
  static inline asio::execution_context::id id;
  explicit WorkerStrands(asio::execution_context& context) : service(context) {}
  void shutdown() override {}
};

}  // namespace

void use_worker_strands(asio::execution_context& context) {
  if (!asio::has_service<WorkerStrands>(context)) asio::make_service<WorkerStrands>(context);
}

namespace detail {

asio::any_io_executor worker_executor(const asio::any_io_executor& caller) {
  auto& context = asio::query(caller, asio::execution::context_as<asio::execution_context&>);
  if (!asio::has_service<WorkerStrands>(context)) return caller;
  // A strand of the caller's strand would still be serialized with it: take
  // the strand's own executor so the new worker really runs in parallel.
  if (const auto* strand = caller.target<asio::strand<asio::any_io_executor>>()) {
    return asio::make_strand(strand->get_inner_executor());
  }
  return asio::make_strand(caller);
}

void run_to_completion(Task<> main, RunOptions options) {
  if (options.threads == 0) throw FluidError("fluid::run: threads must be at least 1, got 0");
  asio::io_context loop(static_cast<int>(options.threads));
  if (options.threads > 1) use_worker_strands(loop);
  std::exception_ptr error;
  bool finished = false;
  asio::co_spawn(loop, std::move(main), [&](std::exception_ptr e) {
    error = e;
    finished = true;
    loop.stop();  // like asyncio.run: whatever main left pending is abandoned
  });
  std::vector<std::jthread> helpers;
  for (std::size_t i = 1; i < options.threads; ++i) helpers.emplace_back([&loop] { loop.run(); });
  loop.run();
  for (auto& t : helpers) t.join();
  if (!finished) throw FluidError("fluid::run: the main task was abandoned before it completed");
  if (error) std::rethrow_exception(error);
}

}  // namespace detail

namespace {

Task<> yield_to_loop() {
  const auto executor = co_await asio::this_coro::executor;
  co_await asio::post(executor, asio::use_awaitable);
}

// Starts a sleep's wait. The timer lives on the heap, owned by the completion
// handler, rather than in a coroutine frame of sleep()'s own: a frame costs
// twice the timer, and a million sleeping workers each hold one.
struct StartSleep {
  std::chrono::steady_clock::duration duration;

  template <class Handler>
  void operator()(Handler&& handler) const {
    auto timer = std::make_unique<asio::steady_timer>(asio::get_associated_executor(handler), duration);
    auto& waiting = *timer;
    // The handler carries the coroutine's cancellation slot: a forced stop
    // cancels the wait. Its completion frees the timer.
    waiting.async_wait(asio::consign(std::forward<Handler>(handler), std::move(timer)));
  }
};

}  // namespace

Task<> sleep(std::chrono::steady_clock::duration d) {
  if (d <= std::chrono::steady_clock::duration::zero()) return yield_to_loop();
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(boost::system::error_code)>(StartSleep{d},
                                                                                                asio::use_awaitable);
}

}  // namespace fluid
