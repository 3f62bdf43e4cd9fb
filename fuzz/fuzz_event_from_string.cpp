// Fuzzes fluid::Event::from_string: for any input it returns an Event whose
// type is non-empty and dot-free, whose tag is dot-free, and whose string
// form is the input again; or it throws fluid::FluidError quoting the input.
// Anything else (another exception, a crash, UB) aborts.

#include <fluid/errors.hpp>
#include <fluid/event.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void broken(const char* what, std::string_view input) {
  std::fprintf(stderr, "Event::from_string contract broken: %s (input of %zu bytes)\n", what, input.size());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    const auto event = fluid::Event::from_string(input);
    if (event.type.empty()) broken("empty type accepted", input);
    if (event.type.find('.') != std::string::npos) broken("dot in the type", input);
    if (event.tag.find('.') != std::string::npos) broken("dot in the tag", input);
    if (event.to_string() != input) broken("to_string() is not the input", input);
    if (fluid::Event::from_string(event.to_string()) != event) broken("no round trip", input);
  } catch (const fluid::FluidError& e) {
    // The message quotes the input (what() ends at a NUL, so only without one).
    const bool quotable = input.find('\0') == std::string_view::npos;
    if (quotable && std::string_view(e.what()).find(input) == std::string_view::npos) {
      broken("error does not quote the input", input);
    }
  } catch (...) {
    broken("an exception other than FluidError", input);
  }
  return 0;
}
