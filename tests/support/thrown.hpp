#pragma once
// What a call throws, for tests that check error messages: one helper for a
// plain call, one for an awaited call that must throw, one for an awaited call
// that may.

#include <fluid/errors.hpp>
#include <fluid/task.hpp>

#include <gtest/gtest.h>

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace fluid::test {

/// The what() of the E that `f` throws; fails the current test if it throws
/// none (another exception escapes to the test).
template <class E = FluidError, class F>
std::string thrown_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception, none was thrown";
  return {};
}

/// The awaited sibling of thrown_message(): the what() of the E that `call`
/// throws (another exception escapes to the test).
/// Never co_await inside a gtest macro: they expand to an `if` condition,
/// which g++ 12 miscompiles with a co_await in it (the README's pitfall).
/// @throws std::runtime_error when `call` throws nothing.
template <class E = FluidError, class T>
Task<std::string> thrown_message_of(Task<T> call) {
  try {
    co_await std::move(call);
  } catch (const E& error) {
    co_return std::string(error.what());
  }
  throw std::runtime_error("expected an exception, none was thrown");
}

/// The message of what awaiting `task` throws, or "" if it throws nothing:
/// for calls that may or may not fail.
template <class Awaitable>
Task<std::string> error_of(Awaitable task) {
  try {
    co_await std::move(task);
  } catch (const std::exception& e) {
    co_return e.what();
  }
  co_return "";
}

/// The what() of the exception `error` holds, or "" for none.
inline std::string message_of(const std::exception_ptr& error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace fluid::test
