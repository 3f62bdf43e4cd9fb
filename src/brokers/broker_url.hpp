#pragma once
// Strict parsing of broker URLs, shared by every broker: the scheme, the part
// after "//", and the query, with the error every bad URL gets (quoting the
// URL without its password).

#include "fluid/tasks/task_state.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fluid::brokers {

/// A broker URL cut into its parts, not yet interpreted by a broker.
struct BrokerUrl {
  std::string redacted;   ///< the whole URL, password removed: for messages and url()
  std::string scheme;     ///< before "://"
  std::string authority;  ///< between "://" and '?' (user, password, host, port, path)
  std::string query;      ///< after '?', as given ("" when none)
  std::vector<std::pair<std::string, std::string>> params;  ///< the query's key=value pairs, in order
};

/// `url` with the password of its user info removed ("redis://u:p@h" -> "redis://u@h").
std::string without_password(std::string_view url);

/// Cuts `url` into scheme, authority and query.
/// @throws FluidError without "scheme://", with an empty key, a key without
///         '=' or a key given twice.
BrokerUrl split_broker_url(std::string_view url);

/// Throws FluidError("invalid broker URL '<redacted>': <problem>").
[[noreturn]] void throw_bad_url(const BrokerUrl& url, std::string_view problem);

/// Fails for a query key not in `known`.
void check_params(const BrokerUrl& url, std::initializer_list<std::string_view> known);

/// The value of `key`, or nullptr.
const std::string* find_param(const BrokerUrl& url, std::string_view key);

/// `queues=high,low`: the priorities in that order; "" is none.
/// @throws FluidError for an unknown or repeated priority or an empty piece.
std::vector<TaskPriority> parse_queues(const BrokerUrl& url, std::string_view value);

/// Decimal seconds ("0.5", "60"), greater than zero, as milliseconds.
/// @throws FluidError naming `key` for anything else.
std::chrono::milliseconds parse_seconds(const BrokerUrl& url, std::string_view key, std::string_view value);

/// The queues when the URL has no `queues`: high, medium, low.
std::vector<TaskPriority> all_queues();

}  // namespace fluid::brokers
