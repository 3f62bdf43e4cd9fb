#pragma once
// The shutdown report as serve() logs it.

#include "fluid/serve.hpp"

#include <exception>
#include <optional>

namespace fluid::detail {

/// "SIGINT", "SIGTERM", ... ("signal N" for others).
std::string signal_name(int number);

/// Logs shutdown_report(root, forced_by): one info line if it is empty (or an
/// error naming `startup_error` if the root never started), else a warning
/// per worker.
void log_report(Worker& root, const std::optional<ForceCause>& forced_by, const std::exception_ptr& startup_error);

}  // namespace fluid::detail
