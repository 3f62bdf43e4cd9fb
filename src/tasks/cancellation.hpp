#pragma once
// Telling a coroutine's own cancellation from a failure.

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <exception>

namespace fluid::detail {

/// True for Asio's operation_aborted: what a cancelled coroutine's pending await throws.
inline bool is_cancellation(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const boost::system::system_error& e) {
    return e.code() == boost::asio::error::operation_aborted;
  } catch (...) {
    return false;
  }
}

}  // namespace fluid::detail
