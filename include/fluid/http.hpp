#pragma once
/// @file
/// The small HTTP surface of StatusServer's routes: a request, a response, a handler.

#include "fluid/task.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fluid {

/// A request as a route handler sees it: parsed, complete, its body read.
struct HttpRequest {
  std::string method;  ///< "GET", "POST", ...; a HEAD request reaches the GET handler as "HEAD"
  std::string target;  ///< as sent: the path and the query
  std::string path;    ///< the target up to '?'
  std::string query;   ///< after '?', "" if none
  std::vector<std::pair<std::string, std::string>> headers;  ///< in the order sent
  std::string body;

  /// The first header called `name` (any case); nullopt if there is none.
  std::optional<std::string> header(std::string_view name) const;
};

/// Sends one piece of a streamed body at once (see HttpResponse::stream);
/// false once the client has gone or did not take it within the read timeout.
using HttpBodyWriter = std::function<Task<bool>(std::string)>;

/// What a route handler answers. The server adds Server, Cache-Control:
/// no-store, Content-Length and Connection; a HEAD request gets no body.
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
  /// Set: the body is streamed instead (chunked, e.g. Server-Sent Events):
  /// after the headers the server awaits `stream(write)`, which sends pieces
  /// with `write` for as long as it likes; the connection closes after it.
  /// It is cancelled when the client goes away or the server stops.
  std::function<Task<>(HttpBodyWriter write)> stream;

  /// `body` indented, with a final newline, as application/json.
  static HttpResponse json(int status, const nlohmann::json& body);
};

/// Answers the requests of one route. Runs on the server's executor; what it
/// throws becomes a 500 naming the error (logged), and the server goes on.
using HttpHandler = std::function<Task<HttpResponse>(HttpRequest)>;

}  // namespace fluid
