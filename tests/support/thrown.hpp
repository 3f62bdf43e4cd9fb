#pragma once
// What a call throws, for tests that check error messages.

#include <fluid/errors.hpp>

#include <gtest/gtest.h>

#include <string>

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

}  // namespace fluid::test
