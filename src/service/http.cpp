#include "fluid/http.hpp"

#include <strings.h>

namespace fluid {

std::optional<std::string> HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), name.size()) == 0) return value;
  }
  return std::nullopt;
}

HttpResponse HttpResponse::json(int status, const nlohmann::json& body) {
  return HttpResponse{.status = status, .content_type = "application/json", .body = body.dump(2) + "\n"};
}

}  // namespace fluid
