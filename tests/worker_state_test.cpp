// WorkerState and StopReason: their names and aio-fluid's exit codes.

#include <fluid/worker_state.hpp>

#include <gtest/gtest.h>

using fluid::StopReason;
using fluid::WorkerState;

TEST(WorkerState, EveryStateHasItsLowercaseName) {
  EXPECT_EQ(to_string(WorkerState::init), "init");
  EXPECT_EQ(to_string(WorkerState::running), "running");
  EXPECT_EQ(to_string(WorkerState::stopping), "stopping");
  EXPECT_EQ(to_string(WorkerState::stopped), "stopped");
  EXPECT_EQ(to_string(WorkerState::force_stopped), "force_stopped");
}

TEST(WorkerState, AnOutOfRangeValueIsNamedUnknown) {
  EXPECT_EQ(to_string(static_cast<WorkerState>(99)), "unknown");
}

TEST(StopReason, EveryReasonHasItsLowercaseName) {
  EXPECT_EQ(to_string(StopReason::normal), "normal");
  EXPECT_EQ(to_string(StopReason::forced), "forced");
  EXPECT_EQ(to_string(StopReason::failed), "failed");
}

TEST(StopReason, ExitCodesAreAioFluids) {
  EXPECT_EQ(exit_code(StopReason::normal), 0);
  EXPECT_EQ(exit_code(StopReason::forced), 1);
  EXPECT_EQ(exit_code(StopReason::failed), 2);
}

TEST(StopReason, AnOutOfRangeValueIsNamedUnknownAndCountsAsAFailure) {
  EXPECT_EQ(to_string(static_cast<StopReason>(99)), "unknown");
  EXPECT_EQ(exit_code(static_cast<StopReason>(99)), 2);
}
