#pragma once
// What every route of TaskApiServer shares: the server's view of the
// manager, errors as {"detail": ...}, queries and bodies.

#include "fluid/http.hpp"
#include "fluid/tasks/task_manager.hpp"
#include "fluid/worker.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fluid::detail {

/// What a route handler needs of its server; copied into each request.
struct TaskApi {
  TaskManager* manager = nullptr;
  Worker* target = nullptr;  ///< the tree the dashboard shows
  std::string prefix;        ///< "/tasks"
  bool actions = false;      ///< state-changing routes answer (else 403)
};

/// An answer other than 200 that a handler decides on: it becomes
/// {"detail": what()} with `status`.
struct ApiError : std::runtime_error {
  ApiError(int status, const std::string& detail) : std::runtime_error(detail), status(status) {}
  int status;
};

/// {"detail": detail} with `status`.
HttpResponse detail_response(int status, std::string detail);

/// Whether a route changes state (and so needs TaskApi::actions).
enum class Access { read, change };

using ApiHandler = std::function<Task<HttpResponse>(TaskApi, HttpRequest)>;

/// A route of the API: 403 for a change while actions are off, 503 while
/// the manager is not open, then `handler`, whose task-queue errors become
/// their answers (unknown task or run 404, bad params 422, broker
/// unavailable 503, other broker errors 500), each as {"detail": ...}.
HttpHandler api_route(TaskApi api, Access access, ApiHandler handler);

/// The values of `key` in a query string, percent-decoded, in order.
std::vector<std::string> query_values(std::string_view query, std::string_view key);

/// The request's body as JSON; `empty` when it has none.
/// @throws ApiError 422 when it is not JSON.
nlohmann::json json_body(const HttpRequest& request, nlohmann::json empty);

/// `run` as the API shows it: its task's secret params masked (runs from the
/// broker's feed carry them in clear).
TaskRun shown(const TaskManager& manager, TaskRun run);

}  // namespace fluid::detail
