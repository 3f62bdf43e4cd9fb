#include "tasks/api/api_http.hpp"

#include "fluid/errors.hpp"
#include "fluid/tasks/errors.hpp"

#include <cctype>

namespace fluid::detail {

namespace {

/// The answer to what a handler threw, if it is one the API knows.
std::optional<HttpResponse> answer_to(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const ApiError& e) {
    return detail_response(e.status, e.what());
  } catch (const UnknownTaskError&) {
    return detail_response(404, "Task not found");
  } catch (const UnknownRunError&) {
    return detail_response(404, "Run not found");
  } catch (const TaskParamsError& e) {
    return detail_response(422, e.what());
  } catch (const BrokerUnavailableError& e) {
    return detail_response(503, std::string("broker unavailable: ") + e.what());
  } catch (const BrokerError& e) {
    return detail_response(500, e.what());
  } catch (...) {
    return std::nullopt;  // the listener's 500, logged
  }
}

Task<HttpResponse> guarded(TaskApi api, Access access, ApiHandler handler, HttpRequest request) {
  if (access == Access::change && !api.actions) {
    co_return detail_response(403, "actions are off: this server only shows the task queue (TaskApiOptions::actions)");
  }
  if (!api.manager->is_open()) co_return detail_response(503, "task manager not open");
  std::exception_ptr error;
  try {
    co_return co_await handler(std::move(api), std::move(request));
  } catch (...) {
    error = std::current_exception();
  }
  auto answer = answer_to(error);
  if (!answer) std::rethrow_exception(error);
  co_return std::move(*answer);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int high = text[i] == '%' && i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
    const int low = high >= 0 ? hex_digit(text[i + 2]) : -1;
    if (low >= 0) {
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

}  // namespace

HttpResponse detail_response(int status, std::string detail) {
  return HttpResponse::json(status, {{"detail", std::move(detail)}});
}

HttpHandler api_route(TaskApi api, Access access, ApiHandler handler) {
  return [api = std::move(api), access, handler = std::move(handler)](HttpRequest request) {
    return guarded(api, access, handler, std::move(request));
  };
}

std::vector<std::string> query_values(std::string_view query, std::string_view key) {
  std::vector<std::string> out;
  while (!query.empty()) {
    const auto end = query.find('&');
    const auto pair = query.substr(0, end);
    const auto equals = pair.find('=');
    if (percent_decoded(pair.substr(0, equals)) == key) {
      out.push_back(equals == std::string_view::npos ? std::string() : percent_decoded(pair.substr(equals + 1)));
    }
    if (end == std::string_view::npos) break;
    query.remove_prefix(end + 1);
  }
  return out;
}

nlohmann::json json_body(const HttpRequest& request, nlohmann::json empty) {
  const auto blank = request.body.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank) return empty;
  try {
    return nlohmann::json::parse(request.body);
  } catch (const nlohmann::json::exception& e) {
    throw ApiError(422, std::string("the body is not JSON: ") + e.what());
  }
}

TaskRun shown(const TaskManager& manager, TaskRun run) {
  const auto& registry = manager.registry();
  const auto task = registry.find(run.task);
  if (task == registry.end() || task->second.options().secret_params.empty()) return run;
  return mask_secret_params(std::move(run), task->second);
}

}  // namespace fluid::detail
