#pragma once
// Which handler answers a request: StatusServer's route table.

#include "fluid/http.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fluid::detail {

/// What a path resolves to: a handler, or why there is none.
struct RouteMatch {
  const HttpHandler* handler = nullptr;  ///< null: 404 if `allowed` is empty, else 405
  std::string allowed;                   ///< the path's methods, for Allow ("GET, HEAD")
};

/// Routes by method and path. A path is matched exactly, or by a pattern
/// ending in "/*" that matches everything under it ("/tasks/*" matches
/// "/tasks/42"); the exact path wins, then the longest pattern. A GET route
/// answers HEAD too. Adding is thread-safe at any time: a request keeps the
/// table it started with (a snapshot) for as long as its handler runs.
class RouteTable {
 public:
  using Snapshot = std::shared_ptr<const std::map<std::string, std::map<std::string, HttpHandler>>>;

  /// Adds (or replaces) the handler of `method` on `path`.
  /// @throws FluidError if `method` or `path` is malformed, or `handler` empty.
  void add(std::string method, std::string path, HttpHandler handler);
  /// The routes now.
  Snapshot snapshot() const;
  /// The handler of `method` on `path` in `routes`.
  static RouteMatch match(const Snapshot& routes, const std::string& method, const std::string& path);

 private:
  mutable std::mutex mutex_;
  Snapshot routes_ = std::make_shared<const std::map<std::string, std::map<std::string, HttpHandler>>>();
};

}  // namespace fluid::detail
