#include "fluid/task.hpp"

#include "fluid/errors.hpp"
#include "runtime/event_loop.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/consign.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
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

// How many times use_worker_strands() was called: a context seen without
// the mark keeps that answer until the next call.
std::atomic<std::uint64_t> strands_marked{0};

}  // namespace

void use_worker_strands(asio::execution_context& context) {
  if (!asio::has_service<WorkerStrands>(context)) asio::make_service<WorkerStrands>(context);
  strands_marked.fetch_add(1, std::memory_order_acq_rel);
}

namespace detail {

asio::any_io_executor worker_executor(const asio::any_io_executor& caller) {
  auto& context = asio::query(caller, asio::execution::context_as<asio::execution_context&>);
  // Asking the context takes its service registry's lock and compares type
  // names, for every worker a group starts: the last context found unmarked
  // on this thread is remembered (a new context at its address is unmarked
  // too, unless use_worker_strands() was called since).
  thread_local const asio::execution_context* unmarked = nullptr;
  thread_local std::uint64_t unmarked_as_of = 0;
  const auto marked = strands_marked.load(std::memory_order_acquire);
  if (&context == unmarked && marked == unmarked_as_of) return caller;
  if (!asio::has_service<WorkerStrands>(context)) {
    unmarked = &context;
    unmarked_as_of = marked;
    return caller;
  }
  // A strand of the caller's strand would still be serialized with it: take
  // the strand's own executor so the new worker really runs in parallel.
  if (const auto* strand = caller.target<asio::strand<asio::any_io_executor>>()) {
    return asio::make_strand(strand->get_inner_executor());
  }
  return asio::make_strand(caller);
}

namespace {

/// What the threads running one loop learn: the first error, and whether main completed.
class LoopOutcome {
 public:
  void record(const std::exception_ptr& error) {
    std::lock_guard lock(mutex_);
    if (error && !first_error_) first_error_ = error;
  }
  void main_completed(const std::exception_ptr& error) {
    record(error);
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  // After every thread has joined:
  void rethrow() const {
    if (first_error_) std::rethrow_exception(first_error_);
    if (!finished_) throw FluidError("fluid::run: the main task was abandoned before it completed");
  }

 private:
  std::mutex mutex_;
  std::exception_ptr first_error_;
  bool finished_ = false;
};

/// One thread's share of the loop. An exception escaping a handler would
/// otherwise end this thread's run() alone: std::terminate on a helper
/// thread, a hang joining the helpers on the caller's.
void run_share(asio::io_context& loop, LoopOutcome& outcome, const EscapeHandler& on_escape) {
  for (;;) {
    try {
      loop.run();
      return;
    } catch (...) {
      if (!on_escape) {
        outcome.record(std::current_exception());
        loop.stop();
        return;
      }
      on_escape(std::current_exception());
    }
  }
}

}  // namespace

void run_event_loop(Task<> main, std::size_t threads, const EscapeHandler& on_escape) {
  if (threads == 0) throw FluidError("fluid::run: threads must be at least 1, got 0");
  asio::io_context loop(static_cast<int>(threads));
  if (threads > 1) use_worker_strands(loop);
  LoopOutcome outcome;
  asio::co_spawn(loop, std::move(main), [&](std::exception_ptr e) {
    outcome.main_completed(e);
    loop.stop();  // like asyncio.run: whatever main left pending is abandoned
  });
  {
    std::vector<std::jthread> helpers;
    for (std::size_t i = 1; i < threads; ++i) {
      helpers.emplace_back([&] { run_share(loop, outcome, on_escape); });
    }
    run_share(loop, outcome, on_escape);
  }  // joins the helpers
  outcome.rethrow();
}

void run_to_completion(Task<> main, RunOptions options) { run_event_loop(std::move(main), options.threads); }

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
