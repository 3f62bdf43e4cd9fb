// The task queue's vocabulary: names on the wire, the done states, the
// transition table of a run's life, and the process-mode flag.

#include <gtest/gtest.h>

#include <fluid/tasks/task_state.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "support/workers.hpp"

using fluid::TaskPriority;
using fluid::TaskState;
using fluid::test::ScopedEnv;

namespace {

const std::vector<TaskState> all_states{TaskState::init,         TaskState::queued,     TaskState::running,
                                        TaskState::success,      TaskState::failure,    TaskState::aborted,
                                        TaskState::rate_limited, TaskState::interrupted};

}  // namespace

TEST(TaskState, IsSpelledOnTheWireAsItsName) {
  const std::vector<std::string> names{"init",    "queued",  "running",      "success",
                                       "failure", "aborted", "rate_limited", "interrupted"};
  ASSERT_EQ(all_states.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(fluid::to_string(all_states[i]), names[i]);
    EXPECT_EQ(fluid::parse_task_state(names[i]), all_states[i]);
  }
}

TEST(TaskState, ParsingRejectsAnythingButTheExactName) {
  for (const char* bad : {"", "Queued", "QUEUED", " queued", "queued ", "rate-limited", "done", "end"}) {
    EXPECT_EQ(fluid::parse_task_state(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(TaskPriority, IsSpelledOnTheWireAsItsName) {
  EXPECT_EQ(fluid::to_string(TaskPriority::high), "high");
  EXPECT_EQ(fluid::to_string(TaskPriority::medium), "medium");
  EXPECT_EQ(fluid::to_string(TaskPriority::low), "low");
  EXPECT_EQ(fluid::parse_task_priority("high"), TaskPriority::high);
  EXPECT_EQ(fluid::parse_task_priority("medium"), TaskPriority::medium);
  EXPECT_EQ(fluid::parse_task_priority("low"), TaskPriority::low);
  for (const char* bad : {"", "High", "urgent", "medium,high"}) {
    EXPECT_EQ(fluid::parse_task_priority(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(Execution, IsSpelledAsItsName) {
  EXPECT_EQ(fluid::to_string(fluid::Execution::loop), "loop");
  EXPECT_EQ(fluid::to_string(fluid::Execution::thread), "thread");
  EXPECT_EQ(fluid::to_string(fluid::Execution::process), "process");
}

TEST(TaskState, TheLastFiveStatesAreDone) {
  const std::set<TaskState> done{TaskState::success, TaskState::failure, TaskState::aborted, TaskState::rate_limited,
                                 TaskState::interrupted};
  for (const auto state : all_states) {
    EXPECT_EQ(fluid::is_done(state), done.contains(state)) << fluid::to_string(state);
  }
}

TEST(TaskState, TransitionsFollowTheTableOfARunsLife) {
  using enum TaskState;
  const std::set<std::pair<TaskState, TaskState>> allowed{
      {init, queued},         {queued, running},  {queued, aborted},     {queued, rate_limited},
      {queued, failure},      {running, success}, {running, failure},    {running, aborted},
      {running, interrupted}, {failure, queued},  {interrupted, queued},
  };
  for (const auto from : all_states) {
    for (const auto to : all_states) {
      EXPECT_EQ(fluid::is_valid_transition(from, to), allowed.contains({from, to}))
          << fluid::to_string(from) << " -> " << fluid::to_string(to);
    }
  }
}

// Ports test_retry.py::test_set_state_same_state_is_noop (A): the same state
// twice is no transition, so nothing is dispatched.
TEST(TaskState, TheSameStateTwiceIsNoTransition) {
  for (const auto state : all_states) EXPECT_FALSE(fluid::is_valid_transition(state, state)) << fluid::to_string(state);
}

// Ports test_retry.py::test_set_state_invalid_transition_raises (A): a
// finished run never runs again.
TEST(TaskState, ASucceededRunCannotGoBackToRunning) {
  EXPECT_FALSE(fluid::is_valid_transition(TaskState::success, TaskState::running));
  EXPECT_FALSE(fluid::is_valid_transition(TaskState::rate_limited, TaskState::queued));
  EXPECT_FALSE(fluid::is_valid_transition(TaskState::aborted, TaskState::queued));
}

TEST(IsInCpuProcess, IsTrueOnlyWhenTaskManagerSpawnIsExactlyTrue) {
  {
    ScopedEnv unset("TASK_MANAGER_SPAWN", nullptr);
    EXPECT_FALSE(fluid::is_in_cpu_process());
  }
  {
    ScopedEnv spawned("TASK_MANAGER_SPAWN", "true");
    EXPECT_TRUE(fluid::is_in_cpu_process());
  }
  for (const char* other : {"", "1", "TRUE", "True", "yes", "false", "true "}) {
    ScopedEnv set("TASK_MANAGER_SPAWN", other);
    EXPECT_FALSE(fluid::is_in_cpu_process()) << '"' << other << '"';
  }
}
