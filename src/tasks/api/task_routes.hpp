#pragma once
// The task queue's routes of TaskApiServer (TASKS routes under its prefix).

#include "fluid/status_server.hpp"
#include "tasks/api/api_http.hpp"

namespace fluid::detail {

/// Adds every route of the API under `api.prefix` to `server`: the tasks,
/// their status, the queues, the runs and the event feed.
void add_task_routes(StatusServer& server, const TaskApi& api);

}  // namespace fluid::detail
