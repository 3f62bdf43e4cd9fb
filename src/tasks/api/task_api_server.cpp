#include "fluid/tasks/task_api_server.hpp"

#include "fluid/errors.hpp"
#include "fluid/tasks/task_consumer.hpp"
#include "service/status_page.hpp"
#include "tasks/api/api_http.hpp"
#include "tasks/api/dashboard.hpp"
#include "tasks/api/task_routes.hpp"

#include <algorithm>
#include <cctype>

namespace fluid {

namespace {

/// The limit a task API reads bodies up to unless told: params are at most
/// 1 MiB encoded (a larger one is 422), with room to say so.
constexpr std::size_t api_max_body_bytes = 2 * 1024 * 1024;

StatusServerOptions http_options(StatusServerOptions http) {
  if (!http.max_body_bytes) http.max_body_bytes = api_max_body_bytes;
  return http;
}

std::string checked_prefix(std::string prefix) {
  const bool well_formed = prefix.size() > 1 && prefix.front() == '/' && prefix.back() != '/' &&
                           std::all_of(prefix.begin(), prefix.end(), [](unsigned char c) {
                             return std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.';
                           });
  if (!well_formed) {
    throw FluidError("TaskApiServer: prefix \"" + prefix +
                     "\" must start with '/', not end with one, and hold only letters, digits, '/', '-', '_', '.'");
  }
  return prefix;
}

/// The tree the status routes report on: the one given, else a consumer
/// manager, else (null) the server itself.
Worker* status_target(TaskManager& manager, Worker* given) {
  if (given) return given;
  return dynamic_cast<TaskConsumer*>(&manager);
}

}  // namespace

TaskApiServer::TaskApiServer(TaskManager& manager, TaskApiOptions options, WorkerOptions worker)
    : StatusServer(status_target(manager, options.target), http_options(options.http), std::move(worker)),
      manager_(manager),
      opens_manager_(dynamic_cast<TaskConsumer*>(&manager) == nullptr) {
  auto* target = status_target(manager, options.target);
  const detail::TaskApi api{&manager, target ? target : this, checked_prefix(std::move(options.prefix)),
                            options.actions};
  detail::add_task_routes(*this, api);
  add_route("GET", "/workers", [api](HttpRequest) -> Task<HttpResponse> {
    auto rows = co_await detail::worker_rows(*api.target);
    co_return HttpResponse::json(200, rows);
  });
  add_route("GET", "/", [api](HttpRequest) -> Task<HttpResponse> {
    const auto rows = co_await detail::worker_rows(*api.target);
    co_return HttpResponse{.content_type = "text/html; charset=utf-8",
                           .body = detail::dashboard_page(api, detail::worker_rows_html(rows))};
  });
}

TaskApiServer::~TaskApiServer() = default;

Task<> TaskApiServer::on_startup() {
  if (opens_manager_ && !manager_.is_open()) {
    co_await manager_.open();
    opened_manager_ = true;
  }
  std::exception_ptr failed;
  try {
    co_await StatusServer::on_startup();
  } catch (...) {
    failed = std::current_exception();
  }
  if (!failed) co_return;
  if (opened_manager_) {
    opened_manager_ = false;
    co_await manager_.close();
  }
  std::rethrow_exception(failed);
}

Task<> TaskApiServer::on_shutdown() {
  co_await StatusServer::on_shutdown();
  if (opened_manager_) {
    opened_manager_ = false;
    co_await manager_.close();
  }
}

}  // namespace fluid
