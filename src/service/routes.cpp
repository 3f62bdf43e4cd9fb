#include "service/routes.hpp"

#include "fluid/errors.hpp"

#include <algorithm>
#include <cctype>

namespace fluid::detail {

namespace {

using Methods = std::map<std::string, HttpHandler>;

bool is_method(const std::string& method) {
  return !method.empty() && std::all_of(method.begin(), method.end(), [](unsigned char c) { return std::isupper(c); });
}

/// The routes whose pattern covers `path`: exact first, then the longest "/*" prefix.
const Methods* find_methods(const std::map<std::string, Methods>& routes, const std::string& path) {
  if (const auto exact = routes.find(path); exact != routes.end()) return &exact->second;
  const Methods* best = nullptr;
  std::size_t best_length = 0;
  for (const auto& [pattern, methods] : routes) {
    if (!pattern.ends_with("/*")) continue;
    const auto prefix = std::string_view(pattern).substr(0, pattern.size() - 1);  // keeps the '/'
    if (path.starts_with(prefix) && prefix.size() > best_length) {
      best = &methods;
      best_length = prefix.size();
    }
  }
  return best;
}

std::string allow_header(const Methods& methods) {
  std::string out;
  for (const auto& [method, handler] : methods) {
    out += (out.empty() ? "" : ", ") + method;
    if (method == "GET" && !methods.contains("HEAD")) out += ", HEAD";
  }
  return out;
}

}  // namespace

void RouteTable::add(std::string method, std::string path, HttpHandler handler) {
  if (!is_method(method)) throw FluidError("route " + path + ": \"" + method + "\" is not an HTTP method");
  if (!path.starts_with('/')) throw FluidError("route \"" + path + "\": a path starts with '/'");
  if (!handler) throw FluidError("route " + method + " " + path + ": the handler is empty");
  std::lock_guard lock(mutex_);
  auto copy = std::make_shared<std::map<std::string, Methods>>(*routes_);
  (*copy)[std::move(path)][std::move(method)] = std::move(handler);
  routes_ = std::move(copy);
}

RouteTable::Snapshot RouteTable::snapshot() const {
  std::lock_guard lock(mutex_);
  return routes_;
}

RouteMatch RouteTable::match(const Snapshot& routes, const std::string& method, const std::string& path) {
  const auto* methods = find_methods(*routes, path);
  if (methods == nullptr) return {};
  auto it = methods->find(method);
  if (it == methods->end() && method == "HEAD") it = methods->find("GET");
  if (it == methods->end()) return {nullptr, allow_header(*methods)};
  return {&it->second, {}};
}

}  // namespace fluid::detail
