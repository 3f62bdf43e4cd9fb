#pragma once
// The broker conformance suite: every guarantee of the broker
// interface, method by method, as one value-parameterised GoogleTest suite.
// A broker passes when its instantiation does; each broker instantiates it
// in one line with the URL of a namespace of its own:
//
//   INSTANTIATE_TEST_SUITE_P(Memory, BrokerConformance, ::testing::Values(fluid::test::BrokerTarget{
//       "memory", [](const std::string& ns, const std::string& query) { return "memory://" + ns + ... }}),
//       fluid::test::target_name);
//
// Each test gets a fresh namespace; open_broker() gives it broker objects on
// that namespace, each standing for another process. Leases are short where
// a test needs them to expire; a test waits for the broker's clock to pass a
// time with wait_past() (a timed wait, no polling of a condition), for work
// and events with claim()/read_events() and their event-driven `wait`.

#include "broker_conformance_fixture.hpp"

#include "broker_conformance/aborts.hpp"
#include "broker_conformance/claims.hpp"
#include "broker_conformance/concurrency.hpp"
#include "broker_conformance/feed.hpp"
#include "broker_conformance/finish.hpp"
#include "broker_conformance/leases.hpp"
#include "broker_conformance/limits.hpp"
#include "broker_conformance/queues.hpp"
#include "broker_conformance/runs.hpp"
#include "broker_conformance/schedules.hpp"
#include "broker_conformance/tasks.hpp"
