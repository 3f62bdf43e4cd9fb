#include "service/exposition.hpp"

#include "fluid/metrics.hpp"

#include <fmt/format.h>

#include <cmath>

namespace fluid::detail {

namespace {

std::string escape_help(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string label_set(const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ',';
    out += name + "=\"" + escape_label_value(value) + "\"";
  }
  return out + "}";
}

void Exposition::family(std::string_view name, std::string_view type, std::string_view help,
                        const std::function<void()>& samples) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
  samples();
}

void Exposition::sample(std::string_view name, std::string_view labels, std::string_view value) {
  out_ += fmt::format("{}{} {}\n", name, labels, value);
}

}  // namespace fluid::detail
