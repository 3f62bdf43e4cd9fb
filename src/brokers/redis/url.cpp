#include "brokers/redis/url.hpp"

#include "fluid/config.hpp"
#include "fluid/errors.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

namespace fluid::redis {

namespace {

constexpr std::string_view known_keys = "name, queues, retention, timeout, connect_timeout";

[[noreturn]] void reject(std::string_view url, const std::string& why) {
  throw FluidError("bad Redis URL \"" + redact_url(url) + "\": " + why);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view url, std::string_view text, std::string_view what) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int high = i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
    const int low = high >= 0 ? hex_digit(text[i + 2]) : -1;
    if (low < 0) reject(url, "bad percent-escape in the " + std::string(what));
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

template <class Int>
std::optional<Int> parse_digits(std::string_view text) {
  Int value{};
  const auto* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || stop != end || text.front() == '+' || text.front() == '-') {
    return std::nullopt;
  }
  return value;
}

// The userinfo ends at the last '@', so that a password may hold '/', '?' or
// '@' unencoded and is still masked in every message.
struct Parts {
  std::string_view scheme, userinfo, location, query;
  bool has_userinfo = false, has_query = false;
};

Parts split(std::string_view url) {
  Parts parts;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) reject(url, "expected redis://, rediss:// or unix://");
  parts.scheme = url.substr(0, scheme_end);
  auto rest = url.substr(scheme_end + 3);
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    parts.has_userinfo = true;
    parts.userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  if (const auto question = rest.find('?'); question != std::string_view::npos) {
    parts.has_query = true;
    parts.query = rest.substr(question + 1);
    rest = rest.substr(0, question);
  }
  parts.location = rest;
  return parts;
}

void parse_userinfo(std::string_view url, const Parts& parts, RedisUrl& out) {
  if (!parts.has_userinfo) return;
  const auto colon = parts.userinfo.find(':');
  if (colon == std::string_view::npos) reject(url, "a user needs a password (user:password@)");
  out.user = percent_decode(url, parts.userinfo.substr(0, colon), "user");
  out.password = percent_decode(url, parts.userinfo.substr(colon + 1), "password");
  if (out.password.empty()) reject(url, "empty password");
}

std::string_view parse_host(std::string_view url, std::string_view authority, RedisUrl& out) {
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) reject(url, "unclosed '[' in the host");
    out.host = std::string(authority.substr(1, close - 1));
    return authority.substr(close + 1);
  }
  const auto colon = authority.find(':');
  if (colon != std::string_view::npos)
    out.host = std::string(authority.substr(0, colon));
  else if (!authority.empty())
    out.host = std::string(authority);
  return colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
}

void parse_tcp_location(std::string_view url, std::string_view location, RedisUrl& out) {
  const auto slash = location.find('/');
  const auto authority = location.substr(0, slash);
  const auto port_part = parse_host(url, authority, out);
  if (out.host.empty()) reject(url, "empty host");
  if (!port_part.empty()) {
    const auto port = port_part.starts_with(':') ? parse_digits<std::uint16_t>(port_part.substr(1)) : std::nullopt;
    if (!port || *port == 0) reject(url, "bad port \"" + std::string(port_part) + "\" (1 to 65535)");
    out.port = *port;
  }
  if (slash == std::string_view::npos) return;
  const auto db = location.substr(slash + 1);
  if (db.empty()) return;
  const auto number = parse_digits<unsigned>(db);
  if (!number) reject(url, "bad database \"" + std::string(db) + "\" (a number such as 0)");
  out.db = *number;
}

void parse_unix_location(std::string_view url, std::string_view location, RedisUrl& out) {
  out.host.clear();
  out.unix_path = percent_decode(url, location, "socket path");
  if (!out.unix_path.starts_with('/')) reject(url, "a Unix socket needs an absolute path (unix:///path/to/redis.sock)");
}

void check_name(std::string_view url, const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':';
  });
  if (!ok) reject(url, "bad name \"" + name + "\" (1 to 64 of A-Z a-z 0-9 _ - . :)");
}

std::chrono::milliseconds positive_seconds(std::string_view url, std::string_view key, std::string_view value) {
  std::chrono::milliseconds parsed{};
  try {
    parsed = parse_seconds(value, key);
  } catch (const FluidError& e) {
    reject(url, e.what());
  }
  if (parsed.count() <= 0) reject(url, std::string(key) + " must be positive, got \"" + std::string(value) + "\"");
  return parsed;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  if (text.empty()) return items;
  std::size_t start = 0;
  for (;;) {
    const auto comma = text.find(',', start);
    items.emplace_back(text.substr(start, comma - start));
    if (comma == std::string_view::npos) return items;
    start = comma + 1;
  }
}

void apply_option(std::string_view url, std::string_view key, const std::string& value, RedisUrl& out) {
  if (key == "name") {
    check_name(url, value);
    out.name = value;
  } else if (key == "queues") {
    out.queues = split_list(value);
  } else if (key == "retention") {
    out.retention = positive_seconds(url, key, value);
  } else if (key == "timeout") {
    out.timeout = positive_seconds(url, key, value);
  } else if (key == "connect_timeout") {
    out.connect_timeout = positive_seconds(url, key, value);
  } else if (key == "db" && !out.unix_path.empty()) {
    const auto number = parse_digits<unsigned>(value);
    if (!number) reject(url, "bad database \"" + value + "\" (a number such as 0)");
    out.db = *number;
  } else {
    reject(url, "unknown option \"" + std::string(key) + "\" (known: " + std::string(known_keys) +
                    (out.unix_path.empty() ? "" : ", db") + ")");
  }
}

void parse_query(std::string_view url, const Parts& parts, RedisUrl& out) {
  if (!parts.has_query) return;
  std::set<std::string, std::less<>> seen;
  std::size_t start = 0;
  while (start <= parts.query.size()) {
    const auto amp = parts.query.find('&', start);
    const auto item = parts.query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!item.empty()) {
      const auto equals = item.find('=');
      const auto key = item.substr(0, equals);
      if (!seen.emplace(key).second) reject(url, "option \"" + std::string(key) + "\" given twice");
      const auto raw = equals == std::string_view::npos ? std::string_view{} : item.substr(equals + 1);
      apply_option(url, key, percent_decode(url, raw, "option " + std::string(key)), out);
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
}

}  // namespace

RedisUrl parse_redis_url(std::string_view url) {
  const auto parts = split(url);
  RedisUrl out;
  out.redacted = redact_url(url);
  if (parts.scheme == "rediss")
    out.tls = true;
  else if (parts.scheme != "redis" && parts.scheme != "unix") {
    reject(url, "unknown scheme \"" + std::string(parts.scheme) + "\" (redis://, rediss:// or unix://)");
  }
  parse_userinfo(url, parts, out);
  if (parts.scheme == "unix")
    parse_unix_location(url, parts.location, out);
  else
    parse_tcp_location(url, parts.location, out);
  parse_query(url, parts, out);
  return out;
}

std::string redact_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  const std::size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const auto at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  const auto colon = url.find(':', start);
  // No colon: the whole userinfo might be a password written the wrong way.
  const std::size_t mask_from = colon != std::string_view::npos && colon < at ? colon + 1 : start;
  return std::string(url.substr(0, mask_from)) + "***" + std::string(url.substr(at));
}

std::string endpoint_text(const RedisUrl& url) {
  if (!url.unix_path.empty()) return url.unix_path;
  const bool ipv6 = url.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port);
}

}  // namespace fluid::redis
