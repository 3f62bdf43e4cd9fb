#pragma once
// GET P-events: the broker's event feed as Server-Sent Events.

#include "tasks/api/api_http.hpp"

namespace fluid::detail {

/// The feed from the request's Last-Event-ID header (or ?last_event_id=;
/// neither: from now) as a text/event-stream: each event is `id:` its
/// cursor, `event:` its kind ("state", or "abort" for an abort requested of
/// a running run) and `data:` the run as JSON, secrets masked; `event: gap`
/// when retention dropped events after the cursor; a comment line every
/// 15 s while nothing happens. A cursor the broker never gave is 422.
[[nodiscard]] Task<HttpResponse> event_stream(TaskApi api, HttpRequest request);

}  // namespace fluid::detail
