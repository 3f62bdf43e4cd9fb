#pragma once
// A gate kept as a service of an execution context, closed by the context's
// shutdown: Asio shuts every service down before it destroys any (and the
// scheduler last), so the gate closes while the context is still whole. The
// shape that lets a thread of our own post to a loop its owner may destroy
// at any time (runtime/loop_gate.hpp, brokers/redis/caller_completion.hpp).

#include <boost/asio/execution_context.hpp>

#include <memory>

namespace fluid::detail {

/// `Gate` is default-constructible and has `void close() noexcept`.
template <class Gate>
class ClosingService : public boost::asio::execution_context::service {
 public:
  static inline boost::asio::execution_context::id id;

  explicit ClosingService(boost::asio::execution_context& context)
      : boost::asio::execution_context::service(context), gate_(std::make_shared<Gate>()) {}

  const std::shared_ptr<Gate>& gate() const noexcept { return gate_; }

 private:
  void shutdown() override { gate_->close(); }

  std::shared_ptr<Gate> gate_;
};

}  // namespace fluid::detail
