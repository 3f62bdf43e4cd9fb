#include "runtime/loop_gate.hpp"

#include "runtime/closing_service.hpp"

#include <boost/asio/execution/context_as.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/strand.hpp>

namespace fluid::detail {

namespace asio = boost::asio;

namespace {

/// The loop under `executor`: a strand's inner executor, else itself.
asio::any_io_executor loop_of(const asio::any_io_executor& executor) {
  if (const auto* strand = executor.target<asio::strand<asio::any_io_executor>>()) return strand->get_inner_executor();
  return executor;
}

}  // namespace

std::shared_ptr<LoopGate> LoopGate::of(const asio::any_io_executor& executor) {
  auto& context = asio::query(executor, asio::execution::context_as<asio::execution_context&>);
  auto gate = asio::use_service<ClosingService<LoopGate>>(context).gate();  // thread-safe, made once
  std::lock_guard lock(gate->mutex_);
  if (!gate->loop_ && !gate->closed_) gate->loop_ = loop_of(executor);
  return gate;
}

bool LoopGate::post(std::function<void()> function) {
  std::lock_guard lock(mutex_);
  if (closed_ || !loop_) return false;
  asio::post(loop_, std::move(function));
  return true;
}

void LoopGate::close() noexcept {
  asio::any_io_executor loop;  // released outside the lock
  std::lock_guard lock(mutex_);
  closed_ = true;
  loop = std::move(loop_);
  loop_ = asio::any_io_executor();
}

}  // namespace fluid::detail
