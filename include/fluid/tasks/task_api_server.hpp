#pragma once
/// @file
/// TaskApiServer: the task queue over HTTP (aio-fluid's FastAPI routes and
/// ours), its event feed and a dashboard, on the status server's port.

#include "fluid/status_server.hpp"
#include "fluid/task.hpp"
#include "fluid/tasks/task_manager.hpp"
#include "fluid/worker.hpp"

#include <cstdint>
#include <string>

namespace fluid {

/// Where a TaskApiServer listens, under which prefix, and what it lets clients do.
struct TaskApiOptions {
  /// The routes' prefix P: `P`, `P/{name}`, `P-status`, `P-queue`, `P-runs/{id}`,
  /// `P-events`. Starts with '/', does not end with one.
  std::string prefix = "/tasks";
  /// Address, port (0: any), read timeout, limits, as a StatusServer's.
  StatusServerOptions http{};
  /// Whether the routes that change state (queue a run, enable or disable a
  /// task, abort a run, clear a queue) answer. Anyone who reaches the port
  /// could use them, so they are off unless the application turns them on:
  /// 403 then, and the dashboard shows their buttons greyed out.
  bool actions = false;
  /// The worker tree that /status, /health, /ready, /metrics and the
  /// dashboard report on (usually the group the server is in). Null: the
  /// manager when it is a TaskConsumer, else the server itself.
  /// @warning It must outlive the server.
  Worker* target = nullptr;
};

/// Lets people and programs see and drive a task queue over HTTP, on the one
/// HTTP server of the service.
///
/// A service with a task queue needs what aio-fluid's FastAPI routes give
/// (list tasks, queue a run, enable a task, clear a queue) plus a way to
/// follow runs live, without a second HTTP server beside its status
/// endpoint. TaskApiServer is a StatusServer (so /health, /ready, /startupz,
/// /status and /metrics stay as they are) that also serves, with P the
/// prefix (`/tasks`) and errors as `{"detail": "..."}`:
///
///   GET    P                      200 [TaskInfo]; ?tags=a&tags=b: any of them
///   GET    P-status               200 {"workers": [{"kind", "status"}...], "queues": {...}}
///   DELETE P-queue                200 {"high": n, ...}: runs removed (aborted, "queue cleared")
///   DELETE P-queue/{priority}     200 {"<priority>": n}; unknown priority 422
///   GET    P/{name}               200 TaskInfo; unknown 404 "Task not found"
///   PATCH  P/{name} {"enabled": b} 200 TaskInfo; unknown 404; bad body 422
///   POST   P/{name} [params]      200 TaskRun (queued); unknown 404; bad params 422
///   GET    P-runs/{run_id}        200 TaskRun; unknown 404 "Run not found"
///   POST   P-runs/{run_id}/abort [{"reason": "..."}]
///                                 200 TaskRun; unknown 404; already final 409
///   GET    P-events               the broker's event feed as Server-Sent
///                                 Events, resumable with Last-Event-ID
///   GET    /workers               the worker tree's rows (for the dashboard)
///   GET    /                      the dashboard: workers, tasks, queues, runs
///
/// Every answer that needs the broker is 503 while the broker is unavailable
/// or the manager is not open yet; a body past http.max_body_bytes is 413;
/// a state-changing route is 403 unless `actions` is on. Secret params are
/// masked in every run it returns.
///
/// A plain TaskManager (not a consumer) that is not open yet is opened by
/// the server's startup and closed by its shutdown; a consumer opens itself.
///
/// @warning Lifetime: `manager` (and options.target) must outlive the server.
/// Requests are served on the server's executor and await the manager's
/// coroutines there.
class TaskApiServer : public StatusServer {
 public:
  /// A server for `manager`, to listen as `options.http` says once started.
  /// Default name: "task_api_server".
  /// @throws FluidError for a malformed prefix.
  explicit TaskApiServer(TaskManager& manager, TaskApiOptions options = {}, WorkerOptions worker = {});
  ~TaskApiServer() override;

 protected:
  /// Opens a plain manager that is not open yet, then binds and listens as
  /// StatusServer::on_startup() does.
  Task<> on_startup() override;
  /// Closes the listener and every connection (event streams included), then
  /// the manager if this server opened it.
  Task<> on_shutdown() override;

 private:
  TaskManager& manager_;
  bool opens_manager_ = false;
  bool opened_manager_ = false;
};

}  // namespace fluid
