#include "support/fault_proxy.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace fluid::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// One proxied connection. Lives on the proxy's thread.
struct Link {
  explicit Link(asio::io_context& io) : client(io), server(io), resumed(io) {}

  void close() {
    boost::system::error_code ignored;
    client.close(ignored);
    server.close(ignored);
    resumed.cancel();
  }

  tcp::socket client;
  tcp::socket server;
  bool stalled = false;
  asio::steady_timer resumed;  // cancelled to wake a stalled pump
};

}  // namespace

struct FaultProxy::State {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  const std::uint16_t port = acceptor.local_endpoint().port();
  std::uint16_t upstream = 0;              // proxy thread
  std::optional<std::size_t> cut;          // proxy thread
  std::vector<std::weak_ptr<Link>> links;  // proxy thread
  std::thread thread;

  mutable std::mutex mutex;  // guards the two below, read by the test's thread
  std::size_t accepted = 0;
  std::string sent;          // everything clients sent
  detail::Notifier changed;  // after either changes

  // Runs `change` on the proxy's thread and returns once it ran.
  template <class Change>
  void apply(Change change) {
    std::promise<void> done;
    asio::post(io, [&] {
      change();
      done.set_value();
    });
    done.get_future().wait();
  }

  std::vector<std::shared_ptr<Link>> live() {
    std::vector<std::shared_ptr<Link>> result;
    std::erase_if(links, [](const auto& link) { return link.expired(); });
    for (auto& link : links) result.push_back(link.lock());
    return result;
  }

  void record_connection() {
    {
      std::lock_guard lock(mutex);
      ++accepted;
    }
    changed.notify_all();
  }

  void record_sent(const char* data, std::size_t size) {
    {
      std::lock_guard lock(mutex);
      sent.append(data, size);
    }
    changed.notify_all();
  }
};

namespace {

using State = FaultProxy::State;

// Client to server: forwards everything, recording it.
asio::awaitable<void> forward_requests(std::shared_ptr<State> state, std::shared_ptr<Link> link) {
  std::array<char, 16 * 1024> buffer;
  boost::system::error_code error;
  for (;;) {
    const auto size =
        co_await link->client.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, error));
    if (error) break;
    state->record_sent(buffer.data(), size);
    co_await asio::async_write(link->server, asio::buffer(buffer.data(), size),
                               asio::redirect_error(asio::use_awaitable, error));
    if (error) break;
  }
  link->close();
}

// Server to client: holds data while stalled, and obeys a cut.
asio::awaitable<void> forward_replies(std::shared_ptr<State> state, std::shared_ptr<Link> link) {
  std::array<char, 16 * 1024> buffer;
  boost::system::error_code error;
  for (;;) {
    auto size =
        co_await link->server.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, error));
    if (error) break;
    while (link->stalled && link->server.is_open()) {
      link->resumed.expires_at(asio::steady_timer::time_point::max());
      co_await link->resumed.async_wait(asio::redirect_error(asio::use_awaitable, error));
    }
    const auto cut = std::exchange(state->cut, std::nullopt);
    if (cut) size = std::min(size, *cut);
    co_await asio::async_write(link->client, asio::buffer(buffer.data(), size),
                               asio::redirect_error(asio::use_awaitable, error));
    if (error || cut) break;
  }
  link->close();
}

asio::awaitable<void> open_link(std::shared_ptr<State> state, std::shared_ptr<Link> link) {
  boost::system::error_code error;
  const tcp::endpoint upstream(asio::ip::address_v4::loopback(), state->upstream);
  co_await link->server.async_connect(upstream, asio::redirect_error(asio::use_awaitable, error));
  if (error) {
    link->close();
    co_return;
  }
  link->server.set_option(tcp::no_delay(true));
  link->client.set_option(tcp::no_delay(true));
  asio::co_spawn(state->io, forward_requests(state, link), asio::detached);
  asio::co_spawn(state->io, forward_replies(state, link), asio::detached);
}

asio::awaitable<void> accept_loop(std::shared_ptr<State> state) {
  for (;;) {
    auto link = std::make_shared<Link>(state->io);
    boost::system::error_code error;
    co_await state->acceptor.async_accept(link->client, asio::redirect_error(asio::use_awaitable, error));
    if (error) co_return;
    state->links.push_back(link);
    state->record_connection();
    asio::co_spawn(state->io, open_link(state, link), asio::detached);
  }
}

}  // namespace

FaultProxy::FaultProxy(std::uint16_t upstream) : state_(std::make_shared<State>()) {
  state_->upstream = upstream;
  asio::co_spawn(state_->io, accept_loop(state_), asio::detached);
  state_->thread = std::thread([state = state_] { state->io.run(); });
}

FaultProxy::~FaultProxy() {
  state_->apply([this] {
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& link : state_->live()) link->close();
  });
  state_->work.reset();
  state_->thread.join();
}

std::uint16_t FaultProxy::port() const noexcept { return state_->port; }

std::string FaultProxy::url(std::string_view rest) const {
  return "redis://127.0.0.1:" + std::to_string(port()) + std::string(rest);
}

void FaultProxy::set_upstream(std::uint16_t upstream) {
  state_->apply([this, upstream] { state_->upstream = upstream; });
}

void FaultProxy::stall_replies() {
  state_->apply([this] {
    for (auto& link : state_->live()) link->stalled = true;
  });
}

void FaultProxy::resume_replies() {
  state_->apply([this] {
    for (auto& link : state_->live()) {
      link->stalled = false;
      link->resumed.cancel();
    }
  });
}

void FaultProxy::drop_connections() {
  state_->apply([this] {
    for (auto& link : state_->live()) link->close();
  });
}

void FaultProxy::cut_next_reply(std::size_t bytes) {
  state_->apply([this, bytes] { state_->cut = bytes; });
}

std::size_t FaultProxy::connections() const {
  std::lock_guard lock(state_->mutex);
  return state_->accepted;
}

Task<bool> FaultProxy::wait_for_connections(std::size_t n, std::chrono::milliseconds timeout) {
  auto state = state_;
  const auto enough = [state, n] {
    std::lock_guard lock(state->mutex);
    return state->accepted >= n;
  };
  const bool reached = co_await state->changed.wait_until(enough, detail::deadline_after(timeout));
  co_return reached;
}

Task<bool> FaultProxy::wait_for_sent(std::string needle, std::chrono::milliseconds timeout) {
  auto state = state_;
  const auto seen = [state, needle] {
    std::lock_guard lock(state->mutex);
    return state->sent.find(needle) != std::string::npos;
  };
  const bool found = co_await state->changed.wait_until(seen, detail::deadline_after(timeout));
  co_return found;
}

}  // namespace fluid::test
