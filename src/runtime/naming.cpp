#include "fluid/detail/naming.hpp"

#include <cctype>
#include <cstdlib>
#include <cxxabi.h>
#include <memory>

namespace fluid::detail {

namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> plain(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                               std::free);
  return status == 0 && plain ? std::string(plain.get()) : std::string(mangled);
}

std::string without_template_arguments(std::string_view name) {
  std::string out;
  int depth = 0;
  for (char c : name) {
    if (c == '<') ++depth;
    if (depth == 0) out += c;
    if (c == '>' && depth > 0) --depth;
  }
  return out;
}

bool is_upper(char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; }
bool is_lower_or_digit(char c) {
  return std::islower(static_cast<unsigned char>(c)) != 0 || std::isdigit(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

std::string unqualified_name(std::string_view demangled) {
  const std::string plain = without_template_arguments(demangled);
  const auto colon = plain.rfind("::");
  return colon == std::string::npos ? plain : plain.substr(colon + 2);
}

std::string snake_case(std::string_view camel) {
  std::string out;
  for (std::size_t i = 0; i < camel.size(); ++i) {
    const char c = camel[i];
    if (is_upper(c) && i > 0) {
      const bool after_lower = is_lower_or_digit(camel[i - 1]);
      const bool ends_acronym =
          is_upper(camel[i - 1]) && i + 1 < camel.size() && std::islower(static_cast<unsigned char>(camel[i + 1])) != 0;
      if ((after_lower || ends_acronym) && out.back() != '_') out += '_';
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string default_name(const std::type_info& type) { return snake_case(unqualified_name(demangle(type.name()))); }

}  // namespace fluid::detail
