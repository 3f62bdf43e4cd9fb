#pragma once
/// @file
/// The task queue, in one include (fluid/fluid.hpp includes it too).

#include "fluid/tasks/broker.hpp"
#include "fluid/tasks/errors.hpp"
#include "fluid/tasks/retry_policy.hpp"
#include "fluid/tasks/schedule.hpp"
#include "fluid/tasks/task_api_server.hpp"
#include "fluid/tasks/task_cli.hpp"
#include "fluid/tasks/task_consumer.hpp"
#include "fluid/tasks/task_context.hpp"
#include "fluid/tasks/task_definition.hpp"
#include "fluid/tasks/task_manager.hpp"
#include "fluid/tasks/task_run.hpp"
#include "fluid/tasks/task_scheduler.hpp"
#include "fluid/tasks/task_state.hpp"
