#include "tasks/api/event_stream.hpp"

#include "fluid/log.hpp"
#include "fluid/tasks/errors.hpp"

#include <chrono>

namespace fluid::detail {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t batch_size = 256;
/// How long the stream stays silent before a comment line, which lets
/// proxies and the client see the connection is alive.
constexpr std::chrono::milliseconds heartbeat = 15s;
/// What the client waits before reconnecting (EventSource's retry).
constexpr std::string_view preamble = "retry: 2000\n\n";

std::string event_text(const TaskManager& manager, const TaskEvent& event) {
  const auto data = nlohmann::json(shown(manager, event.run)).dump();
  return "id: " + event.id + "\nevent: " + event.kind + "\ndata: " + data + "\n\n";
}

std::string batch_text(const TaskManager& manager, const EventBatch& batch) {
  std::string out;
  if (batch.gap) {
    const nlohmann::json data{{"detail", "the broker no longer holds some events after the cursor given"}};
    out += "event: gap\ndata: " + data.dump() + "\n\n";
  }
  for (const auto& event : batch.events) out += event_text(manager, event);
  return out;
}

/// Sends `batch`, then every batch after it, until the client goes (or the
/// broker fails: the client reconnects with its last id).
Task<> follow_events(TaskApi api, EventBatch batch, HttpBodyWriter write) {
  bool open = co_await write(std::string(preamble));
  while (open) {
    auto text = batch_text(*api.manager, batch);
    if (text.empty()) text = ": keep-alive\n\n";
    open = co_await write(std::move(text));
    if (!open) break;
    batch = co_await api.manager->broker().read_events(batch.cursor, batch_size, heartbeat);
  }
}

/// The cursor a client resumes from; "" for a fresh one.
std::string resume_cursor(const HttpRequest& request) {
  if (auto header = request.header("Last-Event-ID")) return *header;
  const auto values = query_values(request.query, "last_event_id");
  return values.empty() ? std::string() : values.front();
}

}  // namespace

Task<HttpResponse> event_stream(TaskApi api, HttpRequest request) {
  const auto cursor = resume_cursor(request);
  EventBatch first;
  try {
    first = co_await api.manager->broker().read_events(cursor, batch_size, 0ms);
  } catch (const BrokerUnavailableError&) {
    throw;
  } catch (const BrokerError& e) {
    if (cursor.empty()) throw;
    throw ApiError(422, "Last-Event-ID \"" + cursor + "\" is not a cursor of this broker: " + e.what());
  }
  HttpResponse out{.status = 200, .content_type = "text/event-stream"};
  out.headers.emplace_back("X-Accel-Buffering", "no");  // nginx would hold the events back
  out.stream = [api = std::move(api), first = std::move(first)](HttpBodyWriter write) {
    return follow_events(api, first, std::move(write));
  };
  co_return out;
}

}  // namespace fluid::detail
