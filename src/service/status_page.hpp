#pragma once
// The status server's "/": the tree as a small HTML page, for people.

#include "fluid/task.hpp"
#include "fluid/worker.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace fluid::detail {

/// A self-contained HTML page (no script, no outside resource) of the tree
/// under `target`: per worker its state (coloured), time in that state,
/// restarts, last error, queue depth, processed, dropped and handler p50 /
/// p99; links to the JSON and metrics paths; it reloads itself every
/// `refresh_seconds`.
[[nodiscard]] Task<std::string> status_page(Worker& target, int refresh_seconds);

/// The rows of that page as JSON, one object per worker, depth first, each
/// cell already text ("" when the worker has none): path, name, depth,
/// state ("failed" for a worker that stopped failed), for, restarts, error,
/// queued, processed, dropped, p50, p99. What the dashboard's tree shows.
[[nodiscard]] Task<nlohmann::json> worker_rows(Worker& target);

/// Those rows as the HTML of a table's body (`<tr>...</tr>` each, escaped),
/// as the page shows them; the dashboard's first paint too.
[[nodiscard]] std::string worker_rows_html(const nlohmann::json& rows);

}  // namespace fluid::detail
