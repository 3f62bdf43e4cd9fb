#pragma once
/// @file
/// Everything fluid offers, in one include.

#include "fluid/async_consumer.hpp"
#include "fluid/async_dispatcher.hpp"
#include "fluid/async_with.hpp"
#include "fluid/config.hpp"
#include "fluid/dispatcher.hpp"
#include "fluid/errors.hpp"
#include "fluid/event.hpp"
#include "fluid/http.hpp"
#include "fluid/log.hpp"
#include "fluid/metrics.hpp"
#include "fluid/queue_consumer.hpp"
#include "fluid/serve.hpp"
#include "fluid/status_server.hpp"
#include "fluid/task.hpp"
#include "fluid/tasks.hpp"
#include "fluid/worker.hpp"
#include "fluid/worker_function.hpp"
#include "fluid/worker_state.hpp"
#include "fluid/worker_tree.hpp"
#include "fluid/workers.hpp"
