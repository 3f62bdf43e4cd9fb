#include "runtime/loop_gate.hpp"

#include <boost/asio/execution/context_as.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/strand.hpp>

namespace fluid::detail {

namespace asio = boost::asio;

namespace {

/// The gate as a service of its context: Asio shuts every service down
/// before it destroys any, so the gate closes while the context is whole.
class LoopGateService : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;

  explicit LoopGateService(asio::execution_context& context)
      : asio::execution_context::service(context), gate_(std::make_shared<LoopGate>()) {}

  const std::shared_ptr<LoopGate>& gate() const noexcept { return gate_; }

 private:
  void shutdown() override { gate_->close(); }

  std::shared_ptr<LoopGate> gate_;
};

asio::execution_context::id LoopGateService::id;

/// The loop under `executor`: a strand's inner executor, else itself.
asio::any_io_executor loop_of(const asio::any_io_executor& executor) {
  if (const auto* strand = executor.target<asio::strand<asio::any_io_executor>>()) return strand->get_inner_executor();
  return executor;
}

}  // namespace

std::shared_ptr<LoopGate> LoopGate::of(const asio::any_io_executor& executor) {
  auto& context = asio::query(executor, asio::execution::context_as<asio::execution_context&>);
  auto gate = asio::use_service<LoopGateService>(context).gate();  // thread-safe, made once
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
