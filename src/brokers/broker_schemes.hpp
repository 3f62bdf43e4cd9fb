#pragma once
// The seam where a broker plugs in: each URL scheme make_broker() accepts,
// with the factory that interprets the rest of the URL.

#include "brokers/broker_url.hpp"
#include "fluid/tasks/broker.hpp"

#include <memory>
#include <span>
#include <string_view>

namespace fluid::brokers {

/// Builds a broker (not yet open) from a URL of its scheme.
/// @throws FluidError (throw_bad_url) for anything it does not accept.
using BrokerFactory = std::shared_ptr<TaskBroker> (*)(const BrokerUrl& url);

struct BrokerScheme {
  std::string_view scheme;
  BrokerFactory make;
};

/// Every scheme this build knows, in the order error messages list them.
std::span<const BrokerScheme> broker_schemes();

}  // namespace fluid::brokers
