#pragma once
// redis://: the broker shared by processes on many machines.

#include "brokers/broker_url.hpp"
#include "fluid/tasks/broker.hpp"

#include <memory>

namespace fluid::redis {

/// make_broker()'s factory for
/// `redis://[user:pass@]host[:port][/db][?name=N&queues=...&retention=S&timeout=S&connect_timeout=S]`.
/// @throws FluidError for an unknown key, a bad value, or rediss:// (this
///         build has no TLS).
std::shared_ptr<TaskBroker> make_redis_broker(const brokers::BrokerUrl& url);

}  // namespace fluid::redis
