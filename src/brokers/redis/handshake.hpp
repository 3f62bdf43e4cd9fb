#pragma once
// What a Redis connection sends before its first call, and how the replies
// are judged: AUTH, SELECT, CLIENT SETNAME, the server's version, loading.

#include "brokers/redis/reply.hpp"
#include "brokers/redis/url.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace fluid::redis {

using Command = std::vector<std::string>;

/// The oldest Redis fluid works with (its scripts use what 6.2 brought).
inline constexpr int min_redis_major = 6;
inline constexpr int min_redis_minor = 2;

/// AUTH (when the URL has a password), SELECT (db other than 0), CLIENT
/// SETNAME, INFO server, then PING: a server still loading its data answers
/// the PING with LOADING.
std::vector<Command> handshake_commands(const RedisUrl& url);

/// Judges the replies to handshake_commands(), in order.
/// @throws RedisReplyError for an error reply (AUTH refused, no such db...),
///         BrokerError for a server older than 6.2,
///         BrokerUnavailableError while the server is loading (try later).
void check_handshake(std::string_view address, const std::vector<Command>& commands, const std::vector<Reply>& replies);

/// Checks the redis_version line of an INFO server reply.
/// @throws BrokerError naming the version found (or its absence) when older than 6.2.
void check_server_version(std::string_view address, std::string_view info);

/// The command's name for messages: its first word, two for CLIENT, CONFIG,
/// SCRIPT ("CLIENT SETNAME"); never an argument (AUTH's are secret).
std::string command_name(const Command& command);

}  // namespace fluid::redis
