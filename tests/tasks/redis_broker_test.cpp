// The Redis broker (redis://): the conformance suite of every broker against
// a redis-server of the test's own, and what only the Redis broker does (its
// URL, opening, the data version, the server's settings).

#include "support/broker_conformance.hpp"
#include "support/redis_server.hpp"

#include <memory>
#include <string>

namespace fluid::test {

namespace {

/// The suite's server: started on first use (from the main thread, in a
/// test's SetUp), shared by every test of this binary, each in a namespace
/// of its own.
RedisServer& shared_server() {
  static auto* server = new RedisServer();  // never destroyed: killed when the main thread exits
  return *server;
}

std::string why_no_redis() {
  if (!FLUID_WITH_REDIS) return "this build of fluid has no Redis broker (FLUID_WITH_REDIS=OFF)";
  return RedisServer::binary() ? std::string() : "redis-server not found on PATH (apt-get install redis-server)";
}

}  // namespace

std::string redis_url(const std::string& ns, const std::string& query) {
  return shared_server().url("?name=" + ns + (query.empty() ? "" : "&" + query));
}

INSTANTIATE_TEST_SUITE_P(Redis, BrokerConformance, ::testing::Values(BrokerTarget{"redis", &redis_url, &why_no_redis}),
                         target_name);

}  // namespace fluid::test
