#pragma once
// Asio's "awaitable thread": the bottom frame of a coroutine stack, launched
// on the spot. co_spawn uses it too, wrapped in a frame of its own, a
// completion handler and work guards, which fluid does without where the
// bytes or the post count: a worker's lifecycle (a million of them) and
// when_all's handlers (started inline until they first suspend).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>

#include <type_traits>
#include <utility>

namespace fluid::detail {

/// The coroutine type of a thread's bottom frame.
using EntryPoint =
    boost::asio::awaitable<boost::asio::detail::awaitable_thread_entry_point, boost::asio::any_io_executor>;

using AwaitableThread = boost::asio::detail::awaitable_thread<boost::asio::any_io_executor>;
// Internal to Asio: this turns an API change into a clear compile error.
static_assert(std::is_constructible_v<AwaitableThread, EntryPoint, const boost::asio::any_io_executor&,
                                      boost::asio::cancellation_slot, boost::asio::cancellation_state>,
              "fluid relies on Boost.Asio's awaitable_thread as in Boost 1.81");

/// Runs `entry` on `executor` at once, until it first suspends; a terminal
/// cancellation emitted on `slot` cancels it (co_spawn's default filter).
inline void launch_thread(EntryPoint entry, const boost::asio::any_io_executor& executor,
                          boost::asio::cancellation_slot slot) {
  AwaitableThread(std::move(entry), executor, slot, boost::asio::cancellation_state(slot)).launch();
}

}  // namespace fluid::detail
