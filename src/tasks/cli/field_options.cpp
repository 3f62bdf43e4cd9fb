#include "tasks/cli/field_options.hpp"

#include "fluid/errors.hpp"

#include <optional>
#include <string_view>

namespace fluid::detail {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/// "fail-times" -> "fail_times"; nullopt for a name that cannot be a field.
std::optional<std::string> field_name(std::string_view text) {
  if (text.empty() || text.front() == '-') return std::nullopt;
  std::string name;
  for (const char c : text) {
    if (!is_name_char(c)) return std::nullopt;
    name += c == '-' ? '_' : c;
  }
  return name;
}

/// JSON when it is JSON ("3", "true", "{...}"), else the text itself ("green").
nlohmann::json field_value(const std::string& text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded()) return text;
  return parsed;
}

bool is_option(std::string_view token) { return token.starts_with("--"); }

[[noreturn]] void reject(std::string_view token) {
  throw FluidError("unexpected argument '" + std::string(token) +
                   "': field options are --name VALUE, --name=VALUE or a bare --name (true)");
}

}  // namespace

nlohmann::json parse_field_options(const std::vector<std::string>& tokens) {
  auto fields = nlohmann::json::object();
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string_view token = tokens[i];
    if (!is_option(token)) reject(token);
    const auto body = token.substr(2);
    const auto equals = body.find('=');
    const auto name = field_name(body.substr(0, equals));
    if (!name) reject(token);
    if (equals != std::string_view::npos) {
      fields[*name] = field_value(std::string(body.substr(equals + 1)));
    } else if (i + 1 < tokens.size() && !is_option(tokens[i + 1])) {
      fields[*name] = field_value(tokens[++i]);
    } else {
      fields[*name] = true;
    }
  }
  return fields;
}

nlohmann::json exec_params(const std::vector<std::string>& field_tokens, const std::string& params_text) {
  auto params = parse_field_options(field_tokens);
  if (params_text.empty()) return params;
  const auto given = nlohmann::json::parse(params_text, nullptr, false);
  if (!given.is_object()) throw FluidError("--params: expected a JSON object, got '" + params_text + "'");
  params.update(given);
  return params;
}

}  // namespace fluid::detail
