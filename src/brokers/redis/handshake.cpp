#include "brokers/redis/handshake.hpp"

#include "brokers/redis/errors.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace fluid::redis {

namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

// "7.0.15" -> 7, 0; false when it does not start with two numbers.
bool parse_version(std::string_view text, int& major, int& minor) {
  const auto* end = text.data() + text.size();
  const auto first = std::from_chars(text.data(), end, major);
  if (first.ec != std::errc{} || first.ptr == end || *first.ptr != '.') return false;
  const auto second = std::from_chars(first.ptr + 1, end, minor);
  return second.ec == std::errc{};
}

}  // namespace

std::vector<Command> handshake_commands(const RedisUrl& url) {
  std::vector<Command> commands;
  if (!url.password.empty()) {
    if (url.user.empty())
      commands.push_back({"AUTH", url.password});
    else
      commands.push_back({"AUTH", url.user, url.password});
  }
  if (url.db != 0) commands.push_back({"SELECT", std::to_string(url.db)});
  commands.push_back({"CLIENT", "SETNAME", url.name});
  commands.push_back({"INFO", "server"});
  commands.push_back({"PING"});
  return commands;
}

void check_handshake(std::string_view address, const std::vector<Command>& commands,
                     const std::vector<Reply>& replies) {
  for (std::size_t i = 0; i < commands.size() && i < replies.size(); ++i) {
    const auto& reply = replies[i];
    if (reply.is_error() && reply.text.starts_with("LOADING")) {
      throw BrokerUnavailableError("Redis is loading its data set");
    }
    if (reply.is_error()) throw RedisReplyError(address, command_name(commands[i]), reply.text);
    if (commands[i].front() == "INFO") check_server_version(address, reply.as_string());
  }
}

void check_server_version(std::string_view address, std::string_view info) {
  constexpr std::string_view key = "redis_version:";
  const auto at = info.find(key);
  const auto start = at == std::string_view::npos ? at : at + key.size();
  const auto line = start == std::string_view::npos ? std::string_view{}
                                                    : info.substr(start, info.find_first_of("\r\n", start) - start);
  int major = 0;
  int minor = 0;
  if (!parse_version(line, major, minor)) {
    throw BrokerError(std::string(address) + ": cannot read redis_version from INFO server; fluid needs Redis >= " +
                      std::to_string(min_redis_major) + "." + std::to_string(min_redis_minor));
  }
  if (major < min_redis_major || (major == min_redis_major && minor < min_redis_minor)) {
    throw BrokerError(std::string(address) + ": Redis " + std::string(line) + " is too old; fluid needs Redis >= " +
                      std::to_string(min_redis_major) + "." + std::to_string(min_redis_minor));
  }
}

std::string command_name(const Command& command) {
  if (command.empty()) return {};
  auto name = upper(command[0]);
  if (command.size() > 1 && (name == "CLIENT" || name == "CONFIG" || name == "SCRIPT")) {
    name += ' ';
    name += upper(command[1]);
  }
  return name;
}

}  // namespace fluid::redis
