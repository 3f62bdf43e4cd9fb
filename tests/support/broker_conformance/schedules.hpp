#pragma once
// Conformance: what schedulers rely on: the anchor (first writer wins), the
// last slot, and fire_slot queueing exactly one run per (task, slot), with
// coalesced catch-up after downtime.

namespace fluid::test {

namespace conformance {

/// A scheduled run of "tick" for `slot`, as a scheduler builds it.
inline TaskRun slot_run(const std::string& id, TimePoint slot) {
  TaskRun run = make_run_with_id("tick", id);
  run.execute_after = slot;
  return run;
}

}  // namespace conformance

TEST_P(BrokerConformance, TheFirstAnchorProposedWins) {
  run([&]() -> Task<> {
    auto one = co_await open_broker();
    auto other = co_await open_broker();
    const TimePoint now = co_await one->now();
    const TimePoint first = co_await one->schedule_anchor("tick", now);
    const TimePoint second = co_await other->schedule_anchor("tick", now + 1h);
    EXPECT_EQ(first, now);
    EXPECT_EQ(second, now);
    const TimePoint other_task = co_await other->schedule_anchor("tock", now + 1h);
    EXPECT_EQ(other_task, now + 1h);
  });
}

TEST_P(BrokerConformance, LastSlotIsNothingBeforeTheFirstFiring) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const auto last = co_await broker->last_slot("tick");
    EXPECT_FALSE(last.has_value());
  });
}

TEST_P(BrokerConformance, FireSlotQueuesOneRunPerSlot) {
  run([&]() -> Task<> {
    auto one = co_await open_broker();
    auto other = co_await open_broker();
    const TimePoint slot = co_await one->now() - 1s;
    const auto fired = co_await one->fire_slot("tick", slot, conformance::slot_run("s1", slot));
    const auto run = present(fired);
    EXPECT_EQ(run.id, "s1");
    EXPECT_EQ(run.state, TaskState::queued);
    EXPECT_EQ(run.execute_after, slot);
    const auto twice = co_await other->fire_slot("tick", slot, conformance::slot_run("s1-again", slot));
    EXPECT_FALSE(twice.has_value());
    const auto last = co_await other->last_slot("tick");
    EXPECT_EQ(last, slot);
    const auto queued = co_await other->claim(claim_of(names("tick"), 10));
    EXPECT_EQ(ids_of(queued.claimed), names("s1"));
  });
}

TEST_P(BrokerConformance, CatchUpFiresTheNewestSlotOnceAndOlderOnesNever) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const TimePoint t0 = co_await broker->now() - 1h;
    co_await broker->fire_slot("tick", t0, conformance::slot_run("s0", t0));
    // Every scheduler was down across slots 1 to 4; the one back fires slot 4.
    const auto late = co_await broker->fire_slot("tick", t0 + 4min, conformance::slot_run("s4", t0 + 4min));
    EXPECT_TRUE(late.has_value());
    const auto missed = co_await broker->fire_slot("tick", t0 + 2min, conformance::slot_run("s2", t0 + 2min));
    EXPECT_FALSE(missed.has_value());
    const auto last = co_await broker->last_slot("tick");
    EXPECT_EQ(last, t0 + 4min);
    const auto queued = co_await broker->claim(claim_of(names("tick"), 10));
    EXPECT_EQ(ids_of(queued.claimed), names("s0", "s4"));
  });
}

TEST_P(BrokerConformance, FireSlotOfADisabledTaskConsumesTheSlotWithoutARun) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    co_await broker->register_tasks(registrations(registration("tick")));
    co_await broker->set_enabled("tick", false);
    const TimePoint slot = co_await broker->now() - 1min;
    const auto skipped = co_await broker->fire_slot("tick", slot, conformance::slot_run("s1", slot));
    EXPECT_FALSE(skipped.has_value());
    const auto last = co_await broker->last_slot("tick");
    EXPECT_EQ(last, slot);
    co_await broker->set_enabled("tick", true);
    const auto not_caught_up = co_await broker->fire_slot("tick", slot, conformance::slot_run("s1", slot));
    EXPECT_FALSE(not_caught_up.has_value());
    const auto next = co_await broker->fire_slot("tick", slot + 30s, conformance::slot_run("s2", slot + 30s));
    EXPECT_TRUE(next.has_value());
    const auto unknown = co_await broker->get_run("s1");
    EXPECT_FALSE(unknown.has_value());
  });
}

TEST_P(BrokerConformance, AScheduledRunIsNotClaimableBeforeItsExecuteAfter) {
  run([&]() -> Task<> {
    auto broker = co_await open_broker();
    const TimePoint slot = co_await broker->now();
    TaskRun jittered = conformance::slot_run("s1", slot + 60s);  // slot + randomize + jitter
    const auto fired = co_await broker->fire_slot("tick", slot, jittered);
    EXPECT_EQ(present(fired).execute_after, slot + 60s);
    const auto result = co_await broker->claim(claim_of(names("tick")));
    EXPECT_TRUE(result.claimed.empty());
    EXPECT_EQ(result.next_due, slot + 60s);
  });
}

}  // namespace fluid::test
