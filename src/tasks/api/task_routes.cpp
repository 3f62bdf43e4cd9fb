#include "tasks/api/task_routes.hpp"

#include "fluid/tasks/errors.hpp"
#include "tasks/api/event_stream.hpp"

#include <algorithm>

namespace fluid::detail {

namespace {

using json = nlohmann::json;

/// The part of `path` after `prefix`; 404 when it is empty or has a '/'
/// beyond `segments` of them.
std::string tail_of(const std::string& path, const std::string& prefix, std::size_t slashes = 0) {
  auto rest = path.substr(prefix.size());
  if (rest.empty() || static_cast<std::size_t>(std::count(rest.begin(), rest.end(), '/')) != slashes) {
    throw ApiError(404, "Not Found");
  }
  return rest;
}

json counts_json(const std::map<TaskPriority, std::size_t>& counts) {
  auto out = json::object();
  for (const auto& [priority, count] : counts) out[std::string(to_string(priority))] = count;
  return out;
}

Task<HttpResponse> list_tasks(TaskApi api, HttpRequest request) {
  const auto tags = query_values(request.query, "tags");
  auto infos = co_await api.manager->tasks_info();
  std::erase_if(infos, [&tags](const TaskInfo& info) {
    return !tags.empty() && std::none_of(tags.begin(), tags.end(), [&info](const std::string& tag) {
      return std::find(info.tags.begin(), info.tags.end(), tag) != info.tags.end();
    });
  });
  co_return HttpResponse::json(200, infos);
}

Task<HttpResponse> tasks_status(TaskApi api, HttpRequest) {
  auto workers = co_await api.manager->broker().manager_statuses();
  const auto queues = co_await api.manager->queue_length();
  co_return HttpResponse::json(200, {{"workers", std::move(workers)}, {"queues", counts_json(queues)}});
}

Task<HttpResponse> clear_queues(TaskApi api, HttpRequest) {
  const auto counts = co_await api.manager->clear_queue();
  co_return HttpResponse::json(200, counts_json(counts));
}

Task<HttpResponse> clear_one_queue(TaskApi api, HttpRequest request) {
  const auto name = tail_of(request.path, api.prefix + "-queue/");
  const auto priority = parse_task_priority(name);
  if (!priority) throw ApiError(422, "unknown priority '" + name + "': high, medium or low");
  std::vector<TaskPriority> priorities{*priority};
  const auto counts = co_await api.manager->clear_queue(std::move(priorities));
  co_return HttpResponse::json(200, counts_json(counts));
}

/// The task named by the path, known to this manager (else 404).
std::string task_of(const TaskApi& api, const HttpRequest& request) {
  auto name = tail_of(request.path, api.prefix + "/");
  if (!api.manager->registry().contains(name)) throw ApiError(404, "Task not found");
  return name;
}

Task<HttpResponse> get_task(TaskApi api, HttpRequest request) {
  std::vector<std::string> names{task_of(api, request)};
  const auto infos = co_await api.manager->tasks_info(std::move(names));
  if (infos.empty()) throw ApiError(404, "Task not found");
  co_return HttpResponse::json(200, infos.front());
}

Task<HttpResponse> patch_task(TaskApi api, HttpRequest request) {
  auto name = task_of(api, request);
  const auto body = json_body(request, json());
  const auto enabled = body.is_object() ? body.find("enabled") : body.end();
  if (!body.is_object() || enabled == body.end() || !enabled->is_boolean()) {
    throw ApiError(422, "the body must be {\"enabled\": true} or {\"enabled\": false}");
  }
  const auto info = co_await api.manager->enable_task(std::move(name), enabled->get<bool>());
  co_return HttpResponse::json(200, info);
}

Task<HttpResponse> queue_task(TaskApi api, HttpRequest request) {
  auto name = task_of(api, request);
  auto params = json_body(request, json::object());
  const auto run = co_await api.manager->queue(std::move(name), std::move(params));
  co_return HttpResponse::json(200, run);
}

Task<HttpResponse> get_run(TaskApi api, HttpRequest request) {
  auto id = tail_of(request.path, api.prefix + "-runs/");
  const auto run = co_await api.manager->get_run(std::move(id));
  if (!run) throw ApiError(404, "Run not found");
  co_return HttpResponse::json(200, *run);
}

/// The reason of an abort's body: none, or {"reason": "..."}.
std::string abort_reason(const HttpRequest& request) {
  const auto body = json_body(request, json::object());
  const auto reason = body.is_object() ? body.find("reason") : body.end();
  if (!body.is_object() || (reason != body.end() && !reason->is_string())) {
    throw ApiError(422, "the body must be empty or {\"reason\": \"...\"}");
  }
  return reason == body.end() ? std::string() : reason->get<std::string>();
}

Task<HttpResponse> abort_run(TaskApi api, HttpRequest request) {
  const auto rest = tail_of(request.path, api.prefix + "-runs/", 1);
  const auto slash = rest.find('/');
  if (rest.substr(slash) != "/abort" || slash == 0) throw ApiError(404, "Not Found");
  auto id = rest.substr(0, slash);
  auto reason = abort_reason(request);
  const auto now = co_await api.manager->get_run(id);
  if (!now) throw ApiError(404, "Run not found");
  if (now->is_final()) {
    throw ApiError(409, "run " + now->name_id() + " is already final (" + std::string(to_string(now->state)) + ")");
  }
  const auto run = co_await api.manager->abort(std::move(id), std::move(reason));
  co_return HttpResponse::json(200, run);
}

}  // namespace

void add_task_routes(StatusServer& server, const TaskApi& api) {
  const auto& p = api.prefix;
  const auto add = [&](const char* method, const std::string& path, Access access, ApiHandler handler) {
    server.add_route(method, path, api_route(api, access, std::move(handler)));
  };
  add("GET", p, Access::read, list_tasks);
  add("GET", p + "-status", Access::read, tasks_status);
  add("DELETE", p + "-queue", Access::change, clear_queues);
  add("DELETE", p + "-queue/*", Access::change, clear_one_queue);
  add("GET", p + "/*", Access::read, get_task);
  add("PATCH", p + "/*", Access::change, patch_task);
  add("POST", p + "/*", Access::change, queue_task);
  add("GET", p + "-runs/*", Access::read, get_run);
  add("POST", p + "-runs/*", Access::change, abort_run);
  add("GET", p + "-events", Access::read, event_stream);
}

}  // namespace fluid::detail
