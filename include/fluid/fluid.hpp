#pragma once
/// @file
/// Everything fluid offers, in one include.

#include "fluid/async_with.hpp"
#include "fluid/config.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/task.hpp"
#include "fluid/worker.hpp"
#include "fluid/worker_function.hpp"
#include "fluid/worker_state.hpp"
