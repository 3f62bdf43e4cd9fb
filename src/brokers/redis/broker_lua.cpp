#include "brokers/redis/broker_lua.hpp"

#include "brokers/redis/broker_codec.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace fluid::redis {

namespace {

// Where each field of a packed run sits (ID = 1, TASK = 2, ...), from the one
// list the C++ side decodes by: the scripts index a run's values.
std::string run_fields_lua() {
  std::string names, places;
  for (std::size_t i = 0; i < packed_run_fields.size(); ++i) {
    std::string name(packed_run_fields[i]);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
    names.append(i ? ", " : "").append(name);
    places.append(i ? ", " : "").append(std::to_string(i + 1));
  }
  return "local " + names + " = " + places + "\nlocal RUN_SIZE = " + std::to_string(packed_run_fields.size()) +
         "\n";
}

RedisScript script(const char* body) { return RedisScript(run_fields_lua() + broker_lua_library + body); }

}  // namespace

const BrokerScripts& broker_scripts() {
  static const BrokerScripts scripts{
      .enqueue = script(enqueue_lua),
      .claim = script(claim_lua),
      .renew = script(renew_lua),
      .finish = script(finish_lua),
      .reap = script(reap_lua),
      .abort = script(abort_lua),
      .version = script(version_lua),
      .register_tasks = script(register_lua),
      .tasks_info = script(tasks_info_lua),
      .set_enabled = script(set_enabled_lua),
      .anchor = script(anchor_lua),
      .fire_slot = script(fire_slot_lua),
      .queue_length = script(queue_length_lua),
      .clear_queue = script(clear_queue_lua),
      .set_status = script(set_status_lua),
      .statuses = script(statuses_lua),
      .feed_position = script(feed_position_lua),
  };
  return scripts;
}

}  // namespace fluid::redis
