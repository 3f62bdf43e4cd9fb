#pragma once
/// @file
/// The "fluid" spdlog logger that every worker reports its lifecycle to.

#include <spdlog/logger.h>

#include <memory>

namespace fluid {

/// The logger named "fluid" (created on first use, writing to stderr, level
/// from env LOG_LEVEL: trace, debug, info, warn, error, critical, off; default
/// info). A logger registered as "fluid" before first use is used instead.
std::shared_ptr<spdlog::logger> logger();

}  // namespace fluid
