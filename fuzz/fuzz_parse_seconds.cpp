// Fuzzes fluid::parse_seconds (FLUID_STOPPING_GRACE_PERIOD and the serve
// timeouts): for any input it returns a duration in [0, 1e9 s], or throws
// fluid::FluidError naming the setting. A plain decimal it accepts must also
// parse with strtod to the same number of milliseconds (rounded).
// Anything else (another exception, a crash, UB) aborts.

#include <fluid/config.hpp>
#include <fluid/errors.hpp>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void broken(const char* what, std::string_view input) {
  std::fprintf(stderr, "parse_seconds contract broken: %s (input \"%.*s\")\n", what, static_cast<int>(input.size()),
               input.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    const auto value = fluid::parse_seconds(input, "FUZZ_SETTING");
    if (value.count() < 0) broken("negative result", input);
    if (value > std::chrono::seconds(1'000'000'000)) broken("result above the documented maximum", input);
    // Only digits and at most one '.' (and a '-' for "-0") get here: strtod
    // must agree on the value.
    const std::string text(input);
    if (text.find_first_not_of("0123456789.-") != std::string::npos) broken("accepted a non-decimal character", input);
    char* end = nullptr;
    const double seconds = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) broken("accepted what strtod does not", input);
    if (std::llabs(std::llround(seconds * 1000.0) - value.count()) > 1) broken("value differs from strtod", input);
  } catch (const fluid::FluidError& e) {
    if (std::string_view(e.what()).find("FUZZ_SETTING") == std::string_view::npos) broken("error does not name the setting", input);
  } catch (...) {
    broken("an exception other than FluidError", input);
  }
  return 0;
}
