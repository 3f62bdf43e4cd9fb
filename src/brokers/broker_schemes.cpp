#include "brokers/broker_schemes.hpp"

#include "brokers/memory/memory_broker.hpp"
#include "fluid/errors.hpp"

#if FLUID_WITH_REDIS
#include "brokers/redis/redis_broker.hpp"
#endif

#include <array>
#include <string>
#include <vector>

namespace fluid {

TaskBroker::~TaskBroker() = default;

Task<EventBatch> TaskBroker::read_events_if(std::string after, std::size_t max, std::chrono::milliseconds wait,
                                            EventWanted wanted) {
  auto batch = co_await read_events(std::move(after), max, wait);
  if (wanted) std::erase_if(batch.events, [&wanted](const TaskEvent& event) { return !wanted(event.kind); });
  co_return batch;
}

namespace brokers {

namespace {

#if FLUID_WITH_REDIS
constexpr BrokerFactory redis_factory = &redis::make_redis_broker;
#else
std::shared_ptr<TaskBroker> without_redis(const BrokerUrl& url) {
  throw FluidError("broker URL '" + url.redacted +
                   "': this build of fluid has no Redis broker (it was configured with FLUID_WITH_REDIS=OFF)");
}
constexpr BrokerFactory redis_factory = &without_redis;
#endif

std::string scheme_list() {
  std::string list;
  for (const auto& known : broker_schemes()) {
    if (!list.empty()) list += ", ";
    list += known.scheme;
  }
  return list;
}

}  // namespace

std::span<const BrokerScheme> broker_schemes() {
  static constexpr std::array schemes{
      BrokerScheme{"memory", &make_memory_broker},
      BrokerScheme{"redis", redis_factory},
      BrokerScheme{"rediss", redis_factory},
  };
  return schemes;
}

}  // namespace brokers

std::shared_ptr<TaskBroker> make_broker(std::string_view text) {
  const auto url = brokers::split_broker_url(text);
  for (const auto& known : brokers::broker_schemes()) {
    if (known.scheme == url.scheme) return known.make(url);
  }
  brokers::throw_bad_url(url, "unknown scheme '" + url.scheme + "' (expected " + brokers::scheme_list() + ")");
}

}  // namespace fluid
