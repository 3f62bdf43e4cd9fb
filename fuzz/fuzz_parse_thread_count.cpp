// Fuzzes fluid::parse_thread_count (FLUID_SERVE_THREADS): for any input it
// returns a count in [1, max_thread_count] whose decimal form is the input,
// or throws fluid::FluidError naming the setting. Anything else (another
// exception, a crash, UB) aborts.

#include <fluid/config.hpp>
#include <fluid/errors.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void broken(const char* what, std::string_view input) {
  std::fprintf(stderr, "parse_thread_count contract broken: %s (input \"%.*s\")\n", what,
               static_cast<int>(input.size()), input.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    const auto count = fluid::parse_thread_count(input, "FUZZ_THREADS");
    if (count == 0 || count > fluid::max_thread_count) broken("count out of range", input);
    // Leading zeros aside ("04"), the input is the number's decimal form.
    const auto digits = input.substr(std::min(input.find_first_not_of('0'), input.size()));
    if (digits != std::to_string(count)) broken("accepted something other than the number's digits", input);
  } catch (const fluid::FluidError& e) {
    if (std::string_view(e.what()).find("FUZZ_THREADS") == std::string_view::npos) broken("error does not name the setting", input);
  } catch (...) {
    broken("an exception other than FluidError", input);
  }
  return 0;
}
