#pragma once
// memory://: the embedded broker, one instance per name in the process.

#include "brokers/broker_url.hpp"
#include "fluid/tasks/broker.hpp"

#include <memory>

namespace fluid::brokers {

/// make_broker()'s factory for `memory://[name][?queues=...&retention=S]`.
/// @throws FluidError for a bad name, an unknown key or a bad value.
std::shared_ptr<TaskBroker> make_memory_broker(const BrokerUrl& url);

}  // namespace fluid::brokers
