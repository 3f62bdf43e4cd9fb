#pragma once
// The Redis broker's Lua scripts: every change that touches more than one
// key is one script, reading the clock with TIME and writing its events to
// the stream in the same step. Each script is the shared library followed
// by its own body; KEYS[1] is the namespace's key prefix "{name}:", from
// which every key is derived (one hash slot).

#include "brokers/redis/client.hpp"

namespace fluid::redis {

/// The data version the scripts read and write; a namespace written by
/// another version is refused at open().
inline constexpr const char* broker_data_version = "3";

extern const char* const broker_lua_library;
extern const char* const enqueue_lua;
extern const char* const claim_lua;
extern const char* const renew_lua;
extern const char* const finish_lua;
extern const char* const reap_lua;
extern const char* const abort_lua;
extern const char* const version_lua;
extern const char* const register_lua;
extern const char* const tasks_info_lua;
extern const char* const set_enabled_lua;
extern const char* const anchor_lua;
extern const char* const fire_slot_lua;
extern const char* const queue_length_lua;
extern const char* const clear_queue_lua;
extern const char* const set_status_lua;
extern const char* const statuses_lua;
extern const char* const feed_position_lua;

/// The scripts, each loaded once per server (EVALSHA, reloaded on NOSCRIPT).
struct BrokerScripts {
  RedisScript enqueue, claim, renew, finish, reap, abort, version, register_tasks, tasks_info, set_enabled, anchor,
      fire_slot, queue_length, clear_queue, set_status, statuses, feed_position;
};

/// The process's scripts (shared by every broker object).
const BrokerScripts& broker_scripts();

}  // namespace fluid::redis
