// Built against fluid through find_package or add_subdirectory: proves the
// umbrella header, fluid::run and fluid::sleep link and work from outside.
#include <fluid/fluid.hpp>

#include <chrono>
#include <iostream>

namespace {

fluid::Task<int> answer() {
  co_await fluid::sleep(std::chrono::milliseconds(1));
  co_return 42;
}

}  // namespace

int main() {
  const int value = fluid::run(answer());
  std::cout << "fluid::run returned " << value << '\n';
  return value == 42 ? 0 : 1;
}
